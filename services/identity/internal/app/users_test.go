package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	idsql "github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// userWorld is two partners and two customer tenants: C is P's customer (active reseller
// relationship), D is nobody's.
type userWorld struct {
	*orgFixture
	p                        app.CreatedPartner // P's first admin: GLOBAL_ADMIN + ACCOUNT_ADMIN
	pAccount, pAgent, pSales domain.User
	q                        app.CreatedPartner
	c, d                     string // tenant IDs
	cAdmin, cUser, dAdmin    domain.User
	cDomain                  string
}

func newUserWorld(t *testing.T, dsn string) *userWorld {
	t.Helper()
	w := &userWorld{orgFixture: newOrgFixture(t, dsn), cDomain: "contoso.onmicrosoft.com"}
	w.p = w.partner(t, "P", "DE", domain.ProgramCSPDirect, domain.ProgramDelegatedAdmin)
	w.q = w.partner(t, "Q", "DE", domain.ProgramCSPDirect)
	w.pAccount = w.user(t, w.p.Partner.ID, "account@p.example", auth.AccountAdmin)
	w.pAgent = w.user(t, w.p.Partner.ID, "agent@p.example", auth.AdminAgent)
	w.pSales = w.user(t, w.p.Partner.ID, "sales@p.example", auth.SalesAgent)
	w.c, w.cAdmin = w.customer(t, "contoso", w.p.Partner.ID)
	w.cUser = w.user(t, w.c, "user@contoso.onmicrosoft.com", auth.CustomerUser)
	w.d, w.dAdmin = w.customer(t, "northwind", "")
	return w
}

