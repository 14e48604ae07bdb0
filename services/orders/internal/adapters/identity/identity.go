// Package identity implements the orders app's Identity port over pkg/tenancy's Checker, which
// wraps identity's RelationshipService.CheckRelationship with a cache honouring identity's
// cache_ttl (ID-4). CheckRelationship carries the customer's country (CA-2), so no other call is
// needed. The calls use the service's own token, not the caller's: the Checker's answers are
// cached per (partner, customer) and shared by every caller, like in keys and subscriptions.
package identity

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
)

// Customers implements app.Identity.
type Customers struct {
	checker *tenancy.Checker
}

// New returns the port over a connection to identity (svc.Runtime.DialPeer). opts.Timeout bounds
// one CheckRelationship (pkg/tenancy's default when zero).
func New(conn grpc.ClientConnInterface, opts tenancy.Options) *Customers {
	return NewWithChecker(tenancy.New(identityv1.NewRelationshipServiceClient(conn), nil, opts))
}

// NewWithChecker returns the port over an existing Checker (one cache shared with other users).
func NewWithChecker(c *tenancy.Checker) *Customers { return &Customers{checker: c} }

var _ app.Identity = (*Customers)(nil)

// CheckCustomer implements app.Identity. A missing customer or relationship is an answer; an
// error is identity's (pkg/errs.FromError), e.g. UNAVAILABLE.
func (c *Customers) CheckCustomer(ctx context.Context, partnerID, customerID string) (app.CustomerCheck, error) {
	r, err := c.checker.Relationship(ctx, partnerID, customerID)
	if err != nil {
		return app.CustomerCheck{}, fmt.Errorf("identity CheckRelationship %s/%s: %w", partnerID, customerID, errs.FromError(err))
	}
	denial := ""
	if r.DenialReason != identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_UNSPECIFIED {
		denial = strings.TrimPrefix(r.DenialReason.String(), "RELATIONSHIP_DENIAL_REASON_")
	}
	return app.CustomerCheck{
		Exists:             r.DenialReason != identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_CUSTOMER_NOT_FOUND && r.CustomerCountry != "",
		CountryCode:        r.CustomerCountry,
		RelationshipActive: r.Active,
		DenialReason:       denial,
		RelationshipID:     r.RelationshipID,
	}, nil
}
