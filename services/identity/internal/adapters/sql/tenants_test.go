package sql_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	idsql "github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
	"github.com/partnerhub/partnerhub/services/identity/migrations"
)

// The customer and reseller-relationship use cases (CustomerService, RelationshipService) over
// real SQL on both engines, with principals as the server's interceptor would set them.

// tnWorld is identity over a fresh database, on a fake clock.
type tnWorld struct {
	a     *app.App
	repo  *idsql.Repo
	clock *clock.Fake
}

// tnT0 is when every test world starts.
func tnT0() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC) }

// tnTTL is the invitation TTL of the test worlds (the default, 30 days).
const tnTTL = 30 * 24 * time.Hour

func tnOpen(t *testing.T, dsn string, markets string) *tnWorld {
	t.Helper()
	db := testkit.OpenDB(t, dsn, migrations.FS, "identity_schema")
	m, err := domain.ParseMarkets(markets)
	if err != nil {
		t.Fatal(err)
	}
	w := &tnWorld{repo: idsql.New(db), clock: clock.NewFake(tnT0())}
	w.a = app.New(w.repo, w.clock, app.Options{Markets: m, DomainSuffix: ".onmicrosoft.com",
		InvitationBaseURL: "https://partnerhub.example/invitations/", InvitationTTL: tnTTL})
	return w
}

// partner stores a partner with an admin user, enrolled in programs (CSP_DIRECT if none).
func (w *tnWorld) partner(t *testing.T, name, country string, programs ...domain.Program) domain.Partner {
	t.Helper()
	if len(programs) == 0 {
		programs = []domain.Program{domain.ProgramCSPDirect}
	}
	now := w.clock.Now()
	p := domain.Partner{ID: uuid.NewString(), LegalName: name, CountryCode: country, Etag: uuid.NewString(), CreateTime: now, UpdateTime: now}
	for _, prog := range programs {
		p.Enrolments = append(p.Enrolments, domain.Enrolment{Program: prog, Time: now})
	}
	u := domain.User{ID: uuid.NewString(), OrgID: p.ID, OrgKind: auth.OrgPartner, UserName: "admin-" + uuid.NewString()[:8] + "@partner.example",
		DisplayName: "Admin", Email: "admin@partner.example", Roles: []auth.Role{auth.GlobalAdmin}, Etag: uuid.NewString(), CreateTime: now, UpdateTime: now}
	cred, _ := domain.NewCredential(u, "test", now.Add(time.Hour), now)
	if err := w.repo.AddPartnerWithAdmin(context.Background(), p, u, cred); err != nil {
		t.Fatal(err)
	}
	return p
}

// as returns a context carrying a user of p with roles.
func tnAs(p domain.Partner, roles ...auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: uuid.NewString(), OrgID: p.ID, OrgKind: auth.OrgPartner, Roles: roles})
}

// tnCustomerAs returns a context carrying a user of the tenant with roles.
func tnCustomerAs(c domain.Customer, userID string, roles ...auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: userID, OrgID: c.ID, OrgKind: auth.OrgCustomer, Roles: roles})
}

// tnService is a service on its own account; with obo set, on behalf of that principal.
func tnService(obo *auth.Principal) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "svc_orders", OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}, OnBehalfOf: obo})
}

func tnDraft(name, prefix string) domain.CustomerDraft {
	return domain.CustomerDraft{OrganisationName: name, CountryCode: "DE", DomainPrefix: prefix,
		AdminDisplayName: name + " admin", AdminEmail: "it@" + prefix + ".example"}
}

// customer creates a tenant as an Admin agent of p; it returns the tenant and a context of its
// Global admin.
func (w *tnWorld) customer(t *testing.T, p domain.Partner, name, country string) (domain.Customer, context.Context) {
	t.Helper()
	d := tnDraft(name, "t"+strings.ReplaceAll(uuid.NewString()[:12], "-", ""))
	d.CountryCode = country
	out, err := w.a.CreateCustomer(tnAs(p, auth.AdminAgent), d)
	if err != nil {
		t.Fatalf("CreateCustomer %s: %v", name, err)
	}
	return out.Customer, tnCustomerAs(out.Customer, out.Admin.ID, auth.CustomerGlobalAdmin)
}

// invite has p invite and the customer's Global admin accept: an ACTIVE relationship (ID-4).
func (w *tnWorld) invite(t *testing.T, p domain.Partner, customerAdmin context.Context) domain.Relationship {
	t.Helper()
	inv, err := w.a.CreateRelationshipInvitation(tnAs(p, auth.SalesAgent), "")
	if err != nil {
		t.Fatalf("CreateRelationshipInvitation: %v", err)
	}
	rel, _, err := w.a.AcceptRelationshipInvitation(customerAdmin, inv.Code)
	if err != nil {
		t.Fatalf("AcceptRelationshipInvitation: %v", err)
	}
	return rel
}

func tnWant(t *testing.T, err error, kind errs.Kind, reason errs.Reason) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("err = %v; want %v / %s", err, kind, reason)
	}
	return e
}

// tnWantFields checks an INVALID_ARGUMENT error lists exactly the fields.
func tnWantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	e := tnWant(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
	var got []string
	for _, v := range e.Violations {
		if !slices.Contains(got, v.Field) {
			got = append(got, v.Field)
		}
	}
	slices.Sort(got)
	slices.Sort(fields)
	if !slices.Equal(got, fields) {
		t.Fatalf("violations on %v, want %v (%v)", got, fields, err)
	}
}

