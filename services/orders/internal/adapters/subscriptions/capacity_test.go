package subscriptions_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/subscriptions"
)

// capacityFake answers CheckTenantCapacity with a maximum of 3.
type capacityFake struct {
	subscriptionsv1.UnimplementedProvisioningServiceServer
	req  *subscriptionsv1.CheckTenantCapacityRequest
	auth string
}

func (f *capacityFake) CheckTenantCapacity(ctx context.Context, req *subscriptionsv1.CheckTenantCapacityRequest) (*subscriptionsv1.CheckTenantCapacityResponse, error) {
	f.req, f.auth = req, peertest.AuthOf(ctx)
	return &subscriptionsv1.CheckTenantCapacityResponse{Allowed: 2+req.GetRequested() <= 3, Limit: 3, Active: 2,
		Requested: req.GetRequested()}, nil
}

// SU-13: the review asks subscriptions for the tenant maximum, on behalf of the caller, and gets
// the numbers back.
func TestTenantCapacity_SU13(t *testing.T) {
	f := &capacityFake{}
	conn := peertest.Dial(t, func(gs *grpc.Server) { subscriptionsv1.RegisterProvisioningServiceServer(gs, f) }, peertest.WithTokens())
	p := subscriptions.New(conn)
	c, err := p.TenantCapacity(peertest.AgentCtx(), "customer-1", 2)
	if err != nil || c.Allowed || c.Limit != 3 || c.Active != 2 || c.Requested != 2 {
		t.Fatalf("TenantCapacity = %+v, %v; want refused with limit 3, active 2, requested 2", c, err)
	}
	if f.req.GetCustomerId() != "customer-1" || f.req.GetRequested() != 2 || f.auth == "" {
		t.Errorf("request %v with auth %q; want customer-1, 2, a token", f.req, f.auth)
	}
	if c, _ := p.TenantCapacity(peertest.AgentCtx(), "customer-1", 1); !c.Allowed {
		t.Errorf("one more = %+v; want allowed", c)
	}
}
