package delegatedadmin_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/delegatedadmin"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
)

// fake: partner-1 administers cust-ok with SERVICE_SUPPORT_ADMINISTRATOR; its offer to
// cust-pending is not approved; cust-users grants USER_ADMINISTRATOR only; nothing links anyone
// else. Partner "down" gets UNAVAILABLE, partner "bad" INVALID_REQUEST.
type fake struct {
	delegatedadminv1.UnimplementedDelegatedAdminServiceServer
	mu    sync.Mutex
	reqs  []*delegatedadminv1.CheckAccessRequest
	auths []string
}

func (f *fake) CheckAccess(ctx context.Context, req *delegatedadminv1.CheckAccessRequest) (*delegatedadminv1.CheckAccessResponse, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.auths = append(f.auths, peertest.AuthOf(ctx))
	f.mu.Unlock()
	switch req.GetPartnerId() {
	case "down":
		return nil, status.Error(codes.Unavailable, "down")
	case "bad":
		st, _ := errs.ToStatus(errs.Invalid("role", "must not be UNSPECIFIED"))
		return nil, st.Err()
	}
	deny := func(r delegatedadminv1.AccessDenialReason, rel string) *delegatedadminv1.CheckAccessResponse {
		return &delegatedadminv1.CheckAccessResponse{DenialReason: r, RelationshipId: rel, CacheTtl: durationpb.New(5 * time.Second)}
	}
	switch req.GetCustomerId() {
	case "cust-ok":
		if req.GetRole() == delegatedadminv1.AdminRole_ADMIN_ROLE_SERVICE_SUPPORT_ADMINISTRATOR {
			return &delegatedadminv1.CheckAccessResponse{Allowed: true, RelationshipId: "rel-1",
				CacheTtl: durationpb.New(30 * time.Second)}, nil
		}
		return deny(delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_ROLE_NOT_GRANTED, "rel-1"), nil
	case "cust-pending":
		return deny(delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_PENDING, "rel-2"), nil
	case "cust-users":
		return deny(delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_ROLE_NOT_GRANTED, "rel-3"), nil
	}
	return deny(delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_NO_RELATIONSHIP, ""), nil
}

func (f *fake) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func dial(t *testing.T, f *fake) *delegatedadmin.Access {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) { delegatedadminv1.RegisterDelegatedAdminServiceServer(gs, f) },
		peertest.WithTokens())
	return delegatedadmin.New(conn, tenancy.Options{})
}

// DA-4, DA-6: the partner may open support requests only where an active relationship grants
// SERVICE_SUPPORT_ADMINISTRATOR; every other answer is a denial with delegatedadmin's reason.
func TestCheckAccess_DA4(t *testing.T) {
	f := &fake{}
	a := dial(t, f)
	for _, tc := range []struct {
		customer string
		want     support.Access
	}{
		{"cust-ok", support.Access{Allowed: true, RelationshipID: "rel-1"}},
		{"cust-pending", support.Access{DenialReason: "PENDING", RelationshipID: "rel-2"}},
		{"cust-users", support.Access{DenialReason: "ROLE_NOT_GRANTED", RelationshipID: "rel-3"}},
		{"cust-none", support.Access{DenialReason: "NO_RELATIONSHIP"}},
	} {
		got, err := a.CheckAccess(peertest.AgentCtx(), "partner-1", tc.customer, support.RequiredRole)
		if err != nil || got != tc.want {
			t.Errorf("CheckAccess(%s) = %+v, %v; want %+v", tc.customer, got, err, tc.want)
		}
	}
	f.mu.Lock()
	first, auth := f.reqs[0], f.auths[0]
	f.mu.Unlock()
	if first.GetPartnerId() != "partner-1" || first.GetCustomerId() != "cust-ok" ||
		first.GetRole() != delegatedadminv1.AdminRole_ADMIN_ROLE_SERVICE_SUPPORT_ADMINISTRATOR {
		t.Errorf("request %v", first)
	}
	// The answers are shared by every caller (cached per pair and role), so the call is the
	// service's own, whoever the request serves.
	if auth != "Bearer own" {
		t.Errorf("authorization %q; want the service's own token", auth)
	}
	n := f.calls()
	if _, err := a.CheckAccess(context.Background(), "partner-1", "cust-ok", support.RequiredRole); err != nil || f.calls() != n {
		t.Errorf("second check: %v after %d calls (was %d); want a cached answer", err, f.calls(), n)
	}
}

// delegatedadmin down is UNAVAILABLE; a refused request keeps its kind and reason; an unknown
// role is a bug (INTERNAL) caught before any call.
func TestCheckAccess_Errors(t *testing.T) {
	f := &fake{}
	a := dial(t, f)
	ctx := context.Background()
	if _, err := a.CheckAccess(ctx, "down", "cust-ok", support.RequiredRole); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("delegatedadmin down: %v; want UNAVAILABLE", err)
	}
	if _, err := a.CheckAccess(ctx, "bad", "cust-ok", support.RequiredRole); errs.KindOf(err) != errs.InvalidArgument ||
		errs.ReasonOf(err) != errs.ReasonInvalidRequest {
		t.Errorf("bad request: %v; want INVALID_ARGUMENT/INVALID_REQUEST", err)
	}
	n := f.calls()
	if _, err := a.CheckAccess(ctx, "partner-1", "cust-ok", "SUPPORT_WIZARD"); errs.KindOf(err) != errs.Internal || f.calls() != n {
		t.Errorf("unknown role: %v after %d calls (was %d); want INTERNAL without a call", err, f.calls(), n)
	}
}
