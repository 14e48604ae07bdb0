// Package delegatedadmin implements the support use cases' DelegatedAdmin port (DA-4, DA-6) over
// delegatedadmin's DelegatedAdminService.CheckAccess, through pkg/tenancy's Checker, which caches
// each answer for the cache_ttl delegatedadmin grants (at most 30 s for an access, 5 s for a
// denial, never past the grant's end). A terminated relationship may thus still allow a request
// for up to that long: the eventual consistency the contract documents.
//
// The calls carry the service's own token, not the caller's: the Checker's answers are cached per
// (partner, customer, role) and shared by every caller, as in adapters/identity. That is safe
// because the use case passes the partner of the authenticated principal, never one taken from a
// request (pkg/tenancy's package doc).
package delegatedadmin

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
)

// Access implements support.DelegatedAdmin.
type Access struct {
	checker *tenancy.Checker
}

// New returns the port over a connection to delegatedadmin (svc.Runtime.DialPeer).
// opts.Timeout bounds one CheckAccess (pkg/tenancy's default, 10 s, when zero): a hung
// delegatedadmin fails the request with DEADLINE_EXCEEDED instead of holding it.
func New(conn grpc.ClientConnInterface, opts tenancy.Options) *Access {
	return NewWithChecker(tenancy.New(nil, delegatedadminv1.NewDelegatedAdminServiceClient(conn), opts))
}

// NewWithChecker returns the port over an existing Checker, e.g. one whose cache is shared with
// adapters/identity (tenancy.New with both clients).
func NewWithChecker(c *tenancy.Checker) *Access { return &Access{checker: c} }

var _ support.DelegatedAdmin = (*Access)(nil)

// CheckAccess implements support.DelegatedAdmin. role is an AdminRole name without its
// ADMIN_ROLE_ prefix (support.RequiredRole); an unknown one is a programming error (INTERNAL),
// not a denial. A denial is an answer; an error is delegatedadmin's (pkg/errs.FromError), e.g.
// UNAVAILABLE.
func (a *Access) CheckAccess(ctx context.Context, partnerID, customerID, role string) (support.Access, error) {
	r, err := tenancy.ParseRole(role)
	if err != nil {
		return support.Access{}, err
	}
	acc, err := a.checker.Access(ctx, partnerID, customerID, r)
	if err != nil {
		return support.Access{}, fmt.Errorf("delegatedadmin CheckAccess %s/%s/%s: %w", partnerID, customerID, role, errs.FromError(err))
	}
	out := support.Access{Allowed: acc.Allowed, RelationshipID: acc.RelationshipID}
	if !acc.Allowed {
		out.DenialReason = strings.TrimPrefix(acc.DenialReason.String(), "ACCESS_DENIAL_REASON_")
		if acc.DenialReason == delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_UNSPECIFIED {
			// A denial without a reason still denies; say so rather than send "UNSPECIFIED".
			out.DenialReason = "NO_RELATIONSHIP"
		}
	}
	return out, nil
}
