package app_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	idsql "github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
	"github.com/partnerhub/partnerhub/services/identity/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// t0 is the fake business clock's start in the org tests.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// orgFixture is identity's use cases over a migrated database, a fake business clock and a fake
// delegatedadmin.
type orgFixture struct {
	a   *app.App
	db  *store.DB
	clk *clock.Fake
	da  *fakeDelegated
}

func newOrgFixture(t *testing.T, dsn string) *orgFixture {
	t.Helper()
	db := testkit.OpenDB(t, dsn, migrations.FS, "identity_schema")
	markets, err := domain.ParseMarkets("DE,FR,US,AT")
	if err != nil {
		t.Fatal(err)
	}
	f := &orgFixture{db: db, clk: clock.NewFake(t0), da: &fakeDelegated{allowed: map[[2]string]bool{}}}
	f.a = app.New(idsql.New(db), f.clk, app.Options{
		Markets: markets, DelegatedAccess: f.da,
		ServiceCredentials: map[string][]byte{"orders": domain.HashSecret(svcSecret)},
	})
	return f
}

const svcSecret = "orders-service-secret-0123456789"

// fakeDelegated answers delegatedadmin's USER_ADMINISTRATOR check from a set of
// (partner, customer) pairs, and records the role it was asked for.
type fakeDelegated struct {
	mu      sync.Mutex
	allowed map[[2]string]bool
	err     error
	asked   []string
}

func (d *fakeDelegated) Allowed(_ context.Context, partnerID, customerID, role string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, role)
	return d.allowed[[2]string{partnerID, customerID}] && role == app.DelegatedUserAdminRole, d.err
}

func (d *fakeDelegated) set(partnerID, customerID string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.allowed[[2]string{partnerID, customerID}] = ok
}

// operator is a service acting on its own account (partnerhub operators).
func operator() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{
		Subject: "service:operator", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service},
	})
}

// as is the call context of a user's token.
func as(u domain.User) context.Context {
	return auth.WithPrincipal(context.Background(), u.Principal())
}

// onBehalfOf is the call context of a service token acting for a user.
func onBehalfOf(u domain.User) context.Context {
	obo := u.Principal()
	return auth.WithPrincipal(context.Background(), auth.Principal{
		Subject: "service:orders", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &obo,
	})
}

func (f *orgFixture) partner(t *testing.T, name, country string, programs ...domain.Program) app.CreatedPartner {
	t.Helper()
	out, err := f.a.CreatePartner(operator(), app.NewPartner{
		LegalName: name, CountryCode: country, Programs: programs,
		Admin: &app.PartnerFirstAdmin{UserName: "admin@" + uuid.NewString()[:8] + ".example", DisplayName: "Admin of " + name, Email: "admin@example.com"},
	})
	if err != nil {
		t.Fatalf("CreatePartner(%s): %v", name, err)
	}
	return out
}

