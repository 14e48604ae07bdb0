// Package app holds the subscriptions use cases: reads and changes of SubscriptionService
// (SU-1..SU-16), the saga steps of ProvisioningService, transfers between partners (SU-12..SU-14),
// the events feed, and the lifecycle engine that moves subscriptions along their dates on the
// service clock. Rules live in
// internal/domain; this package loads, checks who may do what, applies the rules in one
// transaction together with the events they cause, and stores.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Relationships answers whether a partner has an active reseller relationship with a customer
// (ID-4); pkg/tenancy's cached checker in production.
type Relationships interface {
	// Relationship says whether the pair is related, with the countries of both parties, which a
	// transfer compares (ID-5).
	Relationship(ctx context.Context, partnerID, customerID string) (Relationship, error)
}

// Relationship is a partner–customer pair as identity sees it.
type Relationship struct {
	Active bool
	// CustomerCountry and PartnerCountry are ISO 3166-1 alpha-2 codes.
	CustomerCountry, PartnerCountry string
}

// Catalog answers what a transfer needs to know about an offer (CA-9, SU-14): catalog's GetSku
// in production, asked on behalf of the caller. An unknown SKU is errs.NotFound.
type Catalog interface {
	Sku(ctx context.Context, skuID string) (domain.SkuInfo, error)
}

// Options tune the use cases. The zero value gives the defaults.
type Options struct {
	// TenantLimit is the most subscriptions one tenant may have ACTIVE or SUSPENDED (SU-13);
	// default domain.DefaultTenantLimit.
	TenantLimit int
	// NewID makes subscription, lot, transfer and event IDs; default random UUIDs.
	NewID func() string
}

// App is the subscriptions use cases.
type App struct {
	store   Store
	clock   clock.Clock
	rels    Relationships
	catalog Catalog
	limit   int
	newID   func() string
	feed    *feed
}

