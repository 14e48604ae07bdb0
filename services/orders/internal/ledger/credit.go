package ledger

import (
	"errors"
	"fmt"
	"time"
)

// PerpetualCancellationCredit is the 100 % credit for a cancelled perpetual purchase (OR-3,
// BI-3): the negation of charged (what the line was charged, e.g. the sum of its charge
// entries), keyed (order, line) so a repeated cancellation credits once, on the invoice of
// NextInvoiceMonth(cancelTime). Whether the 30-day window (CA-10) is still open is the order
// domain's check, not the ledger's; tax treatment and currency are the line's.
func PerpetualCancellationCredit(line OrderLine, charged Money, cancelTime, createTime time.Time) (Entry, error) {
	if line.Term != TermPerpetual {
		return Entry{}, fmt.Errorf("ledger: a 100 %% cancellation credit is for perpetual software only (term %d)", line.Term)
	}
	if cancelTime.IsZero() {
		return Entry{}, errors.New("ledger: cancellation time is unset")
	}
	if charged.Minor < 0 {
		return Entry{}, fmt.Errorf("ledger: charged amount %s is negative", charged)
	}
	credit, err := charged.Neg()
	if err != nil {
		return Entry{}, err
	}
	src := Source{Kind: SourceOrderCancellation, OrderID: line.OrderID, LineID: line.LineID, SubscriptionID: line.SubscriptionID}
	key, err := DeriveKey(src, 0)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{
		Key:          key,
		PartnerID:    line.PartnerID,
		CustomerID:   line.CustomerID,
		Kind:         KindCredit,
		Amount:       credit,
		TaxInclusive: line.TaxInclusive,
		Source:       src,
		SKUID:        line.SKUID,
		Quantity:     line.Quantity,
		Term:         line.Term,
		Plan:         line.Plan,
		InvoiceMonth: NextInvoiceMonth(cancelTime),
		Description:  fmt.Sprintf("Credit: cancellation of order %s line %s (100 %%)", line.OrderID, line.LineID),
		CreateTime:   createTime.UTC(),
	}
	return e, e.Validate()
}

// EventType is the kind of subscriptions-feed event that can bill (a subset of
// partnerhub.subscriptions.v1.SubscriptionEventType; the others never produce an entry and the
// consumer just advances its cursor past them).
type EventType int

// Billing event types.
const (
	EventUnspecified EventType = iota
	// EventRenewed: RenewedPayload.amount_due (≥ 0) → a charge.
	EventRenewed
	// EventReactivated: ReactivatedPayload.amount_due (≥ 0) → a charge.
	EventReactivated
	// EventQuantityChanged: QuantityChangedPayload.price_delta → a charge (> 0) or a refund (< 0).
	EventQuantityChanged
	// EventCancelled: CancelledPayload.refund (≤ 0; SU-10, prorated by subscriptions) → a credit.
	EventCancelled
	// EventPenalty: PenaltyPayload.amount (≥ 0; SU-15, 25 % computed by subscriptions) → a penalty.
	EventPenalty
)

// SubscriptionEvent is what the ledger needs from one event of the subscriptions feed; the
// amount is taken as given (signed as in the event proto), never recomputed.
type SubscriptionEvent struct {
	EventID        string
	Type           EventType
	PartnerID      string
	CustomerID     string
	SubscriptionID string
	// OrderID is the payload's order_id when it has one.
	OrderID string
	// Time is the event time; the entry goes on the invoice of its UTC month.
	Time time.Time
	// Amount is the payload's amount (amount_due, price_delta, refund or penalty amount).
	Amount Money
	// TermAmount is a renewal's price of the whole new term (RenewedPayload.term_amount); zero
	// when the payload has none (events written before it existed).
	TermAmount   Money
	TaxInclusive bool
	SKUID        string
	Quantity     int32
	Term         Term
	Plan         BillingPlan
	// PeriodStart/End is the period covered (e.g. the renewed term's first billing period);
	// zero when none.
	PeriodStart, PeriodEnd time.Time
	// Reason is the payload's free-text reason, if any.
	Reason string
}

