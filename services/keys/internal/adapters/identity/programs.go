// Package identity wraps identity's generated PartnerService client behind the keys app's
// Programs port: whether a partner is enrolled in the Open program (ID-1), which minting key cards
// needs. Each call carries a service token acting on behalf of the caller of the RPC being served
// (svc.OnBehalfOfCaller): a partner's Admin agent reads its own partner; a partnerhub service
// acting for nobody (the orders service selling key cards) reads any partner with its own token.
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
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
)

// callTimeout bounds one call to identity, so a hung peer fails a mint with
// DEPENDENCY_UNAVAILABLE instead of holding it until the client gives up.
const callTimeout = 5 * time.Second

// Programs implements app.Programs over PartnerService.GetPartner. It does not cache: minting is
// rare, and an enrolment withdrawn must count at once.
type Programs struct {
	client identityv1.PartnerServiceClient
}

// NewPrograms returns the programs over a connection to identity (svc.Runtime.DialPeer).
func NewPrograms(conn grpc.ClientConnInterface) *Programs {
	return &Programs{client: identityv1.NewPartnerServiceClient(conn)}
}

var _ app.Programs = (*Programs)(nil)

// OpenEnrolled implements app.Programs: enrolled when the partner's enrolments include
// PARTNER_PROGRAM_OPEN. A partner identity does not know, or does not show the caller (ID-8:
// NOT_FOUND), is not enrolled; any other failure is UNAVAILABLE / DEPENDENCY_UNAVAILABLE, the
// cause kept for the log.
func (p *Programs) OpenEnrolled(ctx context.Context, partnerID string) (bool, error) {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := p.client.GetPartner(ctx, &identityv1.GetPartnerRequest{PartnerId: partnerID})
	switch {
	case err != nil && (errs.KindOf(err) == errs.NotFound || status.Code(err) == codes.NotFound):
		return false, nil
	case err != nil:
		return false, errs.Unavailablef("identity does not answer").With("dependency", "identity").
			Wrap(fmt.Errorf("identity GetPartner %s: %w", partnerID, err))
	}
	return slices.ContainsFunc(resp.GetPartner().GetEnrolments(), func(e *identityv1.ProgramEnrolment) bool {
		return e.GetProgram() == identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN
	}), nil
}