// user creates a user as an operator.
func (f *orgFixture) user(t *testing.T, orgID, name string, roles ...auth.Role) domain.User {
	t.Helper()
	u, err := f.a.CreateUser(operator(), app.NewUser{OrgID: orgID, UserName: name, DisplayName: name, Email: "x@example.com", Roles: roles})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// customer stores a tenant directly (the customer use cases are another file's business) and
// its first CUSTOMER_GLOBAL_ADMIN; with a partner, also their active reseller relationship.
func (f *orgFixture) customer(t *testing.T, prefix, resellerPartnerID string) (id string, admin domain.User) {
	t.Helper()
	ctx := context.Background()
	id = uuid.NewString()
	dom := prefix + ".onmicrosoft.com"
	now := store.Time(f.clk.Now())
	if _, err := f.db.ExecContext(ctx, `
		INSERT INTO customers (id, organisation_name, name_folded, country_code, default_domain, admin_user_id,
			created_by_partner_id, partner_managed, etag, created_at, updated_at)
		VALUES ($1, $2, $3, 'DE', $4, '', $5, $6, $7, $8, $8)`,
		id, prefix, prefix, dom, resellerPartnerID, resellerPartnerID != "", uuid.NewString(), now); err != nil {
		t.Fatal(err)
	}
	if resellerPartnerID != "" {
		if _, err := f.db.ExecContext(ctx, `
			INSERT INTO reseller_relationships (id, partner_id, customer_id, state, origin, started_at, etag, created_at, updated_at)
			VALUES ($1, $2, $3, 'ACTIVE', 'CUSTOMER_CREATED', $4, $5, $4, $4)`,
			uuid.NewString(), resellerPartnerID, id, now, uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}
	return id, f.user(t, id, "admin@"+dom, auth.CustomerGlobalAdmin)
}

// wantErr fails unless err has the kind and reason.
func wantErr(t *testing.T, what string, err error, kind errs.Kind, reason errs.Reason) {
	t.Helper()
	if errs.KindOf(err) != kind || errs.ReasonOf(err) != reason {
		t.Errorf("%s: %v; want %v %s", what, err, kind, reason)
	}
}

// wantViolations fails unless err is INVALID_REQUEST naming exactly the fields.
func wantViolations(t *testing.T, what string, err error, fields ...string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.InvalidArgument || e.Reason != errs.ReasonInvalidRequest {
		t.Errorf("%s: %v; want INVALID_ARGUMENT INVALID_REQUEST", what, err)
		return
	}
	var got []string
	for _, v := range e.Violations {
		got = append(got, v.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("%s: violations on %v; want %v (%v)", what, got, fields, err)
	}
}

// ID-1: a partner is created with its programs and a first admin who can sign in at once.
func TestCreatePartner_ID1(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		out, err := f.a.CreatePartner(operator(), app.NewPartner{
			LegalName: "  Fabrikam Cloud GmbH ", CountryCode: "DE",
			Programs: []domain.Program{domain.ProgramDelegatedAdmin, domain.ProgramOpen, domain.ProgramCSPDirect},
			Admin:    &app.PartnerFirstAdmin{UserName: "Ada@Fabrikam.Example", DisplayName: "Ada", Email: "ada@fabrikam.example"},
		})
		if err != nil {
			t.Fatal(err)
		}
		p, u, c := out.Partner, out.Admin, out.Credential
		if p.LegalName != "Fabrikam Cloud GmbH" || p.CountryCode != "DE" ||
			!slices.Equal(p.Programs(), []domain.Program{domain.ProgramCSPDirect, domain.ProgramOpen, domain.ProgramDelegatedAdmin}) {
			t.Errorf("partner %+v", p)
		}
		for _, e := range p.Enrolments {
			if !e.Time.Equal(t0) {
				t.Errorf("enrolment %s at %v, want %v", e.Program, e.Time, t0)
			}
		}
		if u.OrgID != p.ID || u.OrgKind != auth.OrgPartner || u.UserName != "ada@fabrikam.example" ||
			!slices.Equal(u.Roles, []auth.Role{auth.AccountAdmin, auth.GlobalAdmin}) {
			t.Errorf("admin %+v", u)
		}
		if c.UserID != u.ID || !c.ExpireTime.Equal(t0.Add(365*24*time.Hour)) || out.Secret == "" {
			t.Errorf("credential %+v", c)
		}
		got, err := f.a.GetPartner(as(u), p.ID)
		if err != nil || got.Etag != p.Etag || !got.CreateTime.Equal(p.CreateTime) || len(got.Enrolments) != 3 {
			t.Errorf("GetPartner = %+v, %v", got, err)
		}
		tok, err := f.a.IssueToken(context.Background(), c.ClientID, out.Secret, 0)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Principal.Subject != u.ID || tok.Principal.OrgID != p.ID || !slices.Equal(tok.Principal.Roles, u.Roles) {
			t.Errorf("token principal %+v", tok.Principal)
		}
	})
}

func TestCreatePartner_Refusals(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		existing := f.partner(t, "Existing", "DE")
		good := func() app.NewPartner {
			return app.NewPartner{LegalName: "Contoso", CountryCode: "FR", Programs: []domain.Program{domain.ProgramCSPDirect},
				Admin: &app.PartnerFirstAdmin{UserName: "a@contoso.example", DisplayName: "A", Email: "a@contoso.example"}}
		}
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			edit   func(*app.NewPartner)
			kind   errs.Kind
			reason errs.Reason
			fields []string
		}{
			{"a user token", as(existing.Admin), nil, errs.PermissionDenied, errs.ReasonServiceTokenRequired, nil},
			{"a service on behalf of a user", onBehalfOf(existing.Admin), nil, errs.PermissionDenied, errs.ReasonRoleRequired, nil},
			{"empty request", operator(), func(n *app.NewPartner) { *n = app.NewPartner{} },
				errs.InvalidArgument, errs.ReasonInvalidRequest, []string{"legal_name", "country_code", "admin"}},
			{"bad fields", operator(), func(n *app.NewPartner) {
				n.LegalName = strings.Repeat("x", 201)
				n.CountryCode = "fr"
				n.Programs = []domain.Program{"UNSPECIFIED", domain.ProgramOpen, domain.ProgramOpen}
				n.Admin = &app.PartnerFirstAdmin{UserName: "no-at-sign", DisplayName: " ", Email: "Ada <a@b.example>"}
			}, errs.InvalidArgument, errs.ReasonInvalidRequest,
				[]string{"legal_name", "country_code", "programs[0]", "programs[2]", "admin.user_name", "admin.display_name", "admin.email"}},
			{"ID-3: country not a market", operator(), func(n *app.NewPartner) { n.CountryCode = "JP" },
				errs.FailedPrecondition, "COUNTRY_NOT_SUPPORTED", nil},
			{"DA-2: delegated admin alone", operator(), func(n *app.NewPartner) { n.Programs = []domain.Program{domain.ProgramDelegatedAdmin} },
				errs.FailedPrecondition, domain.ReasonProgramNotEnrolled, nil},
			{"DA-2: delegated admin with Open only", operator(), func(n *app.NewPartner) {
				n.Programs = []domain.Program{domain.ProgramOpen, domain.ProgramDelegatedAdmin}
			}, errs.FailedPrecondition, domain.ReasonProgramNotEnrolled, nil},
			{"user name taken, in another case", operator(), func(n *app.NewPartner) { n.Admin.UserName = "  " + strings.ToUpper(existing.Admin.UserName) },
				errs.AlreadyExists, domain.ReasonUserNameTaken, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := good()
				if tc.edit != nil {
					tc.edit(&in)
				}
				_, err := f.a.CreatePartner(tc.ctx, in)
				if tc.fields != nil {
					wantViolations(t, tc.name, err, tc.fields...)
				} else {
					wantErr(t, tc.name, err, tc.kind, tc.reason)
				}
			})
		}
		// Nothing was stored by any refusal.
		all, _, err := f.a.ListPartners(operator(), "", "", 0, "")
		if err != nil || len(all) != 1 {
			t.Errorf("partners after refusals: %d, %v; want only the existing one", len(all), err)
		}
	})
}

