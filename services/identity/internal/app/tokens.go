package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Token is an issued access token.
type Token struct {
	Token     string
	KeyID     string
	IssueTime time.Time
	Expire    time.Time
	// Principal is who the token speaks for; for a service token acting for someone,
	// Principal.OnBehalfOf is that principal (the "obo" claim).
	Principal auth.Principal
}

// DefaultTokenLifetime applies when the caller asks for none.
const DefaultTokenLifetime = 15 * time.Minute

// Service tokens speak for partnerhub itself (partnerhub.identity.v1.Principal).
const (
	ServiceOrgID          = "partnerhub"
	serviceSubjectPrefix  = "service:"
	lastUseRecordInterval = time.Minute
)

// errCredentialInvalid is the one answer to every credential failure, so probing learns nothing.
func errCredentialInvalid() error {
	return errs.New(errs.Unauthenticated, domain.ReasonCredentialInvalid, "the client ID or secret is wrong")
}

// IssueToken exchanges an API credential for a short-lived token. Every credential failure
// (unknown client ID, wrong secret, revoked or expired) answers the same CREDENTIAL_INVALID; a
// disabled user gets USER_DISABLED. Expiry is judged at the service clock, as the credential's
// state is everywhere else (ListApiCredentials); the token's own times are wall time.
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
	cred, err := a.repo.Credential(ctx, clientID)
	if errs.KindOf(err) == errs.NotFound {
		domain.SecretMatches(secret, make([]byte, 32)) // same work as a real check: no timing oracle
		return Token{}, errCredentialInvalid()
	}
	if err != nil {
		return Token{}, err
	}
	businessNow := a.clock.Now()
	if !domain.SecretMatches(secret, cred.SecretHash) || cred.StateAt(businessNow) != domain.CredentialActive {
		return Token{}, errCredentialInvalid()
	}
	user, err := a.repo.User(ctx, cred.UserID)
	if err != nil {
		return Token{}, err
	}
	if user.Disabled {
		return Token{}, domain.ErrUserDisabled()
	}
	tok, err := a.sign(ctx, user.Principal(), lifetime)
	if err != nil {
		return Token{}, err
	}
	// last_use_time is informational: a failed write must not cost the caller its token (the
	// credential checks above all passed), and the error carries nothing the caller could act on.
	// It is written at most once a minute per credential, so a client fetching tokens in a loop
	// does not turn the token path into a stream of writes.
	if cred.LastUseTime.IsZero() || businessNow.Sub(cred.LastUseTime) >= lastUseRecordInterval {
		_ = a.repo.TouchCredential(ctx, cred.ID, businessNow)
	}
	return tok, nil
}

// IssueServiceToken exchanges a service credential ("svc_<name>" and its secret, provisioned by
// configuration in Options.ServiceCredentials) for a token with the role SERVICE, optionally on
// behalf of obo. Every credential failure answers the same CREDENTIAL_INVALID after the same
// work, whether the name is unknown or the secret wrong. identity trusts the service and does
// not look obo up; it only checks that obo is well-formed.
func (a *App) IssueServiceToken(ctx context.Context, clientID, secret string, obo *auth.Principal, lifetime time.Duration) (Token, error) {
	var v errs.Violations
	if clientID == "" {
		v.Add("client_id", "required")
	}
	if secret == "" {
		v.Add("client_secret", "required")
	}
	obo = checkOnBehalfOf(obo, &v)
	if err := v.Err(); err != nil {
		return Token{}, err
	}
	name, isService := strings.CutPrefix(clientID, domain.ServiceClientPrefix)
	hash, known := a.opts.ServiceCredentials[name]
	if !isService || !known {
		hash = make([]byte, 32) // compare anyway: an unknown name costs what a wrong secret costs
	}
	if !domain.SecretMatches(secret, hash) || !isService || !known {
		return Token{}, errCredentialInvalid()
	}
	return a.sign(ctx, servicePrincipal(name, obo), lifetime)
}

// ServiceToken mints a service token for the named service without a secret: identity's own
// calls to its peers (e.g. as "identity" to delegatedadmin) need no round trip to itself. obo,
// if set, must be well-formed as for IssueServiceToken.
func (a *App) ServiceToken(ctx context.Context, name string, obo *auth.Principal, lifetime time.Duration) (Token, error) {
	var v errs.Violations
	if name == "" {
		v.Add("name", "required")
	}
	obo = checkOnBehalfOf(obo, &v)
	if err := v.Err(); err != nil {
		return Token{}, err
	}
	return a.sign(ctx, servicePrincipal(name, obo), lifetime)
}

func servicePrincipal(name string, obo *auth.Principal) auth.Principal {
	return auth.Principal{
		Subject: serviceSubjectPrefix + name, OrgID: ServiceOrgID, OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}, OnBehalfOf: obo,
	}
}

// checkOnBehalfOf validates the principal a service acts for: every field required, org kind
// PARTNER or CUSTOMER, real roles without duplicates and never SERVICE (a service cannot act for a
// service, which would let a chain of services launder full service rights). It returns a copy
// with its roles ordered by value, or nil for nil.
func checkOnBehalfOf(obo *auth.Principal, v *errs.Violations) *auth.Principal {
	if obo == nil {
		return nil
	}
	if obo.Subject == "" {
		v.Add("on_behalf_of.subject", "required")
	}
	if obo.OrgID == "" {
		v.Add("on_behalf_of.org_id", "required")
	}
	if obo.OrgKind != auth.OrgPartner && obo.OrgKind != auth.OrgCustomer {
		v.Add("on_behalf_of.org_kind", "must be ORG_KIND_PARTNER or ORG_KIND_CUSTOMER")
	}
	if obo.OnBehalfOf != nil {
		v.Add("on_behalf_of", "must not itself act on behalf of anyone")
	}
	roles := domain.CheckRoles("on_behalf_of.roles", obo.Roles, v)
	return &auth.Principal{Subject: obo.Subject, OrgID: obo.OrgID, OrgKind: obo.OrgKind, Roles: roles}
}

// sign issues a token for p at wall time with the lifetime clamped to 1..60 minutes.
func (a *App) sign(ctx context.Context, p auth.Principal, lifetime time.Duration) (Token, error) {
	lifetime = clampLifetime(lifetime)
	key, err := a.signer(ctx)
	if err != nil {
		return Token{}, err
	}
	now := a.now()
	p.Roles = domain.SortRoles(slices.Clone(p.Roles)) // "ordered by value" (Principal.roles)
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
