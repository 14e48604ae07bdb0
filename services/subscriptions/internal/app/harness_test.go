package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	subsql "github.com/partnerhub/partnerhub/services/subscriptions/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
	"github.com/partnerhub/partnerhub/services/subscriptions/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partnerA  = "aaaaaaaa-0000-4000-8000-000000000001" // partner of record of customerC's CSP subscriptions
	partnerB  = "bbbbbbbb-0000-4000-8000-000000000002" // also resells to customerC (multi-partner, ID-4)
	partnerX  = "cccccccc-0000-4000-8000-000000000003" // no relationship with customerC
	customerC = "dddddddd-0000-4000-8000-000000000004"
	customerD = "eeeeeeee-0000-4000-8000-000000000005" // partnerA's other customer
	partnerF  = "ffffffff-0000-4000-8000-000000000006" // resells to customerC from another country (ID-5)
)

// t0 is a Monday morning; terms start at 00:00 UTC of the provisioning day.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// fakeRels is the reseller relationships of the fixture: A, B and F with C, A with D. Everyone is
// in Germany but F, in France.
type fakeRels struct{}

func (fakeRels) active(partner, customer string) bool {
	switch customer {
	case customerC:
		return partner == partnerA || partner == partnerB || partner == partnerF
	case customerD:
		return partner == partnerA
	}
	return false
}

func (r fakeRels) Relationship(_ context.Context, partner, customer string) (app.Relationship, error) {
	country := "DE"
	if partner == partnerF {
		country = "FR"
	}
	return app.Relationship{Active: r.active(partner, customer), CustomerCountry: "DE", PartnerCountry: country}, nil
}

// The fixture's catalog: every SKU is sold but discontinuedSku, whose equivalent is equivalentSku
// (CA-9); unknownSku does not exist.
const (
	discontinuedSku = "CFQ7TTC0OLD1:0001"
	equivalentSku   = "CFQ7TTC0NEW1:0001"
	otherSku        = "CFQ7TTC0OTHR:0001"
	unknownSku      = "CFQ7TTC0NONE:0001"
)

type fakeCatalog struct{}

func (fakeCatalog) Sku(_ context.Context, id string) (domain.SkuInfo, error) {
	product, _, _ := strings.Cut(id, ":")
	info := domain.SkuInfo{ID: id, ProductID: product, DisplayName: "Offer " + product, MaxQuantity: 300}
	switch id {
	case unknownSku:
		return domain.SkuInfo{}, errs.NotFoundf("sku", id)
	case discontinuedSku:
		info.Discontinued, info.EquivalentSkuID = true, equivalentSku
	}
	return info, nil
}

type harness struct {
	t     testing.TB
	app   *app.App
	clock *clock.Fake
	store *subsql.Store
	ids   atomic.Int64
}

// newHarness runs the use cases on a real database (SQLite or PostgreSQL) with a fake clock at
// t0 and a tenant limit of limit (0: the default).
func newHarness(t testing.TB, dsn string, limit int) *harness {
	t.Helper()
	db := testkit.OpenDB(t, dsn, migrations.FS, "subscriptions_schema")
	h := &harness{t: t, clock: clock.NewFake(t0), store: subsql.New(db, domain.NextDue)}
	h.app = app.New(h.store, h.clock, fakeRels{}, fakeCatalog{}, app.Options{TenantLimit: limit})
	return h
}

// startAt restarts the harness's clock at t (a fake clock only moves forward).
func (h *harness) startAt(t time.Time, limit int) {
	h.clock = clock.NewFake(t)
	h.app = app.New(h.store, h.clock, fakeRels{}, fakeCatalog{}, app.Options{TenantLimit: limit})
}

// set moves the clock forward to t.
func (h *harness) set(t time.Time) {
	h.t.Helper()
	if _, err := h.clock.Set(t); err != nil {
		h.t.Fatal(err)
	}
}

// sqliteHarness is newHarness on a fresh SQLite database.
func sqliteHarness(t *testing.T, limit int) *harness {
	return newHarness(t, testkit.SQLiteDSN(t), limit)
}