// ID-8: a partner is visible to its own users, to operators and to services acting for its
// users; to nobody else, not even a service acting for another partner.
func TestGetPartner_ID8(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		p := f.partner(t, "P", "DE")
		q := f.partner(t, "Q", "DE")
		for _, tc := range []struct {
			name string
			ctx  context.Context
			ok   bool
		}{
			{"its user", as(p.Admin), true},
			{"a service for its user", onBehalfOf(p.Admin), true},
			{"an operator", operator(), true},
			{"another partner's user", as(q.Admin), false},
			{"a service for another partner's user", onBehalfOf(q.Admin), false},
		} {
			_, err := f.a.GetPartner(tc.ctx, p.Partner.ID)
			if tc.ok && err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			if !tc.ok {
				wantErr(t, tc.name, err, errs.NotFound, errs.ReasonResourceNotFound)
			}
		}
		_, err := f.a.GetPartner(operator(), uuid.NewString())
		wantErr(t, "unknown partner", err, errs.NotFound, errs.ReasonResourceNotFound)
		_, err = f.a.GetPartner(operator(), "")
		wantViolations(t, "no ID", err, "partner_id")
	})
}

func TestListPartners_FiltersAndPages(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		var ids []string
		for i, c := range []struct {
			country  string
			programs []domain.Program
		}{
			{"DE", []domain.Program{domain.ProgramCSPDirect}},
			{"FR", []domain.Program{domain.ProgramOpen}},
			{"DE", []domain.Program{domain.ProgramCSPDirect, domain.ProgramDelegatedAdmin}},
			{"DE", nil},
			{"US", []domain.Program{domain.ProgramCSPIndirectReseller, domain.ProgramDelegatedAdmin}},
		} {
			if i%2 == 1 {
				_, _ = f.clk.Advance(time.Second) // some share a create time: the ID breaks the tie
			}
			ids = append(ids, f.partner(t, "P"+string(rune('0'+i)), c.country, c.programs...).Partner.ID)
		}
		walk := func(country string, program domain.Program, size int32) []string {
			t.Helper()
			var got []string
			token := ""
			for range 10 {
				page, next, err := f.a.ListPartners(operator(), country, program, size, token)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > int(size) {
					t.Fatalf("page of %d, size %d", len(page), size)
				}
				for _, p := range page {
					if len(p.Enrolments) == 0 && p.ID != ids[3] {
						t.Errorf("partner %s listed without its enrolments", p.ID)
					}
					got = append(got, p.ID)
				}
				if token = next; token == "" {
					return got
				}
			}
			t.Fatal("pages never end")
			return nil
		}
		// Expected order: create time, then ID.
		want := func(idx ...int) []string {
			type row struct {
				i  int
				id string
			}
			var rows []row
			for _, i := range idx {
				rows = append(rows, row{i, ids[i]})
			}
			created := []int{0, 1, 1, 2, 2} // seconds after t0, per partner
			slices.SortFunc(rows, func(a, b row) int {
				if d := created[a.i] - created[b.i]; d != 0 {
					return d
				}
				return strings.Compare(a.id, b.id)
			})
			var out []string
			for _, r := range rows {
				out = append(out, r.id)
			}
			return out
		}
		if got := walk("", "", 2); !slices.Equal(got, want(0, 1, 2, 3, 4)) {
			t.Errorf("all: %v, want %v", got, want(0, 1, 2, 3, 4))
		}
		if got := walk("DE", "", 1); !slices.Equal(got, want(0, 2, 3)) {
			t.Errorf("DE: %v", got)
		}
		if got := walk("", domain.ProgramDelegatedAdmin, 50); !slices.Equal(got, want(2, 4)) {
			t.Errorf("DELEGATED_ADMIN: %v", got)
		}
		if got := walk("DE", domain.ProgramDelegatedAdmin, 50); !slices.Equal(got, want(2)) {
			t.Errorf("DE and DELEGATED_ADMIN: %v", got)
		}

		_, next, err := f.a.ListPartners(operator(), "DE", "", 1, "")
		if err != nil || next == "" {
			t.Fatal(next, err)
		}
		_, _, err = f.a.ListPartners(operator(), "FR", "", 1, next)
		wantErr(t, "token of another filter", err, errs.InvalidArgument, errs.ReasonInvalidPageToken)
		_, _, err = f.a.ListPartners(operator(), "de", "NOPE", -1, "")
		wantViolations(t, "bad filters", err, "country_code", "program", "page_size")
		p, _ := f.a.GetPartner(operator(), ids[0])
		_, _, err = f.a.ListPartners(as(domain.User{ID: "u", OrgID: p.ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.GlobalAdmin}}), "", "", 0, "")
		wantErr(t, "a user", err, errs.PermissionDenied, errs.ReasonServiceTokenRequired)
	})
}

