package domain

import (
	"time"
)

// State is a subscription's lifecycle state (SU-1).
type State string

// The states of SU-1. Deleted and Cancelled are final.
const (
	StateActive    State = "ACTIVE"
	StateSuspended State = "SUSPENDED"
	StateExpired   State = "EXPIRED"
	StateDisabled  State = "DISABLED"
	StateDeleted   State = "DELETED"
	StateCancelled State = "CANCELLED"
)

// States lists every state, in the order of SU-1.
func States() []State {
	return []State{StateActive, StateSuspended, StateExpired, StateDisabled, StateDeleted, StateCancelled}
}

// Final reports whether nothing can change a subscription in state s any more.
func (s State) Final() bool { return s == StateDeleted || s == StateCancelled }

// Channel is how the customer bought the subscription.
type Channel string

// The channels.
const (
	ChannelCSP       Channel = "CSP"
	ChannelWebDirect Channel = "WEB_DIRECT"
	ChannelOpen      Channel = "OPEN"
	ChannelDirect    Channel = "DIRECT"
)

// ProductKind is the catalog's product kind (CA-1), snapshot at provisioning.
type ProductKind string

// The product kinds of CA-1.
const (
	KindOnlineService        ProductKind = "ONLINE_SERVICE"
	KindSoftwareSubscription ProductKind = "SOFTWARE_SUBSCRIPTION"
	KindPerpetualSoftware    ProductKind = "PERPETUAL_SOFTWARE" // never a subscription
	KindAzureReservation     ProductKind = "AZURE_RESERVATION"
	KindSoftwarePlan         ProductKind = "SOFTWARE_PLAN"
	KindServerSubscription   ProductKind = "SERVER_SUBSCRIPTION"
)

// BillingPlan splits a term's price into charges (CA-5, BI-2).
type BillingPlan string

// The billing plans a subscription can have.
const (
	PlanMonthly   BillingPlan = "MONTHLY"
	PlanAnnual    BillingPlan = "ANNUAL"
	PlanTriennial BillingPlan = "TRIENNIAL"
)

// Term is a term length as an ISO 8601 duration.
type Term string

// The terms a subscription can have.
const (
	TermP1M Term = "P1M"
	TermP1Y Term = "P1Y"
	TermP3Y Term = "P3Y"
)

// CancellationPolicy is the product's cancellation rule (CA-10), snapshot at provisioning.
type CancellationPolicy string

// The cancellation policies a subscription can have.
const (
	// PolicyProratedRefundWindow: cancellable within the first WindowDays of each term with a
	// prorated refund (SU-10).
	PolicyProratedRefundWindow CancellationPolicy = "PRORATED_REFUND_WINDOW"
	// PolicyNever: never cancellable (Red Hat, SUSE software plans; CA-10).
	PolicyNever CancellationPolicy = "NEVER"
)

// Money is an amount in minor units of an ISO 4217 currency. Never a float (BI-*).
type Money struct {
	Minor    int64
	Currency string
}

// SeatLot is a number of seats added at one time (purchase, increase or key redemption); lots
// decide which seats may still be removed with a refund (7 days after being added, SU-7).
type SeatLot struct {
	ID        string
	Quantity  int32 // seats of the lot still in the subscription; at least 1
	AddTime   time.Time
	OrderID   string // order or key redemption that paid for the lot; may be empty
	UnitPrice Money  // per seat for the whole term
}