// The user admins of the service comment, role sets per organisation kind, the default domain of
// customer user names (ID-2), delegated user administration (DA-6) and invisibility (ID-8).
func TestCreateUser_WhoMayCreateWhat_ID8_DA6(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		w.da.set(w.p.Partner.ID, w.d, true) // P administers D's users without being its reseller
		pID, qID := w.p.Partner.ID, w.q.Partner.ID
		n := 0
		name := func(dom string) string { n++; return "new" + string(rune('a'+n)) + "@" + dom }
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			org    string
			user   string
			roles  []auth.Role
			kind   errs.Kind // Unknown: success
			reason errs.Reason
		}{
			{"partner GLOBAL_ADMIN grants GLOBAL_ADMIN", as(w.p.Admin), "", "p.example", []auth.Role{auth.GlobalAdmin}, 0, ""},
			{"partner ACCOUNT_ADMIN creates a sales agent", as(w.pAccount), pID, "p.example", []auth.Role{auth.SalesAgent, auth.BillingAgent}, 0, ""},
			{"ACCOUNT_ADMIN may not grant GLOBAL_ADMIN", as(w.pAccount), "", "p.example", []auth.Role{auth.GlobalAdmin}, errs.PermissionDenied, errs.ReasonRoleRequired},
			{"a sales agent is no user admin", as(w.pSales), "", "p.example", []auth.Role{auth.SalesAgent}, errs.PermissionDenied, errs.ReasonRoleRequired},
			{"a service for an ACCOUNT_ADMIN acts as one", onBehalfOf(w.pAccount), "", "p.example", []auth.Role{auth.HelpdeskAgent}, 0, ""},
			{"ID-8: another partner is invisible", as(w.p.Admin), qID, "q.example", []auth.Role{auth.SalesAgent}, errs.NotFound, errs.ReasonResourceNotFound},
			{"an unknown organisation", as(w.p.Admin), uuid.NewString(), "p.example", []auth.Role{auth.SalesAgent}, errs.NotFound, errs.ReasonResourceNotFound},
			{"customer roles in a partner", as(w.p.Admin), "", "p.example", []auth.Role{auth.CustomerUser}, errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"SERVICE is never assignable", operator(), pID, "p.example", []auth.Role{auth.Service}, errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"CUSTOMER_GLOBAL_ADMIN creates a tenant user", as(w.cAdmin), "", w.cDomain, []auth.Role{auth.CustomerUser}, 0, ""},
			{"ID-2: a customer user outside the default domain", as(w.cAdmin), "", "contoso.example", []auth.Role{auth.CustomerUser}, errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"partner roles in a tenant", as(w.cAdmin), "", w.cDomain, []auth.Role{auth.AdminAgent}, errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"a plain customer user is no user admin", as(w.cUser), "", w.cDomain, []auth.Role{auth.CustomerUser}, errs.PermissionDenied, errs.ReasonRoleRequired},
			{"ID-8: another tenant is invisible to a customer admin", as(w.cAdmin), w.d, "northwind.onmicrosoft.com", []auth.Role{auth.CustomerUser}, errs.NotFound, errs.ReasonResourceNotFound},
			{"DA-6: an Admin agent without delegated admin in its own customer", as(w.pAgent), w.c, w.cDomain, []auth.Role{auth.CustomerUser}, errs.PermissionDenied, "DELEGATED_ADMIN_REQUIRED"},
			{"DA-6: an Admin agent with delegated admin", as(w.pAgent), w.d, "northwind.onmicrosoft.com", []auth.Role{auth.CustomerGlobalAdmin}, 0, ""},
			{"DA-6: to a GLOBAL_ADMIN its customer's users do not exist", as(w.p.Admin), w.c, w.cDomain, []auth.Role{auth.CustomerUser}, errs.NotFound, errs.ReasonResourceNotFound},
			{"ID-8: another partner's Admin agent", as(domain.User{ID: "x", OrgID: qID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}), w.c, w.cDomain, []auth.Role{auth.CustomerUser}, errs.NotFound, errs.ReasonResourceNotFound},
			{"an operator, anywhere", operator(), w.c, w.cDomain, []auth.Role{auth.CustomerGlobalAdmin, auth.CustomerUser}, 0, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := app.NewUser{OrgID: tc.org, UserName: name(tc.user), DisplayName: "New", Email: "new@example.com", Roles: tc.roles}
				u, err := w.a.CreateUser(tc.ctx, in)
				if tc.kind != 0 {
					wantErr(t, tc.name, err, tc.kind, tc.reason)
					if w.userNameExists(t, in.UserName) {
						t.Errorf("%s: the refusal stored the user", tc.name)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if u.UserName != in.UserName || u.Disabled || !slices.Equal(u.Roles, domain.SortRoles(slices.Clone(tc.roles))) ||
					!u.CreateTime.Equal(t0) {
					t.Errorf("created %+v", u)
				}
				if got, err := w.a.GetUser(operator(), u.ID); err != nil || got.Etag != u.Etag || got.OrgKind != u.OrgKind {
					t.Errorf("read back %+v, %v", got, err)
				}
			})
		}
		if got := w.da.asked; len(got) == 0 || slices.ContainsFunc(got, func(r string) bool { return r != "USER_ADMINISTRATOR" }) {
			t.Errorf("delegatedadmin asked for %v; want USER_ADMINISTRATOR only", got)
		}
	})
}

func (w *userWorld) userNameExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := w.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM users WHERE user_name = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestCreateUser_BadInputAndTakenNames(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		before, _, _ := w.a.ListUsers(operator(), w.p.Partner.ID, "", "", 0, "")
		_, err := w.a.CreateUser(as(w.p.Admin), app.NewUser{
			UserName: "two@@p.example", DisplayName: "", Email: "nope",
			Roles: []auth.Role{auth.SalesAgent, "UNSPECIFIED", auth.SalesAgent},
		})
		wantViolations(t, "bad fields", err, "user_name", "display_name", "email", "roles[1]", "roles[2]")
		_, err = w.a.CreateUser(operator(), app.NewUser{UserName: "a@p.example", DisplayName: "A", Email: "a@p.example", Roles: []auth.Role{auth.SalesAgent}})
		wantViolations(t, "an operator names no org", err, "org_id")
		_, err = w.a.CreateUser(as(w.p.Admin), app.NewUser{UserName: "a@p.example", DisplayName: "A", Email: "a@p.example"})
		wantViolations(t, "no roles", err, "roles")
		_, err = w.a.CreateUser(as(w.p.Admin), app.NewUser{UserName: "SALES@P.example", DisplayName: "A", Email: "a@p.example", Roles: []auth.Role{auth.SalesAgent}})
		wantErr(t, "a name in use, in another case", err, errs.AlreadyExists, domain.ReasonUserNameTaken)
		_, err = w.a.CreateUser(as(w.cAdmin), app.NewUser{UserName: w.pSales.UserName, DisplayName: "A", Email: "a@p.example", Roles: []auth.Role{auth.CustomerUser}})
		wantViolations(t, "ID-2: the tenant's domain is checked before the name", err, "user_name")
		after, _, _ := w.a.ListUsers(operator(), w.p.Partner.ID, "", "", 0, "")
		if len(after) != len(before) {
			t.Errorf("refusals created users: %d → %d", len(before), len(after))
		}
	})
}

