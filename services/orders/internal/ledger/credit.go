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
	Amount       Money
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
