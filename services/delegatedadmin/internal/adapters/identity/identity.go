// Package identity wraps identity's generated gRPC clients behind app.Identity: the partner's
// program enrolments (DA-2) and the reseller relationship (ID-4) that an offer depends on.
package identity

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
)

// callTimeout bounds one call to identity, so a hung peer fails an offer with
// DEPENDENCY_UNAVAILABLE instead of holding it until the client gives up.
const callTimeout = 5 * time.Second

// Client implements app.Identity over a connection to identity. The connection must carry a
// service token without on_behalf_of (svc.Runtime.DialPeer): GetPartner answers a service for
// any partner, and CheckRelationship takes SERVICE.
type Client struct {
	partners      identityv1.PartnerServiceClient
	relationships identityv1.RelationshipServiceClient
}

// New returns the client over conn.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{
		partners:      identityv1.NewPartnerServiceClient(conn),
		relationships: identityv1.NewRelationshipServiceClient(conn),
	}
}

var _ app.Identity = (*Client)(nil)

// Partner implements app.Identity: a partner identity does not know (NOT_FOUND) does not exist;
// it is eligible when enrolled in PARTNER_PROGRAM_DELEGATED_ADMIN (ID-1, DA-2).
func (c *Client) Partner(ctx context.Context, partnerID string) (app.PartnerFacts, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.partners.GetPartner(ctx, &identityv1.GetPartnerRequest{PartnerId: partnerID})
	if isNotFound(err) {
		return app.PartnerFacts{}, nil
	}
	if err != nil {
		return app.PartnerFacts{}, unavailable("GetPartner", err)
	}
	eligible := slices.ContainsFunc(resp.GetPartner().GetEnrolments(), func(e *identityv1.ProgramEnrolment) bool {
		return e.GetProgram() == identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN
	})
	return app.PartnerFacts{Exists: true, DelegatedAdminEligible: eligible}, nil
}

// ResellerRelationship implements app.Identity. An unknown customer is no relationship (ID-4,
// ID-8), whether identity answers "not active" or NOT_FOUND.
func (c *Client) ResellerRelationship(ctx context.Context, partnerID, customerID string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.relationships.CheckRelationship(ctx, &identityv1.CheckRelationshipRequest{
		PartnerId: partnerID, CustomerId: customerID,
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("CheckRelationship", err)
	}
	return resp.GetActive(), nil
}

// isNotFound recognizes NOT_FOUND whether the connection maps peer statuses back to errs values
// (errs.UnaryClientInterceptor) or not.
func isNotFound(err error) bool {
	return err != nil && (errs.KindOf(err) == errs.NotFound || status.Code(err) == codes.NotFound)
}

// unavailable turns a failed call into DEPENDENCY_UNAVAILABLE: whatever identity said (down,
// too slow, or refusing this service's token), the caller can only retry later. The cause is
// kept for the log, never sent to the client.
func unavailable(method string, err error) error {
	return errs.Unavailablef("identity does not answer").With("dependency", "identity").
		Wrap(fmt.Errorf("identity %s: %w", method, err))
}