// DA-6: no DelegatedAccess denies every delegated check; a delegatedadmin that does not answer
// makes the call fail (UNAVAILABLE), never succeed.
func TestCreateUser_DelegatedAccessMissingOrDown_DA6(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		in := app.NewUser{OrgID: w.c, UserName: "x@" + w.cDomain, DisplayName: "X", Email: "x@example.com", Roles: []auth.Role{auth.CustomerUser}}
		w.da.set(w.p.Partner.ID, w.c, true)
		w.da.err = errs.Unavailablef("delegatedadmin does not answer")
		_, err := w.a.CreateUser(as(w.pAgent), in)
		wantErr(t, "delegatedadmin down", err, errs.Unavailable, errs.ReasonDependencyUnavailable)

		noDA := app.New(idsql.New(w.db), w.clk, app.Options{})
		_, err = noDA.CreateUser(as(w.pAgent), in)
		wantErr(t, "no DelegatedAccess", err, errs.PermissionDenied, "DELEGATED_ADMIN_REQUIRED")
	})
}

// ID-8: a user is visible to itself, its organisation's user admins, any user of the same
// partner, delegated Admin agents and operators; to anyone else it does not exist.
func TestGetUser_ID8(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		w.da.set(w.p.Partner.ID, w.c, true)
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			target domain.User
			ok     bool
		}{
			{"itself", as(w.pSales), w.pSales, true},
			{"a sales agent reads its partner's admin", as(w.pSales), w.p.Admin, true},
			{"a service for a partner user", onBehalfOf(w.pSales), w.pAgent, true},
			{"another partner", as(w.q.Admin), w.pSales, false},
			{"a customer admin reads its tenant's user", as(w.cAdmin), w.cUser, true},
			{"a plain customer user reads itself", as(w.cUser), w.cUser, true},
			{"a plain customer user does not see its admin", as(w.cUser), w.cAdmin, false},
			{"a customer does not see its partner's users", as(w.cAdmin), w.pSales, false},
			{"DA-6: a delegated Admin agent reads the tenant's users", as(w.pAgent), w.cUser, true},
			{"DA-6: an Admin agent without delegated admin", as(w.pAgent), w.dAdmin, false},
			{"a partner sales agent does not see its customer's users", as(w.pSales), w.cUser, false},
			{"an operator", operator(), w.dAdmin, true},
		} {
			got, err := w.a.GetUser(tc.ctx, tc.target.ID)
			switch {
			case tc.ok && (err != nil || got.ID != tc.target.ID):
				t.Errorf("%s: %v", tc.name, err)
			case !tc.ok:
				wantErr(t, tc.name, err, errs.NotFound, errs.ReasonResourceNotFound)
			}
		}
		_, err := w.a.GetUser(operator(), uuid.NewString())
		wantErr(t, "unknown user", err, errs.NotFound, errs.ReasonResourceNotFound)
		_, err = w.a.GetUser(operator(), "")
		wantViolations(t, "no ID", err, "user_id")
	})
}

