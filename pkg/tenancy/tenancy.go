// Package tenancy answers "may this partner act for this customer" for every service: commerce
// calls need an active reseller relationship (identity's CheckRelationship, ID-4), administrative
// calls a delegated-admin relationship granting the role (delegatedadmin's CheckAccess, DA-6).
//
// Both answers are cached in-process for what the answer allows (cache_ttl, at most
// Options.MaxTTL, and an allowed access never past its grant end), so a hot path pays a map
// lookup, not an RPC. A removal or termination may therefore take up to that long to be seen,
// the eventual consistency the contracts document. Errors are never cached.
//
// The cache is shared by every caller of a Checker: an answer depends on the pair only, not on
// who asks. The peer's own authority check (TENANT_MISMATCH for a user asking about another
// organisation's pair) is thus skipped on a hit, so callers pass the partner and customer the
// authenticated principal may ask about (its own partner ID, ID-8), never IDs taken unchecked from
// a request.
package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// The reasons of the Require methods (partnerhub.common.v1.ErrorReason).
const (
	ReasonRelationshipRequired   errs.Reason = "RELATIONSHIP_REQUIRED"
	ReasonDelegatedAdminRequired errs.Reason = "DELEGATED_ADMIN_REQUIRED"
)

// Options configures a Checker; the zero value is the default.
type Options struct {
	// MaxTTL caps how long an answer is reused, whatever its cache_ttl says (default 30s).
	MaxTTL time.Duration
	// Now is wall time (default time.Now). Cache lifetimes are about propagation delay, not
	// business dates, so a service on a fake clock still passes time.Now.
	Now func() time.Time
	// MaxEntries bounds each cache (relationships, accesses) (default 10000).
	MaxEntries int
	// Timeout bounds one check RPC, which runs detached from the caller that started it because
	// concurrent callers share it (default 10s). Each caller still waits only until its own
	// deadline.
	Timeout time.Duration
}

// Checker asks identity and delegatedadmin about partner–customer pairs and caches the answers.
// It is safe for concurrent use.
type Checker struct {
	rel  identityv1.RelationshipServiceClient
	da   delegatedadminv1.DelegatedAdminServiceClient
	opts Options

	group    singleflight.Group
	rels     *ttlMap[pair, Relationship]
	accesses *ttlMap[accessKey, Access]
}

type pair struct{ partner, customer string }

type accessKey struct {
	pair
	role delegatedadminv1.AdminRole
}

// New returns a Checker over identity's RelationshipService and delegatedadmin's
// DelegatedAdminService clients (from svc.Runtime.DialPeer, so calls carry a service token). Either
// may be nil when the service never asks that question; asking it then panics.
func New(rel identityv1.RelationshipServiceClient, da delegatedadminv1.DelegatedAdminServiceClient, opts Options) *Checker {
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10_000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &Checker{rel: rel, da: da, opts: opts,
		rels:     newTTLMap[pair, Relationship](opts.MaxEntries),
		accesses: newTTLMap[accessKey, Access](opts.MaxEntries)}
}

// Relationship is identity's answer about a reseller relationship (ID-4).
type Relationship struct {
	// Active is true when an ACTIVE reseller relationship links partner and customer.
	Active bool
	// DenialReason says why not; UNSPECIFIED when active.
	DenialReason identityv1.RelationshipDenialReason
	// RelationshipID is the active relationship, or the latest ended one (REMOVED, MOVED).
	RelationshipID string
	// CustomerCountry and PartnerCountry are ISO 3166-1 alpha-2 codes; empty for a party that
	// does not exist.
	CustomerCountry, PartnerCountry string
	// CustomerPartnerManaged is true when the customer cannot manage its own subscriptions (ID-6).
	CustomerPartnerManaged bool
}

// Access is delegatedadmin's answer about an admin role (DA-6).
type Access struct {
	// Allowed is true when an ACTIVE or EXPIRING relationship grants the role (or
	// GLOBAL_ADMINISTRATOR).
	Allowed bool
	// DenialReason says why not; UNSPECIFIED when allowed.
	DenialReason delegatedadminv1.AccessDenialReason
	// RelationshipID is the granting relationship, or the one the denial refers to.
	RelationshipID string
	// GrantEnd is when the granting relationship ends; zero when denied or for legacy full-admin.
	GrantEnd time.Time
}

