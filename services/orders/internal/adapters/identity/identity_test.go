package identity_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/identity"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
)

// fake: partner-1 resells to cust-de (DE); cust-gone does not exist; cust-moved moved away;
// partner "down" gets UNAVAILABLE, partner "bad" INVALID_REQUEST.
type fake struct {
	identityv1.UnimplementedRelationshipServiceServer
	reqs []*identityv1.CheckRelationshipRequest
}

func (f *fake) CheckRelationship(_ context.Context, req *identityv1.CheckRelationshipRequest) (*identityv1.CheckRelationshipResponse, error) {
	f.reqs = append(f.reqs, req)
	switch req.GetPartnerId() {
	case "down":
		return nil, status.Error(codes.Unavailable, "down")
	case "bad":
		st, _ := errs.ToStatus(errs.Invalid("customer_id", "not a UUID"))
		return nil, st.Err()
	}
	switch req.GetCustomerId() {
	case "cust-de":
		return &identityv1.CheckRelationshipResponse{Active: true, RelationshipId: "rel-1", CustomerCountryCode: "DE", PartnerCountryCode: "DE",
			CacheTtl: durationpb.New(time.Minute)}, nil
	case "cust-moved":
		return &identityv1.CheckRelationshipResponse{DenialReason: identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_MOVED,
			RelationshipId: "rel-0", CustomerCountryCode: "FR", PartnerCountryCode: "DE"}, nil
	}
	return &identityv1.CheckRelationshipResponse{DenialReason: identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_CUSTOMER_NOT_FOUND,
		PartnerCountryCode: "DE"}, nil
}

func dial(t *testing.T, f *fake) *identity.Customers {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) { identityv1.RegisterRelationshipServiceServer(gs, f) })
	return identity.New(conn, tenancy.Options{})
}

// ID-4, CA-2: the customer's country and the relationship, with the denial reason; answers are
// cached (pkg/tenancy).
func TestCheckCustomer(t *testing.T) {
	f := &fake{}
	c := dial(t, f)
	ctx := context.Background()
	for _, tc := range []struct {
		customer string
		want     app.CustomerCheck
	}{
		{"cust-de", app.CustomerCheck{Exists: true, CountryCode: "DE", RelationshipActive: true, RelationshipID: "rel-1"}},
		{"cust-moved", app.CustomerCheck{Exists: true, CountryCode: "FR", DenialReason: "MOVED", RelationshipID: "rel-0"}},
		{"cust-gone", app.CustomerCheck{DenialReason: "CUSTOMER_NOT_FOUND"}},
	} {
		got, err := c.CheckCustomer(ctx, "partner-1", tc.customer)
		if err != nil || got != tc.want {
			t.Errorf("CheckCustomer(%s) = %+v, %v; want %+v", tc.customer, got, err, tc.want)
		}
	}
	if len(f.reqs) != 3 || f.reqs[0].GetPartnerId() != "partner-1" || f.reqs[0].GetCustomerId() != "cust-de" {
		t.Errorf("requests %v", f.reqs)
	}
	if _, err := c.CheckCustomer(ctx, "partner-1", "cust-de"); err != nil || len(f.reqs) != 3 {
		t.Errorf("second check: %v after %d calls; want a cached answer", err, len(f.reqs))
	}
}

// Identity down is retryable; a refused request keeps its kind and reason.
func TestCheckCustomer_Errors(t *testing.T) {
	c := dial(t, &fake{})
	ctx := context.Background()
	if _, err := c.CheckCustomer(ctx, "down", "cust-de"); errs.KindOf(err) != errs.Unavailable || !app.Retryable(err) {
		t.Errorf("identity down: %v; want UNAVAILABLE, retryable", err)
	}
	if _, err := c.CheckCustomer(ctx, "bad", "x"); errs.KindOf(err) != errs.InvalidArgument ||
		errs.ReasonOf(err) != errs.ReasonInvalidRequest || app.Retryable(err) {
		t.Errorf("bad request: %v; want INVALID_ARGUMENT/INVALID_REQUEST, not retryable", err)
	}
}