func tnCustomerIDs(cs []domain.Customer) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// allCustomers lists every customer as a service on its own account (what exists, whoever sees it).
func (w *tnWorld) allCustomers(t *testing.T) []domain.Customer {
	t.Helper()
	cs, _, err := w.a.ListCustomers(tnService(nil), app.ListCustomersInput{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// ID-2, ID-4, ID-6: a partner's Admin agent creates a tenant with its Global admin, a one-time
// secret that signs in, and the partner's ACTIVE relationship; the tenant is partner-managed.
func TestCreateCustomer_ID2_PartnerCreatesTenantAdminCredentialRelationship(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		p := w.partner(t, "Contoso Partner GmbH", "DE")
		d := tnDraft("Fabrikam AG", "fabrikam")
		d.Contact = &domain.Contact{Name: "Fiona", Email: "fiona@fabrikam.example", Phone: "+4930123456"}
		out, err := w.a.CreateCustomer(tnAs(p, auth.SalesAgent), d)
		if err != nil {
			t.Fatal(err)
		}
		c := out.Customer
		if c.DefaultDomain != "fabrikam.onmicrosoft.com" || c.CountryCode != "DE" || c.CreatedByPartnerID != p.ID ||
			!c.PartnerManaged || c.AdminUserID != out.Admin.ID || c.Contact.Phone != "+4930123456" || !c.CreateTime.Equal(tnT0()) {
			t.Errorf("customer %+v", c)
		}
		if u := out.Admin; u.UserName != "admin@fabrikam.onmicrosoft.com" || u.OrgID != c.ID || u.OrgKind != auth.OrgCustomer ||
			!slices.Equal(u.Roles, []auth.Role{auth.CustomerGlobalAdmin}) {
			t.Errorf("admin %+v", u)
		}
		if cr := out.Credential; cr.UserID != out.Admin.ID || cr.OrgID != c.ID || !cr.ExpireTime.Equal(tnT0().Add(365*24*time.Hour)) || out.Secret == "" {
			t.Errorf("credential %+v", cr)
		}
		if r := out.Relationship; r == nil || r.State != domain.RelationshipActive || r.Origin != domain.OriginCustomerCreated ||
			r.PartnerID != p.ID || r.CustomerID != c.ID || r.PartnerLegalName != "Contoso Partner GmbH" || r.CustomerOrganisationName != "Fabrikam AG" {
			t.Fatalf("relationship %+v", r)
		}

		// What was stored reads back equal.
		got, err := w.a.GetCustomer(tnAs(p, auth.BillingAgent), c.ID)
		if err != nil || got != c {
			t.Errorf("GetCustomer = %+v, %v; want %+v", got, err, c)
		}
		rels, _, err := w.a.ListRelationships(tnAs(p, auth.BillingAgent), app.ListRelationshipsInput{})
		if err != nil || len(rels) != 1 || rels[0] != *out.Relationship {
			t.Errorf("ListRelationships = %+v, %v", rels, err)
		}
		// The secret signs the admin in, as a user of the tenant.
		if err := w.a.EnsureSigningKey(context.Background()); err != nil {
			t.Fatal(err)
		}
		tok, err := w.a.IssueToken(context.Background(), out.Credential.ClientID, out.Secret, 0)
		if err != nil || tok.Principal.OrgID != c.ID || tok.Principal.OrgKind != auth.OrgCustomer || !tok.Principal.HasRole(auth.CustomerGlobalAdmin) {
			t.Errorf("IssueToken with the admin secret: %+v, %v", tok.Principal, err)
		}
	})
}

// KD-2: a service on its own account (a customer redeeming a key by itself) creates a tenant
// that no partner manages and no relationship; on behalf of a partner user it acts as that user.
func TestCreateCustomer_KD2_ServiceTokens(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		out, err := w.a.CreateCustomer(tnService(nil), tnDraft("Self Service Ltd", "selfservice"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Relationship != nil || out.Customer.PartnerManaged || out.Customer.CreatedByPartnerID != "" {
			t.Errorf("self-created tenant %+v, relationship %+v", out.Customer, out.Relationship)
		}
		rels, _, err := w.a.ListRelationships(tnService(nil), app.ListRelationshipsInput{CustomerID: out.Customer.ID,
			States: []domain.RelationshipState{domain.RelationshipActive, domain.RelationshipRemoved, domain.RelationshipMoved}})
		if err != nil || len(rels) != 0 {
			t.Errorf("relationships of a self-created tenant: %v, %v", rels, err)
		}

		p := w.partner(t, "Reseller", "DE", domain.ProgramOpen) // Open partners create tenants by key redemption
		agent := auth.Principal{Subject: uuid.NewString(), OrgID: p.ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
		out, err = w.a.CreateCustomer(tnService(&agent), tnDraft("Redeemed GmbH", "redeemed"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Relationship == nil || out.Relationship.PartnerID != p.ID || !out.Customer.PartnerManaged {
			t.Errorf("on behalf of a partner: %+v %+v", out.Customer, out.Relationship)
		}
		billing := auth.Principal{Subject: uuid.NewString(), OrgID: p.ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.BillingAgent}}
		_, err = w.a.CreateCustomer(tnService(&billing), tnDraft("Nope", "nope"))
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	})
}

// ID-3: a well-formed country outside the markets is COUNTRY_NOT_SUPPORTED; a malformed one is
// bad input. Nothing is stored either way.
func TestCreateCustomer_ID3_CountryNotSupported(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "DE,AT")
		p := w.partner(t, "P", "DE")
		d := tnDraft("Le Client SA", "leclient")
		d.CountryCode = "FR"
		e := tnWant(t, func() error { _, err := w.a.CreateCustomer(tnAs(p, auth.AdminAgent), d); return err }(),
			errs.FailedPrecondition, "COUNTRY_NOT_SUPPORTED")
		if e.Metadata["country_code"] != "FR" {
			t.Errorf("metadata %v", e.Metadata)
		}
		d.CountryCode = "fr"
		_, err := w.a.CreateCustomer(tnAs(p, auth.AdminAgent), d)
		tnWantFields(t, err, "country_code")
		if cs := w.allCustomers(t); len(cs) != 0 {
			t.Errorf("refused creations stored %v", cs)
		}
		if ok, _, err := w.a.CheckDomainAvailability(tnAs(p, auth.AdminAgent), "leclient"); err != nil || !ok {
			t.Errorf("domain taken by a refused creation: %v %v", ok, err)
		}
	})
}

// Bad input: every malformed field is listed, and nothing is stored.
func TestCreateCustomer_InvalidInput_FieldViolationsNothingStored(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		p := w.partner(t, "P", "DE")
		ctx := tnAs(p, auth.AdminAgent)
		_, err := w.a.CreateCustomer(ctx, domain.CustomerDraft{OrganisationName: "  ", CountryCode: "Germany", DomainPrefix: "-x",
			AdminEmail: "x", Contact: &domain.Contact{Name: "C", Email: "c@c.example", Phone: "030 123"}})
		tnWantFields(t, err, "organisation_name", "country_code", "domain_prefix", "admin.display_name", "admin.email", "primary_contact.phone")

		d := tnDraft("Fabrikam", "fabrikam")
		d.AdminUserName = "admin@contoso.onmicrosoft.com"
		_, err = w.a.CreateCustomer(ctx, d)
		tnWantFields(t, err, "admin.user_name")
		d.AdminUserName = "bad name@fabrikam.onmicrosoft.com"
		_, err = w.a.CreateCustomer(ctx, d)
		tnWantFields(t, err, "admin.user_name")
		d.AdminUserName, d.Contact = "", &domain.Contact{Name: "No Mail"}
		_, err = w.a.CreateCustomer(ctx, d)
		tnWantFields(t, err, "primary_contact.email")
		if cs := w.allCustomers(t); len(cs) != 0 {
			t.Errorf("bad input stored %v", cs)
		}
	})
}

// ID-2: the default domain and the admin's user name are unique; a conflict stores nothing.
func TestCreateCustomer_ID2_DomainTakenAndUserNameTaken(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		p := w.partner(t, "P", "DE")
		ctx := tnAs(p, auth.AdminAgent)
		if _, err := w.a.CreateCustomer(ctx, tnDraft("Contoso", "contoso")); err != nil {
			t.Fatal(err)
		}
		e := tnWant(t, func() error { _, err := w.a.CreateCustomer(ctx, tnDraft("Contoso Two", "contoso")); return err }(),
			errs.AlreadyExists, "DOMAIN_TAKEN")
		if e.Metadata["default_domain"] != "contoso.onmicrosoft.com" {
			t.Errorf("metadata %v", e.Metadata)
		}

		// A partner user already signs in as admin@newco.onmicrosoft.com.
		now := w.clock.Now()
		q := domain.Partner{ID: uuid.NewString(), LegalName: "Q", CountryCode: "DE", Etag: "e", CreateTime: now, UpdateTime: now}
		u := domain.User{ID: uuid.NewString(), OrgID: q.ID, OrgKind: auth.OrgPartner, UserName: "admin@newco.onmicrosoft.com",
			DisplayName: "Q admin", Roles: []auth.Role{auth.GlobalAdmin}, Etag: "e", CreateTime: now, UpdateTime: now}
		cred, _ := domain.NewCredential(u, "", now.Add(time.Hour), now)
		if err := w.repo.AddPartnerWithAdmin(context.Background(), q, u, cred); err != nil {
			t.Fatal(err)
		}
		_, err := w.a.CreateCustomer(ctx, tnDraft("NewCo", "newco"))
		tnWant(t, err, errs.AlreadyExists, domain.ReasonUserNameTaken)
		if ok, _, _ := w.a.CheckDomainAvailability(ctx, "newco"); !ok {
			t.Error("a creation refused for its user name kept the domain")
		}
		if n := len(w.allCustomers(t)); n != 1 {
			t.Errorf("%d customers, want 1", n)
		}
	})
}

