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

// Repository is identity's persistence: signing keys here, organisations, users and credentials
// in OrgRepo (orgs_repo.go), customers and reseller relationships in TenantRepo
// (tenants_repo.go).
type Repository interface {
	SigningKeys(ctx context.Context) ([]domain.SigningKey, error)
	AddSigningKey(ctx context.Context, k domain.SigningKey, now time.Time) error
	OrgRepo
	TenantRepo
}

// OrgRepo is the persistence of partners, users and API credentials.
type OrgRepo interface {
	Partner(ctx context.Context, id string) (domain.Partner, error)
	// AddPartnerWithAdmin stores a partner, its first user and that user's API credential in one
	// transaction: a partner never exists without someone who can sign in.
	AddPartnerWithAdmin(ctx context.Context, p domain.Partner, admin domain.User, cred domain.Credential) error
	User(ctx context.Context, id string) (domain.User, error)
	// Credential returns the credential with a client ID.
	Credential(ctx context.Context, clientID string) (domain.Credential, error)
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

// Token is an issued access token.
type Token struct {
	Token     string
	KeyID     string
	IssueTime time.Time
	Expire    time.Time
	Principal auth.Principal
}

// DefaultTokenLifetime applies when the caller asks for none.
const DefaultTokenLifetime = 15 * time.Minute

// IssueToken exchanges an API credential for a short-lived token. Every credential failure
// answers the same CREDENTIAL_INVALID, so probing learns nothing.
func (a *App) IssueToken(ctx context.Context, clientID, secret string, lifetime time.Duration) (Token, error) {
	var v errs.Violations
	if clientID == "" {
		v.Add("client_id", "required")
	}
	if secret == "" {
		v.Add("client_secret", "required")
	}
	if err := v.Err(); err != nil {
		return Token{}, err
	}
	invalid := errs.New(errs.Unauthenticated, "CREDENTIAL_INVALID", "the client ID or secret is wrong")
	cred, err := a.repo.Credential(ctx, clientID)
	if errs.KindOf(err) == errs.NotFound {
		domain.SecretMatches(secret, make([]byte, 32)) // same work as a real check: no timing oracle
		return Token{}, invalid
	}
	if err != nil {
		return Token{}, err
	}
	if !domain.SecretMatches(secret, cred.SecretHash) || cred.StateAt(a.clock.Now()) != domain.CredentialActive {
		return Token{}, invalid
	}
	user, err := a.repo.User(ctx, cred.UserID)
	if err != nil {
		return Token{}, err
	}
	if user.Disabled {
		return Token{}, errs.New(errs.PermissionDenied, "USER_DISABLED", "the user is disabled")
	}
	lifetime = clampLifetime(lifetime)
	key, err := a.signer(ctx)
	if err != nil {
		return Token{}, err
	}
	now := a.now()
	p := user.Principal()
	tok, err := auth.Sign(auth.SigningKey{ID: key.ID, Private: key.Private}, p, now, lifetime)
	if err != nil {
		return Token{}, errs.Unexpected(err)
	}
	return Token{Token: tok, KeyID: key.ID, IssueTime: now, Expire: now.Add(lifetime), Principal: p}, nil
}

func clampLifetime(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultTokenLifetime
	case d < time.Minute:
		return time.Minute
	case d > domain.MaxTokenLifetime:
		return domain.MaxTokenLifetime
	}
	return d
}

// GetPartner returns a partner to its own users and to services (ID-8). Another organisation's
// caller gets NOT_FOUND, exactly as for a partner that does not exist.
func (a *App) GetPartner(ctx context.Context, id string) (domain.Partner, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.Partner{}, err
	}
	eff := p.Effective()
	if !(eff.OrgKind == auth.OrgPartner && eff.OrgID == id) && !(p.IsService() && p.OnBehalfOf == nil) {
		return domain.Partner{}, errs.NotFoundf("partner", id)
	}
	partner, err := a.repo.Partner(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		return domain.Partner{}, errs.NotFoundf("partner", id)
	}
	return partner, err
}
