package grpcapi

import (
	"context"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// CustomerService: proto ⇄ app (internal/app/customers.go, markets.go).

// CreateCustomer implements identityv1.CustomerServiceServer.
func (s *Server) CreateCustomer(ctx context.Context, req *identityv1.CreateCustomerRequest) (*identityv1.CreateCustomerResponse, error) {
	out, err := s.app.CreateCustomer(ctx, domain.CustomerDraft{
		OrganisationName: req.GetOrganisationName(),
		CountryCode:      req.GetCountryCode(),
		DomainPrefix:     req.GetDomainPrefix(),
		AdminUserName:    req.GetAdmin().GetUserName(),
		AdminDisplayName: req.GetAdmin().GetDisplayName(),
		AdminEmail:       req.GetAdmin().GetEmail(),
		Contact:          contactOf(req.GetPrimaryContact()),
	})
	if err != nil {
		return nil, err
	}
	resp := &identityv1.CreateCustomerResponse{
		Customer:          customerPB(out.Customer),
		AdminUser:         userPB(out.Admin),
		AdminCredential:   credentialPB(out.Credential, out.Credential.CreateTime),
		AdminClientSecret: out.Secret,
	}
	if out.Relationship != nil {
		resp.Relationship = relationshipPB(*out.Relationship)
	}
	return resp, nil
}

// GetCustomer implements identityv1.CustomerServiceServer.
func (s *Server) GetCustomer(ctx context.Context, req *identityv1.GetCustomerRequest) (*identityv1.GetCustomerResponse, error) {
	c, err := s.app.GetCustomer(ctx, req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	return &identityv1.GetCustomerResponse{Customer: customerPB(c)}, nil
}

// ListCustomers implements identityv1.CustomerServiceServer.
func (s *Server) ListCustomers(ctx context.Context, req *identityv1.ListCustomersRequest) (*identityv1.ListCustomersResponse, error) {
	page, next, err := s.app.ListCustomers(ctx, app.ListCustomersInput{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), CountryCode: req.GetCountryCode(),
		DefaultDomain: req.GetDefaultDomain(), NameContains: req.GetNameContains(), PartnerID: req.GetPartnerId(),
	})
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListCustomersResponse{NextPageToken: next}
	for _, c := range page {
		resp.Customers = append(resp.Customers, customerPB(c))
	}
	return resp, nil
}

// UpdateCustomer implements identityv1.CustomerServiceServer.
func (s *Server) UpdateCustomer(ctx context.Context, req *identityv1.UpdateCustomerRequest) (*identityv1.UpdateCustomerResponse, error) {
	c, err := s.app.UpdateCustomer(ctx, app.UpdateCustomerInput{
		ID: req.GetCustomerId(), Etag: req.GetEtag(), OrganisationName: req.OrganisationName,
		Contact: contactOf(req.GetPrimaryContact()),
	})
	if err != nil {
		return nil, err
	}
	return &identityv1.UpdateCustomerResponse{Customer: customerPB(c)}, nil
}

// CheckDomainAvailability implements identityv1.CustomerServiceServer.
func (s *Server) CheckDomainAvailability(ctx context.Context, req *identityv1.CheckDomainAvailabilityRequest) (*identityv1.CheckDomainAvailabilityResponse, error) {
	available, dom, err := s.app.CheckDomainAvailability(ctx, req.GetDomainPrefix())
	if err != nil {
		return nil, err
	}
	return &identityv1.CheckDomainAvailabilityResponse{Available: available, DefaultDomain: dom}, nil
}

// ListMarkets implements identityv1.CustomerServiceServer.
func (s *Server) ListMarkets(ctx context.Context, req *identityv1.ListMarketsRequest) (*identityv1.ListMarketsResponse, error) {
	page, next, err := s.app.ListMarkets(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListMarketsResponse{NextPageToken: next}
	for _, m := range page {
		resp.Markets = append(resp.Markets, &identityv1.Market{
			CountryCode: m.CountryCode, DisplayName: m.DisplayName, CurrencyCode: m.CurrencyCode})
	}
	return resp, nil
}

// contactOf maps an unset contact to nil ("no contact" / "unchanged").
func contactOf(c *identityv1.Contact) *domain.Contact {
	if c == nil {
		return nil
	}
	return &domain.Contact{Name: c.GetName(), Email: c.GetEmail(), Phone: c.GetPhone()}
}

func customerPB(c domain.Customer) *identityv1.Customer {
	out := &identityv1.Customer{
		CustomerId: c.ID, OrganisationName: c.OrganisationName, CountryCode: c.CountryCode,
		DefaultDomain: c.DefaultDomain, AdminUserId: c.AdminUserID, CreatedByPartnerId: c.CreatedByPartnerID,
		PartnerManaged: c.PartnerManaged, Etag: c.Etag, CreateTime: pbtime.From(c.CreateTime), UpdateTime: pbtime.From(c.UpdateTime),
	}
	if !c.Contact.IsZero() {
		out.PrimaryContact = &identityv1.Contact{Name: c.Contact.Name, Email: c.Contact.Email, Phone: c.Contact.Phone}
	}
	return out
}