// ID-1: a partner needs a CSP or Open program to create tenants; roles are checked too.
func TestCreateCustomer_ID1_ProgramNotEnrolledAndRoles(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		none := w.partner(t, "No Programs", "DE", domain.ProgramDelegatedAdmin)
		_, err := w.a.CreateCustomer(tnAs(none, auth.AdminAgent), tnDraft("X", "xcorp"))
		tnWant(t, err, errs.FailedPrecondition, domain.ReasonProgramNotEnrolled)
		for _, prog := range []domain.Program{domain.ProgramCSPIndirectReseller, domain.ProgramOpen} {
			p := w.partner(t, string(prog), "DE", prog)
			if _, err := w.a.CreateCustomer(tnAs(p, auth.SalesAgent), tnDraft("Y", "y"+strings.ToLower(strings.ReplaceAll(string(prog), "_", "")))); err != nil {
				t.Errorf("%s partner: %v", prog, err)
			}
		}
		p := w.partner(t, "P", "DE")
		_, err = w.a.CreateCustomer(tnAs(p, auth.BillingAgent, auth.AccountAdmin), tnDraft("Z", "zcorp"))
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, admin := w.customer(t, p, "C", "DE")
		_, err = w.a.CreateCustomer(admin, tnDraft("Z", "zcorp"))
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		if _, err := w.a.CreateCustomer(context.Background(), tnDraft("Z", "zcorp")); errs.KindOf(err) != errs.Unauthenticated {
			t.Errorf("no principal: %v", err)
		}
	})
}

// ID-8: a partner sees a customer only while it has an ACTIVE relationship; a customer sees only
// itself; anything else is RESOURCE_NOT_FOUND, like a customer that does not exist.
func TestCustomerVisibility_ID8(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "DE"), w.partner(t, "B", "DE")
		ca, caAdmin := w.customer(t, a, "Customer of A", "DE")
		cb, _ := w.customer(t, b, "Customer of B", "DE")
		caUser := tnCustomerAs(ca, uuid.NewString(), auth.CustomerUser)

		for name, tc := range map[string]struct {
			ctx     context.Context
			visible []string
		}{
			"partner A":               {tnAs(a, auth.HelpdeskAgent), []string{ca.ID}},
			"partner B":               {tnAs(b, auth.AdminAgent), []string{cb.ID}},
			"customer A's admin":      {caAdmin, []string{ca.ID}},
			"customer A's plain user": {caUser, []string{ca.ID}},
			"service":                 {tnService(nil), []string{ca.ID, cb.ID}},
		} {
			list, next, err := w.a.ListCustomers(tc.ctx, app.ListCustomersInput{})
			got := tnCustomerIDs(list)
			slices.Sort(got)
			want := slices.Clone(tc.visible)
			slices.Sort(want)
			if err != nil || next != "" || !slices.Equal(got, want) {
				t.Errorf("%s lists %v (%v), want %v", name, got, err, want)
			}
			for _, c := range []domain.Customer{ca, cb} {
				_, err := w.a.GetCustomer(tc.ctx, c.ID)
				if slices.Contains(tc.visible, c.ID) != (err == nil) {
					t.Errorf("%s GetCustomer(%s): %v", name, c.OrganisationName, err)
				}
				if err != nil {
					tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
				}
			}
		}
		_, err := w.a.GetCustomer(tnAs(a, auth.AdminAgent), uuid.NewString())
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		_, err = w.a.GetCustomer(tnAs(a, auth.AdminAgent), "not-a-uuid")
		tnWantFields(t, err, "customer_id")

		// On behalf of a principal, a service sees exactly what that principal sees.
		obo := auth.Principal{Subject: "u", OrgID: b.ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}
		if _, err := w.a.GetCustomer(tnService(&obo), ca.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("service on behalf of B reads A's customer: %v", err)
		}

		// After the relationship is removed, A no longer sees its former customer.
		rels, _, _ := w.a.ListRelationships(caAdmin, app.ListRelationshipsInput{})
		if _, err := w.a.RemoveRelationship(tnAs(a, auth.AccountAdmin), rels[0].ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := w.a.GetCustomer(tnAs(a, auth.AdminAgent), ca.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("A reads its removed customer: %v", err)
		}
		if list, _, _ := w.a.ListCustomers(tnAs(a, auth.AdminAgent), app.ListCustomersInput{}); len(list) != 0 {
			t.Errorf("A lists %v after removal", tnCustomerIDs(list))
		}
	})
}

// ListCustomers: ordered by organisation name then ID, filters, and page tokens bound to the
// query and the caller.
func TestListCustomers_FiltersOrderPaging(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "DE"), w.partner(t, "B", "AT")
		names := []string{"Kunde 03", "Kunde 01", "Kunde 02", "Kunde 01", "Kunde 100% Cloud_X"}
		var created []domain.Customer
		for i, n := range names {
			country := "DE"
			if i == 2 {
				country = "AT"
			}
			c, _ := w.customer(t, a, n, country)
			created = append(created, c)
		}
		other, _ := w.customer(t, b, "Kunde 00 of B", "AT")
		ctx := tnAs(a, auth.SalesAgent)

		var got []domain.Customer
		pages := 0
		for token := ""; ; pages++ {
			page, next, err := w.a.ListCustomers(ctx, app.ListCustomersInput{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if token = next; token == "" {
				break
			}
		}
		want := slices.Clone(created)
		slices.SortFunc(want, func(x, y domain.Customer) int {
			if c := strings.Compare(x.OrganisationName, y.OrganisationName); c != 0 {
				return c
			}
			return strings.Compare(x.ID, y.ID)
		})
		if !slices.Equal(tnCustomerIDs(got), tnCustomerIDs(want)) || pages != 2 {
			t.Errorf("paged list %v in %d+1 pages, want %v", tnCustomerIDs(got), pages, tnCustomerIDs(want))
		}

		for name, tc := range map[string]struct {
			in   app.ListCustomersInput
			want []string
		}{
			"country":             {app.ListCustomersInput{CountryCode: "AT"}, []string{created[2].ID}},
			"domain":              {app.ListCustomersInput{DefaultDomain: strings.ToUpper(created[0].DefaultDomain)}, []string{created[0].ID}},
			"name, any case":      {app.ListCustomersInput{NameContains: "UNDE 03"}, []string{created[0].ID}},
			"LIKE wildcards":      {app.ListCustomersInput{NameContains: "0%"}, []string{created[4].ID}},
			"underscore":          {app.ListCustomersInput{NameContains: "e_0"}, nil}, // not "any character"
			"own partner":         {app.ListCustomersInput{PartnerID: a.ID, NameContains: "100"}, []string{created[4].ID}},
			"nothing":             {app.ListCustomersInput{NameContains: "of B"}, nil},
			"all filters at once": {app.ListCustomersInput{CountryCode: "DE", NameContains: "kunde 01"}, []string{created[1].ID, created[3].ID}},
		} {
			list, _, err := w.a.ListCustomers(ctx, tc.in)
			gotIDs := tnCustomerIDs(list)
			slices.Sort(gotIDs)
			slices.Sort(tc.want)
			if err != nil || !slices.Equal(gotIDs, tc.want) {
				t.Errorf("%s: %v, %v; want %v", name, gotIDs, err, tc.want)
			}
		}

		// partner_id: a service names any partner; others only their own.
		list, _, err := w.a.ListCustomers(tnService(nil), app.ListCustomersInput{PartnerID: b.ID})
		if err != nil || !slices.Equal(tnCustomerIDs(list), []string{other.ID}) {
			t.Errorf("service, partner B: %v %v", tnCustomerIDs(list), err)
		}
		_, _, err = w.a.ListCustomers(ctx, app.ListCustomersInput{PartnerID: b.ID})
		tnWantFields(t, err, "partner_id")
		_, _, err = w.a.ListCustomers(ctx, app.ListCustomersInput{CountryCode: "de", NameContains: strings.Repeat("x", 257), PageSize: -1})
		tnWantFields(t, err, "country_code", "name_contains", "page_size")

		// A token belongs to its query and its caller.
		_, token, err := w.a.ListCustomers(ctx, app.ListCustomersInput{PageSize: 1})
		if err != nil || token == "" {
			t.Fatal(token, err)
		}
		_, _, err = w.a.ListCustomers(ctx, app.ListCustomersInput{PageSize: 1, PageToken: token, CountryCode: "DE"})
		tnWant(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)
		_, _, err = w.a.ListCustomers(tnAs(b, auth.SalesAgent), app.ListCustomersInput{PageSize: 1, PageToken: token})
		tnWant(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)
	})
}