func partnerUser(partner string, roles ...auth.Role) auth.Principal {
	return auth.Principal{Subject: "user-of-" + partner[:8], OrgID: partner, OrgKind: auth.OrgPartner, Roles: roles}
}

// as is a context of a partner's Admin agent.
func as(partner string) context.Context {
	return auth.WithPrincipal(context.Background(), partnerUser(partner, auth.AdminAgent))
}

// asCustomer is a context of the customer's Global admin.
func asCustomer(customer string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "ga", OrgID: customer,
		OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}})
}

// asSaga is the order saga: a service acting for the partner's Admin agent.
func asSaga(partner string) context.Context {
	obo := partnerUser(partner, auth.AdminAgent)
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "svc_orders", OrgID: "partnerhub", OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}, OnBehalfOf: &obo})
}

// asEngine is a service acting for nobody (reads everything).
func asService() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "svc_orders", OrgID: "partnerhub", OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}})
}

func (h *harness) rid() string { return fmt.Sprintf("req-%d", h.ids.Add(1)) }

// line is a provisioning step with the defaults of a CSP Microsoft 365 annual subscription.
func (h *harness) line(customer, partner string, mod ...func(*app.ProvisionInput)) app.ProvisionInput {
	in := app.ProvisionInput{
		RequestID: h.rid(), OrderID: "order-" + h.rid(), OrderLineID: "1", CustomerID: customer, PartnerID: partner,
		SkuID: "CFQ7TTC0LDPB:0001", ProductID: "CFQ7TTC0LDPB", DisplayName: "Microsoft 365 Business Standard",
		Kind: domain.KindOnlineService, Channel: domain.ChannelCSP, Quantity: 10, MaxQuantity: 300,
		Plan: domain.PlanMonthly, Term: domain.TermP1Y, UnitPrice: domain.Money{Minor: 12000, Currency: "EUR"},
		Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, AutoRenew: true,
	}
	for _, m := range mod {
		m(&in)
	}
	return in
}

// provision runs a ProvisionSubscription step and fails the test on error.
func (h *harness) provision(in app.ProvisionInput) domain.Subscription {
	h.t.Helper()
	v, _, err := h.app.Provision(asSaga(in.PartnerID), in)
	if err != nil {
		h.t.Fatalf("Provision: %v", err)
	}
	return v.Sub
}

// get reads a subscription as the service sees it.
func (h *harness) get(id string) domain.Subscription {
	h.t.Helper()
	v, err := h.app.GetSubscription(asService(), id)
	if err != nil {
		h.t.Fatalf("GetSubscription %s: %v", id, err)
	}
	return v.Sub
}

// advanceTo moves the clock to at and runs the lifecycle engine.
func (h *harness) advanceTo(at time.Time) {
	h.t.Helper()
	if _, err := h.clock.Set(at); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.Sweep(context.Background(), 0); err != nil {
		h.t.Fatalf("Sweep at %s: %v", at, err)
	}
}

// events returns every event of the feed as the service sees it.
func (h *harness) events() []domain.Event {
	h.t.Helper()
	var all []domain.Event
	var after int64
	for {
		page, _, last, err := h.app.ListEvents(asService(), app.EventsInput{After: after, PageSize: 500})
		if err != nil {
			h.t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 500 {
			return all
		}
		after = last
	}
}

func (h *harness) eventsOf(id string, types ...domain.EventType) []domain.Event {
	var out []domain.Event
	for _, e := range h.events() {
		if e.SubscriptionID != id {
			continue
		}
		for _, t := range types {
			if e.Type == t {
				out = append(out, e)
			}
		}
	}
	return out
}

func wantReason(t *testing.T, err error, kind errs.Kind, reason errs.Reason) {
	t.Helper()
	if errs.KindOf(err) != kind || (reason != "" && errs.ReasonOf(err) != reason) {
		t.Fatalf("error %v, want %s / %s", err, kind, reason)
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