// EntryFromEvent maps a billing event to its single entry, keyed by the event ID alone (the
// same event ID never produces two entries). ok is false, with no error, when the event bills
// nothing: a zero amount (Open renewals, BI-1; a saga compensation's zero refund), or a
// directly bought subscription (no partner). An amount whose sign contradicts the event type is
// an error, not silently flipped. A charge or penalty goes on the invoice of the event's UTC month,
// a credit or refund on the next one (BI-3).
func EntryFromEvent(ev SubscriptionEvent, createTime time.Time) (e Entry, ok bool, err error) {
	if ev.Time.IsZero() {
		return Entry{}, false, errors.New("ledger: event time is unset")
	}
	if err := ValidateCurrency(ev.Amount.Currency); err != nil && !ev.Amount.IsZero() {
		return Entry{}, false, err
	}
	var kind Kind
	var what string
	switch ev.Type {
	case EventRenewed:
		kind, what = KindCharge, "Charge: renewal"
	case EventReactivated:
		kind, what = KindCharge, "Charge: reactivation"
	case EventQuantityChanged:
		kind, what = KindCharge, "Charge: seats added"
		if ev.Amount.Minor < 0 {
			kind, what = KindRefund, "Refund: seats removed"
		}
	case EventCancelled:
		kind, what = KindCredit, "Credit: cancellation (prorated)"
	case EventPenalty:
		kind, what = KindPenalty, "Penalty"
	default:
		return Entry{}, false, fmt.Errorf("ledger: event type %d does not bill", ev.Type)
	}
	if ev.Amount.IsZero() || ev.PartnerID == "" {
		return Entry{}, false, nil
	}
	src := Source{Kind: SourceSubscriptionEvent, SubscriptionID: ev.SubscriptionID, EventID: ev.EventID, OrderID: ev.OrderID}
	key, err := DeriveKey(src, 0)
	if err != nil {
		return Entry{}, false, err
	}
	desc := fmt.Sprintf("%s of subscription %s", what, ev.SubscriptionID)
	if ev.Reason != "" {
		desc += " (" + ev.Reason + ")"
	}
	e = Entry{
		Key:                key,
		PartnerID:          ev.PartnerID,
		CustomerID:         ev.CustomerID,
		Kind:               kind,
		Amount:             ev.Amount,
		TaxInclusive:       ev.TaxInclusive,
		Source:             src,
		SKUID:              ev.SKUID,
		Quantity:           ev.Quantity,
		Term:               ev.Term,
		Plan:               ev.Plan,
		ServicePeriodStart: ev.PeriodStart.UTC(),
		ServicePeriodEnd:   ev.PeriodEnd.UTC(),
		InvoiceMonth:       MonthOf(ev.Time),
		Description:        desc,
		CreateTime:         createTime.UTC(),
	}
	if kind == KindCredit || kind == KindRefund {
		// A cancellation credit (SU-10) or a seat refund goes on the next monthly invoice, like
		// the perpetual credit of OR-3 (BI-3, ledger.proto).
		e.InvoiceMonth = NextInvoiceMonth(ev.Time)
	}
	if ev.PeriodStart.IsZero() {
		e.ServicePeriodStart = time.Time{}
	}
	if ev.PeriodEnd.IsZero() {
		e.ServicePeriodEnd = time.Time{}
	}
	if err := e.Validate(); err != nil {
		return Entry{}, false, err
	}
	return e, true, nil
}

// EntriesFromEvent maps a billing event to its entries: EntryFromEvent's one, except for a
// renewal that gives the whole term's price (TermAmount) under a plan of several installments,
// which gets every installment of the renewed term, as a purchase does (OrderLineCharges, BI-2):
// TermAmount split by Split, installment i covering [start + (i−1)·p, start + i·p) and due on
// the invoice of the month it starts in. The first keeps EntryFromEvent's key (the event ID),
// invoice month and period; installment i ≥ 2 is keyed (event ID, i), so a replayed event adds
// nothing. The first installment is the split's, which can differ from the payload's amount_due
// by a minor unit (subscriptions rounds each installment, the ledger gives the remainder to the
// first ones), so that the installments sum to the term's price exactly.
func EntriesFromEvent(ev SubscriptionEvent, createTime time.Time) ([]Entry, error) {
	first, ok, err := EntryFromEvent(ev, createTime)
	if err != nil || !ok {
		return nil, err
	}
	if ev.Type != EventRenewed || ev.TermAmount.Minor <= 0 || ev.PeriodStart.IsZero() {
		return []Entry{first}, nil
	}
	// One installment, or a term the ledger cannot split (the payload's span was no known
	// term): amount_due is the charge, as EntryFromEvent booked it.
	if n, cerr := InstallmentCount(ev.Term, ev.Plan); cerr != nil || n < 2 {
		return []Entry{first}, nil //nolint:nilerr // not an error of the event: it bills as one charge
	}
	if ev.TermAmount.Currency != ev.Amount.Currency {
		return nil, fmt.Errorf("ledger: renewal %s: term amount in %s, amount due in %s", ev.EventID,
			ev.TermAmount.Currency, ev.Amount.Currency)
	}
	inst, err := scheduleTotal(ev.TermAmount, ev.Term, ev.Plan, ev.PeriodStart)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(inst))
	for _, in := range inst {
		e := first
		e.Amount = in.Amount
		e.Description = fmt.Sprintf("Charge %d/%d: renewal of subscription %s", in.Number, in.Count, ev.SubscriptionID)
		if in.Number > 1 {
			if e.Key, err = DeriveKey(e.Source, in.Number); err != nil {
				return nil, err
			}
			e.ServicePeriodStart, e.ServicePeriodEnd, e.InvoiceMonth = in.PeriodStart, in.PeriodEnd, in.InvoiceMonth
		}
		if err := e.Validate(); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