func TestListUsers_OrderFiltersPages(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		pID := w.p.Partner.ID
		extra := w.user(t, pID, "aaron@p.example", auth.GlobalAdmin, auth.SalesAgent)
		if _, err := w.a.DisableUser(as(w.p.Admin), extra.ID, ""); err != nil {
			t.Fatal(err)
		}
		all := []string{"aaron@p.example", "account@p.example", w.p.Admin.UserName, "agent@p.example", "sales@p.example"}
		slices.Sort(all)
		walk := func(ctx context.Context, org string, role auth.Role, state string, size int32) []string {
			t.Helper()
			var got []string
			token := ""
			for range 10 {
				page, next, err := w.a.ListUsers(ctx, org, role, state, size, token)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range page {
					got = append(got, u.UserName)
				}
				if token = next; token == "" {
					return got
				}
			}
			t.Fatal("pages never end")
			return nil
		}
		if got := walk(as(w.pSales), "", "", "", 2); !slices.Equal(got, all) {
			t.Errorf("all by a sales agent: %v, want %v", got, all)
		}
		if got := walk(operator(), pID, auth.GlobalAdmin, "", 1); !slices.Equal(got, sorted("aaron@p.example", w.p.Admin.UserName)) {
			t.Errorf("GLOBAL_ADMIN: %v", got)
		}
		if got := walk(operator(), pID, auth.GlobalAdmin, app.UserStateActive, 50); !slices.Equal(got, []string{w.p.Admin.UserName}) {
			t.Errorf("active GLOBAL_ADMIN: %v", got)
		}
		if got := walk(operator(), pID, "", app.UserStateDisabled, 50); !slices.Equal(got, []string{"aaron@p.example"}) {
			t.Errorf("disabled: %v", got)
		}
		// ",GLOBAL_ADMIN," must not match inside ",CUSTOMER_GLOBAL_ADMIN,".
		if got := walk(operator(), w.c, auth.GlobalAdmin, "", 50); len(got) != 0 {
			t.Errorf("GLOBAL_ADMIN in a tenant: %v", got)
		}
		if got := walk(as(w.cAdmin), "", auth.CustomerGlobalAdmin, "", 50); !slices.Equal(got, []string{w.cAdmin.UserName}) {
			t.Errorf("CUSTOMER_GLOBAL_ADMIN: %v", got)
		}

		_, next, err := w.a.ListUsers(as(w.pSales), "", "", "", 1, "")
		if err != nil || next == "" {
			t.Fatal(next, err)
		}
		_, _, err = w.a.ListUsers(as(w.pAgent), pID, "", "", 1, next)
		wantErr(t, "a token replayed by another caller", err, errs.InvalidArgument, errs.ReasonInvalidPageToken)

		for _, tc := range []struct {
			name   string
			ctx    context.Context
			org    string
			kind   errs.Kind
			reason errs.Reason
		}{
			{"a plain customer user, its own tenant", as(w.cUser), "", errs.PermissionDenied, errs.ReasonRoleRequired},
			{"ID-8: another partner", as(w.q.Admin), pID, errs.NotFound, errs.ReasonResourceNotFound},
			{"DA-6: an Admin agent in its customer, no delegated admin", as(w.pAgent), w.c, errs.PermissionDenied, "DELEGATED_ADMIN_REQUIRED"},
			{"ID-8: an Admin agent in a stranger's tenant", as(w.pAgent), w.d, errs.NotFound, errs.ReasonResourceNotFound},
			{"ID-8: a sales agent in its own customer", as(w.pSales), w.c, errs.NotFound, errs.ReasonResourceNotFound},
			{"an operator names no org", operator(), "", errs.InvalidArgument, errs.ReasonInvalidRequest},
		} {
			_, _, err := w.a.ListUsers(tc.ctx, tc.org, "", "", 0, "")
			wantErr(t, tc.name, err, tc.kind, tc.reason)
		}
		_, _, err = w.a.ListUsers(operator(), pID, "BOSS", "ASLEEP", -2, "")
		wantViolations(t, "bad filters", err, "role", "state", "page_size")

		w.da.set(w.p.Partner.ID, w.c, true)
		if got := walk(as(w.pAgent), w.c, "", "", 50); len(got) != 2 {
			t.Errorf("DA-6: delegated Admin agent lists %v", got)
		}
	})
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func TestUpdateUserRoles(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		t1, _ := w.clk.Advance(time.Hour)

		// A partner admin changes a user's roles; tokens issued afterwards carry the new ones.
		cred, secret, err := w.a.CreateApiCredential(as(w.pSales), "", "job", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.a.UpdateUserRoles(as(w.pAccount), w.pSales.ID, []auth.Role{auth.BillingAgent, auth.SalesAgent}, w.pSales.Etag)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Roles, []auth.Role{auth.SalesAgent, auth.BillingAgent}) || got.Etag == w.pSales.Etag || !got.UpdateTime.Equal(t1) {
			t.Errorf("updated %+v", got)
		}
		if tok, err := w.a.IssueToken(context.Background(), cred.ClientID, secret, 0); err != nil || !tok.Principal.HasRole(auth.BillingAgent) {
			t.Errorf("new token: %+v, %v", tok.Principal, err)
		}
		if same, err := w.a.UpdateUserRoles(as(w.pAccount), w.pSales.ID, []auth.Role{auth.SalesAgent, auth.BillingAgent}, ""); err != nil || same.Etag != got.Etag {
			t.Errorf("no-op update: %v, etag changed %v", err, same.Etag != got.Etag)
		}

		disabled, err := w.a.DisableUser(operator(), w.user(t, w.p.Partner.ID, "gone@p.example", auth.SalesAgent).ID, "")
		if err != nil {
			t.Fatal(err)
		}
		w.da.set(w.p.Partner.ID, w.c, true)
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			target domain.User
			roles  []auth.Role
			etag   string
			kind   errs.Kind
			reason errs.Reason
		}{
			{"LAST_GLOBAL_ADMIN: the partner's only GLOBAL_ADMIN demotes itself", as(w.p.Admin), w.p.Admin, []auth.Role{auth.AccountAdmin}, "", errs.FailedPrecondition, domain.ReasonLastGlobalAdmin},
			{"LAST_GLOBAL_ADMIN: the tenant's only CUSTOMER_GLOBAL_ADMIN", as(w.cAdmin), w.cAdmin, []auth.Role{auth.CustomerUser}, "", errs.FailedPrecondition, domain.ReasonLastGlobalAdmin},
			{"an ACCOUNT_ADMIN may not grant GLOBAL_ADMIN", as(w.pAccount), w.pAgent, []auth.Role{auth.AdminAgent, auth.GlobalAdmin}, "", errs.PermissionDenied, errs.ReasonRoleRequired},
			{"an ACCOUNT_ADMIN may not remove GLOBAL_ADMIN", as(w.pAccount), w.p.Admin, []auth.Role{auth.AccountAdmin}, "", errs.PermissionDenied, errs.ReasonRoleRequired},
			{"an Admin agent is no partner user admin", as(w.pAgent), w.pSales, []auth.Role{auth.SalesAgent}, "", errs.PermissionDenied, errs.ReasonRoleRequired},
			{"a stale etag", as(w.p.Admin), w.pAgent, []auth.Role{auth.SalesAgent}, "stale", errs.Aborted, errs.ReasonEtagMismatch},
			{"a disabled user", as(w.p.Admin), disabled, []auth.Role{auth.BillingAgent}, "", errs.PermissionDenied, domain.ReasonUserDisabled},
			{"ID-8: another partner's user", as(w.q.Admin), w.pAgent, []auth.Role{auth.SalesAgent}, "", errs.NotFound, errs.ReasonResourceNotFound},
			{"DA-6: delegated admin in C does not reach D", as(w.pAgent), w.dAdmin, []auth.Role{auth.CustomerUser}, "", errs.NotFound, errs.ReasonResourceNotFound},
			{"roles of the wrong kind", as(w.cAdmin), w.cUser, []auth.Role{auth.SalesAgent}, "", errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"no roles", as(w.p.Admin), w.pAgent, nil, "", errs.InvalidArgument, errs.ReasonInvalidRequest},
		} {
			_, err := w.a.UpdateUserRoles(tc.ctx, tc.target.ID, tc.roles, tc.etag)
			wantErr(t, tc.name, err, tc.kind, tc.reason)
			if now, _ := w.a.GetUser(operator(), tc.target.ID); now.Etag != tc.target.Etag && tc.target.ID != w.pSales.ID {
				t.Errorf("%s: the refusal changed the user", tc.name)
			}
		}

		// DA-6: a delegated Admin agent manages the tenant's users.
		if u, err := w.a.UpdateUserRoles(as(w.pAgent), w.cUser.ID, []auth.Role{auth.CustomerGlobalAdmin}, ""); err != nil || !u.HasRole(auth.CustomerGlobalAdmin) {
			t.Errorf("delegated update: %+v, %v", u, err)
		}
		// With a second CUSTOMER_GLOBAL_ADMIN, the first may step down.
		if _, err := w.a.UpdateUserRoles(as(w.cAdmin), w.cAdmin.ID, []auth.Role{auth.CustomerUser}, ""); err != nil {
			t.Errorf("second admin present: %v", err)
		}
		// A GLOBAL_ADMIN grants GLOBAL_ADMIN; then the first one may step down.
		if _, err := w.a.UpdateUserRoles(as(w.p.Admin), w.pAccount.ID, []auth.Role{auth.AccountAdmin, auth.GlobalAdmin}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := w.a.UpdateUserRoles(as(w.p.Admin), w.p.Admin.ID, []auth.Role{auth.AccountAdmin}, ""); err != nil {
			t.Errorf("second GLOBAL_ADMIN present: %v", err)
		}
	})
}

