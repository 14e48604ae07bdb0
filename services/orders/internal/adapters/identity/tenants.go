package identity

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// tenantCallTimeout bounds one call to identity, so a hung identity fails a redemption step with
// DEADLINE_EXCEEDED (retryable) instead of holding it.
const tenantCallTimeout = 5 * time.Second

// Tenants implements redeem.Tenants over identity's CustomerService and PartnerService: the
// checks of a key redemption's review (ID-1 Open program, ID-3 served country, ID-2 free domain,
// the tenant's country) and the create-tenant step (KD-2, ID-2). Every call carries a service
// token on behalf of the redemption's caller (svc.OnBehalfOfCaller), so identity applies that
// caller's visibility (ID-8) and, for a partner, creates the reseller relationship with the new
// tenant (ID-4). Errors are identity's own (pkg/errs.FromError).
type Tenants struct {
	customers identityv1.CustomerServiceClient
	partners  identityv1.PartnerServiceClient
}

// NewTenants returns the port over a connection to identity (svc.Runtime.DialPeer).
func NewTenants(conn grpc.ClientConnInterface) *Tenants {
	return &Tenants{customers: identityv1.NewCustomerServiceClient(conn), partners: identityv1.NewPartnerServiceClient(conn)}
}

var _ redeem.Tenants = (*Tenants)(nil)

func tenantCall(ctx context.Context, rpc, what string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), tenantCallTimeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		return fmt.Errorf("identity %s %s: %w", rpc, what, errs.FromError(err))
	}
	return nil
}

// CountrySupported implements redeem.Tenants with ListMarkets (ID-3), page by page.
func (t *Tenants) CountrySupported(ctx context.Context, country string) (bool, error) {
	token := ""
	for range 100 { // markets are a few dozen; the bound only stops a broken pager
		var resp *identityv1.ListMarketsResponse
		err := tenantCall(ctx, "ListMarkets", country, func(ctx context.Context) (err error) {
			resp, err = t.customers.ListMarkets(ctx, &identityv1.ListMarketsRequest{PageSize: 500, PageToken: token})
			return err
		})
		if err != nil {
			return false, err
		}
		for _, m := range resp.GetMarkets() {
			if m.GetCountryCode() == country {
				return true, nil
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return false, nil
		}
	}
	return false, errs.Unexpected(fmt.Errorf("identity ListMarkets: more than 100 pages"))
}

// DomainAvailable implements redeem.Tenants with CheckDomainAvailability (ID-2; a hint: the
// create step may still get DOMAIN_TAKEN).
func (t *Tenants) DomainAvailable(ctx context.Context, prefix string) (bool, error) {
	var resp *identityv1.CheckDomainAvailabilityResponse
	err := tenantCall(ctx, "CheckDomainAvailability", prefix, func(ctx context.Context) (err error) {
		resp, err = t.customers.CheckDomainAvailability(ctx, &identityv1.CheckDomainAvailabilityRequest{DomainPrefix: prefix})
		return err
	})
	return resp.GetAvailable(), err
}

// InOpenProgram implements redeem.Tenants with GetPartner: whether the partner's enrolments
// include the Open program (ID-1).
func (t *Tenants) InOpenProgram(ctx context.Context, partnerID string) (bool, error) {
	var resp *identityv1.GetPartnerResponse
	err := tenantCall(ctx, "GetPartner", partnerID, func(ctx context.Context) (err error) {
		resp, err = t.partners.GetPartner(ctx, &identityv1.GetPartnerRequest{PartnerId: partnerID})
		return err
	})
	if err != nil {
		return false, err
	}
	for _, e := range resp.GetPartner().GetEnrolments() {
		if e.GetProgram() == identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN {
			return true, nil
		}
	}
	return false, nil
}

// CustomerCountry implements redeem.Tenants with GetCustomer (visible to the caller, ID-8).
func (t *Tenants) CustomerCountry(ctx context.Context, customerID string) (string, error) {
	var resp *identityv1.GetCustomerResponse
	err := tenantCall(ctx, "GetCustomer", customerID, func(ctx context.Context) (err error) {
		resp, err = t.customers.GetCustomer(ctx, &identityv1.GetCustomerRequest{CustomerId: customerID})
		return err
	})
	return resp.GetCustomer().GetCountryCode(), err
}

// CreateTenant implements redeem.Tenants with CreateCustomer: organisation, country, the default
// domain's prefix and the first admin (CUSTOMER_GLOBAL_ADMIN, ID-2; display name from given and
// family name, e-mail the contact address). The admin's API credential secret in the answer is
// not kept: the redemption has nowhere to show it, and the admin is invited at contact_email.
func (t *Tenants) CreateTenant(ctx context.Context, requestID string, nt domain.NewTenant) (redeem.CreatedTenant, error) {
	req := &identityv1.CreateCustomerRequest{RequestId: requestID, OrganisationName: nt.OrganisationName,
		CountryCode: nt.CountryCode, DomainPrefix: nt.DomainPrefix(),
		Admin: &identityv1.InitialAdmin{UserName: nt.Admin.UserName, DisplayName: nt.Admin.DisplayName(),
			Email: nt.Admin.ContactEmail}}
	var resp *identityv1.CreateCustomerResponse
	err := tenantCall(ctx, "CreateCustomer", requestID, func(ctx context.Context) (err error) {
		resp, err = t.customers.CreateCustomer(ctx, req)
		return err
	})
	if err != nil {
		return redeem.CreatedTenant{}, err
	}
	return redeem.CreatedTenant{CustomerID: resp.GetCustomer().GetCustomerId(), AdminUserID: resp.GetAdminUser().GetUserId()}, nil
}
