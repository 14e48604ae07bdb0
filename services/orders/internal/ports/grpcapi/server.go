// Package grpcapi maps partnerhub.orders.v1 to orders's use cases: proto in, app call, proto out.
// No business rules here.
package grpcapi

import (
	"google.golang.org/grpc"

	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
)

// Servers are the orders services; one left nil is served by its Unimplemented type (never in
// a complete build: TestServer_EveryRPCImplemented).
type Servers struct {
	Orders     ordersv1.OrderServiceServer
	Redemption ordersv1.RedemptionServiceServer
	Ledger     ordersv1.LedgerServiceServer
	Support    ordersv1.SupportRequestServiceServer
}

// Register adds every orders service to gs.
func Register(gs *grpc.Server, s Servers) {
	if s.Orders == nil {
		s.Orders = ordersv1.UnimplementedOrderServiceServer{}
	}
	if s.Redemption == nil {
		s.Redemption = ordersv1.UnimplementedRedemptionServiceServer{}
	}
	if s.Ledger == nil {
		s.Ledger = ordersv1.UnimplementedLedgerServiceServer{}
	}
	if s.Support == nil {
		s.Support = ordersv1.UnimplementedSupportRequestServiceServer{}
	}
	ordersv1.RegisterOrderServiceServer(gs, s.Orders)
	ordersv1.RegisterRedemptionServiceServer(gs, s.Redemption)
	ordersv1.RegisterLedgerServiceServer(gs, s.Ledger)
	ordersv1.RegisterSupportRequestServiceServer(gs, s.Support)
}
