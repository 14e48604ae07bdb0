package app

import (
	"context"
	"time"

	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Store is the subscriptions' persistence (adapters/sql on SQLite and PostgreSQL). Reads outside a
// transaction see committed data; every change runs in Tx.
type Store interface {
	// Tx runs fn in one transaction and commits when fn returns nil. Nothing fn wrote survives an
	// error. On PostgreSQL a serialization failure or deadlock is retried a few times.
	Tx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// LockingTx is Tx for fn that lock every row they read before changing it (Tx.Claim,
	// Tx.Subscription, Tx.Transfer do) and read nothing else: such a transaction needs no
	// snapshot isolation, and on PostgreSQL several can write at once without failing each other
	// (the lifecycle engine's batches).
	LockingTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Writers is how many transactions can usefully write at once (SQLite: 1).
	Writers() int
	// Subscription reads one subscription; errs.NotFound when there is none.
	Subscription(ctx context.Context, id string) (domain.Subscription, error)
	// Subscriptions lists subscriptions in (CreateTime, ID) order.
	Subscriptions(ctx context.Context, q ListQuery) ([]domain.Subscription, error)
	// Events lists feed events with Sequence > q.After in Sequence order.
	Events(ctx context.Context, q EventQuery) ([]domain.Event, error)
	// LastSequence is the highest Sequence appended so far (0 for an empty feed).
	LastSequence(ctx context.Context) (int64, error)
	// Due reads up to limit subscriptions whose next lifecycle step or reminder
	// (domain.NextDue) is at or before now, in (due time, ID) order strictly after the cursor
	// after (zero: from the start). The lifecycle engine reads them outside a transaction and
	// claims them with Tx.Claim.
	Due(ctx context.Context, now time.Time, after DueCursor, limit int) (DueBatch, error)
	// CountActive counts the customer's subscriptions that count against the tenant maximum
	// (SU-13), as committed; Tx.CountActive is the one to decide on.
	CountActive(ctx context.Context, customerID string) (int, error)
	// Transfer reads one transfer; errs.NotFound when there is none.
	Transfer(ctx context.Context, id string) (domain.Transfer, error)
	// Transfers lists transfers newest first: (CreateTime, ID) descending.
	Transfers(ctx context.Context, q TransferQuery) ([]domain.Transfer, error)
}

// Tx is one transaction of the Store.
type Tx interface {
	// Subscription reads one subscription and locks it until the transaction ends (PostgreSQL:
	// FOR UPDATE); errs.NotFound when there is none.
	Subscription(ctx context.Context, id string) (domain.Subscription, error)
	// InsertSubscription stores a new subscription (Version 1).
	InsertSubscription(ctx context.Context, s domain.Subscription) error
	// UpdateSubscription stores s, whose Version must be one more than the stored one; otherwise
	// errs.Aborted / ETAG_MISMATCH (a concurrent change won).
	UpdateSubscription(ctx context.Context, s domain.Subscription) error
	// CountActive counts the customer's subscriptions that count against the tenant maximum
	// (SU-13): states ACTIVE and SUSPENDED.
	CountActive(ctx context.Context, customerID string) (int, error)
	// AppendEvents appends events to the feed and returns them with Sequence set. Sequences follow
	// commit order: a reader that has seen sequence n never later finds a new event below n.
	AppendEvents(ctx context.Context, evs ...domain.Event) ([]domain.Event, error)
	// Step reads the provisioning step recorded under requestID.
	Step(ctx context.Context, requestID string) (domain.Step, bool, error)
	// PutStep inserts or replaces the step recorded under st.RequestID.
	PutStep(ctx context.Context, st domain.Step) error
	// Claim locks the subscriptions of a batch that Store.Due read until the transaction ends,
	// and returns those still stored with the Version read, in the batch's order. Rows another
	// transaction holds are passed over (PostgreSQL: FOR UPDATE SKIP LOCKED), so engines that read
	// the same due rows split them instead of waiting for each other.
	Claim(ctx context.Context, b DueBatch) ([]domain.Subscription, error)
	// Transfer reads one transfer and locks it until the transaction ends; errs.NotFound when
	// there is none.
	Transfer(ctx context.Context, id string) (domain.Transfer, error)
	// InsertTransfer stores a new transfer (Version 1).
	InsertTransfer(ctx context.Context, t domain.Transfer) error
	// UpdateTransfer stores t, whose Version must be one more than the stored one; otherwise
	// errs.Aborted / ETAG_MISMATCH.
	UpdateTransfer(ctx context.Context, t domain.Transfer) error
}

// DueCursor is a position in Store.Due's order: the due time the store recorded for subscription
// ID (its next_due), and the ID. The zero DueCursor is before the first.
type DueCursor struct {
	Due time.Time
	ID  string
}

// DueBatch is what one Store.Due read: Subs, which lie in (After, Last] in due order. Last is
// where the next read continues.
type DueBatch struct {
	Subs        []domain.Subscription
	After, Last DueCursor
}

// ListQuery filters Store.Subscriptions. Empty fields do not filter.
type ListQuery struct {
	CustomerID string
	PartnerID  string // partner of record
	States     []domain.State
	Channel    domain.Channel
	SkuID      string
	// HideSoftwareBoughtBefore leaves out software subscriptions (KindSoftwareSubscription) whose
	// PurchaseTime is before it (SU-11); zero: no such filter.
	HideSoftwareBoughtBefore time.Time
	// After is the keyset position: rows strictly after (AfterCreateTime, AfterID).
	AfterCreateTime time.Time
	AfterID         string
	Limit           int
}

// EventQuery filters Store.Events.
type EventQuery struct {
	After          int64  // exclusive
	PartnerID      string // events whose PartnerID is this; empty: every partner
	CustomerID     string
	SubscriptionID string
	Types          []domain.EventType // empty: every type
	Limit          int
}

// TransferQuery filters Store.Transfers. Empty fields do not filter.
type TransferQuery struct {
	CustomerID string
	// PartnerID keeps the transfers this partner is a side of: the target (DirectionIncoming),
	// the source (DirectionOutgoing) or either (DirectionBoth).
	PartnerID string
	Direction domain.TransferDirection
	// DirectOnly keeps the transfers of directly bought subscriptions (no source partner).
	DirectOnly bool
	States     []domain.TransferState
	// Before is the keyset position: rows strictly before (BeforeCreateTime, BeforeID).
	BeforeCreateTime time.Time
	BeforeID         string
	Limit            int
}
