package sql_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	idsql "github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
	"github.com/partnerhub/partnerhub/services/identity/migrations"
)

// A database created by the first release (migration 001 only) with the devstack's demo rows
// keeps working after the upgrade to the latest schema: the demo partner keeps its three
// programs with their enrolment time (ID-1), and the demo credential, which predates expiry,
// still issues tokens.
func TestMigration_From001_KeepsDemoData(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		first, err := fs.ReadFile(migrations.FS, "001_init.sql")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, fstest.MapFS{"001_init.sql": {Data: first}}, "identity_schema"); err != nil {
			t.Fatal(err)
		}
		created := time.Date(2026, 1, 5, 8, 30, 0, 0, time.UTC)
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO partners (id, legal_name, country_code, programs, etag, created_at, updated_at)
				VALUES ($1, 'Contoso Cloud Partner GmbH (demo)', 'DE', 'CSP_DIRECT,OPEN,DELEGATED_ADMIN', 'e1', $2, $2)`,
				[]any{app.DemoPartnerID, created}},
			{`INSERT INTO users (id, org_id, org_kind, user_name, display_name, roles, disabled, etag, created_at, updated_at)
				VALUES ($1, $2, 'PARTNER', 'demo-admin@contoso-partner.example', 'Demo', 'ADMIN_AGENT,SALES_AGENT', FALSE, 'e2', $3, $3)`,
				[]any{app.DemoUserID, app.DemoPartnerID, created}},
			{`INSERT INTO api_credentials (client_id, user_id, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, NULL)`,
				[]any{app.DemoClientID, app.DemoUserID, domain.HashSecret(secret), created}},
		} {
			if _, err := db.ExecContext(ctx, stmt.sql, stmt.args...); err != nil {
				t.Fatal(err)
			}
		}

		if err := db.Migrate(ctx, migrations.FS, "identity_schema"); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		a := app.New(idsql.New(db), clock.Real{}, app.Options{})
		operator := auth.WithPrincipal(ctx, auth.Principal{Subject: "service:operator", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}})
		p, err := a.GetPartner(operator, app.DemoPartnerID)
		if err != nil {
			t.Fatal(err)
		}
		want := []domain.Program{domain.ProgramCSPDirect, domain.ProgramOpen, domain.ProgramDelegatedAdmin}
		if len(p.Enrolments) != len(want) {
			t.Fatalf("enrolments %+v, want %v", p.Enrolments, want)
		}
		for i, e := range p.Enrolments {
			if e.Program != want[i] || !e.Time.Equal(created) {
				t.Errorf("enrolment %d: %+v, want %s since %v", i, e, want[i], created)
			}
		}
		tok, err := a.IssueToken(ctx, app.DemoClientID, secret, 0)
		if err != nil {
			t.Fatalf("the demo credential no longer issues tokens: %v", err)
		}
		if tok.Principal.Subject != app.DemoUserID || !tok.Principal.HasRole(auth.AdminAgent) {
			t.Errorf("principal %+v", tok.Principal)
		}
		page, err := a.ListApiCredentials(operator, app.DemoUserID, domain.CredentialActive, 0, "")
		if err != nil || len(page.Credentials) != 1 || !page.Credentials[0].ExpireTime.IsZero() || page.Credentials[0].ClientID != app.DemoClientID {
			t.Errorf("demo credential after the upgrade: %+v, %v", page.Credentials, err)
		}
		// The upgraded demo partner is a full partner: its programs can be changed.
		if _, err := a.UpdatePartnerPrograms(operator, app.DemoPartnerID, []domain.Program{domain.ProgramCSPDirect}, p.Etag); err != nil {
			t.Errorf("update the upgraded partner: %v", err)
		}
	})
}