func TestDisableUser(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		cred, secret, err := w.a.CreateApiCredential(as(w.pSales), "", "", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		t1, _ := w.clk.Advance(time.Minute)
		u, err := w.a.DisableUser(as(w.pAccount), w.pSales.ID, w.pSales.Etag)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Disabled || !u.DisableTime.Equal(t1) || u.Etag == w.pSales.Etag {
			t.Errorf("disabled %+v", u)
		}
		// Its credentials stop issuing tokens at once.
		_, err = w.a.IssueToken(context.Background(), cred.ClientID, secret, 0)
		wantErr(t, "token of a disabled user", err, errs.PermissionDenied, domain.ReasonUserDisabled)
		// Disabling again returns it unchanged, even with the etag read before.
		again, err := w.a.DisableUser(as(w.pAccount), w.pSales.ID, w.pSales.Etag)
		if err != nil || again.Etag != u.Etag || !again.DisableTime.Equal(t1) {
			t.Errorf("second disable: %+v, %v", again, err)
		}
		_, _, err = w.a.CreateApiCredential(as(w.pAccount), w.pSales.ID, "", time.Time{})
		wantErr(t, "a credential for a disabled user", err, errs.PermissionDenied, domain.ReasonUserDisabled)

		second := w.user(t, w.p.Partner.ID, "ga2@p.example", auth.GlobalAdmin)
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			target domain.User
			etag   string
			kind   errs.Kind
			reason errs.Reason
		}{
			{"an ACCOUNT_ADMIN may not disable a GLOBAL_ADMIN", as(w.pAccount), second, "", errs.PermissionDenied, errs.ReasonRoleRequired},
			{"LAST_GLOBAL_ADMIN: the tenant's only CUSTOMER_GLOBAL_ADMIN", as(w.cAdmin), w.cAdmin, "", errs.FailedPrecondition, domain.ReasonLastGlobalAdmin},
			{"a stale etag", as(w.p.Admin), w.pAgent, "stale", errs.Aborted, errs.ReasonEtagMismatch},
			{"ID-8: a customer admin, a partner user", as(w.cAdmin), w.pAgent, "", errs.NotFound, errs.ReasonResourceNotFound},
			{"DA-6: an Admin agent without delegated admin in its customer", as(w.pAgent), w.cUser, "", errs.PermissionDenied, "DELEGATED_ADMIN_REQUIRED"},
		} {
			_, err := w.a.DisableUser(tc.ctx, tc.target.ID, tc.etag)
			wantErr(t, tc.name, err, tc.kind, tc.reason)
		}
		// Two GLOBAL_ADMINs: one goes; the last one stays (LAST_GLOBAL_ADMIN), a disabled one does
		// not count.
		if _, err := w.a.DisableUser(as(w.p.Admin), second.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = w.a.DisableUser(operator(), w.p.Admin.ID, "")
		wantErr(t, "LAST_GLOBAL_ADMIN: the partner's last active GLOBAL_ADMIN", err, errs.FailedPrecondition, domain.ReasonLastGlobalAdmin)

		w.da.set(w.p.Partner.ID, w.c, true)
		if u, err := w.a.DisableUser(as(w.pAgent), w.cUser.ID, ""); err != nil || !u.Disabled {
			t.Errorf("DA-6: delegated disable: %+v, %v", u, err)
		}
		_, err = w.a.DisableUser(as(w.p.Admin), "", "")
		wantViolations(t, "no ID", err, "user_id")
	})
}

