package app

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Defaults for options a deployment leaves unset (the composition root always sets them; tests
// and tools that build an App with zero Options still get working tenants and invitations).
const (
	defaultDomainSuffix      = ".onmicrosoft.com"
	defaultInvitationBaseURL = "https://partnerhub.example/invitations/"
)

// tenantViewer is what a caller may see of customers, relationships and invitations (ID-8),
// from its effective principal: a service token with on_behalf_of acts exactly as that
// principal; a service on its own account sees everything.
type tenantViewer struct {
	principal  auth.Principal // as authenticated, for role checks
	all        bool           // a service acting on its own account
	partnerID  string         // the effective principal's partner, if a partner user
	customerID string         // the effective principal's tenant, if a customer user
	userID     string         // the effective subject, recorded as creator/remover/mover
}

// tenantViewerOf returns the viewer of the call, or UNAUTHENTICATED without a principal.
func tenantViewerOf(ctx context.Context) (tenantViewer, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return tenantViewer{}, err
	}
	eff := p.Effective()
	v := tenantViewer{principal: p, userID: eff.Subject}
	switch {
	case p.IsService() && p.OnBehalfOf == nil:
		v.all = true
	case eff.OrgKind == auth.OrgPartner:
		v.partnerID = eff.OrgID
	case eff.OrgKind == auth.OrgCustomer:
		v.customerID = eff.OrgID
	}
	return v, nil
}

// key identifies the viewer in page-token fingerprints, so a token is useless to anyone else.
func (v tenantViewer) key() string {
	if v.all {
		return "*"
	}
	return v.partnerID + "|" + v.customerID
}

// require applies an RPC's role list at the use case too (the server's gate does it first), so
// the use cases are safe whoever calls them.
func (v tenantViewer) require(roles ...auth.Role) error { return v.principal.RequireRole(roles...) }

// tenantPartnerRoles are every role a partner user may hold.
func tenantPartnerRoles() []auth.Role { return domain.RolesFor(auth.OrgPartner) }

func (a *App) tenantDomainSuffix() string {
	if a.opts.DomainSuffix == "" {
		return defaultDomainSuffix
	}
	return a.opts.DomainSuffix
}

// checkID adds a violation unless id is given and a UUID: every partnerhub resource ID is one,
// so a malformed ID is INVALID_ARGUMENT, never a lookup.
func checkID(v *errs.Violations, field, id string) {
	if id == "" {
		v.Add(field, "required")
	} else {
		checkUUID(v, field, id)
	}
}

// checkUUID adds a violation when a given id is not a UUID.
func checkUUID(v *errs.Violations, field, id string) {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		v.Add(field, "must be a UUID")
	}
}

// tenantNotFound turns a repository's bare ErrNotFound into the caller's RESOURCE_NOT_FOUND
// naming resource and id; other errors, and not-founds that already name theirs, pass unchanged.
func tenantNotFound(err error, resource, id string) error {
	if e, ok := errs.As(err); ok && e.Kind == errs.NotFound && e.Metadata["resource"] == "" {
		return errs.NotFoundf(resource, id)
	}
	return err
}

// CreatedCustomer is the result of CreateCustomer. Secret is the admin credential's client
// secret: shown once, never stored in clear or logged.
type CreatedCustomer struct {
	Customer     domain.Customer
	Admin        domain.User
	Credential   domain.Credential
	Secret       string
	Relationship *domain.Relationship // nil when no partner created the tenant
}

