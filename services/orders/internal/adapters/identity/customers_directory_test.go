package identity_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/identity"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
)

// directoryFake: cust-1 is contoso.onmicrosoft.com; "down" gets UNAVAILABLE.
type directoryFake struct {
	identityv1.UnimplementedCustomerServiceServer
	mu    sync.Mutex
	auths []string
	lists []*identityv1.ListCustomersRequest
}

var contoso = &identityv1.Customer{CustomerId: "cust-1", OrganisationName: "Contoso GmbH", DefaultDomain: "contoso.onmicrosoft.com"}

func (f *directoryFake) GetCustomer(ctx context.Context, req *identityv1.GetCustomerRequest) (*identityv1.GetCustomerResponse, error) {
	f.mu.Lock()
	f.auths = append(f.auths, peertest.AuthOf(ctx))
	f.mu.Unlock()
	switch req.GetCustomerId() {
	case "cust-1":
		return &identityv1.GetCustomerResponse{Customer: contoso}, nil
	case "down":
		return nil, status.Error(codes.Unavailable, "down")
	}
	st, _ := errs.ToStatus(errs.NotFoundf("customer", req.GetCustomerId()))
	return nil, st.Err()
}

func (f *directoryFake) ListCustomers(ctx context.Context, req *identityv1.ListCustomersRequest) (*identityv1.ListCustomersResponse, error) {
	f.mu.Lock()
	f.auths = append(f.auths, peertest.AuthOf(ctx))
	f.lists = append(f.lists, req)
	f.mu.Unlock()
	if req.GetDefaultDomain() == contoso.GetDefaultDomain() {
		return &identityv1.ListCustomersResponse{Customers: []*identityv1.Customer{contoso}}, nil
	}
	return &identityv1.ListCustomersResponse{}, nil
}

// OR-6: a support request names its customer by ID or default domain; the lookups use the
// service's own token (the use case, not identity's visibility, decides what the caller learns).
func TestDirectory_OR6(t *testing.T) {
	f := &directoryFake{}
	conn := peertest.Dial(t, func(gs *grpc.Server) { identityv1.RegisterCustomerServiceServer(gs, f) }, peertest.WithTokens())
	d := identity.NewDirectory(conn)
	want := support.Customer{ID: "cust-1", DefaultDomain: "contoso.onmicrosoft.com"}
	if got, err := d.CustomerByID(peertest.AgentCtx(), "cust-1"); err != nil || got != want {
		t.Errorf("CustomerByID = %+v, %v", got, err)
	}
	if got, err := d.CustomerByDomain(peertest.AgentCtx(), "contoso.onmicrosoft.com"); err != nil || got != want {
		t.Errorf("CustomerByDomain = %+v, %v", got, err)
	}
	if _, err := d.CustomerByID(context.Background(), "cust-9"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown ID: %v; want NOT_FOUND", err)
	}
	if _, err := d.CustomerByDomain(context.Background(), "nobody.onmicrosoft.com"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown domain: %v; want NOT_FOUND", err)
	}
	if _, err := d.CustomerByID(context.Background(), "down"); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("identity down: %v; want UNAVAILABLE", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.auths {
		if a != "Bearer own" {
			t.Errorf("authorization %q; want the service's own token", a)
		}
	}
	if f.lists[0].GetPageSize() != 1 {
		t.Errorf("ListCustomers %v", f.lists[0])
	}
}

// BI-1..BI-3: the invoice preview names its customers by their organisation names; a customer
// identity does not know is left out, and identity being down fails the lookup.
func TestDirectory_CustomerNames(t *testing.T) {
	f := &directoryFake{}
	conn := peertest.Dial(t, func(gs *grpc.Server) { identityv1.RegisterCustomerServiceServer(gs, f) }, peertest.WithTokens())
	d := identity.NewDirectory(conn)
	names, err := d.CustomerNames(peertest.AgentCtx(), []string{"cust-1", "cust-9", "cust-1"})
	if err != nil || len(names) != 1 || names["cust-1"] != "Contoso GmbH" {
		t.Errorf("CustomerNames = %v, %v; want cust-1 named Contoso GmbH only", names, err)
	}
	if _, err := d.CustomerNames(peertest.AgentCtx(), []string{"down"}); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("identity down: %v; want UNAVAILABLE", err)
	}
}
