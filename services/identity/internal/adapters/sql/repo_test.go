package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	idsql "github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const secret = "test-demo-secret-0123456789"

// open returns identity's use cases over a migrated database.
func open(t *testing.T, dsn string) (*app.App, *store.DB) {
	t.Helper()
	db := testkit.OpenDB(t, dsn, migrations.FS, "identity_schema")
	return app.New(idsql.New(db), clock.Real{}, app.Options{}), db
}

// The token path on both engines: demo seeding, IssueToken, verification with identity's own
// published keys, and every credential failure answering the same CREDENTIAL_INVALID.
func TestTokenPath(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a, _ := open(t, dsn)
		created, err := a.SeedDemo(ctx, secret)
		if err != nil || !created {
			t.Fatalf("SeedDemo = %v, %v", created, err)
		}
		if created, err := a.SeedDemo(ctx, secret); err != nil || created {
			t.Fatalf("second SeedDemo = %v, %v; want nothing created", created, err)
		}

		tok, err := a.IssueToken(ctx, app.DemoClientID, secret, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Expire.Sub(tok.IssueTime); got != app.DefaultTokenLifetime {
			t.Errorf("lifetime %v, want %v", got, app.DefaultTokenLifetime)
		}
		p, err := auth.NewVerifier(a, time.Now).Verify(ctx, tok.Token)
		if err != nil {
			t.Fatalf("identity's own token does not verify: %v", err)
		}
		if p.Subject != app.DemoUserID || p.OrgID != app.DemoPartnerID || p.OrgKind != auth.OrgPartner || !p.HasRole(auth.AdminAgent) {
			t.Errorf("principal %+v", p)
		}

		if tok, err := a.IssueToken(ctx, app.DemoClientID, secret, 24*time.Hour); err != nil || tok.Expire.Sub(tok.IssueTime) != time.Hour {
			t.Errorf("a 24 h lifetime is not clamped to 1 h: %v, %v", tok.Expire.Sub(tok.IssueTime), err)
		}
		for _, c := range []struct{ id, secret string }{
			{app.DemoClientID, "wrong-secret"}, {"no-such-client", secret},
		} {
			_, err := a.IssueToken(ctx, c.id, c.secret, 0)
			if errs.KindOf(err) != errs.Unauthenticated || errs.ReasonOf(err) != "CREDENTIAL_INVALID" {
				t.Errorf("IssueToken(%q, %q) = %v; want UNAUTHENTICATED / CREDENTIAL_INVALID", c.id, c.secret, err)
			}
		}
		if _, err := a.IssueToken(ctx, "", "", 0); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("empty credential: %v; want INVALID_ARGUMENT", err)
		}
	})
}

// Two identity replicas on one database publish the same keys: a token signed by one verifies
// with the keys the other publishes.
func TestSigningKeys_ReplicasConverge(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a, db := open(t, dsn)
		b := app.New(idsql.New(db), clock.Real{}, app.Options{})
		if _, err := a.SeedDemo(ctx, secret); err != nil {
			t.Fatal(err)
		}
		tok, err := a.IssueToken(ctx, app.DemoClientID, secret, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := auth.NewVerifier(b, time.Now).Verify(ctx, tok.Token); err != nil {
			t.Fatalf("replica b does not verify replica a's token: %v", err)
		}
		ka, _ := a.SigningKeys(ctx)
		kb, _ := b.SigningKeys(ctx)
		if len(ka) != 1 || len(kb) != 1 || ka[0].ID != kb[0].ID {
			t.Errorf("replicas publish %d and %d keys", len(ka), len(kb))
		}
	})
}

// ID-8: a partner sees only itself; another organisation gets NOT_FOUND, as for a partner that
// does not exist.
func TestGetPartner_OnlyYourOwn(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a, _ := open(t, dsn)
		if _, err := a.SeedDemo(ctx, secret); err != nil {
			t.Fatal(err)
		}
		own := auth.WithPrincipal(ctx, auth.Principal{Subject: "u", OrgID: app.DemoPartnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}})
		if p, err := a.GetPartner(own, app.DemoPartnerID); err != nil || p.CountryCode != "DE" || len(p.Enrolments) != 3 {
			t.Fatalf("own partner: %+v, %v", p, err)
		}
		other := auth.WithPrincipal(ctx, auth.Principal{Subject: "u", OrgID: "00000000-0000-4000-8000-0000000000ff", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}})
		customer := auth.WithPrincipal(ctx, auth.Principal{Subject: "u", OrgID: app.DemoPartnerID, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}})
		for name, c := range map[string]context.Context{"another partner": other, "a customer with the same ID": customer} {
			if _, err := a.GetPartner(c, app.DemoPartnerID); errs.KindOf(err) != errs.NotFound {
				t.Errorf("%s: %v; want NOT_FOUND", name, err)
			}
		}
		if _, err := a.GetPartner(own, "00000000-0000-4000-8000-000000000000"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown partner: %v; want NOT_FOUND", err)
		}
	})
}