// Subscription is one subscription of a customer tenant (SU-1..SU-16). Dates of a term are
// 00:00 UTC; other times are instants on the service clock at microsecond precision.
type Subscription struct {
	ID          string
	CustomerID  string
	PartnerID   string // partner of record; empty when bought directly (SU-8)
	SkuID       string
	ProductID   string
	DisplayName string
	Kind        ProductKind
	State       State
	Channel     Channel
	Quantity    int32     // the sum of Lots' quantities
	MaxQuantity int32     // the SKU's maximum (snapshot)
	Lots        []SeatLot // oldest first
	Plan        BillingPlan
	Term        Term
	TermStart   time.Time // first day of the current term, 00:00 UTC
	TermEnd     time.Time // end of the current term (exclusive), 00:00 UTC
	AutoRenew   bool
	UnitPrice   Money // per seat for the whole term (snapshot at provisioning or last renewal)
	Policy      CancellationPolicy
	WindowDays  int32 // cancellation window in days from the start of each term; 0 for NEVER
	OrderID     string
	// PurchaseTime is when the subscription was originally bought (SU-11, CA-11); for Web-Direct
	// subscriptions also the activation SU-15's first 30 days count from.
	PurchaseTime time.Time
	StateTime    time.Time // when the subscription entered State
	// RemindersSent holds the days-before-expiry (60, 30, 7, 1) of the renewal reminders already
	// sent for the current term (SU-3); a new term empties it.
	RemindersSent     []int32
	PendingTransferID string
	// LicensedUserIDs are the users of the customer tenant who hold a license (one seat each) of
	// the subscription, in the order they got it (ID-2: the first admin of a tenant created by key
	// redemption); at most Quantity of them (CheckLicensedUsers, CheckLicensedSeats).
	LicensedUserIDs []string
	// MovedInTime is when the subscription came to its partner of record by a direct transfer
	// (SU-12); zero when that partner bought it. The previous partner paid for the term and the
	// seats it brought along, so they are never refunded to the new one (refundFloor).
	MovedInTime time.Time
	// Version counts the subscription's saved changes, starting at 1; the etag is derived from it.
	Version    int64
	CreateTime time.Time
	UpdateTime time.Time
}

// EventType is the type of a subscriptions feed event.
type EventType string

// The event types of the feed (partnerhub.subscriptions.v1 SubscriptionEventType).
const (
	EventCreated          EventType = "CREATED"
	EventRenewed          EventType = "RENEWED"
	EventQuantityChanged  EventType = "QUANTITY_CHANGED"
	EventSuspended        EventType = "SUSPENDED"
	EventReactivated      EventType = "REACTIVATED"
	EventExpired          EventType = "EXPIRED"
	EventDisabled         EventType = "DISABLED"
	EventDeleted          EventType = "DELETED"
	EventCancelled        EventType = "CANCELLED"
	EventTransferred      EventType = "TRANSFERRED"
	EventRenewalReminder  EventType = "RENEWAL_REMINDER"
	EventPenalty          EventType = "PENALTY"
	EventAutoRenewChanged EventType = "AUTO_RENEW_CHANGED"
	EventChannelConverted EventType = "CHANNEL_CONVERTED"
)

// RenewalKind says how a subscription was renewed.
type RenewalKind string

// The renewal kinds.
const (
	RenewalAuto       RenewalKind = "AUTO_RENEW"  // autorenew at the term end (SU-9)
	RenewalProductKey RenewalKind = "PRODUCT_KEY" // an Open key redeemed (SU-4)
)

// Event is one entry of the subscriptions feed. Exactly one payload pointer is set, matching
// Type. Sequence is assigned by the store when the event is appended.
type Event struct {
	ID             string
	Sequence       int64
	Type           EventType
	PartnerID      string
	CustomerID     string
	SubscriptionID string
	Time           time.Time
	RequestID      string // empty for lifecycle-engine events
	State          State  // the subscription's state after the event

	Created          *CreatedPayload          `json:",omitempty"`
	Renewed          *RenewedPayload          `json:",omitempty"`
	QuantityChanged  *QuantityChangedPayload  `json:",omitempty"`
	Suspended        *SuspendedPayload        `json:",omitempty"`
	Reactivated      *ReactivatedPayload      `json:",omitempty"`
	Expired          *ExpiredPayload          `json:",omitempty"`
	Disabled         *DisabledPayload         `json:",omitempty"`
	Deleted          *DeletedPayload          `json:",omitempty"`
	Cancelled        *CancelledPayload        `json:",omitempty"`
	Transferred      *TransferredPayload      `json:",omitempty"`
	RenewalReminder  *RenewalReminderPayload  `json:",omitempty"`
	Penalty          *PenaltyPayload          `json:",omitempty"`
	AutoRenewChanged *AutoRenewChangedPayload `json:",omitempty"`
	ChannelConverted *ChannelConvertedPayload `json:",omitempty"`
}

