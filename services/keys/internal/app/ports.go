// Package app holds the keys service's use cases: issuing and revoking entitlements, revealing
// keys, download links and the activity log (KD-3…KD-8, CA-7, CA-8, OR-3), and Open product key
// cards: minting and their redemption (cards.go; KD-1, KD-2, ID-1). It talks to the database
// through Store and to identity through Programs; the transport (ports/grpcapi) only maps.
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

	// TxLocking is Tx for the key card use cases, whose transactions lock every row they read to
	// change (the Tx methods that say "locks") and guard every write with what they read (a
	// conditional UPDATE whose row count is checked): READ COMMITTED on PostgreSQL, so that
	// concurrent redemptions of one key wait for each other's locks and then see the winner's
	// commit instead of failing serialization; SQLite's write lock from BEGIN, as Tx. fn may run
	// more than once (a deadlock is retried).
	TxLocking(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// KeyCard reads one key card; errs.NotFound (resource "key card") when there is none.
	KeyCard(ctx context.Context, id string) (domain.KeyCard, error)
	// KeyCardsByLookup reads the key cards with the given lookup values (KeyCard.Lookup), keyed
	// by lookup value; a value no card has is absent from the map.
	KeyCardsByLookup(ctx context.Context, lookups []string) (map[string]domain.KeyCard, error)
	// KeyCards lists key cards newest first: (CreateTime, ID) descending.
	KeyCards(ctx context.Context, q KeyCardQuery) ([]domain.KeyCard, error)
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

	// BatchOfRequest reads the key card batch minted under requestID by the organisation scope,
	// with its cards in mint order, if any.
	BatchOfRequest(ctx context.Context, scope, requestID string) (domain.Batch, bool, error)
	// InsertBatch stores a new batch with its cards (AVAILABLE, Version 1) under (scope,
	// requestID). Another batch of the same request (a concurrent retry that committed first) is
	// errs.AlreadyExists, the transaction still usable: the caller reads that batch with
	// BatchOfRequest. A lookup value in use (two equal keys: never, with 108 random bits) is
	// errs.Aborted, so that the caller retries with new keys.
	InsertBatch(ctx context.Context, b domain.Batch, scope, requestID string) error
	// KeyCardsForUpdate reads and locks the key cards with the given lookup values, keyed by
	// lookup value (PostgreSQL: FOR UPDATE, in ID order, so two transactions never deadlock).
	KeyCardsForUpdate(ctx context.Context, lookups []string) (map[string]domain.KeyCard, error)
	// ReservationOfRequest reads the reservation made under requestID by the organisation scope,
	// with its cards, if any.
	ReservationOfRequest(ctx context.Context, scope, requestID string) (domain.Reservation, bool, error)
	// Reservation reads one reservation with its cards in request order and locks the
	// reservation and its cards (PostgreSQL: FOR UPDATE); errs.NotFound (resource
	// "reservation") when there is none.
	Reservation(ctx context.Context, id string) (domain.Reservation, error)
	// InsertReservation stores a new HELD reservation (Version 1) under (scope, requestID) and
	// holds its cards: each becomes RESERVED by it until r.ExpireTime, by one conditional UPDATE
	// that takes only cards AVAILABLE at r.CreateTime or held by a lapsed reservation. A card it
	// cannot take is errs.Aborted (nothing is held); another reservation of the same request is
	// errs.AlreadyExists, the transaction still usable (as InsertBatch).
	InsertReservation(ctx context.Context, r domain.Reservation, scope, requestID string) error
	// ConfirmReservation stores r, confirmed (CONFIRMED, Version one more than stored, UpdateTime
	// the confirmation's instant), and redeems its cards for r.RedemptionID, r.CustomerID and
	// r.SubscriptionID at r.UpdateTime, by a conditional UPDATE of the cards still RESERVED by r
	// and not lapsed. Unless every card of r and r itself (still HELD, at the version r is based
	// on) are written, nothing is, and the answer is errs.Aborted (KD-1: a key is redeemed at
	// most once).
	ConfirmReservation(ctx context.Context, r domain.Reservation) error
	// EndReservation stores r, released or expired (RELEASED or EXPIRED, Version one more than
	// stored), and makes the cards it still holds AVAILABLE. r must still be HELD at the version
	// it is based on, or the answer is errs.Aborted and nothing is written.
	EndReservation(ctx context.Context, r domain.Reservation) error
}

// EntitlementQuery filters Store.Entitlements. Empty fields do not filter.
type EntitlementQuery struct {
	CustomerID string
	PartnerID  string
	OrderID    string
	// IncludeLicenseOnly lists license-only entitlements too (CA-7: nothing to hand out).
	IncludeLicenseOnly bool
	// State lists only entitlements in that state; '' all.
	State domain.EntitlementState
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

// KeyCardQuery filters Store.KeyCards. Empty fields do not filter.
type KeyCardQuery struct {
	PartnerID string
	BatchID   string
	SkuID     string
	// State filters by the state at Now (domain.Card.StateAt): a card RESERVED by a lapsed
	// reservation counts as AVAILABLE.
	State domain.CardState
	Now   time.Time
	// After is the keyset position: rows strictly after (AfterCreateTime, AfterID) in the
	// newest-first order, that is older.
	AfterCreateTime time.Time
	AfterID         string
	Limit           int
}

// Programs answers whether a partner is enrolled in the Open program (ID-1): only an Open partner
// owns key cards. identity's PartnerService in production (adapters/identity).
type Programs interface {
	// OpenEnrolled reports whether partnerID is enrolled in the Open program; an unknown partner
	// is not.
	OpenEnrolled(ctx context.Context, partnerID string) (bool, error)
}
