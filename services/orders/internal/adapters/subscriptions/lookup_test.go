package subscriptions_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/subscriptions"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
)

type lookupFake struct {
	subscriptionsv1.UnimplementedSubscriptionServiceServer
	auth string
}

func (f *lookupFake) GetSubscription(ctx context.Context, req *subscriptionsv1.GetSubscriptionRequest) (*subscriptionsv1.GetSubscriptionResponse, error) {
	f.auth = peertest.AuthOf(ctx)
	if req.GetSubscriptionId() == "sub-1" {
		return &subscriptionsv1.GetSubscriptionResponse{Subscription: &subscriptionsv1.Subscription{
			SubscriptionId: "sub-1", CustomerId: "cust-1", PartnerId: "partner-1"}}, nil
	}
	st, _ := errs.ToStatus(errs.NotFoundf("subscription", req.GetSubscriptionId()))
	return nil, st.Err()
}

// OR-6, SU-8: a support request's subscription, whose customer and partner of record the use
// case checks; read with the service's own token.
func TestSubscription_SupportLookup_OR6(t *testing.T) {
	f := &lookupFake{}
	conn := peertest.Dial(t, func(gs *grpc.Server) { subscriptionsv1.RegisterSubscriptionServiceServer(gs, f) }, peertest.WithTokens())
	p := subscriptions.New(conn)
	got, err := p.Subscription(peertest.AgentCtx(), "sub-1")
	if want := (support.Subscription{ID: "sub-1", CustomerID: "cust-1", PartnerID: "partner-1"}); err != nil || got != want {
		t.Fatalf("Subscription = %+v, %v; want %+v", got, err, want)
	}
	if f.auth != "Bearer own" {
		t.Errorf("authorization %q; want the service's own token", f.auth)
	}
	if _, err := p.Subscription(peertest.AgentCtx(), "sub-9"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown: %v; want NOT_FOUND", err)
	}
}
