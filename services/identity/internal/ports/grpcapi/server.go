// Package grpcapi maps partnerhub.identity.v1 to identity's use cases: proto in, app call,
// proto out. No business rules here; validation is limited to what only the proto can get wrong
// (an invalid Timestamp or Duration), everything else is the app's.
package grpcapi

import (
	"google.golang.org/grpc"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
)

// Server implements the identity services: PartnerService (partner.go), UserService (user.go),
// TokenService (token.go), CustomerService and RelationshipService. The Unimplemented types are
// embedded for grpc-go's forward compatibility (an RPC added to a contract answers UNIMPLEMENTED
// until it is written), not to stand in for missing RPCs.
type Server struct {
	identityv1.UnimplementedPartnerServiceServer
	identityv1.UnimplementedUserServiceServer
	identityv1.UnimplementedTokenServiceServer
	identityv1.UnimplementedCustomerServiceServer
	identityv1.UnimplementedRelationshipServiceServer
	app *app.App
}

// Register adds every identity service to gs.
func Register(gs *grpc.Server, a *app.App) {
	s := &Server{app: a}
	identityv1.RegisterPartnerServiceServer(gs, s)
	identityv1.RegisterUserServiceServer(gs, s)
	identityv1.RegisterTokenServiceServer(gs, s)
	identityv1.RegisterCustomerServiceServer(gs, s)
	identityv1.RegisterRelationshipServiceServer(gs, s)
}