// CreatedPayload: a subscription was provisioned.
type CreatedPayload struct {
	OrderID, OrderLineID, SkuID string
	Channel                     Channel
	Quantity                    int32
	Plan                        BillingPlan
	Term                        Term
	TermStart, TermEnd          time.Time
	UnitPrice                   Money
	AutoRenew                   bool
}

// RenewedPayload: a new term started (autorenew or product key).
type RenewedPayload struct {
	Kind               RenewalKind
	TermStart, TermEnd time.Time
	Quantity           int32
	Plan               BillingPlan
	AmountDue          Money // the first charge of the new term per billing plan
	TermAmount         Money // the whole new term's price (BI-2: the plan's installments split it)
	OrderID            string
}

// QuantityChangedPayload: the seat count changed.
type QuantityChangedPayload struct {
	OldQuantity, NewQuantity int32
	OldTermEnd, NewTermEnd   time.Time
	PriceDelta               Money // positive: charge; negative: refund
	OrderID                  string
}

// SuspendedPayload: the partner suspended the subscription (SU-7).
type SuspendedPayload struct{ Reason string }

// ReactivatedPayload: the subscription is active again (SU-2, SU-7).
type ReactivatedPayload struct {
	FromState          State
	TermStart, TermEnd time.Time
	AmountDue          Money
}

// ExpiredPayload: the term ended without renewal (SU-2).
type ExpiredPayload struct{ TermEnd, DisableTime time.Time }

// DisabledPayload: 30 days after the end date (SU-2).
type DisabledPayload struct{ DeleteTime time.Time }

// DeletedPayload: 120 days after the end date (SU-2).
type DeletedPayload struct{ TermEnd time.Time }

// CancelledPayload: cancelled in its window (SU-10) or by compensation of a failed saga.
type CancelledPayload struct {
	Refund       Money // negative or zero
	Quantity     int32
	Compensation bool
	Reason       string
}

// TransferredPayload: the subscription moved to another partner (SU-12..SU-14).
type TransferredPayload struct {
	TransferID, FromPartnerID, ToPartnerID, TargetSubscriptionID string
}

// RenewalReminderPayload: a renewal reminder to the partner of record (SU-3).
type RenewalReminderPayload struct {
	DaysBeforeExpiry int32
	TermEnd          time.Time
	AutoRenew        bool
	Quantity         int32
}

// PenaltyPayload: a penalty charged (SU-15: 25 % of the remaining term's value).
type PenaltyPayload struct {
	Amount             Money
	RemainingTermValue Money
	RateBasisPoints    int32
	Reason             string
}

// AutoRenewChangedPayload: autorenew switched (SU-9).
type AutoRenewChangedPayload struct{ AutoRenew bool }

// ChannelConvertedPayload: a Web-Direct subscription switched to Open (SU-15).
type ChannelConvertedPayload struct {
	FromChannel, ToChannel Channel
	TermStart, TermEnd     time.Time
	FirstMonthCharge       Money
}

// StepKind is the kind of a saga step ProvisioningService performed.
type StepKind string

// The provisioning steps CompensateProvisioning can undo.
const (
	StepProvision StepKind = "PROVISION" // created a subscription
	StepAddSeats  StepKind = "ADD_SEATS" // added seats to an existing one
	StepRenew     StepKind = "RENEW"     // renewed by product key
)

// Step records a provisioning saga step by its request ID, with what CompensateProvisioning needs
// to undo it: the subscription as it was before the step (nil for a creation). A tombstone is a
// step recorded as compensated before it ever ran: a late call of that step is refused
// (STEP_ALREADY_COMPENSATED).
type Step struct {
	RequestID      string
	Kind           StepKind // empty for a tombstone
	SubscriptionID string
	LotID          string        // ADD_SEATS: the lot the step added
	Before         *Subscription // ADD_SEATS, RENEW: the subscription before the step
	Compensated    bool
	CreateTime     time.Time
}