// Relationship answers whether partnerID may sell to and provision for customerID now.
// A missing relationship, partner or customer is an answer (Active false), not an error.
func (c *Checker) Relationship(ctx context.Context, partnerID, customerID string) (Relationship, error) {
	k := pair{partnerID, customerID}
	if r, ok := c.rels.get(k, c.opts.Now()); ok {
		return r, nil
	}
	v, err := c.flight(ctx, "r\x00"+partnerID+"\x00"+customerID, func(ctx context.Context) (any, error) {
		gen := c.rels.generation()
		resp, err := c.rel.CheckRelationship(ctx, &identityv1.CheckRelationshipRequest{PartnerId: partnerID, CustomerId: customerID})
		if err != nil {
			return nil, fmt.Errorf("check reseller relationship: %w", errs.FromError(err))
		}
		r := Relationship{
			Active:                 resp.GetActive(),
			DenialReason:           resp.GetDenialReason(),
			RelationshipID:         resp.GetRelationshipId(),
			CustomerCountry:        resp.GetCustomerCountryCode(),
			PartnerCountry:         resp.GetPartnerCountryCode(),
			CustomerPartnerManaged: resp.GetCustomerPartnerManaged(),
		}
		now := c.opts.Now()
		c.rels.put(k, r, now.Add(c.ttl(resp.GetCacheTtl().AsDuration(), resp.GetCacheTtl() != nil)), gen, now)
		return r, nil
	})
	if err != nil {
		return Relationship{}, err
	}
	return v.(Relationship), nil
}

// RequireRelationship is Relationship, with FAILED_PRECONDITION / RELATIONSHIP_REQUIRED (metadata
// denial_reason, e.g. NO_RELATIONSHIP) when the relationship is not active.
func (c *Checker) RequireRelationship(ctx context.Context, partnerID, customerID string) (Relationship, error) {
	r, err := c.Relationship(ctx, partnerID, customerID)
	if err != nil {
		return Relationship{}, err
	}
	if !r.Active {
		return r, errs.New(errs.FailedPrecondition, ReasonRelationshipRequired,
			"the partner needs an active reseller relationship with the customer").
			With("denial_reason", strings.TrimPrefix(r.DenialReason.String(), "RELATIONSHIP_DENIAL_REASON_"))
	}
	return r, nil
}

// Access answers whether partnerID may act in customerID's tenant with role now (DA-6). A denial
// is an answer (Allowed false), not an error.
func (c *Checker) Access(ctx context.Context, partnerID, customerID string, role delegatedadminv1.AdminRole) (Access, error) {
	k := accessKey{pair{partnerID, customerID}, role}
	if a, ok := c.accesses.get(k, c.opts.Now()); ok {
		return a, nil
	}
	v, err := c.flight(ctx, fmt.Sprintf("a\x00%s\x00%s\x00%d", partnerID, customerID, role), func(ctx context.Context) (any, error) {
		gen := c.accesses.generation()
		resp, err := c.da.CheckAccess(ctx, &delegatedadminv1.CheckAccessRequest{PartnerId: partnerID, CustomerId: customerID, Role: role})
		if err != nil {
			return nil, fmt.Errorf("check delegated-admin access: %w", errs.FromError(err))
		}
		a := Access{
			Allowed:        resp.GetAllowed(),
			DenialReason:   resp.GetDenialReason(),
			RelationshipID: resp.GetRelationshipId(),
		}
		if resp.GetGrantEndTime() != nil {
			a.GrantEnd = resp.GetGrantEndTime().AsTime()
		}
		now := c.opts.Now()
		expires := now.Add(c.ttl(resp.GetCacheTtl().AsDuration(), resp.GetCacheTtl() != nil))
		// An allowed answer must not outlive the grant it rests on.
		if a.Allowed && !a.GrantEnd.IsZero() && a.GrantEnd.Before(expires) {
			expires = a.GrantEnd
		}
		c.accesses.put(k, a, expires, gen, now)
		return a, nil
	})
	if err != nil {
		return Access{}, err
	}
	return v.(Access), nil
}

