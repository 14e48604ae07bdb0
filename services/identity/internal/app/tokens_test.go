package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Service tokens: "svc_<name>" credentials from configuration, the SERVICE principal, and an
// optional on-behalf-of principal every other service then acts as.
func TestIssueServiceToken(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		ctx := context.Background()
		verifier := auth.NewVerifier(f.a, time.Now)

		tok, err := f.a.IssueServiceToken(ctx, "svc_orders", svcSecret, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := verifier.Verify(ctx, tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != "service:orders" || p.OrgID != "partnerhub" || p.OrgKind != auth.OrgService ||
			!slices.Equal(p.Roles, []auth.Role{auth.Service}) || p.OnBehalfOf != nil || !p.IsService() {
			t.Errorf("service principal %+v", p)
		}
		if got := tok.Expire.Sub(tok.IssueTime); got != 15*time.Minute {
			t.Errorf("default lifetime %v", got)
		}

		obo := &auth.Principal{Subject: "u-1", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent, auth.AdminAgent}}
		tok, err = f.a.IssueServiceToken(ctx, "svc_orders", svcSecret, obo, 2*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Expire.Sub(tok.IssueTime); got != time.Hour {
			t.Errorf("a 2 h lifetime is not clamped to 1 h: %v", got)
		}
		p, err = verifier.Verify(ctx, tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		want := auth.Principal{Subject: "u-1", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent, auth.SalesAgent}}
		if e := p.Effective(); e.Subject != want.Subject || e.OrgID != want.OrgID || e.OrgKind != want.OrgKind || !slices.Equal(e.Roles, want.Roles) {
			t.Errorf("the token acts as %+v, want %+v", e, want)
		}
		if o := tok.Principal.OnBehalfOf; o == nil || !slices.Equal(o.Roles, want.Roles) {
			t.Errorf("returned on_behalf_of %+v", o)
		}
		if tok, _ := f.a.IssueServiceToken(ctx, "svc_orders", svcSecret, nil, 10*time.Second); tok.Expire.Sub(tok.IssueTime) != time.Minute {
			t.Errorf("a 10 s lifetime is not raised to 1 min")
		}

		user := f.partner(t, "P", "DE")
		for name, c := range map[string]struct{ id, secret string }{
			"wrong secret":          {"svc_orders", "wrong-secret-0123456789"},
			"unknown service":       {"svc_billing", svcSecret},
			"no svc_ prefix":        {"orders", svcSecret},
			"a user credential":     {user.Credential.ClientID, user.Secret},
			"a prefix-only id":      {"svc_", svcSecret},
			"the secret as a name":  {"svc_" + svcSecret, svcSecret},
			"upper-case service id": {"SVC_orders", svcSecret},
		} {
			_, err := f.a.IssueServiceToken(ctx, c.id, c.secret, nil, 0)
			wantErr(t, name, err, errs.Unauthenticated, domain.ReasonCredentialInvalid)
		}
		// A service credential is no user credential either.
		_, err = f.a.IssueToken(ctx, "svc_orders", svcSecret, 0)
		wantErr(t, "a service credential with IssueToken", err, errs.Unauthenticated, domain.ReasonCredentialInvalid)

		for _, tc := range []struct {
			name   string
			id     string
			obo    *auth.Principal
			fields []string
		}{
			{"no credential", "", nil, []string{"client_id", "client_secret"}},
			{"an empty on_behalf_of", "svc_orders", &auth.Principal{},
				[]string{"on_behalf_of.subject", "on_behalf_of.org_id", "on_behalf_of.org_kind", "on_behalf_of.roles"}},
			{"on behalf of a service", "svc_orders", &auth.Principal{Subject: "service:x", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}},
				[]string{"on_behalf_of.org_kind", "on_behalf_of.roles[0]"}},
			{"unknown and repeated roles", "svc_orders", &auth.Principal{Subject: "u", OrgID: "c", OrgKind: auth.OrgCustomer, Roles: []auth.Role{"UNSPECIFIED", auth.CustomerUser, auth.CustomerUser}},
				[]string{"on_behalf_of.roles[0]", "on_behalf_of.roles[2]"}},
			{"a nested on_behalf_of", "svc_orders", &auth.Principal{Subject: "u", OrgID: "c", OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerUser}, OnBehalfOf: &auth.Principal{}},
				[]string{"on_behalf_of"}},
		} {
			secret := svcSecret
			if tc.id == "" {
				secret = ""
			}
			_, err := f.a.IssueServiceToken(ctx, tc.id, secret, tc.obo, 0)
			wantViolations(t, tc.name, err, tc.fields...)
		}
	})
}

// identity's own service token (it calls delegatedadmin as "identity") needs no secret.
func TestServiceToken_MintedLocally(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		ctx := context.Background()
		obo := &auth.Principal{Subject: "u", OrgID: "p", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
		tok, err := f.a.ServiceToken(ctx, "identity", obo, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		p, err := auth.NewVerifier(f.a, time.Now).Verify(ctx, tok.Token)
		if err != nil || p.Subject != "service:identity" || !p.IsService() || p.Effective().Subject != "u" {
			t.Errorf("principal %+v, %v", p, err)
		}
		_, err = f.a.ServiceToken(ctx, "", &auth.Principal{}, 0)
		wantViolations(t, "no name, empty obo", err, "name", "on_behalf_of.subject", "on_behalf_of.org_id", "on_behalf_of.org_kind", "on_behalf_of.roles")
	})
}

// IssueToken records the credential's last use at the service clock, at most once a minute.
func TestIssueToken_RecordsLastUse(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		f := newOrgFixture(t, dsn)
		ctx := context.Background()
		p := f.partner(t, "P", "DE")
		lastUse := func() time.Time {
			t.Helper()
			page, err := f.a.ListApiCredentials(as(p.Admin), "", "", 0, "")
			if err != nil || len(page.Credentials) != 1 {
				t.Fatalf("list: %+v, %v", page, err)
			}
			return page.Credentials[0].LastUseTime
		}
		if !lastUse().IsZero() {
			t.Fatal("a new credential has a last use")
		}
		t1, _ := f.clk.Advance(time.Hour)
		if _, err := f.a.IssueToken(ctx, p.Credential.ClientID, p.Secret, 0); err != nil {
			t.Fatal(err)
		}
		if got := lastUse(); !got.Equal(t1) {
			t.Errorf("last use %v, want %v", got, t1)
		}
		f.clk.Advance(30 * time.Second)
		if _, err := f.a.IssueToken(ctx, p.Credential.ClientID, p.Secret, 0); err != nil {
			t.Fatal(err)
		}
		if got := lastUse(); !got.Equal(t1) {
			t.Errorf("last use rewritten within a minute: %v", got)
		}
		t2, _ := f.clk.Advance(time.Minute)
		if _, err := f.a.IssueToken(ctx, p.Credential.ClientID, p.Secret, 0); err != nil {
			t.Fatal(err)
		}
		if got := lastUse(); !got.Equal(t2) {
			t.Errorf("last use %v, want %v", got, t2)
		}
		// A failed attempt is no use.
		f.clk.Advance(time.Hour)
		_, _ = f.a.IssueToken(ctx, p.Credential.ClientID, "wrong", 0)
		if got := lastUse(); !got.Equal(t2) {
			t.Errorf("a wrong secret counted as a use: %v", got)
		}
	})
}
