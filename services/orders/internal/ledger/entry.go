package ledger

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidEntry: an entry breaks an invariant (see Entry.Validate).
var ErrInvalidEntry = errors.New("ledger: invalid entry")

// Kind is what an entry does to the partner's bill; numbers match
// partnerhub.orders.v1.LedgerEntryKind.
type Kind int32

// Entry kinds.
const (
	KindUnspecified Kind = 0
	// KindCharge is a billing period's charge (BI-2); amount ≥ 0.
	KindCharge Kind = 1
	// KindCredit is a cancellation credit (OR-3 100 %, SU-10 prorated; BI-3); amount ≤ 0.
	KindCredit Kind = 2
	// KindPenalty is e.g. SU-15's 25 % of the remaining term's value; amount ≥ 0.
	KindPenalty Kind = 3
	// KindRefund is money given back outside a self-service cancellation (OR-6, quantity
	// decrease); amount ≤ 0.
	KindRefund Kind = 4
)

// String is the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case KindCharge:
		return "charge"
	case KindCredit:
		return "credit"
	case KindPenalty:
		return "penalty"
	case KindRefund:
		return "refund"
	}
	return fmt.Sprintf("kind(%d)", int32(k))
}

// negative reports whether amounts of kind k are ≤ 0 (credits, refunds) rather than ≥ 0.
func (k Kind) negative() bool { return k == KindCredit || k == KindRefund }

// SourceKind is what caused an entry; numbers match partnerhub.orders.v1.LedgerSourceKind.
type SourceKind int32

// Source kinds.
const (
	SourceUnspecified SourceKind = 0
	// SourceOrderLine: a charge of an order line's billing plan (OrderID, LineID).
	SourceOrderLine SourceKind = 1
	// SourceOrderCancellation: the cancellation of an order line (OrderID, LineID; OR-3).
	SourceOrderCancellation SourceKind = 2
	// SourceSubscriptionEvent: an event of the subscriptions feed (SubscriptionID, EventID).
	SourceSubscriptionEvent SourceKind = 3
	// SourceSupportRequest: a support request granted by billing support (OR-6).
	SourceSupportRequest SourceKind = 4
)

// Term mirrors partnerhub.catalog.v1.Term.
type Term int32

// Terms.
const (
	TermUnspecified Term = 0
	TermP1M         Term = 1
	TermP1Y         Term = 2
	TermP3Y         Term = 3
	TermPerpetual   Term = 4
)

// BillingPlan mirrors partnerhub.catalog.v1.BillingPlan.
type BillingPlan int32

// Billing plans.
const (
	PlanUnspecified BillingPlan = 0
	PlanMonthly     BillingPlan = 1
	PlanAnnual      BillingPlan = 2
	PlanTriennial   BillingPlan = 3
	PlanOneTime     BillingPlan = 4
)

// Source points at what caused an entry; the IDs its Kind needs are set (see DeriveKey).
type Source struct {
	Kind             SourceKind
	OrderID          string
	LineID           string
	SubscriptionID   string
	EventID          string
	SupportRequestID string
}

// Entry is one immutable line of a partner's bill (ledger.proto LedgerEntry minus the storage
// fields entry_id, etag and update_time, which the store assigns; update_time = CreateTime).
type Entry struct {
	// Key identifies the entry's cause; the store keeps it unique (OR-7: nothing twice).
	Key EntryKey
	// PartnerID is the partner billed.
	PartnerID string
	// CustomerID is the customer tenant the entry is for.
	CustomerID string
	// Kind is what the entry does; it fixes the amount's sign.
	Kind Kind
	// Amount in integer minor units: ≥ 0 for charges and penalties, ≤ 0 for credits and refunds.
	Amount Money
	// TaxInclusive: the amount includes taxes (AU, BR: CA-4); never summed with exclusive amounts.
	TaxInclusive bool
	// Source is what caused the entry.
	Source Source
	// SKUID concerned; empty when none.
	SKUID string
	// Quantity of seats/licenses the amount is for; 0 when not per seat.
	Quantity int32
	// Term of the purchase concerned.
	Term Term
	// Plan is the billing plan that produced a charge (BI-2).
	Plan BillingPlan
	// ServicePeriodStart/End (exclusive) is the period the amount covers; zero when none.
	ServicePeriodStart time.Time
	ServicePeriodEnd   time.Time
	// InvoiceMonth is the monthly invoice the entry goes on.
	InvoiceMonth Month
	// Description is human-readable English.
	Description string
	// CreateTime is when the entry was recorded.
	CreateTime time.Time
}

// Validate checks the entry's invariants: partner, customer, kind, a valid currency, the
// amount's sign for its kind, a key equal to the one derived from its source, an invoice month,
// and a service period that is either unset or non-empty.
func (e Entry) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEntry, fmt.Sprintf(format, a...))
	}
	switch {
	case e.PartnerID == "":
		return bad("partner ID is empty")
	case e.CustomerID == "":
		return bad("customer ID is empty")
	case e.Kind < KindCharge || e.Kind > KindRefund:
		return bad("unknown kind %d", int32(e.Kind))
	case e.InvoiceMonth.IsZero():
		return bad("invoice month is unset")
	case e.Quantity < 0:
		return bad("negative quantity %d", e.Quantity)
	}
	if err := ValidateCurrency(e.Amount.Currency); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEntry, err)
	}
	if e.Kind.negative() && e.Amount.Minor > 0 {
		return bad("a %s must not be positive, got %s", e.Kind, e.Amount)
	}
	if !e.Kind.negative() && e.Amount.Minor < 0 {
		return bad("a %s must not be negative, got %s", e.Kind, e.Amount)
	}
	if !e.ServicePeriodEnd.IsZero() && !e.ServicePeriodEnd.After(e.ServicePeriodStart) {
		return bad("service period end %s is not after its start %s", e.ServicePeriodEnd, e.ServicePeriodStart)
	}
	if e.Key.IsZero() {
		return bad("key is unset")
	}
	if e.Key.Source != e.Source.Kind {
		return bad("key %s does not match source kind %d", e.Key, e.Source.Kind)
	}
	want, err := DeriveKey(e.Source, e.Key.Installment)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEntry, err)
	}
	if want != e.Key {
		return bad("key %s is not the one derived from its source (%s)", e.Key, want)
	}
	return nil
}