// New returns the use cases.
func New(store Store, clk clock.Clock, rels Relationships, catalog Catalog, opts Options) *App {
	if opts.TenantLimit <= 0 {
		opts.TenantLimit = domain.DefaultTenantLimit
	}
	if opts.NewID == nil {
		// Version 7: time-ordered, so the IDs of new rows and events land at the end of their
		// indexes instead of on random pages (a sweep appends hundreds of events per transaction).
		opts.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	return &App{store: store, clock: clk, rels: rels, catalog: catalog, limit: opts.TenantLimit, newID: opts.NewID,
		feed: newFeed()}
}

// now is the service clock's now at storage precision.
func (a *App) now() time.Time { return domain.Instant(a.clock.Now()) }

// View is a subscription as one caller sees it at one instant.
type View struct {
	Sub      domain.Subscription
	ReadOnly domain.ReadOnlyReason
	Now      time.Time
}

// viewer is the principal whose rights count for the call: the caller, or the one a service acts
// for.
func viewer(ctx context.Context) (auth.Principal, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	return p.Effective(), nil
}

// readOnly says whether and why v may not change s, and refuses with NOT_FOUND a subscription v
// may not even see (ID-8): a partner sees the subscriptions it is partner of record of and those
// of customers it has an active reseller relationship with (SU-8); a customer sees its own
// tenant's; a service acting for nobody sees all.
func (a *App) readOnly(ctx context.Context, v auth.Principal, s domain.Subscription) (domain.ReadOnlyReason, error) {
	switch v.OrgKind {
	case auth.OrgPartner:
		if s.PartnerID != v.OrgID {
			ok, err := a.related(ctx, v.OrgID, s.CustomerID)
			if err != nil {
				return "", err
			}
			if !ok {
				return "", errs.NotFoundf("subscription", s.ID)
			}
		}
		return domain.ReadOnlyForPartner(s, v.OrgID), nil
	case auth.OrgCustomer:
		if s.CustomerID != v.OrgID {
			return "", errs.NotFoundf("subscription", s.ID)
		}
		return domain.ReadOnlyForCustomer(s), nil
	case auth.OrgService:
		if s.State.Final() {
			return domain.ReadOnlyFinalState, nil
		}
		return "", nil
	}
	return "", errs.NotFoundf("subscription", s.ID)
}

// checkID refuses a malformed subscription ID before any lookup.
func checkID(field, id string) error { return errs.CheckUUID(field, id) }

// view reads one subscription as the caller sees it.
func (a *App) view(ctx context.Context, id string) (View, auth.Principal, error) {
	if err := checkID("subscription_id", id); err != nil {
		return View{}, auth.Principal{}, err
	}
	v, err := viewer(ctx)
	if err != nil {
		return View{}, auth.Principal{}, err
	}
	s, err := a.store.Subscription(ctx, id)
	if err != nil {
		return View{}, v, err
	}
	ro, err := a.readOnly(ctx, v, s)
	if err != nil {
		return View{}, v, err
	}
	return View{Sub: s, ReadOnly: ro, Now: a.now()}, v, nil
}

// notManaged is PERMISSION_DENIED / NOT_MANAGED_BY_CALLER: the caller may see but not change s.
func notManaged(s domain.Subscription, why domain.ReadOnlyReason) error {
	return errs.New(errs.PermissionDenied, domain.ReasonNotManagedByCaller,
		"subscription %s is read-only for the caller (%s): only its partner of record changes it", s.ID, why).
		With("subscription_id", s.ID).With("read_only_reason", string(why))
}

// checkManaged refuses a change of a subscription the viewer may only read. A final state is
// let through: the rules then refuse the change with the state's own reason.
func checkManaged(v View) error {
	if v.ReadOnly != "" && v.ReadOnly != domain.ReadOnlyFinalState {
		return notManaged(v.Sub, v.ReadOnly)
	}
	return nil
}

// change is one change of one subscription by its partner of record: it checks visibility and
// the etag, then, in one transaction with the row locked, applies fn and stores the subscription
// (Version + 1) with the events fn returns. fn sees the subscription as stored and the service
// clock's now; it returns the changed subscription, or the unchanged one and no events for a
// no-op.
func (a *App) change(ctx context.Context, id, etag string,
	fn func(ctx context.Context, tx Tx, s domain.Subscription, now time.Time) (domain.Subscription, []domain.Event, error),
) (View, error) {
	cur, _, err := a.view(ctx, id)
	if err != nil {
		return View{}, err
	}
	if err := checkManaged(cur); err != nil {
		return View{}, err
	}
	var out domain.Subscription
	var now time.Time
	err = a.commit(ctx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
		s, err := tx.Subscription(ctx, id)
		if err != nil {
			return nil, err
		}
		if s.PartnerID != cur.Sub.PartnerID { // moved to another partner since the check
			return nil, notManaged(s, domain.ReadOnlyOtherPartner)
		}
		if etag != "" && etag != domain.Etag(s) {
			return nil, errs.New(errs.Aborted, errs.ReasonEtagMismatch,
				"subscription %s changed since the etag was read; read it again", id).With("subscription_id", id)
		}
		now = a.now()
		next, evs, err := fn(ctx, tx, s, now)
		if err != nil {
			return nil, err
		}
		out = next
		if len(evs) == 0 { // every change emits an event: none means a no-op, nothing to store
			out = s
			return nil, nil
		}
		out.Version = s.Version + 1
		out.UpdateTime = now
		if err := tx.UpdateSubscription(ctx, out); err != nil {
			return nil, err
		}
		return evs, nil
	})
	if err != nil {
		return View{}, err
	}
	return View{Sub: out, ReadOnly: domain.ReadOnlyForPartner(out, out.PartnerID), Now: now}, nil
}

// event starts a feed event about s.
func (a *App) event(s domain.Subscription, t domain.EventType, requestID string, now time.Time) domain.Event {
	return domain.Event{ID: a.newID(), Type: t, PartnerID: s.PartnerID, CustomerID: s.CustomerID,
		SubscriptionID: s.ID, Time: now, RequestID: requestID, State: s.State}
}

// commit runs fn in one transaction, appends the events fn returns in the same transaction and,
// once it committed, wakes this instance's watchers. fn may run more than once (the store retries
// serialization failures on PostgreSQL), so it has no effect outside the transaction.
func (a *App) commit(ctx context.Context, fn func(ctx context.Context, tx Tx) ([]domain.Event, error)) error {
	return a.commitIn(ctx, a.store.Tx, fn)
}

// commitIn is commit in a transaction of inTx (Store.Tx or Store.LockingTx).
func (a *App) commitIn(ctx context.Context, inTx func(context.Context, func(context.Context, Tx) error) error,
	fn func(ctx context.Context, tx Tx) ([]domain.Event, error)) error {
	var appended []domain.Event
	err := inTx(ctx, func(ctx context.Context, tx Tx) error {
		evs, err := fn(ctx, tx)
		if err != nil {
			return err
		}
		appended, err = tx.AppendEvents(ctx, evs...)
		return err
	})
	if err != nil {
		return err
	}
	a.feed.notify(appended)
	return nil
}

// related reports whether partnerID has an active reseller relationship with customerID (ID-4).
func (a *App) related(ctx context.Context, partnerID, customerID string) (bool, error) {
	rel, err := a.rels.Relationship(ctx, partnerID, customerID)
	return rel.Active, err
}
