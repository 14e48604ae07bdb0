// Package grpcapi maps partnerhub.delegatedadmin.v1 to delegatedadmin's use cases: proto in, app call, proto out.
package grpcapi

import (
	"google.golang.org/grpc"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
)

// Server implements the delegatedadmin services. Until the delegatedadmin issue fills them, its RPCs answer
// UNIMPLEMENTED through the embedded types; authentication and each RPC's access rule already
// apply, so a caller without the needed role is refused before reaching them.
type Server struct {
	delegatedadminv1.UnimplementedDelegatedAdminServiceServer
}

// Register adds every delegatedadmin service to gs.
func Register(gs *grpc.Server) {
	s := &Server{}
	delegatedadminv1.RegisterDelegatedAdminServiceServer(gs, s)
}