// ID-1, DA-2: programs are replaced as a set; kept programs keep their enrolment time.
func TestUpdatePartnerPrograms_ID1_DA2(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		p := f.partner(t, "P", "DE", domain.ProgramCSPDirect, domain.ProgramOpen).Partner
		t1, _ := f.clk.Advance(48 * time.Hour)

		got, err := f.a.UpdatePartnerPrograms(operator(), p.ID,
			[]domain.Program{domain.ProgramDelegatedAdmin, domain.ProgramCSPDirect}, p.Etag)
		if err != nil {
			t.Fatal(err)
		}
		want := []domain.Enrolment{{Program: domain.ProgramCSPDirect, Time: t0}, {Program: domain.ProgramDelegatedAdmin, Time: t1}}
		if !enrolmentsEqual(got.Enrolments, want) || got.Etag == p.Etag || !got.UpdateTime.Equal(t1) {
			t.Fatalf("after update: %+v", got)
		}
		if read, _ := f.a.GetPartner(operator(), p.ID); !enrolmentsEqual(read.Enrolments, want) || read.Etag != got.Etag {
			t.Errorf("read back: %+v", read)
		}
		// The same set again changes nothing, not even the etag.
		same, err := f.a.UpdatePartnerPrograms(operator(), p.ID, []domain.Program{domain.ProgramCSPDirect, domain.ProgramDelegatedAdmin}, "")
		if err != nil || same.Etag != got.Etag {
			t.Errorf("no-op update: %v, etag %q → %q", err, got.Etag, same.Etag)
		}

		for _, tc := range []struct {
			name     string
			ctx      context.Context
			id       string
			programs []domain.Program
			etag     string
			kind     errs.Kind
			reason   errs.Reason
		}{
			{"stale etag", operator(), p.ID, nil, p.Etag, errs.Aborted, errs.ReasonEtagMismatch},
			{"DA-2: dropping every cloud program but keeping DELEGATED_ADMIN", operator(), p.ID,
				[]domain.Program{domain.ProgramDelegatedAdmin}, "", errs.FailedPrecondition, domain.ReasonProgramNotEnrolled},
			{"unknown partner", operator(), uuid.NewString(), nil, "", errs.NotFound, errs.ReasonResourceNotFound},
			{"a service for a user", onBehalfOf(domain.User{ID: "u", OrgID: p.ID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.GlobalAdmin}}),
				p.ID, nil, "", errs.PermissionDenied, errs.ReasonRoleRequired},
			{"bad programs", operator(), p.ID, []domain.Program{domain.ProgramOpen, "UNSPECIFIED"}, "", errs.InvalidArgument, errs.ReasonInvalidRequest},
		} {
			_, err := f.a.UpdatePartnerPrograms(tc.ctx, tc.id, tc.programs, tc.etag)
			wantErr(t, tc.name, err, tc.kind, tc.reason)
		}
		if read, _ := f.a.GetPartner(operator(), p.ID); !enrolmentsEqual(read.Enrolments, want) || read.Etag != got.Etag {
			t.Errorf("a refusal changed the partner: %+v", read)
		}

		// Empty removes all.
		none, err := f.a.UpdatePartnerPrograms(operator(), p.ID, nil, got.Etag)
		if err != nil || len(none.Enrolments) != 0 {
			t.Errorf("remove all: %+v, %v", none, err)
		}
	})
}

func enrolmentsEqual(a, b []domain.Enrolment) bool {
	return slices.EqualFunc(a, b, func(x, y domain.Enrolment) bool { return x.Program == y.Program && x.Time.Equal(y.Time) })
}