// UpdateCustomer: name and contact change with a new etag; a stale etag is ABORTED; bad input
// and refusals change nothing; country and domain never change.
func TestUpdateCustomer_EtagRolesVisibility(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "DE"), w.partner(t, "B", "DE")
		c, admin := w.customer(t, a, "Old Name", "DE")
		w.clock.Advance(time.Hour)

		name := "New Name GmbH"
		up, err := w.a.UpdateCustomer(tnAs(a, auth.SalesAgent), app.UpdateCustomerInput{ID: c.ID, Etag: c.Etag, OrganisationName: &name})
		if err != nil || up.OrganisationName != name || up.Etag == c.Etag || !up.UpdateTime.Equal(tnT0().Add(time.Hour)) ||
			up.CountryCode != c.CountryCode || up.DefaultDomain != c.DefaultDomain {
			t.Fatalf("update: %+v, %v", up, err)
		}
		if list, _, _ := w.a.ListCustomers(tnAs(a, auth.SalesAgent), app.ListCustomersInput{NameContains: "new name"}); len(list) != 1 {
			t.Error("name_contains does not find the new name")
		}
		_, err = w.a.UpdateCustomer(tnAs(a, auth.AdminAgent), app.UpdateCustomerInput{ID: c.ID, Etag: c.Etag, OrganisationName: &name})
		tnWant(t, err, errs.Aborted, errs.ReasonEtagMismatch)

		contact := &domain.Contact{Name: "Carla", Email: "carla@x.example"}
		up2, err := w.a.UpdateCustomer(admin, app.UpdateCustomerInput{ID: c.ID, Etag: up.Etag, Contact: contact})
		if err != nil || up2.Contact != *contact || up2.OrganisationName != name {
			t.Fatalf("customer admin update: %+v, %v", up2, err)
		}
		same, err := w.a.UpdateCustomer(admin, app.UpdateCustomerInput{ID: c.ID, Contact: contact})
		if err != nil || same.Etag != up2.Etag {
			t.Errorf("a no-op update changed the etag: %v", err)
		}

		empty := ""
		_, err = w.a.UpdateCustomer(admin, app.UpdateCustomerInput{ID: c.ID, OrganisationName: &empty,
			Contact: &domain.Contact{Name: "C", Email: "c@x.example", Phone: "12345"}})
		tnWantFields(t, err, "organisation_name", "primary_contact.phone")
		_, err = w.a.UpdateCustomer(tnAs(a, auth.BillingAgent), app.UpdateCustomerInput{ID: c.ID, OrganisationName: &empty})
		tnWantFields(t, err, "organisation_name")
		_, err = w.a.UpdateCustomer(tnAs(a, auth.BillingAgent), app.UpdateCustomerInput{ID: c.ID, OrganisationName: &name})
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, err = w.a.UpdateCustomer(tnCustomerAs(c, uuid.NewString(), auth.CustomerUser), app.UpdateCustomerInput{ID: c.ID, OrganisationName: &name})
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		hacked := "Hacked"
		_, err = w.a.UpdateCustomer(tnAs(b, auth.AdminAgent), app.UpdateCustomerInput{ID: c.ID, OrganisationName: &hacked})
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		if got, _ := w.a.GetCustomer(tnService(nil), c.ID); got != up2 {
			t.Errorf("refused updates changed the customer: %+v", got)
		}
		if up3, err := w.a.UpdateCustomer(tnService(nil), app.UpdateCustomerInput{ID: c.ID, OrganisationName: &hacked}); err != nil || up3.OrganisationName != hacked {
			t.Errorf("service update: %v", err)
		}
	})
}

// ID-2: CheckDomainAvailability answers for a prefix, and refuses a malformed one.
func TestCheckDomainAvailability_ID2(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		p := w.partner(t, "P", "DE")
		ctx := tnAs(p, auth.SalesAgent)
		ok, dom, err := w.a.CheckDomainAvailability(ctx, "contoso")
		if err != nil || !ok || dom != "contoso.onmicrosoft.com" {
			t.Fatalf("before: %v %q %v", ok, dom, err)
		}
		if _, err := w.a.CreateCustomer(ctx, tnDraft("Contoso", "contoso")); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := w.a.CheckDomainAvailability(tnService(nil), "contoso"); err != nil || ok {
			t.Errorf("after: %v %v", ok, err)
		}
		_, _, err = w.a.CheckDomainAvailability(ctx, "Contoso")
		tnWantFields(t, err, "domain_prefix")
		_, _, err = w.a.CheckDomainAvailability(tnAs(p, auth.BillingAgent), "contoso")
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	})
}

// ID-4 on the fake clock: an invitation is PENDING until exactly create + TTL, then EXPIRED
// everywhere (Get, List and its state filter), and can be neither accepted nor withdrawn.
func TestInvitationLifecycle_ID4_ExpiresExactlyAtTTL(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		p := w.partner(t, "Inviting Partner", "AT")
		_, admin := w.customer(t, w.partner(t, "Other", "DE"), "Invitee", "DE")
		inv, err := w.a.CreateRelationshipInvitation(tnAs(p, auth.AccountAdmin), "Hallo, wir möchten Ihr Partner werden.")
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Code) != 16 || strings.Trim(inv.Code, domain.InvitationCodeAlphabet) != "" ||
			inv.Link != "https://partnerhub.example/invitations/"+inv.Code || inv.State != domain.InvitationPending ||
			!inv.ExpireTime.Equal(tnT0().Add(tnTTL)) || inv.PartnerLegalName != "Inviting Partner" || inv.PartnerCountryCode != "AT" {
			t.Fatalf("invitation %+v", inv)
		}

		exp := inv.ExpireTime
		if _, err := w.clock.Set(exp.Add(-time.Microsecond)); err != nil {
			t.Fatal(err)
		}
		got, err := w.a.GetRelationshipInvitation(admin, "", strings.ToLower(inv.Code))
		if err != nil || got.State != domain.InvitationPending || got.Message != inv.Message {
			t.Fatalf("a microsecond before expiry: %+v, %v", got, err)
		}
		if _, err := w.clock.Set(exp); err != nil {
			t.Fatal(err)
		}
		for name, ctx := range map[string]context.Context{"partner": tnAs(p, auth.BillingAgent), "service": tnService(nil)} {
			got, err := w.a.GetRelationshipInvitation(ctx, inv.ID, "")
			if err != nil || got.State != domain.InvitationExpired {
				t.Errorf("%s at expiry: %s, %v", name, got.State, err)
			}
		}
		expired, _, err := w.a.ListRelationshipInvitations(tnAs(p, auth.SalesAgent), app.ListInvitationsInput{State: domain.InvitationExpired})
		if err != nil || len(expired) != 1 || expired[0].State != domain.InvitationExpired {
			t.Errorf("EXPIRED filter: %+v, %v", expired, err)
		}
		pending, _, err := w.a.ListRelationshipInvitations(tnAs(p, auth.SalesAgent), app.ListInvitationsInput{State: domain.InvitationPending})
		if err != nil || len(pending) != 0 {
			t.Errorf("PENDING filter: %+v, %v", pending, err)
		}
		_, _, err = w.a.AcceptRelationshipInvitation(admin, inv.Code)
		e := tnWant(t, err, errs.FailedPrecondition, "INVITATION_EXPIRED")
		if e.Metadata["expired_at"] != exp.Format(time.RFC3339Nano) {
			t.Errorf("expired_at %q", e.Metadata["expired_at"])
		}
		_, err = w.a.WithdrawRelationshipInvitation(tnAs(p, auth.AdminAgent), inv.ID, "")
		tnWant(t, err, errs.FailedPrecondition, "INVITATION_EXPIRED")
	})
}

