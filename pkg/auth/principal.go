// Package auth verifies partnerhub's Ed25519-signed JWTs, carries the calling Principal in the
// context, and checks roles and tenancy. identity signs tokens (Signer); every other service
// verifies them locally with identity's public keys (Verifier + a KeySource), so a call pays a
// signature check, not an RPC.
package auth

import (
	"context"
	"slices"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Role is a role name as carried in tokens: the partnerhub.common.v1.Role value name without its
// ROLE_ prefix.
type Role string

// The roles of DOMAIN.md "Actors and roles".
const (
	AdminAgent            Role = "ADMIN_AGENT"
	SalesAgent            Role = "SALES_AGENT"
	BillingAgent          Role = "BILLING_AGENT"
	AccountAdmin          Role = "ACCOUNT_ADMIN"
	GlobalAdmin           Role = "GLOBAL_ADMIN"
	ReferralAdmin         Role = "REFERRAL_ADMIN"
	MarketingContentAdmin Role = "MARKETING_CONTENT_ADMIN"
	HelpdeskAgent         Role = "HELPDESK_AGENT"
	CustomerGlobalAdmin   Role = "CUSTOMER_GLOBAL_ADMIN"
	CustomerUser          Role = "CUSTOMER_USER"
	Service               Role = "SERVICE"
)

// OrgKind is the kind of organisation a principal belongs to.
type OrgKind string

// The organisation kinds (partnerhub.common.v1.OrgKind without prefix).
const (
	OrgPartner  OrgKind = "PARTNER"
	OrgCustomer OrgKind = "CUSTOMER"
	OrgService  OrgKind = "SERVICE"
)

// Principal is who is calling: a user or API credential of a partner or customer organisation, or
// a partnerhub service acting on behalf of one.
type Principal struct {
	Subject    string // user or credential ID
	OrgID      string // partner ID or tenant ID
	OrgKind    OrgKind
	Roles      []Role
	OnBehalfOf *Principal // set on service tokens: the principal the service acts for
}

// HasRole reports whether p holds any of the roles.
func (p Principal) HasRole(roles ...Role) bool {
	return slices.ContainsFunc(roles, func(r Role) bool { return slices.Contains(p.Roles, r) })
}

// IsService reports whether p is a partnerhub service.
func (p Principal) IsService() bool { return p.OrgKind == OrgService && p.HasRole(Service) }

// Effective is the principal whose rights count: the one a service acts for, or p itself.
func (p Principal) Effective() Principal {
	if p.IsService() && p.OnBehalfOf != nil {
		return *p.OnBehalfOf
	}
	return p
}

// RequireRole returns PERMISSION_DENIED / ROLE_REQUIRED unless the effective principal holds one
// of roles. Services act with the rights of the principal they act for.
func (p Principal) RequireRole(roles ...Role) error {
	if p.Effective().HasRole(roles...) {
		return nil
	}
	return errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
		"the caller needs one of the roles %v", roles).With("required_roles", joinRoles(roles))
}

// RequireOrg returns PERMISSION_DENIED / TENANT_MISMATCH unless the effective principal belongs
// to the organisation orgID (ID-8). Use cases that look a resource up by ID should prefer
// answering NOT_FOUND, so that existence does not leak.
func (p Principal) RequireOrg(orgID string) error {
	if p.Effective().OrgID == orgID {
		return nil
	}
	return errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
		"the caller's organisation may not act on this resource")
}

func joinRoles(roles []Role) string {
	s := ""
	for i, r := range roles {
		if i > 0 {
			s += ","
		}
		s += string(r)
	}
	return s
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of the call, if the call was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// MustFromContext returns the principal or UNAUTHENTICATED, for use cases behind the interceptor.
func MustFromContext(ctx context.Context) (Principal, error) {
	if p, ok := FromContext(ctx); ok {
		return p, nil
	}
	return Principal{}, errs.New(errs.Unauthenticated, errs.ReasonTokenMissing, "the call carries no token")
}