// CreateCustomer creates a customer tenant with its first admin user (CUSTOMER_GLOBAL_ADMIN) and
// an API credential for that admin (ID-2). A partner's user (or a service on behalf of one)
// creates a partner-managed tenant (ID-6) together with the partner's ACTIVE relationship,
// origin CUSTOMER_CREATED (ID-4); a service on its own account (a customer redeeming an Open key
// by itself, KD-2) creates a self-managed tenant and no relationship.
func (a *App) CreateCustomer(ctx context.Context, d domain.CustomerDraft) (CreatedCustomer, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return CreatedCustomer{}, err
	}
	if err := v.require(auth.AdminAgent, auth.SalesAgent, auth.Service); err != nil {
		return CreatedCustomer{}, err
	}
	if !v.all && v.partnerID == "" { // only partners and services create tenants
		return CreatedCustomer{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"only a partner's Admin or Sales agent, or a service, creates customers")
	}
	suffix := a.tenantDomainSuffix()
	d, err = d.Validate(suffix)
	if err != nil {
		return CreatedCustomer{}, err
	}
	if _, ok := a.opts.Markets.Lookup(d.CountryCode); !ok {
		return CreatedCustomer{}, domain.CustomerCountryNotSupported(d.CountryCode) // ID-3
	}
	var partner *domain.Partner
	if v.partnerID != "" {
		p, err := a.repo.Partner(ctx, v.partnerID)
		if err != nil {
			return CreatedCustomer{}, tenantNotFound(err, "partner", v.partnerID)
		}
		if !p.Enrolled(domain.CustomerCreatePrograms()...) {
			return CreatedCustomer{}, domain.NotEnrolledIn(p.ID, domain.CustomerCreatePrograms()...) // ID-1
		}
		partner = &p
	}

	now := a.stamp()
	out := CreatedCustomer{}
	out.Customer, out.Admin = domain.NewCustomerTenant(d, suffix, v.partnerID, now)
	out.Credential, out.Secret = domain.NewCredential(out.Admin, "initial admin", now.Add(domain.DefaultCredentialLifetime), now)
	if partner != nil {
		rel := domain.NewRelationship(*partner, out.Customer, domain.OriginCustomerCreated, "", now)
		out.Relationship = &rel
	}
	if err := a.repo.CreateCustomer(ctx, out.Customer, out.Admin, out.Credential, out.Relationship); err != nil {
		return CreatedCustomer{}, err
	}
	return out, nil
}

// visibleCustomer returns the customer if the viewer may see it (ID-8): a partner only while it
// has an ACTIVE relationship with it, a customer only itself, a service on its own account
// every customer. Anything else is RESOURCE_NOT_FOUND, exactly like a customer that does not
// exist.
func (a *App) visibleCustomer(ctx context.Context, v tenantViewer, id string) (domain.Customer, error) {
	switch {
	case v.all:
	case v.customerID != "":
		if v.customerID != id {
			return domain.Customer{}, errs.NotFoundf("customer", id)
		}
	case v.partnerID != "":
		rel, err := a.repo.LatestRelationship(ctx, v.partnerID, id)
		if errs.KindOf(err) == errs.NotFound || err == nil && rel.State != domain.RelationshipActive {
			return domain.Customer{}, errs.NotFoundf("customer", id)
		}
		if err != nil {
			return domain.Customer{}, err
		}
	default:
		return domain.Customer{}, errs.NotFoundf("customer", id)
	}
	c, err := a.repo.Customer(ctx, id)
	return c, tenantNotFound(err, "customer", id)
}

// GetCustomer returns one customer visible to the caller (ID-8).
func (a *App) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.Customer{}, err
	}
	var bad errs.Violations
	checkID(&bad, "customer_id", id)
	if err := bad.Err(); err != nil {
		return domain.Customer{}, err
	}
	return a.visibleCustomer(ctx, v, id)
}

// ListCustomersInput is the query of ListCustomers.
type ListCustomersInput struct {
	PageSize      int32
	PageToken     string
	CountryCode   string
	DefaultDomain string
	NameContains  string
	PartnerID     string // a service on its own account: that partner's customers; others: "" or their own
}