// ID-4: accepting creates the ACTIVE relationship (origin INVITATION_ACCEPTED) and uses the code
// up; an existing ACTIVE relationship with the partner is RELATIONSHIP_EXISTS.
func TestAcceptInvitation_ID4_SingleUseAndRelationshipExists(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "DE"), w.partner(t, "B", "DE")
		c, admin := w.customer(t, a, "C", "DE")
		_, dAdmin := w.customer(t, a, "D", "DE")
		inv, err := w.a.CreateRelationshipInvitation(tnAs(b, auth.SalesAgent), "")
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Minute)
		rel, accepted, err := w.a.AcceptRelationshipInvitation(admin, " "+strings.ToLower(inv.Code)+" ")
		if err != nil {
			t.Fatal(err)
		}
		now := tnT0().Add(time.Minute)
		if rel.State != domain.RelationshipActive || rel.Origin != domain.OriginInvitationAccepted || rel.InvitationID != inv.ID ||
			rel.PartnerID != b.ID || rel.CustomerID != c.ID || !rel.StartTime.Equal(now) || rel.PartnerLegalName != "B" || rel.CustomerOrganisationName != "C" {
			t.Errorf("relationship %+v", rel)
		}
		if accepted.State != domain.InvitationAccepted || accepted.AcceptedByCustomerID != c.ID || accepted.RelationshipID != rel.ID ||
			!accepted.AcceptTime.Equal(now) {
			t.Errorf("invitation %+v", accepted)
		}
		if _, err := w.a.GetCustomer(tnAs(b, auth.BillingAgent), c.ID); err != nil {
			t.Errorf("B does not see its new customer: %v", err)
		}
		_, _, err = w.a.AcceptRelationshipInvitation(dAdmin, inv.Code)
		tnWant(t, err, errs.FailedPrecondition, "INVITATION_ALREADY_USED")
		// D previews the used code: it sees who invites, nothing about C.
		preview, err := w.a.GetRelationshipInvitation(dAdmin, "", inv.Code)
		if err != nil || preview.AcceptedByCustomerID != "" || preview.RelationshipID != "" || preview.CreatedByUserID != "" || preview.PartnerLegalName != "B" {
			t.Errorf("another customer's preview of a used code: %+v, %v", preview, err)
		}
		if own, _ := w.a.GetRelationshipInvitation(admin, "", inv.Code); own.AcceptedByCustomerID != c.ID {
			t.Errorf("the accepting customer's view: %+v", own)
		}

		// A created C, so it already has an ACTIVE relationship: its invitation stays unused.
		inv2, err := w.a.CreateRelationshipInvitation(tnAs(a, auth.AdminAgent), "")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = w.a.AcceptRelationshipInvitation(admin, inv2.Code)
		tnWant(t, err, errs.FailedPrecondition, "RELATIONSHIP_EXISTS")
		if got, _ := w.a.GetRelationshipInvitation(tnAs(a, auth.AdminAgent), inv2.ID, ""); got.State != domain.InvitationPending {
			t.Errorf("a refused accept used the code up: %s", got.State)
		}

		// Refusals: unknown code, malformed code, wrong roles.
		_, _, err = w.a.AcceptRelationshipInvitation(admin, domain.NewInvitationCode())
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		_, _, err = w.a.AcceptRelationshipInvitation(admin, "0000")
		tnWantFields(t, err, "code")
		_, _, err = w.a.AcceptRelationshipInvitation(tnCustomerAs(c, "u", auth.CustomerUser), inv2.Code)
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, _, err = w.a.AcceptRelationshipInvitation(tnAs(a, auth.AdminAgent, auth.GlobalAdmin), inv2.Code)
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	})
}

// ID-4: a code is single use even when many Global admins accept it at the same time.
func TestAcceptInvitation_ID4_ConcurrentAcceptsOnlyOneWins(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		creator, inviter := w.partner(t, "Creator", "DE"), w.partner(t, "Inviter", "DE")
		const n = 8
		admins := make([]context.Context, n)
		for i := range admins {
			_, admins[i] = w.customer(t, creator, "Racer", "DE")
		}
		inv, err := w.a.CreateRelationshipInvitation(tnAs(inviter, auth.SalesAgent), "")
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, ctx := range admins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, _, err := w.a.AcceptRelationshipInvitation(ctx, inv.Code)
				errc <- err
			}()
		}
		close(start)
		wg.Wait()
		close(errc)
		wins := 0
		for err := range errc {
			switch {
			case err == nil:
				wins++
			case errs.ReasonOf(err) != "INVITATION_ALREADY_USED":
				t.Errorf("a losing accept: %v; want INVITATION_ALREADY_USED", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d accepts won, want exactly 1", wins)
		}
		rels, _, err := w.a.ListRelationships(tnAs(inviter, auth.SalesAgent), app.ListRelationshipsInput{})
		if err != nil || len(rels) != 1 {
			t.Errorf("inviter has %d relationships (%v), want 1", len(rels), err)
		}
	})
}

