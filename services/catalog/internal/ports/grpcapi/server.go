// Package grpcapi maps partnerhub.catalog.v1 to catalog's use cases: proto in, app call, proto out.
package grpcapi

import (
	"google.golang.org/grpc"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/pkg/cache"
)

// Server implements the catalog services. Until the catalog issue fills them, its RPCs answer
// UNIMPLEMENTED through the embedded types; authentication and each RPC's access rule already
// apply, so a caller without the needed role is refused before reaching them.
type Server struct {
	catalogv1.UnimplementedCatalogServiceServer
	catalogv1.UnimplementedCatalogAdminServiceServer
	cache cache.Cache // the read-through cache of the catalog RPCs (Redis or in-process)
}

// Register adds every catalog service to gs.
func Register(gs *grpc.Server, c cache.Cache) {
	s := &Server{cache: c}
	catalogv1.RegisterCatalogServiceServer(gs, s)
	catalogv1.RegisterCatalogAdminServiceServer(gs, s)
}
