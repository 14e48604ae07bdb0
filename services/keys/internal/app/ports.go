// Package app holds the keys service's use cases: issuing and revoking entitlements, revealing
// keys, download links and the activity log (KD-3…KD-8, CA-7, CA-8, OR-3). It talks to the
// database through Store and to nothing else; the transport (ports/grpcapi) only maps.
package app

import (
	"context"
	"time"

	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// Store is the keys service's persistence (adapters/sql on SQLite and PostgreSQL). Reads outside
// a transaction see committed data; every change runs in Tx.
type Store interface {
	// Tx runs fn in one transaction and commits when fn returns nil. Nothing fn wrote survives an
	// error. On PostgreSQL a serialization failure or deadlock is retried a few times, so fn must
	// have no effects outside the transaction.
	Tx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Entitlement reads one entitlement; errs.NotFound when there is none.
	Entitlement(ctx context.Context, id string) (domain.Entitlement, error)
	// EntitlementOfKey reads the entitlement that holds the issued key keyID; errs.NotFound
	// (resource "key") when no entitlement holds it.
	EntitlementOfKey(ctx context.Context, keyID string) (domain.Entitlement, error)
	// Entitlements lists entitlements newest first: (CreateTime, ID) descending.
	Entitlements(ctx context.Context, q EntitlementQuery) ([]domain.Entitlement, error)
	// Activities lists activity records in (Time, ID) order.
	Activities(ctx context.Context, q ActivityQuery) ([]domain.Activity, error)
}

// Tx is one transaction of the Store.
type Tx interface {
	// Entitlement reads one entitlement and locks it until the transaction ends (PostgreSQL:
	// FOR UPDATE); errs.NotFound when there is none.
	Entitlement(ctx context.Context, id string) (domain.Entitlement, error)
	// EntitlementOfLine reads the entitlement of an order line, if any, and locks it.
	EntitlementOfLine(ctx context.Context, orderID, orderLineID string) (domain.Entitlement, bool, error)
	// EntitlementsOfOrder reads and locks the entitlements of an order, in (CreateTime, ID) order.
	EntitlementsOfOrder(ctx context.Context, orderID string) ([]domain.Entitlement, error)
	// InsertEntitlement stores a new entitlement (Version 1) with its keys and variants. Another
	// entitlement of the same order line is errs.AlreadyExists.
	InsertEntitlement(ctx context.Context, e domain.Entitlement) error
	// UpdateEntitlement stores e, whose Version must be one more than the stored one; otherwise
	// errs.Aborted / ETAG_MISMATCH. Keys and variants are stored as e has them.
	UpdateEntitlement(ctx context.Context, e domain.Entitlement) error
	// InsertLink stores a new download link record.
	InsertLink(ctx context.Context, l domain.DownloadLink) error
	// Link reads one download link record; errs.NotFound when there is none.
	Link(ctx context.Context, id string) (domain.DownloadLink, error)
	// LinkOfRequest reads the link created under requestID by the organisation scope, if any.
	LinkOfRequest(ctx context.Context, scope, requestID string) (domain.DownloadLink, bool, error)
	// RevokeLinks marks every link of the entitlement revoked and returns how many were not yet.
	RevokeLinks(ctx context.Context, entitlementID string) (int, error)
	// AppendActivity appends a to the activity log. The log is append-only: nothing updates or
	// deletes a record. requestID, when not empty, is unique within scope (the caller's
	// organisation), so that a retried request records once (ActivityOfRequest).
	AppendActivity(ctx context.Context, a domain.Activity, scope, requestID string) error
	// ActivityOfRequest reads the record appended under (scope, requestID), if any.
	ActivityOfRequest(ctx context.Context, scope, requestID string) (domain.Activity, bool, error)
}

// EntitlementQuery filters Store.Entitlements. Empty fields do not filter.
type EntitlementQuery struct {
	CustomerID string
	PartnerID  string
	OrderID    string
	// IncludeLicenseOnly lists license-only entitlements too (CA-7: nothing to hand out).
	IncludeLicenseOnly bool
	// After is the keyset position: rows strictly after (AfterCreateTime, AfterID) in the
	// newest-first order, that is older.
	AfterCreateTime time.Time
	AfterID         string
	Limit           int
}

// ActivityQuery filters Store.Activities. Empty fields do not filter.
type ActivityQuery struct {
	PartnerID  string // the entitlement's partner (whose log it is)
	CustomerID string
	UserID     string
	Actions    []domain.ActivityAction
	// Start and End bound Time: Start <= Time < End; zero: unbounded.
	Start, End time.Time
	// After is the keyset position: rows strictly after (AfterTime, AfterID).
	AfterTime time.Time
	AfterID   string
	Limit     int
}