// ID-4, ID-1, ID-8: who creates, sees, lists and withdraws invitations.
func TestInvitations_ID8_CreateGetListWithdraw(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "DE"), w.partner(t, "B", "DE")
		c, admin := w.customer(t, b, "C", "DE")

		_, err := w.a.CreateRelationshipInvitation(tnAs(w.partner(t, "Open only", "DE", domain.ProgramOpen), auth.AccountAdmin), "")
		tnWant(t, err, errs.FailedPrecondition, domain.ReasonProgramNotEnrolled)
		_, err = w.a.CreateRelationshipInvitation(tnAs(a, auth.AdminAgent), strings.Repeat("m", 1001))
		tnWantFields(t, err, "message")
		_, err = w.a.CreateRelationshipInvitation(tnAs(a, auth.BillingAgent), "")
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, err = w.a.CreateRelationshipInvitation(tnService(nil), "")
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)

		var invs []domain.Invitation
		for range 3 {
			inv, err := w.a.CreateRelationshipInvitation(tnAs(a, auth.SalesAgent), "")
			if err != nil {
				t.Fatal(err)
			}
			invs = append(invs, inv)
			w.clock.Advance(time.Second)
		}
		inv := invs[0]

		// Get: A's users by ID or code; B and customers by ID not at all; customer admins by code.
		for name, ctx := range map[string]context.Context{"A's billing agent": tnAs(a, auth.BillingAgent), "service": tnService(nil)} {
			if _, err := w.a.GetRelationshipInvitation(ctx, inv.ID, ""); err != nil {
				t.Errorf("%s by ID: %v", name, err)
			}
			if _, err := w.a.GetRelationshipInvitation(ctx, "", inv.Code); err != nil {
				t.Errorf("%s by code: %v", name, err)
			}
		}
		for name, tc := range map[string]struct {
			ctx      context.Context
			id, code string
		}{
			"B by ID": {tnAs(b, auth.AdminAgent), inv.ID, ""}, "B by code": {tnAs(b, auth.AdminAgent), "", inv.Code},
			"customer admin by ID": {admin, inv.ID, ""}, "unknown ID": {tnAs(a, auth.AdminAgent), uuid.NewString(), ""},
		} {
			if _, err := w.a.GetRelationshipInvitation(tc.ctx, tc.id, tc.code); errs.ReasonOf(err) != errs.ReasonResourceNotFound {
				t.Errorf("%s: %v; want RESOURCE_NOT_FOUND", name, err)
			}
		}
		if got, err := w.a.GetRelationshipInvitation(admin, "", inv.Code); err != nil || got.PartnerLegalName != "A" {
			t.Errorf("customer admin by code: %+v %v", got, err)
		}
		_, err = w.a.GetRelationshipInvitation(tnCustomerAs(c, "u", auth.CustomerUser), "", inv.Code)
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, err = w.a.GetRelationshipInvitation(admin, "", "")
		tnWantFields(t, err, "invitation")

		// List: newest first, paged, only A's; a service names the partner.
		var listed []string
		for token := ""; ; {
			page, next, err := w.a.ListRelationshipInvitations(tnAs(a, auth.AccountAdmin), app.ListInvitationsInput{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range page {
				listed = append(listed, i.ID)
			}
			if token = next; token == "" {
				break
			}
		}
		if want := []string{invs[2].ID, invs[1].ID, invs[0].ID}; !slices.Equal(listed, want) {
			t.Errorf("listed %v, want newest first %v", listed, want)
		}
		if list, _, err := w.a.ListRelationshipInvitations(tnAs(b, auth.AdminAgent), app.ListInvitationsInput{}); err != nil || len(list) != 0 {
			t.Errorf("B lists %d of A's invitations (%v)", len(list), err)
		}
		if list, _, err := w.a.ListRelationshipInvitations(tnService(nil), app.ListInvitationsInput{PartnerID: a.ID}); err != nil || len(list) != 3 {
			t.Errorf("service lists %d (%v)", len(list), err)
		}
		_, _, err = w.a.ListRelationshipInvitations(tnService(nil), app.ListInvitationsInput{})
		tnWantFields(t, err, "partner_id")
		_, _, err = w.a.ListRelationshipInvitations(tnAs(b, auth.AdminAgent), app.ListInvitationsInput{PartnerID: a.ID, State: "BOGUS"})
		tnWantFields(t, err, "partner_id", "state")

		// Withdraw: A's only, PENDING only, etag checked.
		_, err = w.a.WithdrawRelationshipInvitation(tnAs(b, auth.AdminAgent), inv.ID, "")
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		_, err = w.a.WithdrawRelationshipInvitation(tnAs(a, auth.AdminAgent), inv.ID, "stale")
		tnWant(t, err, errs.Aborted, errs.ReasonEtagMismatch)
		wd, err := w.a.WithdrawRelationshipInvitation(tnAs(a, auth.AdminAgent), inv.ID, inv.Etag)
		if err != nil || wd.State != domain.InvitationWithdrawn || wd.Etag == inv.Etag {
			t.Fatalf("withdraw: %+v %v", wd, err)
		}
		_, err = w.a.WithdrawRelationshipInvitation(tnAs(a, auth.AdminAgent), inv.ID, "")
		tnWant(t, err, errs.FailedPrecondition, "INVITATION_ALREADY_USED")
		_, _, err = w.a.AcceptRelationshipInvitation(admin, inv.Code)
		tnWant(t, err, errs.FailedPrecondition, "INVITATION_ALREADY_USED")
		if list, _, _ := w.a.ListRelationshipInvitations(tnAs(a, auth.AdminAgent), app.ListInvitationsInput{State: domain.InvitationWithdrawn}); len(list) != 1 {
			t.Errorf("WITHDRAWN filter lists %d", len(list))
		}
	})
}

// ID-4 multi-partner: a customer may have several partners; each sees the customer and only its
// own relationship; the customer sees all of its own.
func TestMultiPartnerCustomer_ID4_ID8(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b, x := w.partner(t, "A", "DE"), w.partner(t, "B", "AT"), w.partner(t, "X", "DE")
		c, admin := w.customer(t, a, "Shared", "DE")
		w.clock.Advance(time.Minute)
		relB := w.invite(t, b, admin)

		rels, _, err := w.a.ListRelationships(admin, app.ListRelationshipsInput{})
		if err != nil || len(rels) != 2 || rels[0].PartnerID != a.ID || rels[1].ID != relB.ID {
			t.Fatalf("customer's relationships: %+v %v", rels, err)
		}
		for _, p := range []domain.Partner{a, b} {
			if _, err := w.a.GetCustomer(tnAs(p, auth.HelpdeskAgent), c.ID); err != nil {
				t.Errorf("%s: %v", p.LegalName, err)
			}
			rels, _, err := w.a.ListRelationships(tnAs(p, auth.ReferralAdmin), app.ListRelationshipsInput{CustomerID: c.ID})
			if err != nil || len(rels) != 1 || rels[0].PartnerID != p.ID {
				t.Errorf("%s lists %+v %v", p.LegalName, rels, err)
			}
			chk, err := w.a.CheckRelationship(tnService(nil), p.ID, c.ID)
			if err != nil || !chk.Active {
				t.Errorf("CheckRelationship %s: %+v %v", p.LegalName, chk, err)
			}
		}
		// X, never related, filtering by the customer, sees nothing (not an error).
		if rels, _, err := w.a.ListRelationships(tnAs(x, auth.AdminAgent), app.ListRelationshipsInput{CustomerID: c.ID}); err != nil || len(rels) != 0 {
			t.Errorf("X lists %+v %v", rels, err)
		}
		if _, err := w.a.GetCustomer(tnAs(x, auth.AdminAgent), c.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("X reads the customer: %v", err)
		}
		// The customer filters its partners.
		if rels, _, _ := w.a.ListRelationships(admin, app.ListRelationshipsInput{PartnerID: b.ID}); len(rels) != 1 || rels[0].ID != relB.ID {
			t.Errorf("customer filtering by B: %+v", rels)
		}
	})
}

