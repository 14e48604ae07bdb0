// Package grpcapi maps partnerhub.keys.v1 to keys's use cases: proto in, app call, proto out.
package grpcapi

import (
	"google.golang.org/grpc"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
)

// Server implements the keys services. Until the keys issue fills them, its RPCs answer
// UNIMPLEMENTED through the embedded types; authentication and each RPC's access rule already
// apply, so a caller without the needed role is refused before reaching them.
type Server struct {
	keysv1.UnimplementedEntitlementServiceServer
	keysv1.UnimplementedProductKeyServiceServer
	keysv1.UnimplementedActivityLogServiceServer
}

// Register adds every keys service to gs.
func Register(gs *grpc.Server) {
	s := &Server{}
	keysv1.RegisterEntitlementServiceServer(gs, s)
	keysv1.RegisterProductKeyServiceServer(gs, s)
	keysv1.RegisterActivityLogServiceServer(gs, s)
}
