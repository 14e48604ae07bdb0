package domain

import (
	"slices"
	"strconv"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// TransferMethod is how a transfer moves subscriptions to the target partner (SU-12..SU-14).
type TransferMethod string

// The transfer methods. MethodUnspecified exists only on CreateTransfer: the service chooses.
const (
	MethodUnspecified TransferMethod = ""
	// MethodDirectMove: the target's subscriptions are created at once and the source's cancelled
	// without refund; both exist side by side for a moment and count against the tenant maximum
	// (SU-13, SU-14).
	MethodDirectMove TransferMethod = "DIRECT_MOVE"
	// MethodExpireAndRepurchase: the sources expire at their end date with autorenew off and the
	// target repurchases within the 30-day EXPIRED grace, keeping the data (SU-9, SU-12, SU-13).
	MethodExpireAndRepurchase TransferMethod = "EXPIRE_AND_REPURCHASE"
)

// TransferState is the state of a transfer.
type TransferState string

// The transfer states: PENDING → ACCEPTED → COMPLETED | FAILED, or PENDING → CANCELLED | REJECTED.
const (
	TransferPending   TransferState = "PENDING"
	TransferAccepted  TransferState = "ACCEPTED"
	TransferCompleted TransferState = "COMPLETED"
	TransferCancelled TransferState = "CANCELLED"
	TransferRejected  TransferState = "REJECTED"
	TransferFailed    TransferState = "FAILED"
)

// TransferStates lists every transfer state.
func TransferStates() []TransferState {
	return []TransferState{TransferPending, TransferAccepted, TransferCompleted, TransferCancelled,
		TransferRejected, TransferFailed}
}

// Final reports whether nothing can change a transfer in state s any more.
func (s TransferState) Final() bool { return s != TransferPending && s != TransferAccepted }

// ItemState is the progress of one subscription in a transfer.
type ItemState string

// The item states; MOVED and NOT_MOVED are final.
const (
	ItemPending            ItemState = "PENDING"
	ItemAwaitingExpiry     ItemState = "AWAITING_EXPIRY"
	ItemAwaitingRepurchase ItemState = "AWAITING_REPURCHASE"
	ItemMoved              ItemState = "MOVED"
	ItemNotMoved           ItemState = "NOT_MOVED"
)

// Final reports whether the item is settled.
func (s ItemState) Final() bool { return s == ItemMoved || s == ItemNotMoved }

// TransferDirection is the side of a transfer a caller lists.
type TransferDirection string

// The directions; DirectionBoth (the zero value) is either side.
const (
	DirectionBoth     TransferDirection = ""
	DirectionIncoming TransferDirection = "INCOMING" // the caller's partner is the target
	DirectionOutgoing TransferDirection = "OUTGOING" // the caller's organisation is the source
)

// TransferItem is one subscription of a transfer.
type TransferItem struct {
	SubscriptionID string
	SourceSkuID    string
	TargetSkuID    string
	// TargetProductID, TargetDisplayName and TargetMaxQuantity describe TargetSkuID (the catalog's
	// answer at creation), for the subscription a direct move creates.
	TargetProductID             string
	TargetDisplayName           string
	TargetMaxQuantity           int32
	Quantity                    int32
	LicenseReassignmentRequired bool
	State                       ItemState
	TargetSubscriptionID        string
	SourceTermEnd               time.Time // 00:00 UTC
}

// TenantLimit is the tenant maximum figures checked for a transfer (SU-13).
type TenantLimit struct {
	Limit  int // the maximum of active subscriptions
	Active int // active subscriptions of the tenant when checked
	Peak   int // at the peak of the transfer: Active + items for a direct move, else Active
}

// Transfer moves subscriptions of one customer from a source (a partner, or the customer's own
// direct purchases when SourcePartnerID is empty) to the target partner that created it (ID-5,
// SU-12..SU-14).
type Transfer struct {
	ID              string
	CustomerID      string
	SourcePartnerID string
	TargetPartnerID string
	Method          TransferMethod
	State           TransferState
	Items           []TransferItem
	Limit           TenantLimit
	// RepurchaseDeadline is the latest source term end + 30 days (EXPIRE_AND_REPURCHASE); zero
	// for a direct move.
	RepurchaseDeadline time.Time
	CreatedBy          string
	DecidedBy          string // who accepted, rejected or cancelled; empty while pending
	Note               string
	CompleteTime       time.Time // when a final state was reached; zero before
	// Version counts the transfer's saved changes, starting at 1; the etag is derived from it.
	Version    int64
	CreateTime time.Time
	UpdateTime time.Time
}

// TransferEtag is the transfer's opaque version, like Etag for a subscription.
func TransferEtag(t Transfer) string { return "v" + strconv.FormatInt(t.Version, 10) }

// SkuInfo is what the catalog says about a SKU that transfers need (CA-9).
type SkuInfo struct {
	ID              string
	ProductID       string
	DisplayName     string
	MaxQuantity     int32
	Discontinued    bool
	EquivalentSkuID string // set when Discontinued
}

// PlanItemTarget checks the offer a subscription of SKU source moves to (SU-14, CA-9) and tells
// whether its licenses must be reassigned. A discontinued target cannot be bought: FAILED_PRECONDITION
// / EQUIVALENT_OFFER_REQUIRED with the equivalent to use (metadata sku_id, equivalent_sku_id) —
// this is also what a discontinued source kept as the target gets. Moving to the same SKU or to
// the equivalent the source's discontinuation names keeps the licenses; any other offer needs
// license reassignment.
func PlanItemTarget(source, target SkuInfo) (reassign bool, err error) {
	if target.Discontinued {
		return false, errs.New(errs.FailedPrecondition, ReasonEquivalentOfferRequired,
			"offer %s is discontinued; move to its equivalent %s (CA-9, SU-14)", target.ID, target.EquivalentSkuID).
			With("sku_id", target.ID).With("equivalent_sku_id", target.EquivalentSkuID)
	}
	return target.ID != source.ID && target.ID != source.EquivalentSkuID, nil
}

// CheckMovable refuses a subscription that cannot move by method: a state that does not allow
// ActionTransfer (only ACTIVE and EXPIRED do) → INVALID_STATE_TRANSITION; an EXPIRED one in a
// direct move → INVALID_STATE_TRANSITION too, since its term is over and only the repurchase path
// applies (SU-12). Metadata state, action, subscription_id.
func CheckMovable(s Subscription, m TransferMethod) error {
	if _, err := Transition(s.State, ActionTransfer); err != nil {
		if e, ok := errs.As(err); ok {
			return e.With("subscription_id", s.ID)
		}
		return err
	}
	if m == MethodDirectMove && s.State != StateActive {
		return errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
			"subscription %s is %s: a direct move needs an ACTIVE subscription; the target repurchases it instead (SU-12)",
			s.ID, s.State).With("state", s.State).With("action", ActionTransfer).With("subscription_id", s.ID)
	}
	return nil
}

