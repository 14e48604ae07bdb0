// Package grpcapi maps partnerhub.orders.v1 to orders's use cases: proto in, app call, proto out.
package grpcapi

import (
	"google.golang.org/grpc"

	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
)

// Server implements the orders services. Until the orders issue fills them, its RPCs answer
// UNIMPLEMENTED through the embedded types; authentication and each RPC's access rule already
// apply, so a caller without the needed role is refused before reaching them.
type Server struct {
	ordersv1.UnimplementedOrderServiceServer
	ordersv1.UnimplementedRedemptionServiceServer
	ordersv1.UnimplementedLedgerServiceServer
	ordersv1.UnimplementedSupportRequestServiceServer
}

// Register adds every orders service to gs.
func Register(gs *grpc.Server) {
	s := &Server{}
	ordersv1.RegisterOrderServiceServer(gs, s)
	ordersv1.RegisterRedemptionServiceServer(gs, s)
	ordersv1.RegisterLedgerServiceServer(gs, s)
	ordersv1.RegisterSupportRequestServiceServer(gs, s)
}
