// Package app holds the orders use cases: placing orders and running their saga across identity,
// catalog, subscriptions and keys (OR-1, OR-7), cancellation (OR-3..OR-5), the ledger (BI-1..BI-3)
// and support requests (OR-6). It talks to the database through Store and to the other services
// through the peer ports below; the transport (ports/grpcapi) only maps.
package app

import (
	"context"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"

	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// Store is the orders service's persistence (adapters/sql on SQLite and PostgreSQL). Reads outside
// a transaction see committed data; every change runs in Tx.
type Store interface {
	// Tx runs fn in one transaction and commits when fn returns nil (store.DB.InTx: SERIALIZABLE
	// on PostgreSQL, retried on conflicts, so fn must have no effects outside the transaction).
	Tx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Order reads one order with its lines; errs.NotFound when there is none.
	Order(ctx context.Context, id string) (domain.Order, error)
	// OrderOfRequest reads the order PlaceOrder created under (scope, requestID), if any (OR-7).
	OrderOfRequest(ctx context.Context, scope, requestID string) (domain.Order, bool, error)
	// Orders lists orders newest first: (CreateTime, ID) descending.
	Orders(ctx context.Context, q OrderQuery) ([]domain.Order, error)
	// DueSagas lists up to limit orders whose saga is not terminal, whose next run is at or
	// before now and whose lease (if any) has run out at now: the recovery loop's work.
	DueSagas(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Entries lists ledger entries of a partner's invoice month in (CreateTime, key) order.
	Entries(ctx context.Context, partnerID string, month ledger.Month) ([]ledger.Entry, error)
	// PendingCancellations lists up to limit orders whose cancellation some service has not
	// applied yet (CancellationPending, OR-4), least recently changed first: the cancellation
	// applier's work.
	PendingCancellations(ctx context.Context, limit int) ([]string, error)
	// Cursor reads a named consumer cursor (e.g. the subscriptions events feed); 0 when unset.
	Cursor(ctx context.Context, name string) (int64, error)
}

// Tx is one transaction of the Store.
type Tx interface {
	// Order reads one order and locks it until the transaction ends (PostgreSQL: FOR UPDATE);
	// errs.NotFound when there is none.
	Order(ctx context.Context, id string) (domain.Order, error)
	// OrderOfRequest reads the order PlaceOrder created under (scope, requestID), if any (OR-7).
	OrderOfRequest(ctx context.Context, scope, requestID string) (domain.Order, bool, error)
	// InsertOrder stores a new order (Version 1) with its lines, and its saga record (stored at
	// Version 1 whatever r.Version says). (scope, o.RequestID) is unique: another order of the
	// same request is errs.AlreadyExists.
	InsertOrder(ctx context.Context, o domain.Order, scope string, r SagaRecord) error
	// UpdateOrder stores o, whose Version must be one more than the stored one; otherwise
	// errs.Aborted / ETAG_MISMATCH. Of its lines, the state, the IDs the saga produced, the complete
	// time, failure and cancellation are stored as o has them; a line's product, price and policy
	// are fixed at placement and never change.
	UpdateOrder(ctx context.Context, o domain.Order) error
	// Saga reads an order's saga state and locks it; errs.NotFound when there is none.
	Saga(ctx context.Context, orderID string) (SagaRecord, error)
	// PutSaga stores an order's saga state (written before each call the saga makes).
	PutSaga(ctx context.Context, r SagaRecord) error
	// InsertEntry stores a ledger entry unless one with its key exists: false then, and nothing
	// changes (BI-2, OR-7: nothing charged twice).
	InsertEntry(ctx context.Context, e ledger.Entry) (bool, error)
	// SetCursor stores a named consumer cursor.
	SetCursor(ctx context.Context, name string, value int64) error
}

// SagaRecord is a saga's stored state with what the recovery loop needs: when it should run
// next, and which replica holds it until when (a lease, so that several replicas never run one
// saga at once).
type SagaRecord struct {
	Saga       domain.Saga
	NextRun    time.Time // zero: now
	LeaseOwner string    // '' when free
	LeaseUntil time.Time
	Version    int64 // guards PutSaga like an order's version
	// Principal is who the saga acts for: the principal that placed the order. Its calls carry
	// a service token on behalf of it (svc.OnBehalfOf), also when resumed after a crash.
	Principal auth.Principal
	// CancelPrincipal is the admin agent that cancelled the order (OR-3): the cancellation's
	// calls act for it. Zero until a cancellation.
	CancelPrincipal auth.Principal
}

// OrderQuery filters Store.Orders. Empty fields do not filter.
type OrderQuery struct {
	PartnerID  string
	CustomerID string
	States     []domain.OrderState
	SkuID      string    // only orders with a line of this SKU
	StartTime  time.Time // only orders placed at or after; zero: no bound
	EndTime    time.Time // only orders placed before; zero: no bound
	// Before is the keyset position in the newest-first order: rows strictly older than
	// (BeforeCreateTime, BeforeID).
	BeforeCreateTime time.Time
	BeforeID         string
	Limit            int
}