// RequireAccess is Access, with PERMISSION_DENIED / DELEGATED_ADMIN_REQUIRED (metadata
// required_role, e.g. USER_ADMINISTRATOR, and denial_reason, e.g. EXPIRED) when not allowed.
func (c *Checker) RequireAccess(ctx context.Context, partnerID, customerID string, role delegatedadminv1.AdminRole) (Access, error) {
	a, err := c.Access(ctx, partnerID, customerID, role)
	if err != nil {
		return Access{}, err
	}
	if !a.Allowed {
		return a, errs.New(errs.PermissionDenied, ReasonDelegatedAdminRequired,
			"the partner needs a delegated-admin relationship granting this role in the customer's tenant").
			With("required_role", RoleName(role)).
			With("denial_reason", strings.TrimPrefix(a.DenialReason.String(), "ACCESS_DENIAL_REASON_"))
	}
	return a, nil
}

// Allowed is Access for a role given by name without prefix ("USER_ADMINISTRATOR"), the form
// identity's app layer uses so it need not import delegatedadmin's contract. An unknown role name
// is a programming error (INTERNAL), not a denial.
func (c *Checker) Allowed(ctx context.Context, partnerID, customerID, role string) (bool, error) {
	r, err := ParseRole(role)
	if err != nil {
		return false, err
	}
	a, err := c.Access(ctx, partnerID, customerID, r)
	if err != nil {
		return false, err
	}
	return a.Allowed, nil
}

// ParseRole returns the AdminRole named role without its ADMIN_ROLE_ prefix.
func ParseRole(role string) (delegatedadminv1.AdminRole, error) {
	v, ok := delegatedadminv1.AdminRole_value["ADMIN_ROLE_"+role]
	if !ok || v == int32(delegatedadminv1.AdminRole_ADMIN_ROLE_UNSPECIFIED) {
		return 0, errs.Unexpected(fmt.Errorf("tenancy: unknown admin role %q", role))
	}
	return delegatedadminv1.AdminRole(v), nil
}

// RoleName is the name of role without its ADMIN_ROLE_ prefix.
func RoleName(role delegatedadminv1.AdminRole) string {
	return strings.TrimPrefix(role.String(), "ADMIN_ROLE_")
}

// Invalidate forgets every cached answer about the pair, for a caller that has just changed it
// (removed a relationship, terminated an access): its next check asks again. Answers cached by
// other processes still live up to their TTL.
func (c *Checker) Invalidate(partnerID, customerID string) {
	p := pair{partnerID, customerID}
	c.rels.delete(p)
	c.group.Forget("r\x00" + partnerID + "\x00" + customerID)
	keys := make([]accessKey, 0, len(delegatedadminv1.AdminRole_name))
	for v := range delegatedadminv1.AdminRole_name {
		role := delegatedadminv1.AdminRole(v)
		keys = append(keys, accessKey{p, role})
		c.group.Forget(fmt.Sprintf("a\x00%s\x00%s\x00%d", partnerID, customerID, role))
	}
	c.accesses.delete(keys...)
}

// ttl is how long an answer may be reused: what the peer allows, at most MaxTTL. An answer
// without cache_ttl is not cached: the contract allows caching for cache_ttl only.
func (c *Checker) ttl(d time.Duration, set bool) time.Duration {
	if !set || d <= 0 {
		return 0
	}
	return min(d, c.opts.MaxTTL)
}

// flight runs fetch once for concurrent callers of the same key. The fetch runs detached from the
// first caller's cancellation (values, such as the on-behalf-of principal, are kept), so one
// caller giving up does not fail the others; each caller stops waiting at its own deadline.
func (c *Checker) flight(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error) {
	ch := c.group.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
		defer cancel()
		return fetch(ctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("tenancy check: %w", ctx.Err())
	}
}