// ListRelationships: ACTIVE by default, state filters, paging, and the filter rules per caller.
func TestListRelationships_FiltersAndRules(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "DE"), w.partner(t, "B", "DE")
		var cs []domain.Customer
		for range 3 {
			c, _ := w.customer(t, a, "C", "DE")
			cs = append(cs, c)
			w.clock.Advance(time.Second)
		}
		other, otherAdmin := w.customer(t, b, "Other", "DE")
		ctx := tnAs(a, auth.AdminAgent)
		all, _, _ := w.a.ListRelationships(ctx, app.ListRelationshipsInput{})
		if len(all) != 3 {
			t.Fatalf("%d relationships", len(all))
		}
		if _, err := w.a.RemoveRelationship(ctx, all[1].ID, ""); err != nil {
			t.Fatal(err)
		}

		var paged []string
		for token := ""; ; {
			page, next, err := w.a.ListRelationships(ctx, app.ListRelationshipsInput{PageSize: 1, PageToken: token,
				States: []domain.RelationshipState{domain.RelationshipRemoved, domain.RelationshipActive}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				paged = append(paged, r.CustomerID)
			}
			if token = next; token == "" {
				break
			}
		}
		if want := tnCustomerIDs(cs); !slices.Equal(paged, want) {
			t.Errorf("paged %v, want by start time %v", paged, want)
		}
		if active, _, _ := w.a.ListRelationships(ctx, app.ListRelationshipsInput{}); len(active) != 2 {
			t.Errorf("default lists %d, want the 2 ACTIVE", len(active))
		}
		if removed, _, _ := w.a.ListRelationships(ctx, app.ListRelationshipsInput{States: []domain.RelationshipState{domain.RelationshipRemoved}}); len(removed) != 1 || removed[0].ID != all[1].ID {
			t.Errorf("REMOVED filter: %+v", removed)
		}
		if svc, _, err := w.a.ListRelationships(tnService(nil), app.ListRelationshipsInput{PartnerID: b.ID}); err != nil || len(svc) != 1 || svc[0].CustomerID != other.ID {
			t.Errorf("service by partner: %+v %v", svc, err)
		}

		_, _, err := w.a.ListRelationships(tnService(nil), app.ListRelationshipsInput{})
		tnWantFields(t, err, "partner_id")
		_, _, err = w.a.ListRelationships(ctx, app.ListRelationshipsInput{PartnerID: b.ID, States: []domain.RelationshipState{"UNSPECIFIED"}})
		tnWantFields(t, err, "partner_id", "states[0]")
		_, _, err = w.a.ListRelationships(otherAdmin, app.ListRelationshipsInput{CustomerID: cs[0].ID})
		tnWantFields(t, err, "customer_id")
		_, _, err = w.a.ListRelationships(tnCustomerAs(other, "u", auth.CustomerUser), app.ListRelationshipsInput{})
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	})
}

// RemoveRelationship: either side removes; a repeat returns it unchanged; others get
// NOT_FOUND or ROLE_REQUIRED; the partner then loses sight of the customer (ID-8).
func TestRemoveRelationship_ID4_ID8_EitherSideIdempotent(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "DE"), w.partner(t, "B", "DE")
		c, admin := w.customer(t, a, "C", "DE")
		relB := w.invite(t, b, admin)
		relA, _ := w.a.CheckRelationship(tnService(nil), a.ID, c.ID)

		_, err := w.a.RemoveRelationship(tnAs(a, auth.SalesAgent), relA.RelationshipID, "")
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, err = w.a.RemoveRelationship(tnAs(b, auth.AdminAgent), relA.RelationshipID, "")
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		_, err = w.a.RemoveRelationship(tnAs(a, auth.AdminAgent), relA.RelationshipID, "stale")
		tnWant(t, err, errs.Aborted, errs.ReasonEtagMismatch)
		_, err = w.a.RemoveRelationship(tnService(nil), relA.RelationshipID, "")
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, err = w.a.RemoveRelationship(tnAs(a, auth.AdminAgent), "x", "")
		tnWantFields(t, err, "relationship_id")

		w.clock.Advance(time.Hour)
		actor := auth.Principal{Subject: uuid.NewString(), OrgID: a.ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AccountAdmin}}
		removed, err := w.a.RemoveRelationship(auth.WithPrincipal(context.Background(), actor), relA.RelationshipID, "")
		if err != nil || removed.State != domain.RelationshipRemoved || removed.RemovedByUserID != actor.Subject ||
			!removed.EndTime.Equal(tnT0().Add(time.Hour)) {
			t.Fatalf("removed %+v %v", removed, err)
		}
		again, err := w.a.RemoveRelationship(tnAs(a, auth.AdminAgent), relA.RelationshipID, "stale")
		if err != nil || again != removed {
			t.Errorf("a second removal: %+v %v; want it unchanged", again, err)
		}
		chk, _ := w.a.CheckRelationship(tnAs(a, auth.BillingAgent), a.ID, c.ID)
		if chk.Active || chk.Denial != domain.DenialRemoved || chk.RelationshipID != relA.RelationshipID || chk.CustomerCountryCode != "DE" {
			t.Errorf("check after removal: %+v", chk)
		}
		if _, err := w.a.GetCustomer(tnAs(a, auth.AdminAgent), c.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("A still reads C: %v", err)
		}
		// The customer's side removes B.
		byCustomer, err := w.a.RemoveRelationship(admin, relB.ID, relB.Etag)
		if err != nil || byCustomer.State != domain.RelationshipRemoved {
			t.Fatalf("customer removal: %+v %v", byCustomer, err)
		}
		// A partner invited again gets a new ACTIVE relationship beside the removed one.
		if r := w.invite(t, a, admin); r.ID == relA.RelationshipID || r.State != domain.RelationshipActive {
			t.Errorf("re-invited: %+v", r)
		}
	})
}

// CheckRelationship (ID-4, DA-6): the answer and its denial reasons; a partner user only for its
// own partner (TENANT_MISMATCH) and, for a customer it never had, no facts about it (ID-8).
func TestCheckRelationship_ID4_DenialReasons(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		a, b := w.partner(t, "A", "AT"), w.partner(t, "B", "DE")
		c, _ := w.customer(t, a, "C", "DE")
		svc := tnService(nil)

		chk, err := w.a.CheckRelationship(svc, a.ID, c.ID)
		if err != nil || !chk.Active || chk.Denial != "" || chk.RelationshipID == "" || chk.CustomerCountryCode != "DE" ||
			chk.PartnerCountryCode != "AT" || !chk.CustomerPartnerManaged || chk.CacheTTL != 30*time.Second {
			t.Errorf("active: %+v %v", chk, err)
		}
		if chk, _ := w.a.CheckRelationship(svc, b.ID, c.ID); chk.Active || chk.Denial != domain.DenialNoRelationship || chk.CustomerCountryCode != "DE" {
			t.Errorf("no relationship: %+v", chk)
		}
		if chk, _ := w.a.CheckRelationship(svc, a.ID, uuid.NewString()); chk.Denial != domain.DenialCustomerNotFound || chk.PartnerCountryCode != "AT" || chk.CustomerCountryCode != "" {
			t.Errorf("unknown customer: %+v", chk)
		}
		if chk, _ := w.a.CheckRelationship(svc, uuid.NewString(), c.ID); chk.Denial != domain.DenialPartnerNotFound || chk.CustomerCountryCode != "DE" {
			t.Errorf("unknown partner: %+v", chk)
		}
		if chk, err := w.a.CheckRelationship(tnAs(a, auth.BillingAgent), a.ID, c.ID); err != nil || !chk.Active {
			t.Errorf("own partner: %+v %v", chk, err)
		}
		// B's user about a customer B never had: the same answer as for one that does not exist.
		for _, id := range []string{c.ID, uuid.NewString()} {
			chk, err := w.a.CheckRelationship(tnAs(b, auth.SalesAgent), b.ID, id)
			if err != nil || chk.Active || chk.Denial != domain.DenialNoRelationship || chk.CustomerCountryCode != "" || chk.CustomerPartnerManaged {
				t.Errorf("B about %s: %+v %v", id, chk, err)
			}
		}
		_, err = w.a.CheckRelationship(tnAs(b, auth.AdminAgent), a.ID, c.ID)
		tnWant(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
		_, err = w.a.CheckRelationship(tnCustomerAs(c, "u", auth.CustomerGlobalAdmin), a.ID, c.ID)
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, err = w.a.CheckRelationship(svc, "", "nope")
		tnWantFields(t, err, "partner_id", "customer_id")
	})
}