// CheckTransferable is CheckMovable for a subscription joining a new transfer, which must not be
// part of an open one: FAILED_PRECONDITION / TRANSFER_ALREADY_PENDING (metadata transfer_id,
// subscription_id).
func CheckTransferable(s Subscription, m TransferMethod) error {
	if err := CheckMovable(s, m); err != nil {
		return err
	}
	if s.PendingTransferID != "" {
		return errs.New(errs.FailedPrecondition, ReasonTransferAlreadyPending,
			"subscription %s is already part of transfer %s", s.ID, s.PendingTransferID).
			With("transfer_id", s.PendingTransferID).With("subscription_id", s.ID)
	}
	return nil
}

// ChooseMethod settles the method of a transfer of n subscriptions of a tenant holding active
// ones under limit (SU-13). A direct move creates the target's subscriptions while the source's
// still count, so it needs active + n ≤ limit, and every item ACTIVE (allActive). An explicit
// DIRECT_MOVE that does not fit is refused with TENANT_SUBSCRIPTION_LIMIT (metadata limit, active,
// requested); MethodUnspecified takes DIRECT_MOVE when it fits and EXPIRE_AND_REPURCHASE
// otherwise, the path SU-13 prescribes for more than half the maximum. The figures are returned
// either way.
func ChooseMethod(m TransferMethod, limit, active, n int, allActive bool) (TransferMethod, TenantLimit, error) {
	if limit <= 0 {
		limit = DefaultTenantLimit
	}
	fits := CheckTenantLimit(limit, active, n)
	if m == MethodUnspecified {
		m = MethodExpireAndRepurchase
		if fits == nil && allActive {
			m = MethodDirectMove
		}
	}
	lim := TenantLimit{Limit: limit, Active: active, Peak: active}
	if m == MethodDirectMove {
		lim.Peak = active + n
		if fits != nil {
			return m, lim, fits
		}
	}
	return m, lim, nil
}

// RepurchaseDeadline is the last moment the target may repurchase the items: the latest source
// term end + 30 days, when the last source leaves its EXPIRED grace (SU-2, SU-12).
func RepurchaseDeadline(items []TransferItem) time.Time {
	var last time.Time
	for _, it := range items {
		if it.SourceTermEnd.After(last) {
			last = it.SourceTermEnd
		}
	}
	return addDays(last, DisableAfterDays)
}

