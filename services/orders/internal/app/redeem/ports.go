// Package redeem is the key redemption use case of the orders service (KD-1, KD-2, SU-4, SU-6,
// ID-2): the review step (ValidateProductKeys, no side effect) and the redemption saga
// (RedeemProductKeys): reserve the keys, create the tenant when new (country, organisation, admin;
// the admin is licensed on the new subscriptions), create the subscriptions, add seats or renew,
// then confirm the keys; a refused step releases the reservation and undoes what was provisioned.
//
// The saga is domain.RedemptionSaga: its state is written to the orders database before each call
// it makes, every call carries a request ID derived from redemption ID + step + key group, and a
// recovery loop (Service.Run) finishes what a crash left in flight. Several replicas may run: a
// saga is worked on only by the replica holding its lease, and every write checks the version it
// read, so a replica that lost its lease stops instead of writing over another's progress.
//
// The package declares the small interfaces it needs (Store, Keys, Tenants, Subscriptions; identity
// and catalog are the app package's ports); adapters/sql and the peer adapters implement them.
package redeem

import (
	"context"
	"time"

	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// Store is the redemptions' persistence (adapters/sql, SQLite and PostgreSQL).
type Store interface {
	// RedemptionTx runs fn in one transaction (SERIALIZABLE on PostgreSQL, retried on conflicts,
	// so fn must have no effect outside the transaction).
	RedemptionTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Redemption reads one redemption; errs.NotFound when there is none.
	Redemption(ctx context.Context, id string) (domain.Redemption, error)
	// DueRedemptions lists up to limit redemptions whose saga is in flight, whose next run is at or
	// before now and whose lease (if any) has run out at now.
	DueRedemptions(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// Tx is one transaction of the Store.
type Tx interface {
	// Redemption reads one redemption and locks it; errs.NotFound when there is none.
	Redemption(ctx context.Context, id string) (domain.Redemption, error)
	// RedemptionOfRequest reads the redemption created under (scope, requestID), if any (OR-7).
	RedemptionOfRequest(ctx context.Context, scope, requestID string) (domain.Redemption, bool, error)
	// InsertRedemption stores a new redemption (Version 1) and its saga. (scope, r.RequestID) and
	// r.ID are unique: a second redemption of the same request is errs.AlreadyExists.
	InsertRedemption(ctx context.Context, r domain.Redemption, scope string, s SagaRecord) error
	// UpdateRedemption stores r, whose Version must be one more than the stored one; otherwise
	// errs.Aborted / ETAG_MISMATCH.
	UpdateRedemption(ctx context.Context, r domain.Redemption) error
	// RedemptionSaga reads a redemption's saga state and locks it; errs.NotFound when none.
	RedemptionSaga(ctx context.Context, redemptionID string) (SagaRecord, error)
	// PutRedemptionSaga stores the saga state if the stored one has version r.Version-1;
	// otherwise errs.Aborted / ETAG_MISMATCH (another replica changed it).
	PutRedemptionSaga(ctx context.Context, r SagaRecord) error
}

// SagaRecord is a redemption saga's stored state with what the recovery loop needs.
type SagaRecord struct {
	Saga domain.RedemptionSaga
	// ProductKeys are the keys as typed, kept only while the saga is in flight: a resumed reserve
	// step must repeat its request, and an uncertain reservation is looked up by repeating it.
	// They are erased when the saga ends (KD-8).
	ProductKeys []string
	NextRun     time.Time // zero: now
	LeaseOwner  string    // "" when free
	LeaseUntil  time.Time
	Version     int64
}

// Keys is what the saga asks keys' ProductKeyService (adapters/keys.ProductKeys).
type Keys interface {
	// Validate checks typed keys without side effects: one verdict per key, in order (KD-1).
	Validate(ctx context.Context, keys []string) ([]domain.KeyVerdict, error)
	// Reserve holds all keys for redemptionID until ttl has passed, or none (KEY_RESERVED,
	// KEY_ALREADY_REDEEMED …). Idempotent by requestID.
	Reserve(ctx context.Context, requestID, redemptionID string, keys []string, ttl time.Duration) (Reservation, error)
	// Confirm marks a reservation's keys redeemed for good, for the subscription they created,
	// extended or renewed (KD-1). Idempotent by requestID.
	Confirm(ctx context.Context, requestID, reservationID, customerID, subscriptionID string) error
	// Release gives a reservation's keys back; a released or lapsed one is a no-op.
	Release(ctx context.Context, requestID, reservationID string) error
}

// Reservation is a hold on keys.
type Reservation struct {
	ID         string
	ExpireTime time.Time
}

// Tenants is what the saga asks identity about tenants (adapters/identity.Tenants).
type Tenants interface {
	// CountrySupported reports whether the service is offered in country (ListMarkets, ID-3).
	CountrySupported(ctx context.Context, country string) (bool, error)
	// DomainAvailable reports whether a default domain prefix is free (ID-2; a hint).
	DomainAvailable(ctx context.Context, prefix string) (bool, error)
	// InOpenProgram reports whether the partner is enrolled in the Open program (ID-1).
	InOpenProgram(ctx context.Context, partnerID string) (bool, error)
	// CustomerCountry is the country of a tenant visible to the caller (GetCustomer).
	CustomerCountry(ctx context.Context, customerID string) (string, error)
	// CreateTenant creates the tenant with its first admin (CUSTOMER_GLOBAL_ADMIN, ID-2) on behalf
	// of the caller; idempotent by requestID.
	CreateTenant(ctx context.Context, requestID string, t domain.NewTenant) (CreatedTenant, error)
}

// CreatedTenant is what CreateTenant made.
type CreatedTenant struct {
	CustomerID  string
	AdminUserID string
}

// Subscriptions is what the saga asks subscriptions (adapters/subscriptions.Renewals).
type Subscriptions interface {
	// Subscription reads a subscription visible to the caller; NOT_FOUND otherwise.
	Subscription(ctx context.Context, id string) (domain.SubscriptionFacts, error)
	// Provision creates a subscription for a key group (channel Open, zero price, BI-1), or adds
	// its seats to in.AddToSubscriptionID (SU-6). Idempotent by requestID.
	Provision(ctx context.Context, requestID string, in ProvisionInput) (Provisioned, error)
	// Renew renews a subscription for a new term (SU-4). Idempotent by requestID.
	Renew(ctx context.Context, requestID string, in RenewInput) (Provisioned, error)
	// Compensate undoes the Provision or Renew made with stepRequestID (a step that never ran is
	// tombstoned). Idempotent by requestID.
	Compensate(ctx context.Context, requestID, stepRequestID, reason string) error
}

// ProvisionInput is one key group's subscription.
type ProvisionInput struct {
	RedemptionID        string
	CustomerID          string
	PartnerID           string // partner of record; "" for a customer redeeming for itself
	SKU                 domain.SKUFacts
	Seats               int32
	Term                domain.Term
	AddToSubscriptionID string // SU-6: add the seats to this subscription instead
	// LicensedUserIDs get one license (seat) each of the subscription created: the first admin of a
	// tenant the redemption created (ID-2, KD-2). Never with AddToSubscriptionID.
	LicensedUserIDs []string
}

// RenewInput is one renewal by key (SU-4).
type RenewInput struct {
	RedemptionID   string
	SubscriptionID string
	Term           domain.Term
	Seats          int32 // the new term's quantity
}

// Provisioned is the subscription after a Provision or Renew step.
type Provisioned struct {
	SubscriptionID string
	Quantity       int32
	TermStart      time.Time
	TermEnd        time.Time
	DaysForfeited  int32 // SU-4, renewal before the end date
	// LicensedUserIDs are the users holding a license of the subscription, as subscriptions
	// answered (ID-2).
	LicensedUserIDs []string
}