// ID-5, ID-7: a partner takes a customer over from another partner of the customer's country,
// with the customer's consent (its own ACTIVE relationship); the source ends MOVED, the move is
// recorded, and every refusal changes nothing.
func TestMoveCustomer_ID5_ID7(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		source, target := w.partner(t, "Source DE", "DE"), w.partner(t, "Target DE", "DE")
		foreign, stranger := w.partner(t, "Foreign AT", "AT"), w.partner(t, "Stranger DE", "DE")
		c, admin := w.customer(t, source, "Movable GmbH", "DE")
		srcRel, _ := w.a.CheckRelationship(tnService(nil), source.ID, c.ID)
		w.clock.Advance(time.Hour)

		// Refusals before the customer consented to the target.
		_, _, err := w.a.MoveCustomer(tnAs(stranger, auth.AccountAdmin), c.ID, source.ID)
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound) // invisible to a partner never related (ID-8)
		_, _, err = w.a.MoveCustomer(tnAs(target, auth.AccountAdmin), uuid.NewString(), source.ID)
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		_, _, err = w.a.MoveCustomer(tnAs(target, auth.BillingAgent), c.ID, source.ID)
		tnWant(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
		_, _, err = w.a.MoveCustomer(tnAs(target, auth.SalesAgent), c.ID, target.ID)
		tnWantFields(t, err, "source_partner_id")
		_, _, err = w.a.MoveCustomer(tnAs(target, auth.SalesAgent), "x", "")
		tnWantFields(t, err, "customer_id", "source_partner_id")

		// ID-5: the foreign partner has the customer's consent but another country.
		w.invite(t, foreign, admin)
		_, _, err = w.a.MoveCustomer(tnAs(foreign, auth.AdminAgent), c.ID, source.ID)
		e := tnWant(t, err, errs.FailedPrecondition, "NOT_SAME_COUNTRY")
		if e.Metadata["partner_country"] != "AT" || e.Metadata["customer_country"] != "DE" {
			t.Errorf("metadata %v", e.Metadata)
		}
		if chk, _ := w.a.CheckRelationship(tnService(nil), source.ID, c.ID); !chk.Active {
			t.Fatal("a refused move ended the source relationship")
		}

		// The move.
		tgtRel := w.invite(t, target, admin)
		w.clock.Advance(time.Hour)
		mover := auth.Principal{Subject: uuid.NewString(), OrgID: target.ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AccountAdmin}}
		move, rel, err := w.a.MoveCustomer(auth.WithPrincipal(context.Background(), mover), c.ID, source.ID)
		if err != nil {
			t.Fatal(err)
		}
		moveTime := tnT0().Add(2 * time.Hour)
		if move.CustomerID != c.ID || move.SourcePartnerID != source.ID || move.TargetPartnerID != target.ID ||
			move.SourceRelationshipID != srcRel.RelationshipID || move.TargetRelationshipID != tgtRel.ID || move.CountryCode != "DE" ||
			move.MovedByUserID != mover.Subject || !move.MoveTime.Equal(moveTime) {
			t.Errorf("move %+v", move)
		}
		if rel.ID != tgtRel.ID || rel.State != domain.RelationshipActive || rel.PartnerID != target.ID {
			t.Errorf("target relationship %+v", rel)
		}
		chk, _ := w.a.CheckRelationship(tnService(nil), source.ID, c.ID)
		if chk.Active || chk.Denial != domain.DenialMoved || chk.RelationshipID != srcRel.RelationshipID {
			t.Errorf("source after the move: %+v", chk)
		}
		moved, _, _ := w.a.ListRelationships(tnAs(source, auth.AdminAgent), app.ListRelationshipsInput{States: []domain.RelationshipState{domain.RelationshipMoved}})
		if len(moved) != 1 || !moved[0].EndTime.Equal(moveTime) {
			t.Errorf("source's MOVED relationships: %+v", moved)
		}
		if _, err := w.a.GetCustomer(tnAs(source, auth.AdminAgent), c.ID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("the source still reads the customer: %v", err)
		}
		if _, err := w.a.GetCustomer(tnAs(target, auth.AdminAgent), c.ID); err != nil {
			t.Errorf("the target does not read the customer: %v", err)
		}
		// Removing a MOVED relationship changes nothing.
		if r, err := w.a.RemoveRelationship(tnAs(source, auth.AdminAgent), srcRel.RelationshipID, ""); err != nil || r.State != domain.RelationshipMoved {
			t.Errorf("remove a moved relationship: %+v %v", r, err)
		}

		// After the move: the source has no ACTIVE relationship to move from (NOT_FOUND), and the
		// source, whose relationship ended, needs a new one (RELATIONSHIP_REQUIRED).
		_, _, err = w.a.MoveCustomer(tnAs(target, auth.AdminAgent), c.ID, source.ID)
		tnWant(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		_, _, err = w.a.MoveCustomer(tnAs(source, auth.AdminAgent), c.ID, target.ID)
		tnWant(t, err, errs.FailedPrecondition, "RELATIONSHIP_REQUIRED")
		if chk, _ := w.a.CheckRelationship(tnService(nil), target.ID, c.ID); !chk.Active {
			t.Error("a refused move ended the target's relationship")
		}
	})
}

// tnIsNotFound is errors.Is for the repositories' not-found sentinel.
func tnIsNotFound(err error) bool { return errors.Is(err, app.ErrNotFound) }

// The repository's own contract: missing rows are ErrNotFound; the latest relationship of a pair
// prefers the ACTIVE one even when times tie (a fake clock that never moves).
func TestTenantRepo_NotFoundAndLatestRelationship(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := tnOpen(t, dsn, "")
		ctx := context.Background()
		for name, err := range map[string]error{
			"customer":     func() error { _, err := w.repo.Customer(ctx, uuid.NewString()); return err }(),
			"relationship": func() error { _, err := w.repo.Relationship(ctx, uuid.NewString()); return err }(),
			"invitation":   func() error { _, err := w.repo.Invitation(ctx, uuid.NewString()); return err }(),
			"code":         func() error { _, err := w.repo.InvitationByCode(ctx, "AAAAAAAAAAAAAAAA"); return err }(),
			"latest":       func() error { _, err := w.repo.LatestRelationship(ctx, uuid.NewString(), uuid.NewString()); return err }(),
		} {
			if !tnIsNotFound(err) {
				t.Errorf("%s: %v; want ErrNotFound", name, err)
			}
		}
		p := w.partner(t, "P", "DE")
		c, admin := w.customer(t, p, "C", "DE")
		first, _ := w.repo.LatestRelationship(ctx, p.ID, c.ID)
		if _, err := w.a.RemoveRelationship(admin, first.ID, ""); err != nil {
			t.Fatal(err)
		}
		second := w.invite(t, p, admin) // same instant: the clock did not move
		if got, err := w.repo.LatestRelationship(ctx, p.ID, c.ID); err != nil || got.ID != second.ID {
			t.Errorf("latest = %s, %v; want the ACTIVE %s", got.ID, err, second.ID)
		}
	})
}
