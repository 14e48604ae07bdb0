// Package app holds identity's use cases. It declares the small repository interface it needs;
// internal/adapters/sql implements it.
package app

import (
	"context"
	"crypto/ed25519"
	"sync"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Repository is identity's persistence: signing keys here, partners, users and credentials in
// OrgRepo (below), customers and reseller relationships in TenantRepo (tenants_repo.go).
type Repository interface {
	SigningKeys(ctx context.Context) ([]domain.SigningKey, error)
	AddSigningKey(ctx context.Context, k domain.SigningKey, now time.Time) error
	OrgRepo
	TenantRepo
}

// OrgRepo is the persistence of partners, users and API credentials. The Update methods run
// the closure inside one transaction over the current row (read-check-write, ID-1 etags,
// LAST_GLOBAL_ADMIN), so the closure must be free of side effects: it may run more than once.
// It returns whether it changed the row; an unchanged row is not written.
type OrgRepo interface {
	Partner(ctx context.Context, id string) (domain.Partner, error)
	// AddPartnerWithAdmin stores a partner, its first user and that user's API credential in one
	// transaction: a partner never exists without someone who can sign in. A user name in use
	// gives USER_NAME_TAKEN.
	AddPartnerWithAdmin(ctx context.Context, p domain.Partner, admin domain.User, cred domain.Credential) error
	// ListPartners returns up to limit partners after the filter's cursor, ordered by create
	// time then ID.
	ListPartners(ctx context.Context, f PartnerFilter, limit int) ([]domain.Partner, error)
	UpdatePartner(ctx context.Context, id string, update func(p *domain.Partner) (bool, error)) (domain.Partner, error)

	// Org looks an organisation up among partners and customers.
	Org(ctx context.Context, id string) (domain.Org, error)
	// ActiveReseller reports whether the partner has an active reseller relationship with the
	// customer (ID-4): the customer is then one of the partner's own (ID-8).
	ActiveReseller(ctx context.Context, partnerID, customerID string) (bool, error)

	User(ctx context.Context, id string) (domain.User, error)
	// AddUser stores a new user; a user name in use gives USER_NAME_TAKEN.
	AddUser(ctx context.Context, u domain.User) error
	// ListUsers returns up to limit users of one organisation after the filter's cursor,
	// ordered by user name.
	ListUsers(ctx context.Context, f UserFilter, limit int) ([]domain.User, error)
	// UpdateUser passes the closure the user and the number of other active users of its
	// organisation holding its top admin role (domain.TopAdminRole), counted in the same
	// transaction, so two concurrent demotions cannot both pass LAST_GLOBAL_ADMIN.
	UpdateUser(ctx context.Context, id string, update func(u *domain.User, otherTopAdmins int) (bool, error)) (domain.User, error)

	// Credential returns the credential with a client ID.
	Credential(ctx context.Context, clientID string) (domain.Credential, error)
	// CredentialByID returns the credential with an ID.
	CredentialByID(ctx context.Context, id string) (domain.Credential, error)
	AddCredential(ctx context.Context, c domain.Credential) error
	// ListCredentials returns up to limit credentials of one user before the filter's cursor,
	// newest first.
	ListCredentials(ctx context.Context, f CredentialFilter, limit int) ([]domain.Credential, error)
	UpdateCredential(ctx context.Context, id string, update func(c *domain.Credential) (bool, error)) (domain.Credential, error)
	// TouchCredential records that the credential issued a token at at.
	TouchCredential(ctx context.Context, id string, at time.Time) error
}

// PartnerFilter selects partners for ListPartners; the zero value selects all from the start.
type PartnerFilter struct {
	CountryCode string         // "" for all
	Program     domain.Program // "" for all
	// The cursor: only partners after (AfterCreateTime, AfterID); zero for the first page.
	AfterCreateTime time.Time
	AfterID         string
}

// UserFilter selects the users of one organisation for ListUsers.
type UserFilter struct {
	OrgID    string
	Role     auth.Role // "" for all
	Disabled *bool     // nil for all
	// The cursor: only users whose name sorts after AfterUserName; "" for the first page.
	AfterUserName string
}

// CredentialFilter selects the credentials of one user for ListCredentials.
type CredentialFilter struct {
	UserID string
	// State, computed at Now exactly as domain.Credential.StateAt; "" for all.
	State domain.CredentialState
	Now   time.Time
	// The cursor: only credentials before (BeforeCreateTime, BeforeID) in newest-first order;
	// zero for the first page.
	BeforeCreateTime time.Time
	BeforeID         string
}

// ErrNotFound is what repositories return for a missing row.
var ErrNotFound = errs.New(errs.NotFound, errs.ReasonResourceNotFound, "not found")

// Options are identity's settings beyond its repository and clock.
type Options struct {
	// Markets are the countries the service is offered in (ID-3).
	Markets domain.Markets
	// DomainSuffix makes a default domain of a prefix, e.g. ".onmicrosoft.com" (ID-2).
	DomainSuffix string
	// InvitationBaseURL is the base of invitation links, e.g. "https://partnerhub.example/invitations/".
	InvitationBaseURL string
	// InvitationTTL is how long an invitation code is valid (ID-4; 30 days by default).
	InvitationTTL time.Duration
	// ServiceCredentials are the service credentials of the deployment, by service name
	// ("orders" → client ID "svc_orders"), as secret hashes.
	ServiceCredentials map[string][]byte
	// DelegatedAccess answers whether a partner holds a delegated-admin role in a customer
	// tenant (DA-6); nil denies every such check.
	DelegatedAccess DelegatedAccess
}

// DelegatedAccess is the delegated-admin check identity needs to let a partner's Admin agent
// manage a customer tenant's users (USER_ADMINISTRATOR, DA-6).
type DelegatedAccess interface {
	// Allowed reports whether partnerID holds role (an AdminRole name without prefix, e.g.
	// "USER_ADMINISTRATOR") in customerID's tenant now.
	Allowed(ctx context.Context, partnerID, customerID, role string) (bool, error)
}

// App is identity's use cases.
type App struct {
	repo  Repository
	clock clock.Clock
	opts  Options

	mu   sync.Mutex // serialises key rotation within the process
	keys []domain.SigningKey
}

// New returns the use cases over repo.
func New(repo Repository, clk clock.Clock, opts Options) *App {
	return &App{repo: repo, clock: clk, opts: opts}
}

// Now is the service clock's time: business times of partners, users and credentials, and the
// instant credential states are computed at (domain.Credential.StateAt).
func (a *App) Now() time.Time { return a.clock.Now() }

// now is wall time for everything about tokens and keys (see pkg/auth: token lifetimes never
// follow a fake business clock).
func (a *App) now() time.Time { return time.Now().UTC() }

// signer returns the key to sign with now, rotating keys as the domain policy says. The key set
// is cached in memory and reloaded from the store when a rotation is due, so several identity
// replicas converge on the keys in the database.
func (a *App) signer(ctx context.Context) (domain.SigningKey, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if signer, create := domain.Rotation(a.keys, now); create == nil {
		return *signer, nil
	}
	keys, err := a.repo.SigningKeys(ctx)
	if err != nil {
		return domain.SigningKey{}, err
	}
	signer, create := domain.Rotation(keys, now)
	if create != nil {
		if err := a.repo.AddSigningKey(ctx, *create, now); err != nil {
			return domain.SigningKey{}, err
		}
		keys = append(keys, *create)
	}
	a.keys = keys
	return *signer, nil
}

// EnsureSigningKey makes sure a signing key exists (called at start).
func (a *App) EnsureSigningKey(ctx context.Context) error {
	_, err := a.signer(ctx)
	return err
}

// SigningKeys returns every key still valid for verification, ordered by NotBefore.
func (a *App) SigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	if _, err := a.signer(ctx); err != nil { // publishes a due successor ahead of time
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	var out []domain.SigningKey
	for _, k := range a.keys {
		if now.Before(k.NotAfter) {
			out = append(out, k)
		}
	}
	return out, nil
}

// PublicKey implements auth.KeySource for identity's own server: it verifies tokens with its
// own keys, without an RPC to itself.
func (a *App) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	keys, err := a.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == kid {
			return k.Public, nil
		}
	}
	return nil, errs.New(errs.Unauthenticated, errs.ReasonTokenInvalid, "unknown signing key")
}
