package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	dasql "github.com/partnerhub/partnerhub/services/delegatedadmin/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partnerA    = "aaaaaaaa-0000-4000-8000-000000000001" // DELEGATED_ADMIN, reseller of X
	partnerB    = "bbbbbbbb-0000-4000-8000-000000000002" // DELEGATED_ADMIN, reseller of Y
	partnerC    = "cccccccc-0000-4000-8000-000000000005" // not enrolled, reseller of X
	customerX   = "eeeeeeee-0000-4000-8000-000000000003"
	customerY   = "ffffffff-0000-4000-8000-000000000004"
	nobody      = "99999999-0000-4000-8000-000000000009" // no such customer
	approvalURL = "https://partnerhub.example/delegated-admin/"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// fakeIdentity is identity as delegatedadmin needs it (app.Identity).
type fakeIdentity struct {
	mu       sync.Mutex
	partners map[string]app.PartnerFacts
	reseller map[[2]string]bool
	err      error // every call fails with it when set
	calls    int
}

func newFakeIdentity() *fakeIdentity {
	return &fakeIdentity{
		partners: map[string]app.PartnerFacts{
			partnerA: {Exists: true, DelegatedAdminEligible: true},
			partnerB: {Exists: true, DelegatedAdminEligible: true},
			partnerC: {Exists: true},
		},
		reseller: map[[2]string]bool{{partnerA, customerX}: true, {partnerB, customerY}: true, {partnerC, customerX}: true},
	}
}

func (f *fakeIdentity) Partner(_ context.Context, id string) (app.PartnerFacts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return app.PartnerFacts{}, f.err
	}
	return f.partners[id], nil
}

func (f *fakeIdentity) ResellerRelationship(_ context.Context, p, c string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	return f.reseller[[2]string{p, c}], nil
}

func (f *fakeIdentity) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// harness is the app over a real repository on a fake clock with a fake identity.
type harness struct {
	t     *testing.T
	app   *app.App
	clock *clock.Fake
	id    *fakeIdentity
	db    *store.DB
}

func newHarness(t *testing.T, dsn string) *harness {
	t.Helper()
	db := testkit.OpenDB(t, dsn, migrations.FS, "delegatedadmin_schema")
	h := &harness{t: t, clock: clock.NewFake(t0), id: newFakeIdentity(), db: db}
	h.app = app.New(dasql.New(db), h.id, h.clock, app.Options{ApprovalBaseURL: approvalURL, SweepBatch: 3})
	return h
}

// sqliteHarness is the harness on a fresh SQLite file; the lifecycle tests also run on
// PostgreSQL through testkit.ForEachDB.
func sqliteHarness(t *testing.T) *harness { return newHarness(t, testkit.SQLiteDSN(t)) }

// replica is a second instance of the service on the same database and clock.
func (h *harness) replica() *app.App {
	return app.New(dasql.New(h.db), h.id, h.clock, app.Options{ApprovalBaseURL: approvalURL, SweepBatch: 2})
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	if _, err := h.clock.Advance(d); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) set(at time.Time) {
	h.t.Helper()
	if _, err := h.clock.Set(at); err != nil {
		h.t.Fatal(err)
	}
}

// The callers.
func user(org string, kind auth.OrgKind, subject string, roles ...auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: subject, OrgID: org, OrgKind: kind, Roles: roles})
}

var (
	adminAgentA    = user(partnerA, auth.OrgPartner, "a-admin", auth.AdminAgent)
	accountAdminA  = user(partnerA, auth.OrgPartner, "a-account", auth.AccountAdmin)
	salesAgentA    = user(partnerA, auth.OrgPartner, "a-sales", auth.SalesAgent)
	adminAgentB    = user(partnerB, auth.OrgPartner, "b-admin", auth.AdminAgent)
	adminAgentC    = user(partnerC, auth.OrgPartner, "c-admin", auth.AdminAgent)
	globalAdminX   = user(customerX, auth.OrgCustomer, "x-ga", auth.CustomerGlobalAdmin)
	plainUserX     = user(customerX, auth.OrgCustomer, "x-user", auth.CustomerUser)
	globalAdminY   = user(customerY, auth.OrgCustomer, "y-ga", auth.CustomerGlobalAdmin)
	serviceAccount = user("orders", auth.OrgService, "svc_orders", auth.Service)
)

// onBehalfOf is a service token acting for the principal in ctx.
func onBehalfOf(ctx context.Context) context.Context {
	p, _ := auth.FromContext(ctx)
	return auth.WithPrincipal(context.Background(), auth.Principal{
		Subject: "svc_orders", OrgID: "orders", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &p,
	})
}

func roleOffer(customer string, days, extend int, roles ...domain.Role) domain.Offer {
	return domain.Offer{CustomerID: customer, Roles: roles, DurationDays: days, AutoExtendDays: extend,
		DisplayName: "Helpdesk 2026", Message: "Please approve"}
}

// create makes partner A's offer to customer X.
func (h *harness) create(o domain.Offer) domain.Relationship {
	h.t.Helper()
	r, err := h.app.CreateRelationship(adminAgentA, o)
	if err != nil {
		h.t.Fatalf("CreateRelationship: %v", err)
	}
	return r
}

func (h *harness) approve(id string) domain.Relationship {
	h.t.Helper()
	r, err := h.app.ApproveRelationship(globalAdminX, id, "")
	if err != nil {
		h.t.Fatalf("ApproveRelationship: %v", err)
	}
	return r
}

func (h *harness) get(id string) domain.Relationship {
	h.t.Helper()
	r, err := h.app.GetRelationship(adminAgentA, id)
	if err != nil {
		h.t.Fatalf("GetRelationship: %v", err)
	}
	return r
}

func (h *harness) access(role domain.Role) domain.Access {
	h.t.Helper()
	a, err := h.app.CheckAccess(serviceAccount, partnerA, customerX, role)
	if err != nil {
		h.t.Fatalf("CheckAccess: %v", err)
	}
	return a
}

// wantErr fails unless err has the kind and reason; it returns the error for more checks.
func wantErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("err = %v, want %s %s", err, kind, reason)
	}
	return e
}

func fields(e *errs.Error) []string {
	var out []string
	for _, v := range e.Violations {
		out = append(out, v.Field)
	}
	return out
}
