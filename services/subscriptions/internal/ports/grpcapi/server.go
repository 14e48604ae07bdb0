// Package grpcapi maps partnerhub.subscriptions.v1 to subscriptions's use cases: proto in, app call, proto out.
package grpcapi

import (
	"google.golang.org/grpc"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// Server implements the subscriptions services. Until the subscriptions issue fills them, its RPCs answer
// UNIMPLEMENTED through the embedded types; authentication and each RPC's access rule already
// apply, so a caller without the needed role is refused before reaching them.
type Server struct {
	subscriptionsv1.UnimplementedSubscriptionServiceServer
	subscriptionsv1.UnimplementedProvisioningServiceServer
	subscriptionsv1.UnimplementedTransferServiceServer
	subscriptionsv1.UnimplementedEventServiceServer
}

// Register adds every subscriptions service to gs.
func Register(gs *grpc.Server) {
	s := &Server{}
	subscriptionsv1.RegisterSubscriptionServiceServer(gs, s)
	subscriptionsv1.RegisterProvisioningServiceServer(gs, s)
	subscriptionsv1.RegisterTransferServiceServer(gs, s)
	subscriptionsv1.RegisterEventServiceServer(gs, s)
}
