package domain

import (
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// OrderState is where an order is in its life (partnerhub.orders.v1.OrderState without prefix).
type OrderState string

// The order states (OR-1, OR-3, OR-4).
const (
	OrderPending            OrderState = "PENDING"
	OrderProvisioning       OrderState = "PROVISIONING"
	OrderCompleted          OrderState = "COMPLETED"
	OrderCompensating       OrderState = "COMPENSATING"
	OrderFailed             OrderState = "FAILED"
	OrderCancelling         OrderState = "CANCELLING"
	OrderCancelled          OrderState = "CANCELLED"
	OrderPartiallyCancelled OrderState = "PARTIALLY_CANCELLED"
)

// OrderStates lists every order state in the proto's order.
func OrderStates() []OrderState {
	return []OrderState{OrderPending, OrderProvisioning, OrderCompleted, OrderCompensating,
		OrderFailed, OrderCancelling, OrderCancelled, OrderPartiallyCancelled}
}

// Settled reports whether WatchOrder ends on s: COMPLETED, FAILED, CANCELLED, PARTIALLY_CANCELLED.
func (s OrderState) Settled() bool {
	return s == OrderCompleted || s == OrderFailed || s == OrderCancelled || s == OrderPartiallyCancelled
}

// LineState is where one line is in provisioning and cancellation
// (partnerhub.orders.v1.OrderLineState without prefix).
type LineState string

// The line states.
const (
	LinePending      LineState = "PENDING"
	LineProvisioning LineState = "PROVISIONING"
	LineProvisioned  LineState = "PROVISIONED"
	LineFailed       LineState = "FAILED"
	LineCompensated  LineState = "COMPENSATED"
	LineCancelling   LineState = "CANCELLING"
	LineCancelled    LineState = "CANCELLED"
)

// LineStates lists every line state in the proto's order.
func LineStates() []LineState {
	return []LineState{LinePending, LineProvisioning, LineProvisioned, LineFailed, LineCompensated,
		LineCancelling, LineCancelled}
}

// ProductKind is the catalog's product kind (CA-1), snapshot at placement.
type ProductKind string

// The product kinds of CA-1 (partnerhub.catalog.v1.ProductKind without prefix).
const (
	KindOnlineService        ProductKind = "ONLINE_SERVICE"
	KindSoftwareSubscription ProductKind = "SOFTWARE_SUBSCRIPTION"
	KindPerpetualSoftware    ProductKind = "PERPETUAL_SOFTWARE"
	KindAzureReservation     ProductKind = "AZURE_RESERVATION"
	KindSoftwarePlan         ProductKind = "SOFTWARE_PLAN"
	KindServerSubscription   ProductKind = "SERVER_SUBSCRIPTION"
)

// Term is the term bought (partnerhub.catalog.v1.Term without prefix).
type Term string

// The terms.
const (
	TermP1M       Term = "P1M"
	TermP1Y       Term = "P1Y"
	TermP3Y       Term = "P3Y"
	TermPerpetual Term = "PERPETUAL"
)

// Terms lists every term.
func Terms() []Term { return []Term{TermP1M, TermP1Y, TermP3Y, TermPerpetual} }

// BillingPlan splits a term's price into charges (CA-5, BI-2; partnerhub.catalog.v1.BillingPlan
// without prefix).
type BillingPlan string

// The billing plans.
const (
	PlanMonthly   BillingPlan = "MONTHLY"
	PlanAnnual    BillingPlan = "ANNUAL"
	PlanTriennial BillingPlan = "TRIENNIAL"
	PlanOneTime   BillingPlan = "ONE_TIME"
)

// BillingPlans lists every billing plan.
func BillingPlans() []BillingPlan {
	return []BillingPlan{PlanMonthly, PlanAnnual, PlanTriennial, PlanOneTime}
}

// CancellationPolicy is the SKU's cancellation rule at order time (CA-10;
// partnerhub.catalog.v1.CancellationPolicyKind without prefix).
type CancellationPolicy string

// The cancellation policies.
const (
	// PolicyProratedRefundWindow: first WindowDays of each term, prorated refund (SU-10); the
	// subscriptions service owns the window and the refund.
	PolicyProratedRefundWindow CancellationPolicy = "PRORATED_REFUND_WINDOW"
	// PolicyFullCreditWindow: WindowDays from purchase, 100 % credit (perpetual software, OR-3).
	PolicyFullCreditWindow CancellationPolicy = "FULL_CREDIT_WINDOW"
	// PolicyNever: never cancellable (Red Hat, SUSE; CA-10).
	PolicyNever CancellationPolicy = "NEVER"
)

// KeyType is the key a purchase comes with (CA-7, CA-8). There is no KMS value (CA-8, KD-5).
type KeyType string

// The key types.
const (
	KeyNone KeyType = "NONE"
	KeyMAK  KeyType = "MAK"
)

// Money is an amount in integer minor units of an ISO 4217 currency; never a float (BI-*).
type Money struct {
	Minor    int64
	Currency string
}

// Failure is why an order or a line failed: the reason the refused step returned (OR-1).
type Failure struct {
	Reason   errs.Reason
	Message  string
	Metadata map[string]string
	Step     Step
}

// LineCancellation is the progress of a line's cancellation across services (OR-3, OR-4).
// A flag the line does not need (no subscription, no entitlement) is true from the start.
type LineCancellation struct {
	Route                 CancelRoute
	RequestTime           time.Time
	CompleteTime          time.Time // zero while pending
	SubscriptionCancelled bool      // subscriptions applied it (SU-10)
	EntitlementsRevoked   bool      // keys revoked keys and links (OR-3, KD-7)
	CreditRecorded        bool      // the ledger recorded the credit (BI-3)
	Credit                Money     // negative; 100 % for perpetual (OR-3), from subscriptions for SU-10
	Reason                string    // the caller's free text
}

// Applied reports whether every service has applied the cancellation (OR-4).
func (c LineCancellation) Applied() bool {
	return c.SubscriptionCancelled && c.EntitlementsRevoked && c.CreditRecorded
}

// OrderLine is one product of an order with the price and policy fixed at placement and the IDs
// each saga step produced.
type OrderLine struct {
	ID           string // line ID (UUID), unique in the order
	SkuID        string
	DisplayName  string
	Kind         ProductKind
	Quantity     int32
	Term         Term
	Plan         BillingPlan
	AutoRenew    bool
	KeyType      KeyType // CA-7, CA-8
	HasDownloads bool    // CA-7
	// UnitPeriodPrice is the price of one unit per billing period; UnitTermPrice of one unit for
	// the whole term (equal for ONE_TIME). Both snapshot at placement, minor units.
	UnitPeriodPrice Money
	UnitTermPrice   Money
	TaxInclusive    bool // CA-4
	Policy          CancellationPolicy
	WindowDays      int32 // CA-10: 7 for software subscriptions, 30 for perpetual, 0 for NEVER
	State           LineState
	// The IDs the saga's steps produced in other services (empty until produced and after
	// compensation).
	SubscriptionID string
	EntitlementID  string
	ChargeID       string // ledger entry of the line's first charge
	CompleteTime   time.Time
	Failure        *Failure
	Cancellation   *LineCancellation
}

// NeedsEntitlements reports whether the keys service issues an entitlement for the line: a MAK
// key or downloads (CA-7). License-only lines (online services, Azure Reservations, software
// plans) get none.
func (l OrderLine) NeedsEntitlements() bool { return l.KeyType == KeyMAK || l.HasDownloads }

// BillingPeriodAmount is UnitPeriodPrice × Quantity: the line's charge per billing period.
func (l OrderLine) BillingPeriodAmount() Money { return l.UnitPeriodPrice.Times(l.Quantity) }

// TermAmount is UnitTermPrice × Quantity: the whole term's amount of the line.
func (l OrderLine) TermAmount() Money { return l.UnitTermPrice.Times(l.Quantity) }

// Times is m for q units.
func (m Money) Times(q int32) Money { return Money{Minor: m.Minor * int64(q), Currency: m.Currency} }

// Plus is m + o, in o's currency when m has none yet (a sum starting from zero); the amounts of
// one order share its market's currency.
func (m Money) Plus(o Money) Money { return Money{Minor: m.Minor + o.Minor, Currency: o.Currency} }

// TimesExact is Times, false when the product does not fit an int64. The catalog allows a period
// price of up to 10^15 minor units and any int32 maximum quantity, so a large order can overflow:
// the review refuses it (AMOUNT_OUT_OF_RANGE) before any amount is shown or stored, and Times and
// Plus are then exact for every stored order.
// The exact arithmetic is the ledger's (ledger.Money.Mul and Add).
func (m Money) TimesExact(q int32) (Money, bool) {
	p, err := ledger.Money(m).Mul(int64(q))
	return Money(p), err == nil
}

// PlusExact is Plus, false when the sum does not fit an int64.
func (m Money) PlusExact(o Money) (Money, bool) {
	// In o's currency, as Plus: a total starts as the zero Money without one.
	s, err := ledger.Money{Minor: m.Minor, Currency: o.Currency}.Add(ledger.Money(o))
	return Money(s), err == nil
}

// FirstChargeTotal is the sum of the lines' billing-period amounts: the order's first charge.
func (o Order) FirstChargeTotal() Money {
	var t Money
	for _, l := range o.Lines {
		t = t.Plus(l.BillingPeriodAmount())
	}
	return t
}

// TermTotal is the sum of the lines' term amounts.
func (o Order) TermTotal() Money {
	var t Money
	for _, l := range o.Lines {
		t = t.Plus(l.TermAmount())
	}
	return t
}

// Currency is the currency of the order's prices (its market's); "" before any line is priced.
func (o Order) Currency() string {
	for _, l := range o.Lines {
		if l.UnitTermPrice.Currency != "" {
			return l.UnitTermPrice.Currency
		}
	}
	return ""
}

// Order is a purchase a partner placed for one customer (OR-1).
type Order struct {
	ID                  string
	PartnerID           string
	CustomerID          string
	CountryCode         string
	PlacedBy            string
	State               OrderState
	Lines               []OrderLine // in the order they were given
	TaxInclusive        bool
	Failure             *Failure // set in COMPENSATING and FAILED
	CancellationPending bool     // OR-4
	PartnerReference    string
	RequestID           string // PlaceOrder's request_id (OR-7)
	// Version counts saved changes from 1; the etag is derived from it.
	Version      int64
	CreateTime   time.Time // the purchase time of OR-2, OR-3
	UpdateTime   time.Time
	CompleteTime time.Time // when COMPLETED or FAILED
}

// Line returns the line with the given ID and its index, or -1.
func (o Order) Line(id string) (OrderLine, int) {
	for i, l := range o.Lines {
		if l.ID == id {
			return l, i
		}
	}
	return OrderLine{}, -1
}

// clone returns a deep enough copy of o that changing lines and their cancellations leaves o as
// it was.
func (o Order) clone() Order {
	c := o
	c.Lines = make([]OrderLine, len(o.Lines))
	copy(c.Lines, o.Lines)
	for i := range c.Lines {
		if lc := c.Lines[i].Cancellation; lc != nil {
			cp := *lc
			c.Lines[i].Cancellation = &cp
		}
	}
	return c
}