// Concurrent demotions of the last two GLOBAL_ADMINs: exactly one wins (LAST_GLOBAL_ADMIN is
// checked in the transaction that writes).
func TestLastGlobalAdmin_Concurrent(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		second := w.user(t, w.p.Partner.ID, "ga2@p.example", auth.GlobalAdmin)
		errc := make(chan error, 2)
		for _, u := range []domain.User{w.p.Admin, second} {
			go func() { _, err := w.a.DisableUser(operator(), u.ID, ""); errc <- err }()
		}
		var ok, last int
		for range 2 {
			switch err := <-errc; {
			case err == nil:
				ok++
			case errs.HasReason(err, domain.ReasonLastGlobalAdmin):
				last++
			default:
				t.Errorf("unexpected %v", err)
			}
		}
		if ok != 1 || last != 1 {
			t.Errorf("%d succeeded, %d refused; want one each", ok, last)
		}
	})
}

func TestApiCredentials_CreateListRevoke(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newUserWorld(t, dsn)
		// Default expiry 365 days; at most 730 days; in the future.
		c1, s1, err := w.a.CreateApiCredential(as(w.pSales), "", "  export job ", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if c1.UserID != w.pSales.ID || c1.OrgID != w.p.Partner.ID || c1.DisplayName != "export job" ||
			!c1.ExpireTime.Equal(t0.Add(365*24*time.Hour)) || len(s1) < 43 || !c1.CreateTime.Equal(t0) {
			t.Errorf("created %+v", c1)
		}
		w.clk.Advance(time.Second)
		c2, _, err := w.a.CreateApiCredential(as(w.pAccount), w.pSales.ID, "", w.clk.Now().Add(730*24*time.Hour))
		if err != nil {
			t.Fatalf("730 days: %v", err)
		}
		w.clk.Advance(time.Second)
		c3, s3, err := w.a.CreateApiCredential(operator(), w.pSales.ID, "", w.clk.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		c4, _, err := w.a.CreateApiCredential(as(w.cAdmin), w.cUser.ID, "", time.Time{})
		if err != nil {
			t.Errorf("CUSTOMER_GLOBAL_ADMIN for its tenant's user: %v", err)
		}

		w.da.set(w.p.Partner.ID, w.c, true) // delegated admin never reaches credentials
		second := w.user(t, w.p.Partner.ID, "ga2@p.example", auth.GlobalAdmin)
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			user   string
			expire time.Time
			kind   errs.Kind
			reason errs.Reason
		}{
			{"expire in the past", as(w.pSales), "", w.clk.Now().Add(-time.Second), errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"expire now", as(w.pSales), "", w.clk.Now(), errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"expire after 730 days", as(w.pSales), "", w.clk.Now().Add(730*24*time.Hour + time.Second), errs.InvalidArgument, errs.ReasonInvalidRequest},
			{"a sales agent for another user", as(w.pSales), w.pAgent.ID, time.Time{}, errs.PermissionDenied, errs.ReasonRoleRequired},
			{"an ACCOUNT_ADMIN for a GLOBAL_ADMIN", as(w.pAccount), second.ID, time.Time{}, errs.PermissionDenied, errs.ReasonRoleRequired},
			{"partners never create customer credentials, even delegated", as(w.pAgent), w.cUser.ID, time.Time{}, errs.NotFound, errs.ReasonResourceNotFound},
			{"partner GLOBAL_ADMIN, its customer's user", as(w.p.Admin), w.cUser.ID, time.Time{}, errs.NotFound, errs.ReasonResourceNotFound},
			{"a plain customer user for its admin", as(w.cUser), w.cAdmin.ID, time.Time{}, errs.NotFound, errs.ReasonResourceNotFound},
			{"ID-8: another partner", as(w.q.Admin), w.pSales.ID, time.Time{}, errs.NotFound, errs.ReasonResourceNotFound},
			{"an operator names no user", operator(), "", time.Time{}, errs.InvalidArgument, errs.ReasonInvalidRequest},
		} {
			_, _, err := w.a.CreateApiCredential(tc.ctx, tc.user, "", tc.expire)
			wantErr(t, tc.name, err, tc.kind, tc.reason)
		}
		if _, _, err := w.a.CreateApiCredential(as(w.p.Admin), second.ID, "", time.Time{}); err != nil {
			t.Errorf("a GLOBAL_ADMIN for a GLOBAL_ADMIN: %v", err)
		}
		if _, _, err := w.a.CreateApiCredential(as(w.pSales), "", strings.Repeat("é", 101), time.Time{}); !errs.HasReason(err, errs.ReasonInvalidRequest) {
			t.Errorf("a 101-character label: %v", err)
		}

		// States at the service clock: c3 expires after an hour; c1 is revoked.
		w.clk.Advance(2 * time.Hour)
		if _, err := w.a.IssueToken(context.Background(), c3.ClientID, s3, 0); !errs.HasReason(err, domain.ReasonCredentialInvalid) {
			t.Errorf("expired credential: %v", err)
		}
		r1, err := w.a.RevokeApiCredential(as(w.pSales), c1.ID, c1.Etag)
		if err != nil || r1.RevokeTime.IsZero() || r1.StateAt(w.clk.Now()) != domain.CredentialRevoked {
			t.Fatalf("revoke: %+v, %v", r1, err)
		}
		if _, err := w.a.IssueToken(context.Background(), c1.ClientID, s1, 0); !errs.HasReason(err, domain.ReasonCredentialInvalid) {
			t.Errorf("revoked credential: %v", err)
		}
		again, err := w.a.RevokeApiCredential(as(w.pSales), c1.ID, "stale")
		if err != nil || again.Etag != r1.Etag || !again.RevokeTime.Equal(r1.RevokeTime) {
			t.Errorf("revoking a revoked credential: %+v, %v", again, err)
		}

		list := func(ctx context.Context, user string, state domain.CredentialState, size int32) []string {
			t.Helper()
			var got []string
			token := ""
			for range 10 {
				page, err := w.a.ListApiCredentials(ctx, user, state, size, token)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range page.Credentials {
					if state != "" && c.StateAt(page.At) != state {
						t.Errorf("%s listed under %s", c.StateAt(page.At), state)
					}
					if len(c.SecretHash) == 0 {
						t.Errorf("no secret hash read back")
					}
					got = append(got, c.ID)
				}
				if token = page.Next; token == "" {
					return got
				}
			}
			t.Fatal("pages never end")
			return nil
		}
		if got := list(as(w.pSales), "", "", 1); !slices.Equal(got, []string{c3.ID, c2.ID, c1.ID}) {
			t.Errorf("newest first: %v, want %v", got, []string{c3.ID, c2.ID, c1.ID})
		}
		for state, want := range map[domain.CredentialState][]string{
			domain.CredentialActive: {c2.ID}, domain.CredentialExpired: {c3.ID}, domain.CredentialRevoked: {c1.ID},
		} {
			if got := list(as(w.pAccount), w.pSales.ID, state, 50); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", state, got, want)
			}
		}
		if got := list(as(w.cAdmin), w.cUser.ID, "", 50); !slices.Equal(got, []string{c4.ID}) {
			t.Errorf("customer: %v", got)
		}
		_, err = w.a.ListApiCredentials(as(w.pAgent), w.cUser.ID, "", 0, "")
		wantErr(t, "partners never see customer credentials", err, errs.NotFound, errs.ReasonResourceNotFound)
		_, err = w.a.ListApiCredentials(as(w.pSales), "", "LOST", 0, "")
		wantViolations(t, "bad state", err, "state")

		for _, tc := range []struct {
			name   string
			ctx    context.Context
			id     string
			etag   string
			kind   errs.Kind
			reason errs.Reason
		}{
			{"a stale etag", as(w.pSales), c2.ID, "stale", errs.Aborted, errs.ReasonEtagMismatch},
			{"ID-8: another partner", as(w.q.Admin), c2.ID, "", errs.NotFound, errs.ReasonResourceNotFound},
			{"a sales agent, another user's credential", as(w.pAgent), c2.ID, "", errs.PermissionDenied, errs.ReasonRoleRequired},
			{"partners never revoke customer credentials", as(w.pAgent), c4.ID, "", errs.NotFound, errs.ReasonResourceNotFound},
			{"unknown", operator(), uuid.NewString(), "", errs.NotFound, errs.ReasonResourceNotFound},
		} {
			_, err := w.a.RevokeApiCredential(tc.ctx, tc.id, tc.etag)
			wantErr(t, tc.name, err, tc.kind, tc.reason)
		}
		if page, _ := w.a.ListApiCredentials(operator(), w.pSales.ID, domain.CredentialActive, 0, ""); len(page.Credentials) != 1 {
			t.Errorf("refusals revoked something: %d active", len(page.Credentials))
		}
	})
}