// CheckPending refuses a decision on a transfer that is no longer PENDING: FAILED_PRECONDITION /
// TRANSFER_NOT_PENDING (metadata state).
func CheckPending(t Transfer) error {
	if t.State == TransferPending {
		return nil
	}
	return errs.New(errs.FailedPrecondition, ReasonTransferNotPending, "transfer %s is %s, no longer pending", t.ID, t.State).
		With("state", t.State)
}

// Item returns the item of subscription id.
func (t Transfer) Item(id string) (TransferItem, bool) {
	i := slices.IndexFunc(t.Items, func(it TransferItem) bool { return it.SubscriptionID == id })
	if i < 0 {
		return TransferItem{}, false
	}
	return t.Items[i], true
}

// WithItem returns t with the item of subscription it.SubscriptionID replaced by it (t's items are
// not modified).
func (t Transfer) WithItem(it TransferItem) Transfer {
	t.Items = slices.Clone(t.Items)
	for i := range t.Items {
		if t.Items[i].SubscriptionID == it.SubscriptionID {
			t.Items[i] = it
		}
	}
	return t
}

// Close ends a pending transfer as CANCELLED or REJECTED by user at now: no item moves.
func Close(t Transfer, to TransferState, user string, now time.Time) Transfer {
	t.Items = slices.Clone(t.Items)
	for i := range t.Items {
		t.Items[i].State = ItemNotMoved
	}
	t.State, t.DecidedBy, t.CompleteTime = to, user, Instant(now)
	return t
}

// Settle completes an ACCEPTED transfer whose items are all settled: COMPLETED when at least one
// moved, FAILED when none did (the grace passed for all, SU-12). Anything else is returned as is.
func Settle(t Transfer, now time.Time) Transfer {
	if t.State != TransferAccepted {
		return t
	}
	moved := false
	for _, it := range t.Items {
		if !it.State.Final() {
			return t
		}
		moved = moved || it.State == ItemMoved
	}
	t.State, t.CompleteTime = TransferFailed, Instant(now)
	if moved {
		t.State = TransferCompleted
	}
	return t
}

// SourceAdvanced updates an accepted transfer after the lifecycle engine moved its source
// subscription s (SU-2, SU-12): EXPIRED, the target may now repurchase it (AWAITING_REPURCHASE);
// DISABLED or any final state, the grace is over or the subscription gone, so the item is
// NOT_MOVED and the transfer settles. It reports whether the item reached a final state (the
// source then leaves the transfer) and whether t changed.
func SourceAdvanced(t Transfer, s Subscription, now time.Time) (out Transfer, settled, changed bool) {
	it, ok := t.Item(s.ID)
	if !ok || it.State.Final() || t.State != TransferAccepted {
		return t, false, false
	}
	switch s.State {
	case StateExpired:
		if it.State == ItemAwaitingRepurchase {
			return t, false, false
		}
		it.State, it.SourceTermEnd = ItemAwaitingRepurchase, s.TermEnd
		return t.WithItem(it), false, true
	case StateActive, StateSuspended:
		return t, false, false // still running (a renewal keeps it AWAITING_EXPIRY)
	}
	it.State = ItemNotMoved
	return Settle(t.WithItem(it), now), true, true
}

// MatchRepurchase finds the item a subscription of SKU sku, provisioned at now by the target
// partner for the transfer's customer, repurchases (SU-12): an AWAITING_REPURCHASE item of that
// target SKU whose source is still in its 30-day EXPIRED grace. Anything else is
// FAILED_PRECONDITION / INVALID_STATE_TRANSITION (metadata transfer_id, state, sku_id): the
// transfer is not an accepted expire-and-repurchase one, or no such item waits (not expired yet,
// grace over, already repurchased, or another SKU). The caller checks customer and partner.
func MatchRepurchase(t Transfer, sku string, now time.Time) (TransferItem, error) {
	refuse := func(format string, args ...any) error {
		return errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition, format, args...).
			With("transfer_id", t.ID).With("state", t.State).With("action", ActionTransfer).With("sku_id", sku)
	}
	if t.Method != MethodExpireAndRepurchase || t.State != TransferAccepted {
		return TransferItem{}, refuse("transfer %s is a %s transfer in state %s: nothing awaits repurchase", t.ID, t.Method, t.State)
	}
	for _, it := range t.Items {
		if it.TargetSkuID == sku && it.State == ItemAwaitingRepurchase && now.Before(addDays(it.SourceTermEnd, DisableAfterDays)) {
			return it, nil
		}
	}
	return TransferItem{}, refuse("transfer %s has no subscription of SKU %s awaiting repurchase: the source must have "+
		"expired, and the target repurchases within the 30 days after its end date (SU-12)", t.ID, sku)
}
