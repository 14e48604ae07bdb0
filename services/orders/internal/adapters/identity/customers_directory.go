package identity

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
)

// directoryTimeout bounds one CustomerService call, so a hung identity fails the support request
// with DEADLINE_EXCEEDED instead of holding it.
const directoryTimeout = 5 * time.Second

// Directory implements support.Customers over identity's CustomerService (GetCustomer, and
// ListCustomers filtered by default_domain). The calls carry the service's own token, whoever the
// request serves: the support use case decides what the caller may learn (delegated admin, DA-4;
// own tenant, ID-8), and a partner's Helpdesk agent, or a partner with delegated admin but no
// reseller relationship, could not read the customer itself (CustomerService's visibility).
type Directory struct {
	client identityv1.CustomerServiceClient
}

// NewDirectory returns the port over a connection to identity (svc.Runtime.DialPeer).
func NewDirectory(conn grpc.ClientConnInterface) *Directory {
	return &Directory{client: identityv1.NewCustomerServiceClient(conn)}
}

var (
	_ support.Customers     = (*Directory)(nil)
	_ billing.CustomerNames = (*Directory)(nil)
)

// ownAccount makes svc's token credentials use the service's own-account token (svc.OnBehalfOf
// passes no one on for a service).
func ownAccount(ctx context.Context) context.Context {
	return svc.OnBehalfOf(ctx, auth.Principal{OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}})
}

// CustomerByID implements support.Customers with GetCustomer; identity's RESOURCE_NOT_FOUND
// comes back as errs.NotFound.
func (d *Directory) CustomerByID(ctx context.Context, customerID string) (support.Customer, error) {
	ctx, cancel := context.WithTimeout(ownAccount(ctx), directoryTimeout)
	defer cancel()
	resp, err := d.client.GetCustomer(ctx, &identityv1.GetCustomerRequest{CustomerId: customerID})
	if err != nil {
		return support.Customer{}, fmt.Errorf("identity GetCustomer %s: %w", customerID, errs.FromError(err))
	}
	c := resp.GetCustomer()
	return support.Customer{ID: c.GetCustomerId(), DefaultDomain: c.GetDefaultDomain()}, nil
}

// CustomerByDomain implements support.Customers with ListCustomers filtered by the exact default
// domain (unique across partnerhub, ID-2): no row is errs.NotFound.
func (d *Directory) CustomerByDomain(ctx context.Context, domain string) (support.Customer, error) {
	ctx, cancel := context.WithTimeout(ownAccount(ctx), directoryTimeout)
	defer cancel()
	resp, err := d.client.ListCustomers(ctx, &identityv1.ListCustomersRequest{DefaultDomain: domain, PageSize: 1})
	if err != nil {
		return support.Customer{}, fmt.Errorf("identity ListCustomers domain %s: %w", domain, errs.FromError(err))
	}
	if len(resp.GetCustomers()) == 0 {
		return support.Customer{}, errs.NotFoundf("customer domain", domain)
	}
	c := resp.GetCustomers()[0]
	return support.Customer{ID: c.GetCustomerId(), DefaultDomain: c.GetDefaultDomain()}, nil
}

// CustomerNames implements billing.CustomerNames with GetCustomer per customer (an invoice
// preview page names at most a page of customers): the organisation name of each one identity
// knows; a customer it does not know is left out.
func (d *Directory) CustomerNames(ctx context.Context, customerIDs []string) (map[string]string, error) {
	names := make(map[string]string, len(customerIDs))
	for _, id := range customerIDs {
		if _, ok := names[id]; ok {
			continue
		}
		cctx, cancel := context.WithTimeout(ownAccount(ctx), directoryTimeout)
		resp, err := d.client.GetCustomer(cctx, &identityv1.GetCustomerRequest{CustomerId: id})
		cancel()
		switch {
		case errs.KindOf(errs.FromError(err)) == errs.NotFound:
			continue
		case err != nil:
			return nil, fmt.Errorf("identity GetCustomer %s: %w", id, errs.FromError(err))
		}
		names[id] = resp.GetCustomer().GetOrganisationName()
	}
	return names, nil
}