// ListCustomers lists the customers visible to the caller (ID-8), ordered by organisation name,
// then customer ID.
func (a *App) ListCustomers(ctx context.Context, in ListCustomersInput) ([]domain.Customer, string, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return nil, "", err
	}
	var bad errs.Violations
	if in.PageSize < 0 {
		bad.Add("page_size", "must not be negative")
	}
	if in.CountryCode != "" && !domain.ValidCountryCode(in.CountryCode) {
		bad.Add("country_code", "must be ISO 3166-1 alpha-2, two upper-case letters")
	}
	in.DefaultDomain = strings.ToLower(strings.TrimSpace(in.DefaultDomain))
	if !utf8.ValidString(in.NameContains) || utf8.RuneCountInString(in.NameContains) > domain.MaxOrganisationNameLen {
		bad.Add("name_contains", "at most %d characters of valid UTF-8", domain.MaxOrganisationNameLen)
	}
	if in.PartnerID != "" {
		checkID(&bad, "partner_id", in.PartnerID)
		if !v.all && in.PartnerID != v.partnerID {
			bad.Add("partner_id", "only a service on its own account may name a partner; leave it empty or set your own partner ID")
		}
	}
	if err := bad.Err(); err != nil {
		return nil, "", err
	}
	f := CustomerFilter{CountryCode: in.CountryCode, DefaultDomain: in.DefaultDomain,
		NameContains: domain.FoldOrganisationName(in.NameContains)}
	switch {
	case v.all:
		f.PartnerID = in.PartnerID
	case v.partnerID != "":
		f.PartnerID = v.partnerID
	case v.customerID != "":
		f.CustomerID = v.customerID
	default:
		return nil, "", nil // an organisation of no kind sees nothing
	}
	size, _ := paging.Size(in.PageSize)
	query := paging.Fingerprint("customers", v.key(), f.PartnerID, f.CustomerID, f.CountryCode, f.DefaultDomain, f.NameContains)
	after, err := paging.Decode(in.PageToken, query, 2)
	if err != nil {
		return nil, "", err
	}
	if after != nil {
		f.AfterName, f.AfterID = after[0], after[1]
	}
	rows, err := a.repo.ListCustomers(ctx, f, size+1)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(c domain.Customer) []string {
		return []string{c.OrganisationName, c.ID}
	})
	return page, next, nil
}

// UpdateCustomerInput is a change of UpdateCustomer; nil fields stay unchanged.
type UpdateCustomerInput struct {
	ID               string
	Etag             string // "" skips the check
	OrganisationName *string
	Contact          *domain.Contact
}

// UpdateCustomer changes a customer's organisation name and/or primary contact. Country and
// default domain never change (ID-2, ID-3). Partner Admin and Sales agents may change the
// customers they have an ACTIVE relationship with, the tenant's Global admin its own tenant
// (ID-8).
func (a *App) UpdateCustomer(ctx context.Context, in UpdateCustomerInput) (domain.Customer, error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return domain.Customer{}, err
	}
	var bad errs.Violations
	checkID(&bad, "customer_id", in.ID)
	name, contact := domain.CheckCustomerUpdate(in.OrganisationName, in.Contact, &bad)
	if err := bad.Err(); err != nil {
		return domain.Customer{}, err
	}
	if err := v.require(auth.AdminAgent, auth.SalesAgent, auth.CustomerGlobalAdmin, auth.Service); err != nil {
		return domain.Customer{}, err
	}
	if _, err := a.visibleCustomer(ctx, v, in.ID); err != nil {
		return domain.Customer{}, err
	}
	now := a.stamp()
	c, err := a.repo.UpdateCustomer(ctx, in.ID, func(c *domain.Customer) (bool, error) {
		if in.Etag != "" && in.Etag != c.Etag {
			return false, staleEtag("customer", c.ID)
		}
		changed := false
		if name != nil && *name != c.OrganisationName {
			c.OrganisationName, changed = *name, true
		}
		if contact != nil && *contact != c.Contact {
			c.Contact, changed = *contact, true
		}
		if changed {
			c.Etag, c.UpdateTime = uuid.NewString(), now
		}
		return changed, nil
	})
	return c, tenantNotFound(err, "customer", in.ID)
}

// CheckDomainAvailability says whether the default domain of a prefix is free (ID-2). It is a
// hint: CreateCustomer still refuses a domain taken in between with DOMAIN_TAKEN.
func (a *App) CheckDomainAvailability(ctx context.Context, prefix string) (available bool, defaultDomain string, err error) {
	v, err := tenantViewerOf(ctx)
	if err != nil {
		return false, "", err
	}
	if err := v.require(auth.AdminAgent, auth.SalesAgent, auth.Service); err != nil {
		return false, "", err
	}
	if !domain.ValidDomainPrefix(prefix) {
		return false, "", errs.Invalid("domain_prefix", "must be %d..%d characters a-z and 0-9, starting with a letter",
			domain.MinDomainPrefixLen, domain.MaxDomainPrefixLen)
	}
	defaultDomain = domain.DefaultDomain(prefix, a.tenantDomainSuffix())
	taken, err := a.repo.DefaultDomainInUse(ctx, defaultDomain)
	if err != nil {
		return false, "", err
	}
	return !taken, defaultDomain, nil
}
