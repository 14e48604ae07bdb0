// Package app holds delegatedadmin's use cases: offers, approvals, rejections, terminations,
// reads, access checks (DA-1..DA-6) and the sweeper that persists clock-driven transitions. It
// declares the small interfaces it needs: Repository (internal/adapters/sql) and Identity
// (internal/adapters/identity).
package app

import (
	"context"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// Repository is the persistence of relationships. Read-modify-write goes through Update, whose
// closure runs inside the adapter's transaction (and may run more than once: no side effects).
type Repository interface {
	// Add stores a new relationship.
	Add(ctx context.Context, r domain.Relationship) error
	// Get returns a relationship as stored; NotFound if there is none.
	Get(ctx context.Context, id string) (domain.Relationship, error)
	// Update reads the relationship, passes it to fn and stores what fn returns, all in one
	// transaction; fn's error aborts with nothing written. A result with the same etag is not
	// written (nothing changed). NotFound if there is no such relationship.
	Update(ctx context.Context, id string, fn func(domain.Relationship) (domain.Relationship, error)) (domain.Relationship, error)
	// ForPair returns every relationship between a partner and a customer.
	ForPair(ctx context.Context, partnerID, customerID string) ([]domain.Relationship, error)
	// List returns relationships matching f, newest first (created_at, then id, descending).
	List(ctx context.Context, f ListFilter) ([]domain.Relationship, error)
	// Due returns up to limit relationships whose next clock-driven transition is at or before
	// now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]domain.Relationship, error)
	// SaveTransition stores r if the stored row still has oldEtag, and reports whether it did: a
	// conditional write, so several sweeper replicas never overwrite each other or a user's
	// change.
	SaveTransition(ctx context.Context, oldEtag string, r domain.Relationship) (bool, error)
}

// ListFilter selects relationships for Repository.List. Empty fields do not filter.
type ListFilter struct {
	PartnerID  string
	CustomerID string
	States     []domain.State
	// Role keeps relationships granting it, GLOBAL_ADMINISTRATOR and legacy full admin ones
	// included.
	Role domain.Role
	// AfterCreate and AfterID continue after this sort key (keyset paging); zero for the start.
	AfterCreate time.Time
	AfterID     string
	Limit       int
}

// Identity is what delegatedadmin needs from the identity service.
type Identity interface {
	// Partner returns the facts about a partner that an offer depends on (DA-2).
	Partner(ctx context.Context, partnerID string) (PartnerFacts, error)
	// ResellerRelationship reports whether an ACTIVE reseller relationship links the partner
	// and the customer (ID-4); false also for a customer that does not exist.
	ResellerRelationship(ctx context.Context, partnerID, customerID string) (active bool, err error)
}

// PartnerFacts are the facts about a partner that an offer depends on.
type PartnerFacts struct {
	Exists bool
	// DelegatedAdminEligible: enrolled in the DELEGATED_ADMIN program (ID-1, DA-2).
	DelegatedAdminEligible bool
}

// Options are delegatedadmin's settings beyond its ports.
type Options struct {
	// ApprovalBaseURL is the base of approval links; the relationship ID is appended.
	ApprovalBaseURL string
	// SweepBatch is how many due relationships the sweeper reads at a time (default 200).
	SweepBatch int
}

// DefaultSweepBatch is the sweeper's batch size unless Options say otherwise.
const DefaultSweepBatch = 200

// App is delegatedadmin's use cases.
type App struct {
	repo     Repository
	identity Identity
	clock    clock.Clock
	opts     Options
}

// New returns the use cases.
func New(repo Repository, identity Identity, clk clock.Clock, opts Options) *App {
	if opts.SweepBatch <= 0 {
		opts.SweepBatch = DefaultSweepBatch
	}
	return &App{repo: repo, identity: identity, clock: clk, opts: opts}
}

// now is the service clock's now at the precision both engines keep. Every lifecycle decision
// is taken at this instant (a fake clock moves relationships through their lifecycle in tests).
func (a *App) now() time.Time { return domain.Instant(a.clock.Now()) }

// caller is the principal of a call, as the visibility rules (ID-8) see it.
type caller struct {
	eff auth.Principal // the effective principal: the one a service acts for, or the caller
}

func callerOf(ctx context.Context) (caller, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return caller{}, err
	}
	return caller{eff: p.Effective()}, nil
}

// all: a service acting for nobody sees every relationship.
func (c caller) all() bool { return c.eff.IsService() }

func (c caller) isPartner(partnerID string) bool {
	return c.eff.OrgKind == auth.OrgPartner && c.eff.OrgID == partnerID
}

func (c caller) isCustomer(customerID string) bool {
	return c.eff.OrgKind == auth.OrgCustomer && c.eff.OrgID == customerID
}

// sees reports whether the caller may see r (ID-8): its partner, its customer, or a service.
func (c caller) sees(r domain.Relationship) bool {
	return c.all() || c.isPartner(r.PartnerID) || c.isCustomer(r.CustomerID)
}

// roleRequired is PERMISSION_DENIED / ROLE_REQUIRED for a caller who sees a relationship but may
// not act on it (the same answer the server's role gate gives).
func roleRequired(roles ...auth.Role) error {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
		"the caller needs one of the roles %v on this relationship's side", roles).
		With("required_roles", strings.Join(names, ","))
}

// load returns a relationship the caller sees, as stored; NOT_FOUND both for one that does not
// exist and for one the caller may not see, so existence does not leak (ID-8).
func (a *App) load(ctx context.Context, c caller, id string) (domain.Relationship, error) {
	r, err := a.repo.Get(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		return domain.Relationship{}, errs.NotFoundf("relationship", id)
	}
	if err != nil {
		return domain.Relationship{}, err
	}
	if !c.sees(r) {
		return domain.Relationship{}, errs.NotFoundf("relationship", id)
	}
	return r, nil
}

// relationshipID validates and normalizes a relationship ID from a request.
func relationshipID(id string) (string, error) {
	id = domain.NormalizeID(id)
	if !domain.ValidID(id) {
		return "", errs.Invalid("relationship_id", "required: the relationship ID (a UUID)")
	}
	return id, nil
}
