package app_test

import (
	"context"
	_ "embed"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog/internal/adapters/cached"
	catsql "github.com/partnerhub/partnerhub/services/catalog/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/catalogfile"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

//go:embed testdata/catalog.yaml
var testCatalog []byte

const (
	basic     = "CFQ7TTC0LH18:0001" // online service, everywhere, CSP direct + indirect
	retired   = "CFQ7TTC0LH18:0002" // discontinued, equivalent basic
	winServer = "DG7GMGF0D7FV:0001" // software subscription, P1Y/P3Y, AHB 40, CSP direct + Open
	azureRes  = "DZH318Z0BQ3Q:0001" // Azure Reservation, not in AX, CN, MM; CSP direct
	sqlPerp   = "DG7GMGF0FKZV:0001" // perpetual, only DE and AT; Open

	partnerDirect = "aaaaaaaa-0000-4000-8000-000000000001" // CSP direct
	partnerOpen   = "bbbbbbbb-0000-4000-8000-000000000002" // Open
	partnerNone   = "cccccccc-0000-4000-8000-000000000003" // delegated admin only: no sales program
	customerDE    = "dddddddd-0000-4000-8000-000000000004" // partnerDirect's, in DE
	customerMoved = "eeeeeeee-0000-4000-8000-000000000005" // was partnerDirect's, moved away
	customerOther = "ffffffff-0000-4000-8000-000000000006" // another partner's
	customerFR    = "99999999-0000-4000-8000-000000000007" // partnerDirect's, in a country no longer served
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// fakeMarkets serves a few countries; err makes every call fail.
type fakeMarkets struct {
	mu  sync.Mutex
	err error
}

var currencies = map[string]string{"US": "USD", "DE": "EUR", "AT": "EUR", "GB": "GBP", "AU": "AUD", "BR": "BRL",
	"JP": "JPY", "CN": "CNY", "MM": "USD", "AX": "EUR"}

func (f *fakeMarkets) fail(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func (f *fakeMarkets) Market(_ context.Context, c string) (domain.Market, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return domain.Market{}, false, f.err
	}
	cur, ok := currencies[c]
	return domain.Market{CountryCode: c, CurrencyCode: cur}, ok, nil
}

func (f *fakeMarkets) All(ctx context.Context) ([]domain.Market, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []domain.Market
	for c, cur := range currencies {
		out = append(out, domain.Market{CountryCode: c, CurrencyCode: cur})
	}
	return out, nil
}

type fakePartners map[string][]domain.SalesProgram

func (f fakePartners) Programs(_ context.Context, id string) ([]domain.SalesProgram, error) {
	return f[id], nil
}

type fakeCustomers map[[2]string]app.CustomerRelationship

func (f fakeCustomers) Relationship(_ context.Context, p, c string) (app.CustomerRelationship, error) {
	return f[[2]string{p, c}], nil
}

// harness is the app over the production wiring of its repository (the SQL repository behind the
// cache decorator, in-process cache) on a fake clock, with fake identity answers.
type harness struct {
	app     *app.App
	markets *fakeMarkets
	clock   *clock.Fake
	reads   *prometheus.CounterVec
}

func newHarness(t *testing.T, dsn string) *harness {
	t.Helper()
	db := testkit.OpenDB(t, dsn, migrations.FS, "catalog_schema")
	reads := catsql.NewReadCounter()
	aside := cache.NewAside(cache.NewMemory(10_000), cache.AsideOptions{Name: "catalog", TTL: time.Minute, NegativeTTL: 5 * time.Second})
	t.Cleanup(aside.Close)
	h := &harness{markets: &fakeMarkets{}, clock: clock.NewFake(t0), reads: reads}
	h.app = app.New(cached.New(catsql.New(db, reads), aside, nil), h.markets,
		fakePartners{
			partnerDirect: {domain.ProgramCSPDirect},
			partnerOpen:   {domain.ProgramOpen},
		},
		fakeCustomers{
			{partnerDirect, customerDE}:    {Active: true, Country: "DE"},
			{partnerDirect, customerFR}:    {Active: true, Country: "FR"},
			{partnerDirect, customerMoved}: {Former: true},
		}, h.clock)
	return h
}

// loaded is a harness with the test catalog imported.
func loaded(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, testkit.SQLiteDSN(t))
	if _, err := h.app.ImportCatalog(asService(), testCatalog, catalogfile.YAML, false); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) storeReads() float64 {
	var n float64
	for _, op := range []string{"product", "sku", "price", "products", "skus", "offers"} {
		n += testutil.ToFloat64(h.reads.WithLabelValues(op))
	}
	return n
}

var (
	service     = auth.Principal{Subject: "svc_orders", OrgID: "orders", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}
	adminDirect = auth.Principal{Subject: "u-1", OrgID: partnerDirect, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	salesOpen   = auth.Principal{Subject: "u-2", OrgID: partnerOpen, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}
	salesNone   = auth.Principal{Subject: "u-3", OrgID: partnerNone, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}
	billing     = auth.Principal{Subject: "u-4", OrgID: partnerDirect, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.BillingAgent}}
	customerGA  = auth.Principal{Subject: "u-5", OrgID: customerDE, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
)

func as(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

func asService() context.Context { return as(service) }

// onBehalfOf is a service token acting for p.
func onBehalfOf(p auth.Principal) context.Context {
	s := service
	s.OnBehalfOf = &p
	return as(s)
}

// wantErr fails unless err has the kind and reason.
func wantErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("error %v, want %s %s", err, kind, reason)
	}
	return e
}

// wantFields fails unless err is INVALID_ARGUMENT with violations at exactly these fields.
func wantFields(t *testing.T, err error, reason errs.Reason, fields ...string) {
	t.Helper()
	e := wantErr(t, err, errs.InvalidArgument, reason)
	var got []string
	for _, v := range e.Violations {
		got = append(got, v.Field)
	}
	if len(got) != len(fields) {
		t.Fatalf("violations %v, want %v", e.Violations, fields)
	}
	for i := range got {
		if got[i] != fields[i] {
			t.Fatalf("violations %v, want %v", e.Violations, fields)
		}
	}
}
