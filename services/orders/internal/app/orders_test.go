package app_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

// The use cases over the real store (SQLite; PostgreSQL too where concurrency matters) with
// hand-written fakes of identity, catalog and subscriptions, and a fake saga runner that only
// records what it was asked to run.

func TestMain(m *testing.M) { testkit.Main(m) }

var start = time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)

const (
	partner1  = "0b6b3c52-0000-4000-8000-0000000000a1"
	partner2  = "0b6b3c52-0000-4000-8000-0000000000a2"
	customer1 = "0b6b3c52-0000-4000-8000-0000000000c1"
	customer2 = "0b6b3c52-0000-4000-8000-0000000000c2"
	stranger  = "0b6b3c52-0000-4000-8000-0000000000c9" // a customer of nobody's
	partner3  = "0b6b3c52-0000-4000-8000-0000000000a3" // a partner of no customer

	skuOnline    = "CFQ7TTC0LH18:0001"
	skuPerpetual = "DG7GMGF0D7FV:0002"
	skuPlan      = "RHEL0000SKU1:0001" // a Red Hat software plan: never cancellable (CA-10)
	skuNotInDE   = "CFQ7TTC0XXXX:0001"
)

func eur(m int64) domain.Money { return domain.Money{Minor: m, Currency: "EUR"} }

func agent(partnerID string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "agent-of-" + partnerID,
		OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}})
}

func customerUser(tenantID string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "user-of-" + tenantID,
		OrgID: tenantID, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerUser}})
}

// ---- fakes ----

type fakeIdentity struct {
	mu      sync.Mutex
	related map[string]bool // partner/customer → active relationship
}

func (f *fakeIdentity) CheckCustomer(_ context.Context, partnerID, customerID string) (app.CustomerCheck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if customerID == stranger {
		return app.CustomerCheck{Exists: false, DenialReason: "CUSTOMER_NOT_FOUND"}, nil
	}
	cc := app.CustomerCheck{Exists: true, CountryCode: "DE", RelationshipActive: f.related[partnerID+"/"+customerID]}
	if !cc.RelationshipActive {
		cc.DenialReason = "NO_RELATIONSHIP"
	}
	return cc, nil
}

type fakeCatalog struct {
	mu     sync.Mutex
	offers map[string]app.Offer
	err    map[string]error // SKU → the catalog's answer instead of an offer
	calls  int
}

func (f *fakeCatalog) Offer(_ context.Context, skuID, market string, term domain.Term, _ domain.BillingPlan) (app.Offer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := f.err[skuID]; err != nil {
		return app.Offer{}, err
	}
	if skuID == skuNotInDE && market == "DE" {
		return app.Offer{}, errs.New(errs.FailedPrecondition, "MARKET_NOT_AVAILABLE",
			"SKU %s is not sold in %s", skuID, market).With("market", market)
	}
	if skuID == skuOnline && term == domain.TermP3Y {
		return app.Offer{}, errs.New(errs.FailedPrecondition, "TERM_NOT_ALLOWED", "no P3Y for %s", skuID)
	}
	of, ok := f.offers[skuID]
	if !ok {
		return app.Offer{}, errs.NotFoundf("sku", skuID)
	}
	return of, nil
}

func (f *fakeCatalog) setPrice(sku string, perPeriod, perTerm int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	of := f.offers[sku]
	of.Price.PerPeriod, of.Price.PerTerm = eur(perPeriod), eur(perTerm)
	f.offers[sku] = of
}

func offers() map[string]app.Offer {
	return map[string]app.Offer{
		skuOnline: {SkuID: skuOnline, ProductID: "p-online", DisplayName: "Microsoft 365 E3", Kind: domain.KindOnlineService,
			KeyType: domain.KeyNone, Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, MaxQuantity: 300,
			AutoRenew: app.AutoRenewDefault{Enabled: true, Renewable: true},
			Price:     app.Price{PerPeriod: eur(1000), PerTerm: eur(12000), PeriodsPerTerm: 12}},
		skuPerpetual: {SkuID: skuPerpetual, ProductID: "p-perpetual", DisplayName: "Office LTSC 2021",
			Kind: domain.KindPerpetualSoftware, KeyType: domain.KeyMAK,
			Downloads: []app.DownloadVariant{{ID: "dl-1", Version: "2021", Language: "en-US", FileType: "ISO"}},
			Policy:    domain.PolicyFullCreditWindow, WindowDays: 30, MaxQuantity: 500,
			Price: app.Price{PerPeriod: eur(50000), PerTerm: eur(50000), PeriodsPerTerm: 1}},
		skuPlan: {SkuID: skuPlan, ProductID: "p-plan", DisplayName: "RHEL Server", Kind: domain.KindSoftwarePlan,
			KeyType: domain.KeyNone, Policy: domain.PolicyNever, MaxQuantity: 100,
			Price: app.Price{PerPeriod: eur(2000), PerTerm: eur(24000), PeriodsPerTerm: 12}},
	}
}

type fakeSubs struct {
	mu      sync.Mutex
	windows map[string]app.CancelWindow // subscription → window
	asked   []string
}

func (f *fakeSubs) Provision(context.Context, string, domain.Order, domain.OrderLine, app.Offer) (string, error) {
	return "", errors.New("the use cases never provision")
}
func (f *fakeSubs) Compensate(context.Context, string, string, string) error {
	return errors.New("the use cases never compensate")
}
func (f *fakeSubs) Cancel(context.Context, string, string, string) (domain.Money, error) {
	return domain.Money{}, errors.New("the use cases never cancel a subscription themselves")
}
func (f *fakeSubs) CancelWindow(_ context.Context, subscriptionID string) (app.CancelWindow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, subscriptionID)
	w, ok := f.windows[subscriptionID]
	if !ok {
		return app.CancelWindow{}, errs.NotFoundf("subscription", subscriptionID)
	}
	return w, nil
}

// fakeSagas records what the use cases ask the runner; new sagas are not leased.
type fakeSagas struct {
	mu        sync.Mutex
	started   []domain.Order
	offers    []map[string]app.Offer
	records   []app.SagaRecord
	cancelled []string
}

func (f *fakeSagas) NewRecord(s domain.Saga, p auth.Principal) app.SagaRecord {
	return app.SagaRecord{Saga: s, Principal: p, Version: 1}
}

func (f *fakeSagas) Start(_ context.Context, o domain.Order, rec app.SagaRecord, offers map[string]app.Offer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, o)
	f.records = append(f.records, rec)
	f.offers = append(f.offers, offers)
}

func (f *fakeSagas) ApplyCancellation(orderID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, orderID)
}

func (f *fakeSagas) counts() (started, cancelled int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.started), len(f.cancelled)
}

type env struct {
	t        *testing.T
	store    *ordersql.Store
	identity *fakeIdentity
	catalog  *fakeCatalog
	subs     *fakeSubs
	sagas    *fakeSagas
	clock    *clock.Fake
	changes  *app.Changes
	app      *app.App
}

func newEnv(t *testing.T, dsn string, opts app.Options) *env {
	e := &env{t: t, store: ordersql.New(testkit.OpenDB(t, dsn, migrations.FS, "orders_schema")),
		identity: &fakeIdentity{related: map[string]bool{partner1 + "/" + customer1: true, partner1 + "/" + customer2: true,
			partner2 + "/" + customer1: true}},
		catalog: &fakeCatalog{offers: offers(), err: map[string]error{}},
		subs:    &fakeSubs{windows: map[string]app.CancelWindow{}},
		sagas:   &fakeSagas{}, clock: clock.NewFake(start), changes: app.NewChanges()}
	e.app = app.New(e.store, e.identity, e.catalog, e.subs, e.sagas, e.clock, e.changes, opts)
	return e
}

func sqliteEnv(t *testing.T) *env { return newEnv(t, testkit.SQLiteDSN(t), app.Options{}) }

func online(q int32) domain.LineInput {
	return domain.LineInput{SkuID: skuOnline, Quantity: q, Term: domain.TermP1Y, Plan: domain.PlanMonthly}
}

func perpetual(q int32) domain.LineInput {
	return domain.LineInput{SkuID: skuPerpetual, Quantity: q, Term: domain.TermPerpetual, Plan: domain.PlanOneTime}
}

func placeInput(customerID string, lines ...domain.LineInput) app.PlaceInput {
	return app.PlaceInput{PlaceOrderInput: domain.PlaceOrderInput{RequestID: uuid.NewString(), CustomerID: customerID,
		Lines: lines}}
}

func (e *env) place(ctx context.Context, customerID string, lines ...domain.LineInput) domain.Order {
	e.t.Helper()
	o, err := e.app.PlaceOrder(ctx, placeInput(customerID, lines...))
	if err != nil {
		e.t.Fatalf("PlaceOrder: %v", err)
	}
	return o
}

// allOrders lists every stored order, whatever its partner.
func (e *env) allOrders() []domain.Order {
	e.t.Helper()
	os, err := e.store.Orders(context.Background(), app.OrderQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return os
}

func (e *env) stored(id string) domain.Order {
	e.t.Helper()
	o, err := e.store.Order(context.Background(), id)
	if err != nil {
		e.t.Fatalf("read order %s: %v", id, err)
	}
	return o
}

// update stores a change of the order as the saga runner would.
func (e *env) update(id string, change func(o *domain.Order)) domain.Order {
	e.t.Helper()
	var out domain.Order
	err := e.store.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		o, err := tx.Order(ctx, id)
		if err != nil {
			return err
		}
		change(&o)
		o.Version++
		out = o
		return tx.UpdateOrder(ctx, o)
	})
	if err != nil {
		e.t.Fatalf("update order %s: %v", id, err)
	}
	return out
}

// seedCompleted stores a COMPLETED order of partner1 for customer1 with the given lines, placed
// at created, with its saga (CancelOrder records the cancelling principal there).
func (e *env) seedCompleted(created time.Time, lines ...domain.OrderLine) domain.Order {
	e.t.Helper()
	o := domain.Order{ID: uuid.NewString(), PartnerID: partner1, CustomerID: customer1, CountryCode: "DE",
		PlacedBy: "agent", State: domain.OrderCompleted, Lines: lines, RequestID: uuid.NewString(), Version: 1,
		CreateTime: created, UpdateTime: created, CompleteTime: created}
	err := e.store.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		return tx.InsertOrder(ctx, o, "PARTNER:"+partner1, app.SagaRecord{Saga: domain.NewSaga(o), Version: 1})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.stored(o.ID)
}

func perpetualLine(id string) domain.OrderLine {
	return domain.OrderLine{ID: id, SkuID: skuPerpetual, DisplayName: "Office LTSC 2021", Kind: domain.KindPerpetualSoftware,
		Quantity: 2, Term: domain.TermPerpetual, Plan: domain.PlanOneTime, KeyType: domain.KeyMAK, HasDownloads: true,
		UnitPeriodPrice: eur(50000), UnitTermPrice: eur(50000), Policy: domain.PolicyFullCreditWindow, WindowDays: 30,
		State: domain.LineProvisioned, EntitlementID: "ent-" + id, ChargeID: "chg-" + id, CompleteTime: start}
}

func onlineLine(id string) domain.OrderLine {
	return domain.OrderLine{ID: id, SkuID: skuOnline, DisplayName: "Microsoft 365 E3", Kind: domain.KindOnlineService,
		Quantity: 10, Term: domain.TermP1Y, Plan: domain.PlanMonthly, AutoRenew: true, KeyType: domain.KeyNone,
		UnitPeriodPrice: eur(1000), UnitTermPrice: eur(12000), Policy: domain.PolicyProratedRefundWindow, WindowDays: 7,
		State: domain.LineProvisioned, SubscriptionID: "sub-" + id, ChargeID: "chg-" + id, CompleteTime: start}
}

func planLine(id string) domain.OrderLine {
	l := onlineLine(id)
	l.SkuID, l.Kind, l.Policy, l.WindowDays = skuPlan, domain.KindSoftwarePlan, domain.PolicyNever, 0
	return l
}

// isErr reports whether err is an errs error of kind and reason ("" for any reason).
func isErr(err error, kind errs.Kind, reason errs.Reason) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == kind && (reason == "" || e.Reason == reason)
}

// ---- ValidateOrder (OR-1's review) ----

// ID-4, OR-1, ID-8: a customer without an active reseller relationship is a problem of the
// whole order (RELATIONSHIP_REQUIRED with identity's denial reason), not an error; and the review
// tells nothing more about a customer the partner may not sell to: not its country, nor what
// its market offers (the lines are not priced).
func TestValidateOrder_ID4_RelationshipRequired(t *testing.T) {
	e := sqliteEnv(t)
	r, err := e.app.ValidateOrder(agent(partner2), customer2, []domain.LineInput{online(5)})
	if err != nil {
		t.Fatalf("ValidateOrder: %v", err)
	}
	if r.Valid() || len(r.Problems) != 1 || r.Problems[0].Reason != app.ReasonRelationshipRequired ||
		r.Problems[0].Metadata["denial_reason"] != "NO_RELATIONSHIP" || r.Problems[0].Field != "" {
		t.Errorf("problems %+v; want one RELATIONSHIP_REQUIRED of the order with denial_reason NO_RELATIONSHIP", r.Problems)
	}
	if len(r.Lines) != 1 || r.Lines[0].Priced || len(r.Lines[0].Problems) != 0 || r.CountryCode != "" {
		t.Errorf("lines %+v, country %q; want the line unpriced and no country", r.Lines, r.CountryCode)
	}
	if n := len(e.allOrders()); n != 0 {
		t.Errorf("ValidateOrder stored %d orders", n)
	}
}

// CA-2, CA-5, OR-1: each line's catalog refusal is that line's problem, at the field it is
// about; the other lines are priced.
func TestValidateOrder_CA2_MarketRefusalPerLine(t *testing.T) {
	e := sqliteEnv(t)
	p3y := domain.LineInput{SkuID: skuOnline, Quantity: 1, Term: domain.TermP3Y, Plan: domain.PlanAnnual}
	lines := []domain.LineInput{perpetual(1), {SkuID: skuNotInDE, Quantity: 1, Term: domain.TermP1Y, Plan: domain.PlanMonthly}, p3y}
	r, err := e.app.ValidateOrder(agent(partner1), customer1, lines)
	if err != nil {
		t.Fatalf("ValidateOrder: %v", err)
	}
	if r.Valid() || len(r.Problems) != 0 {
		t.Errorf("valid %v, order problems %+v; want line problems only", r.Valid(), r.Problems)
	}
	if l := r.Lines[0]; !l.Priced || len(l.Problems) != 0 || l.Offer.Price.PerTerm != eur(50000) {
		t.Errorf("line 0 %+v; want priced, no problem", l)
	}
	want := []app.Problem{{Reason: "MARKET_NOT_AVAILABLE", Field: "lines[1].sku_id",
		Message: "SKU " + skuNotInDE + " is not sold in DE", Metadata: map[string]string{"market": "DE"}}}
	if l := r.Lines[1]; l.Priced || !reflect.DeepEqual(l.Problems, want) {
		t.Errorf("line 1 problems %+v; want %+v", l.Problems, want)
	}
	if l := r.Lines[2]; len(l.Problems) != 1 || l.Problems[0].Reason != "TERM_NOT_ALLOWED" || l.Problems[0].Field != "lines[2].term" {
		t.Errorf("line 2 problems %+v; want TERM_NOT_ALLOWED at lines[2].term", l.Problems)
	}
}

// OR-1: amounts the catalog's bounds allow but an int64 of minor units cannot hold (10^15 per
// period, 300 seats over three years) are a value problem at lines[i].quantity, not a total that
// wraps around to a negative amount; PlaceOrder refuses them and stores nothing.
func TestValidateOrder_OR1_AmountOutOfRange(t *testing.T) {
	e := sqliteEnv(t)
	e.catalog.setPrice(skuOnline, 1_000_000_000_000_000, 36_000_000_000_000_000)
	r, err := e.app.ValidateOrder(agent(partner1), customer1, []domain.LineInput{perpetual(1), online(300)})
	if err != nil {
		t.Fatalf("ValidateOrder: %v", err)
	}
	if ps := r.Lines[1].Problems; len(ps) != 1 || ps[0].Reason != app.ReasonAmountOutOfRange || ps[0].Field != "lines[1].quantity" || !ps[0].Invalid {
		t.Errorf("problems %+v; want AMOUNT_OUT_OF_RANGE at lines[1].quantity", ps)
	}
	if len(r.Lines[0].Problems) != 0 {
		t.Errorf("line 0 problems %+v; want none", r.Lines[0].Problems)
	}
	// Each line fits on its own (7.2 × 10^18 and 3.6 × 10^18), but not both in one order's total.
	e.catalog.setPrice(skuPlan, 1_000_000_000_000_000, 36_000_000_000_000_000)
	plan := domain.LineInput{SkuID: skuPlan, Quantity: 100, Term: domain.TermP1Y, Plan: domain.PlanMonthly}
	r, err = e.app.ValidateOrder(agent(partner1), customer1, []domain.LineInput{online(200), plan})
	if err != nil {
		t.Fatalf("ValidateOrder: %v", err)
	}
	if ps := r.Lines[1].Problems; len(ps) != 1 || ps[0].Reason != app.ReasonAmountOutOfRange {
		t.Errorf("second line problems %+v; want AMOUNT_OUT_OF_RANGE (the order's term total overflows)", ps)
	}
	_, err = e.app.PlaceOrder(agent(partner1), placeInput(customer1, online(300)))
	if ee, ok := errs.As(err); !ok || ee.Kind != errs.InvalidArgument || ee.Reason != app.ReasonAmountOutOfRange {
		t.Fatalf("PlaceOrder = %v; want INVALID_ARGUMENT AMOUNT_OUT_OF_RANGE", err)
	}
	if n := len(e.allOrders()); n != 0 {
		t.Fatalf("%d orders stored; want none", n)
	}
}

// OR-1: a quantity above the SKU's maximum is a value problem at lines[i].quantity.
func TestValidateOrder_OR1_QuantityAboveMaximum(t *testing.T) {
	e := sqliteEnv(t)
	r, err := e.app.ValidateOrder(agent(partner1), customer1, []domain.LineInput{perpetual(1), online(301)})
	if err != nil {
		t.Fatalf("ValidateOrder: %v", err)
	}
	ps := r.Lines[1].Problems
	if len(ps) != 1 || ps[0].Reason != app.ReasonQuantityAboveMaximum || ps[0].Field != "lines[1].quantity" ||
		!ps[0].Invalid || ps[0].Metadata["maximum"] != "300" {
		t.Errorf("problems %+v; want QUANTITY_ABOVE_MAXIMUM at lines[1].quantity, maximum 300", ps)
	}
	if len(r.Lines[0].Problems) != 0 || len(r.Problems) != 0 {
		t.Errorf("other problems: %+v %+v", r.Problems, r.Lines[0].Problems)
	}
	if r, err := e.app.ValidateOrder(agent(partner1), customer1, []domain.LineInput{online(300)}); err != nil || !r.Valid() {
		t.Errorf("quantity at the maximum: %+v, %v; want valid", r, err)
	}
}

// What ValidateOrder refuses rather than reviews: an unknown customer, a catalog that does not
// answer (a review must not call a line wrong because the catalog was down), a malformed request,
// a caller that is not a partner.
func TestValidateOrder_Errors(t *testing.T) {
	e := sqliteEnv(t)
	if _, err := e.app.ValidateOrder(agent(partner1), stranger, []domain.LineInput{online(1)}); !isErr(err, errs.NotFound, "") {
		t.Errorf("unknown customer: %v; want NOT_FOUND", err)
	}
	if _, err := e.app.ValidateOrder(agent(partner1), "not-a-uuid", []domain.LineInput{online(1)}); !isErr(err, errs.InvalidArgument, "") {
		t.Errorf("malformed customer ID: %v; want INVALID_ARGUMENT", err)
	}
	if _, err := e.app.ValidateOrder(agent(partner1), customer1, []domain.LineInput{online(0)}); !isErr(err, errs.InvalidArgument, "") {
		t.Errorf("quantity 0: %v; want INVALID_ARGUMENT", err)
	}
	if _, err := e.app.ValidateOrder(customerUser(customer1), customer1, []domain.LineInput{online(1)}); !isErr(err, errs.PermissionDenied, errs.ReasonTenantMismatch) {
		t.Errorf("customer principal: %v; want PERMISSION_DENIED", err)
	}
	if _, err := e.app.ValidateOrder(context.Background(), customer1, []domain.LineInput{online(1)}); !isErr(err, errs.Unauthenticated, "") {
		t.Errorf("no principal: %v; want UNAUTHENTICATED", err)
	}
	e.catalog.err[skuOnline] = errs.Unavailablef("catalog is down")
	if _, err := e.app.ValidateOrder(agent(partner1), customer1, []domain.LineInput{online(1)}); !isErr(err, errs.Unavailable, "") {
		t.Errorf("catalog down: %v; want UNAVAILABLE, not a line problem", err)
	}
}

// ---- PlaceOrder ----

// OR-1: PlaceOrder stores the reviewed order PROVISIONING with the catalog's snapshot, its saga
// (the review's two checks done, acting for the caller) and hands both to the runner with the
// review's offers.
func TestPlaceOrder_OR1_StoresOrderAndStartsSaga(t *testing.T) {
	e := sqliteEnv(t)
	o := e.place(agent(partner1), customer1, online(10), perpetual(2))
	if o.State != domain.OrderProvisioning || o.PartnerID != partner1 || o.CustomerID != customer1 || o.CountryCode != "DE" ||
		o.Version != 1 || !o.CreateTime.Equal(start) || o.PlacedBy != "agent-of-"+partner1 {
		t.Errorf("order %+v", o)
	}
	l0, l1 := o.Lines[0], o.Lines[1]
	if l0.UnitPeriodPrice != eur(1000) || l0.UnitTermPrice != eur(12000) || l0.Policy != domain.PolicyProratedRefundWindow ||
		l0.WindowDays != 7 || !l0.AutoRenew || l0.State != domain.LineProvisioning || l0.NeedsEntitlements() {
		t.Errorf("online line %+v", l0)
	}
	if l1.KeyType != domain.KeyMAK || !l1.HasDownloads || l1.AutoRenew || l1.Policy != domain.PolicyFullCreditWindow || l1.WindowDays != 30 {
		t.Errorf("perpetual line %+v", l1)
	}
	if got := e.stored(o.ID); !reflect.DeepEqual(got, o) {
		t.Errorf("stored\n%+v\nreturned\n%+v", got, o)
	}
	if n, _ := e.sagas.counts(); n != 1 || e.sagas.started[0].ID != o.ID {
		t.Fatalf("runner started %d sagas; want this order's", n)
	}
	rec := e.sagas.records[0]
	if rec.Version != 1 || rec.Principal.OrgID != partner1 || rec.Saga.OrderID != o.ID {
		t.Errorf("record %+v", rec)
	}
	if a, _ := rec.Saga.Next(); a.Step != domain.StepCreateSubscription || a.LineID != l0.ID {
		t.Errorf("the saga starts with %s/%s; want create_subscription of the first line (the review made the checks)", a.Step, a.LineID)
	}
	if of := e.sagas.offers[0]; of[l0.ID].SkuID != skuOnline || of[l1.ID].SkuID != skuPerpetual {
		t.Errorf("offers handed to the runner %+v", of)
	}
}

// OR-1: a review with problems refuses PlaceOrder with the first problem's reason and a
// BadRequest listing every problem; nothing is stored and no saga starts.
func TestPlaceOrder_OR1_ProblemsStoreNothing(t *testing.T) {
	e := sqliteEnv(t)
	_, err := e.app.PlaceOrder(agent(partner2), placeInput(customer2, online(301), perpetual(1)))
	ee, ok := errs.As(err)
	if !ok || ee.Kind != errs.FailedPrecondition || ee.Reason != app.ReasonRelationshipRequired {
		t.Fatalf("err %v; want FAILED_PRECONDITION RELATIONSHIP_REQUIRED (the first problem)", err)
	}
	var fields []string
	for _, v := range ee.Violations {
		fields = append(fields, v.Field)
	}
	if want := []string{"customer_id"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("violations %v; want %v (nothing about the lines of a customer the partner may not sell to)", fields, want)
	}
	_, err = e.app.PlaceOrder(agent(partner1), placeInput(customer1, perpetual(1), online(301)))
	if ee, ok := errs.As(err); !ok || ee.Kind != errs.InvalidArgument || ee.Reason != app.ReasonQuantityAboveMaximum ||
		ee.Metadata["maximum"] != "300" || len(ee.Violations) != 1 || ee.Violations[0].Field != "lines[1].quantity" {
		t.Errorf("err %v; want INVALID_ARGUMENT QUANTITY_ABOVE_MAXIMUM at lines[1].quantity", err)
	}
	if n := len(e.allOrders()); n != 0 {
		t.Errorf("%d orders stored; want none", n)
	}
	if n, _ := e.sagas.counts(); n != 0 {
		t.Errorf("%d sagas started; want none", n)
	}
}

// OR-7: 20 concurrent PlaceOrder calls with one request ID store one order and start one saga;
// every call returns that order. A later repeat does too, without reviewing again.
func TestPlaceOrder_OR7_ConcurrentSameRequestIDOneOrder(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, app.Options{})
		in := placeInput(customer1, online(10), perpetual(1))
		const n = 20
		ids := make([]string, n)
		errsOf := make([]error, n)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				o, err := e.app.PlaceOrder(agent(partner1), in)
				ids[i], errsOf[i] = o.ID, err
			}()
		}
		close(gate)
		wg.Wait()
		for i := range n {
			if errsOf[i] != nil || ids[i] != ids[0] {
				t.Errorf("call %d: order %q, %v; want order %q", i, ids[i], errsOf[i], ids[0])
			}
		}
		if os := e.allOrders(); len(os) != 1 || os[0].ID != ids[0] {
			t.Fatalf("%d orders stored; want exactly one", len(os))
		}
		if started, _ := e.sagas.counts(); started != 1 {
			t.Errorf("%d sagas started; want 1", started)
		}
		calls := e.catalog.calls
		o, err := e.app.PlaceOrder(agent(partner1), in)
		if err != nil || o.ID != ids[0] || e.catalog.calls != calls {
			t.Errorf("repeat: %q, %v, %d catalog calls; want the same order without a review", o.ID, err, e.catalog.calls-calls)
		}
		// The same request ID for a different order is refused, and changes nothing.
		changed := in
		changed.Lines = append([]domain.LineInput(nil), in.Lines...)
		changed.Lines[0].Quantity++
		if _, err := e.app.PlaceOrder(agent(partner1), changed); errs.KindOf(err) != errs.AlreadyExists ||
			errs.ReasonOf(err) != errs.ReasonRequestIDReused {
			t.Errorf("same request ID, other quantity: %v; want ALREADY_EXISTS / REQUEST_ID_REUSED", err)
		}
		if os := e.allOrders(); len(os) != 1 {
			t.Errorf("%d orders after a reused request ID; want 1", len(os))
		}
		// The same request ID of another partner is another request (the scope is the caller's).
		other, err := e.app.PlaceOrder(agent(partner2), in)
		if err != nil || other.ID == ids[0] {
			t.Errorf("other partner, same request ID: %q, %v; want a new order", other.ID, err)
		}
	})
}

// OR-1: PlaceOrder with ValidateOrder's review_etag places the order only if prices and
// policies are what the review showed; otherwise ABORTED / ETAG_MISMATCH and nothing stored.
func TestPlaceOrder_OR1_ReviewEtag(t *testing.T) {
	e := sqliteEnv(t)
	lines := []domain.LineInput{online(10), perpetual(1)}
	r, err := e.app.ValidateOrder(agent(partner1), customer1, lines)
	if err != nil {
		t.Fatal(err)
	}
	etag := app.ReviewEtag(r)
	in := placeInput(customer1, lines...)
	in.ReviewEtag = etag
	if _, err := e.app.PlaceOrder(agent(partner1), in); err != nil {
		t.Fatalf("PlaceOrder with the review's etag: %v", err)
	}
	e.catalog.setPrice(skuOnline, 1100, 13200)
	in = placeInput(customer1, lines...)
	in.ReviewEtag = etag
	if _, err := e.app.PlaceOrder(agent(partner1), in); !isErr(err, errs.Aborted, errs.ReasonEtagMismatch) {
		t.Errorf("price changed since the review: %v; want ABORTED ETAG_MISMATCH", err)
	}
	if n := len(e.allOrders()); n != 1 {
		t.Errorf("%d orders stored; want only the first", n)
	}
	if started, _ := e.sagas.counts(); started != 1 {
		t.Errorf("%d sagas started; want 1", started)
	}
}

// ---- GetOrder, ListOrders ----

// ID-8: a partner sees only its own orders (another's is NOT_FOUND, as if it did not exist);
// a customer's users see their tenant's orders, of every partner.
func TestGetOrder_ID8_PartnerIsolation(t *testing.T) {
	e := sqliteEnv(t)
	mine := e.place(agent(partner1), customer1, online(1))
	theirs := e.place(agent(partner2), customer1, online(2))
	other := e.place(agent(partner1), customer2, online(3))

	if o, err := e.app.GetOrder(agent(partner1), mine.ID); err != nil || o.ID != mine.ID {
		t.Errorf("own order: %v", err)
	}
	if _, err := e.app.GetOrder(agent(partner2), mine.ID); !isErr(err, errs.NotFound, "") {
		t.Errorf("another partner's order: %v; want NOT_FOUND", err)
	}
	if _, err := e.app.GetOrder(agent(partner1), uuid.NewString()); !isErr(err, errs.NotFound, "") {
		t.Errorf("no such order: %v; want NOT_FOUND", err)
	}
	if _, err := e.app.GetOrder(agent(partner1), "x"); !isErr(err, errs.InvalidArgument, "") {
		t.Errorf("malformed ID: %v; want INVALID_ARGUMENT", err)
	}
	for _, id := range []string{mine.ID, theirs.ID} {
		if _, err := e.app.GetOrder(customerUser(customer1), id); err != nil {
			t.Errorf("customer reads its tenant's order %s: %v", id, err)
		}
	}
	if _, err := e.app.GetOrder(customerUser(customer2), mine.ID); !isErr(err, errs.NotFound, "") {
		t.Errorf("another tenant's order: %v; want NOT_FOUND", err)
	}

	ids := func(ctx context.Context, in app.ListInput) []string {
		t.Helper()
		os, _, err := e.app.ListOrders(ctx, in)
		if err != nil {
			t.Fatalf("ListOrders: %v", err)
		}
		var out []string
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	if got, want := ids(agent(partner1), app.ListInput{}), []string{other.ID, mine.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("partner1 lists %v; want %v", got, want)
	}
	if got, want := ids(agent(partner2), app.ListInput{}), []string{theirs.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("partner2 lists %v; want %v", got, want)
	}
	if got, want := ids(customerUser(customer1), app.ListInput{}), []string{theirs.ID, mine.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("customer1 lists %v; want %v", got, want)
	}
	if _, _, err := e.app.ListOrders(customerUser(customer1), app.ListInput{CustomerID: customer2}); !isErr(err, errs.PermissionDenied, "") {
		t.Errorf("customer listing another tenant: %v; want PERMISSION_DENIED", err)
	}
	// ID-8: a partner naming a customer it never served, or one that does not exist, gets the
	// same TENANT_MISMATCH, whoever else serves it.
	for _, c := range []string{customer2, stranger} {
		if _, _, err := e.app.ListOrders(agent(partner3), app.ListInput{CustomerID: c}); !isErr(err, errs.PermissionDenied, errs.ReasonTenantMismatch) {
			t.Errorf("a partner listing customer %s it never served: %v; want PERMISSION_DENIED / TENANT_MISMATCH", c, err)
		}
	}
}

// OR-2: ListOrders pages newest first with opaque tokens tied to the query, and filters by
// state, SKU, customer and purchase time.
func TestListOrders_OR2_PagingAndFilters(t *testing.T) {
	e := sqliteEnv(t)
	var placed []domain.Order // oldest first, one day apart
	for i, in := range []struct {
		customer string
		line     domain.LineInput
	}{{customer1, online(1)}, {customer1, perpetual(1)}, {customer2, online(2)}, {customer1, online(3)}, {customer2, perpetual(2)}} {
		if i > 0 {
			if _, err := e.clock.Advance(24 * time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		placed = append(placed, e.place(agent(partner1), in.customer, in.line))
	}
	e.update(placed[1].ID, func(o *domain.Order) { o.State = domain.OrderCompleted })
	e.update(placed[3].ID, func(o *domain.Order) { o.State = domain.OrderFailed })
	newest := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, placed[i].ID)
		}
		return out
	}

	var got []string
	token, pages := "", 0
	for {
		os, next, err := e.app.ListOrders(agent(partner1), app.ListInput{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(os) > 2 {
			t.Fatalf("page of %d; want at most 2", len(os))
		}
		pages++
		for _, o := range os {
			got = append(got, o.ID)
		}
		if next == "" {
			break
		}
		if pages == 1 {
			// A token belongs to its query: with another filter it is refused.
			if _, _, err := e.app.ListOrders(agent(partner1), app.ListInput{PageSize: 2, PageToken: next,
				SkuID: skuOnline}); !isErr(err, errs.InvalidArgument, errs.ReasonInvalidPageToken) {
				t.Errorf("token of another query: %v; want INVALID_PAGE_TOKEN", err)
			}
			if _, _, err := e.app.ListOrders(agent(partner2), app.ListInput{PageSize: 2, PageToken: next}); !isErr(err, errs.InvalidArgument, errs.ReasonInvalidPageToken) {
				t.Errorf("token of another caller: %v; want INVALID_PAGE_TOKEN", err)
			}
		}
		token = next
	}
	if want := newest(4, 3, 2, 1, 0); pages != 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("%d pages listing %v; want 3 pages listing %v", pages, got, want)
	}

	for _, tc := range []struct {
		name string
		in   app.ListInput
		want []string
	}{
		{"state", app.ListInput{States: []domain.OrderState{domain.OrderCompleted, domain.OrderFailed}}, newest(3, 1)},
		{"sku", app.ListInput{SkuID: skuPerpetual}, newest(4, 1)},
		{"customer", app.ListInput{CustomerID: customer2}, newest(4, 2)},
		{"time [day 1, day 3)", app.ListInput{StartTime: start.Add(24 * time.Hour), EndTime: start.Add(3 * 24 * time.Hour)}, newest(2, 1)},
		{"sku and customer", app.ListInput{SkuID: skuOnline, CustomerID: customer1}, newest(3, 0)},
	} {
		os, next, err := e.app.ListOrders(agent(partner1), tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var ids []string
		for _, o := range os {
			ids = append(ids, o.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) || next != "" {
			t.Errorf("%s: %v (next %q); want %v", tc.name, ids, next, tc.want)
		}
	}
	if _, _, err := e.app.ListOrders(agent(partner1), app.ListInput{StartTime: start, EndTime: start}); !isErr(err, errs.InvalidArgument, "") {
		t.Errorf("empty time range: %v; want INVALID_ARGUMENT", err)
	}
	if _, _, err := e.app.ListOrders(agent(partner1), app.ListInput{PageSize: -1}); !isErr(err, errs.InvalidArgument, "") {
		t.Errorf("negative page size: %v; want INVALID_ARGUMENT", err)
	}
}

// ---- CancelOrder ----

func (e *env) cancel(ctx context.Context, orderID string, lineIDs ...string) (domain.Order, domain.CancelPlan, error) {
	return e.app.CancelOrder(ctx, app.CancelInput{RequestID: uuid.NewString(), OrderID: orderID, LineIDs: lineIDs,
		Reason: "bought by mistake"})
}

// OR-3, CA-10, SU-10: what CancelOrder refuses — and when it refuses, nothing changes and no
// cancellation is applied.
func TestCancelOrder_OR3_Refusals(t *testing.T) {
	e := sqliteEnv(t)
	e.subs.windows["sub-open"] = app.CancelWindow{End: start.Add(7 * 24 * time.Hour), Refund: eur(-900)}
	e.subs.windows["sub-passed"] = app.CancelWindow{End: start.Add(-time.Hour), Passed: true}
	e.subs.windows["sub-never"] = app.CancelWindow{Never: true, Passed: true}
	withSub := func(id, sub string) domain.OrderLine { l := onlineLine(id); l.SubscriptionID = sub; return l }

	if _, err := e.clock.Advance(30 * 24 * time.Hour); err != nil { // exactly 30 days after start
		t.Fatal(err)
	}
	closed := e.seedCompleted(start, perpetualLine("l1"))
	inWindow := e.seedCompleted(start.Add(time.Second), perpetualLine("l1"))
	never := e.seedCompleted(start, planLine("l1"))
	provisioning := e.seedCompleted(start, perpetualLine("l1"))
	provisioning = e.update(provisioning.ID, func(o *domain.Order) { o.State = domain.OrderProvisioning })
	passed := e.seedCompleted(start, withSub("l1", "sub-passed"))
	neverSubs := e.seedCompleted(start, withSub("l1", "sub-never"))
	mixed := e.seedCompleted(start.Add(time.Second), perpetualLine("l1"), withSub("l2", "sub-open"), withSub("l3", "sub-passed"))

	for _, tc := range []struct {
		name   string
		order  domain.Order
		kind   errs.Kind
		reason errs.Reason
		md     map[string]string
	}{
		{"perpetual after 30 days", closed, errs.FailedPrecondition, domain.ReasonCancellationWindowClosed,
			map[string]string{"line_id": "l1", "window_end": start.Add(30 * 24 * time.Hour).Format(time.RFC3339)}},
		{"NEVER policy", never, errs.FailedPrecondition, domain.ReasonNotCancellable, map[string]string{"line_id": "l1"}},
		{"order not COMPLETED", provisioning, errs.FailedPrecondition, domain.ReasonOrderNotCancellable,
			map[string]string{"state": "PROVISIONING"}},
		{"subscription window passed", passed, errs.FailedPrecondition, domain.ReasonCancellationWindowClosed,
			map[string]string{"line_id": "l1", "window_end": start.Add(-time.Hour).Format(time.RFC3339)}},
		{"subscription never cancellable", neverSubs, errs.FailedPrecondition, domain.ReasonNotCancellable,
			map[string]string{"line_id": "l1"}},
		{"one line of three refused", mixed, errs.FailedPrecondition, domain.ReasonCancellationWindowClosed,
			map[string]string{"line_id": "l3"}},
	} {
		_, _, err := e.cancel(agent(partner1), tc.order.ID)
		ee, ok := errs.As(err)
		if !ok || ee.Kind != tc.kind || ee.Reason != tc.reason {
			t.Errorf("%s: %v; want %v %s", tc.name, err, tc.kind, tc.reason)
			continue
		}
		for k, v := range tc.md {
			if ee.Metadata[k] != v {
				t.Errorf("%s: metadata %s=%q; want %q", tc.name, k, ee.Metadata[k], v)
			}
		}
		if got := e.stored(tc.order.ID); !reflect.DeepEqual(got, tc.order) {
			t.Errorf("%s: the order changed:\n%+v\n%+v", tc.name, got, tc.order)
		}
	}
	if _, _, err := e.cancel(agent(partner1), inWindow.ID); err != nil {
		t.Errorf("perpetual one second before its window ends: %v", err)
	}
	if _, _, err := e.cancel(agent(partner2), closed.ID); !isErr(err, errs.NotFound, "") {
		t.Errorf("another partner's order: %v; want NOT_FOUND", err)
	}
	if _, _, err := e.cancel(agent(partner1), closed.ID, "l9"); !isErr(err, errs.InvalidArgument, "") {
		t.Errorf("unknown line: %v; want INVALID_ARGUMENT", err)
	}
	if _, _, err := e.cancel(customerUser(customer1), inWindow.ID); !isErr(err, errs.PermissionDenied, "") {
		t.Errorf("customer principal: %v; want PERMISSION_DENIED", err)
	}
	if _, cancelled := e.sagas.counts(); cancelled != 1 {
		t.Errorf("%d cancellations handed to the runner; want only the one confirmed", cancelled)
	}
}

// OR-3, OR-4: a confirmed cancellation makes the order CANCELLING with every line's progress,
// records who cancelled it for the runner, hands it to the runner, and answers with the plan
// (100 % credit for perpetual software, subscriptions' previewed refund, done within 15
// minutes). Repeating the call changes nothing and answers the same.
func TestCancelOrder_OR4_ConfirmedAndIdempotent(t *testing.T) {
	e := sqliteEnv(t)
	e.subs.windows["sub-l2"] = app.CancelWindow{End: start.Add(7 * 24 * time.Hour), Refund: eur(-11500)}
	o := e.seedCompleted(start, perpetualLine("l1"), onlineLine("l2"))
	if _, err := e.clock.Advance(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	got, plan, err := e.cancel(agent(partner1), o.ID)
	if err != nil {
		t.Fatalf("CancelOrder: %v", err)
	}
	if got.State != domain.OrderCancelling || !got.CancellationPending || got.Version != o.Version+1 {
		t.Errorf("order %s pending %v version %d; want CANCELLING, pending, version %d", got.State, got.CancellationPending, got.Version, o.Version+1)
	}
	wantPlan := domain.CancelPlan{ExpectedCompleteAt: now.Add(15 * time.Minute), Lines: []domain.LineCancel{
		{LineID: "l1", Route: domain.RoutePerpetualCredit, Credit: eur(-100000)},
		{LineID: "l2", Route: domain.RouteViaSubscriptions, Credit: eur(-11500)}}}
	if !reflect.DeepEqual(plan, wantPlan) {
		t.Errorf("plan %+v; want %+v", plan, wantPlan)
	}
	for _, l := range got.Lines {
		if l.State != domain.LineCancelling || l.Cancellation == nil || !l.Cancellation.RequestTime.Equal(now) ||
			l.Cancellation.Reason != "bought by mistake" {
			t.Errorf("line %s: %s %+v", l.ID, l.State, l.Cancellation)
		}
	}
	if c := got.Lines[0].Cancellation; !c.SubscriptionCancelled || c.EntitlementsRevoked || c.CreditRecorded {
		t.Errorf("perpetual progress %+v; want only the (absent) subscription done", c)
	}
	if c := got.Lines[1].Cancellation; c.SubscriptionCancelled || !c.EntitlementsRevoked || c.CreditRecorded {
		t.Errorf("online progress %+v; want only the (absent) entitlement done", c)
	}
	if stored := e.stored(o.ID); !reflect.DeepEqual(stored, got) {
		t.Errorf("stored\n%+v\nreturned\n%+v", stored, got)
	}
	var rec app.SagaRecord
	if err := e.store.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		var err error
		rec, err = tx.Saga(ctx, o.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if rec.CancelPrincipal.OrgID != partner1 || rec.CancelPrincipal.Subject != "agent-of-"+partner1 {
		t.Errorf("cancel principal %+v; want the cancelling agent", rec.CancelPrincipal)
	}
	if _, cancelled := e.sagas.counts(); cancelled != 1 || e.sagas.cancelled[0] != o.ID {
		t.Errorf("runner asked to apply %v; want this order once", e.sagas.cancelled)
	}

	again, plan2, err := e.cancel(agent(partner1), o.ID)
	if err != nil {
		t.Fatalf("repeated CancelOrder: %v", err)
	}
	if again.Version != got.Version || !reflect.DeepEqual(again, e.stored(o.ID)) {
		t.Errorf("the repeat changed the order: version %d → %d", got.Version, again.Version)
	}
	for _, lc := range plan2.Lines {
		if !lc.NoOp {
			t.Errorf("repeat plan line %+v; want a no-op", lc)
		}
	}
	// Once applied everywhere (the runner's part), a repeat is still a no-op.
	applied := e.update(o.ID, func(x *domain.Order) {
		for _, id := range []string{"l1", "l2"} {
			for _, svc := range []domain.Service{domain.ServiceSubscriptions, domain.ServiceKeys, domain.ServiceLedger} {
				n, err := domain.CancellationApplied(*x, id, svc, eur(-11000), now)
				if err != nil {
					t.Fatal(err)
				}
				n.Version = x.Version
				*x = n
			}
		}
	})
	if applied.State != domain.OrderCancelled {
		t.Fatalf("applied order %s", applied.State)
	}
	if after, _, err := e.cancel(agent(partner1), o.ID); err != nil || after.Version != applied.Version || after.State != domain.OrderCancelled {
		t.Errorf("repeat after it was applied: %s v%d, %v; want CANCELLED unchanged", after.State, after.Version, err)
	}
}

// OR-3: CancelOrder with an etag cancels only the order as the caller saw it.
func TestCancelOrder_OR3_Etag(t *testing.T) {
	e := sqliteEnv(t)
	o := e.seedCompleted(start, perpetualLine("l1"))
	_, _, err := e.app.CancelOrder(agent(partner1), app.CancelInput{RequestID: uuid.NewString(), OrderID: o.ID,
		Etag: app.Etag(domain.Order{Version: o.Version + 1})})
	if !isErr(err, errs.Aborted, errs.ReasonEtagMismatch) {
		t.Errorf("stale etag: %v; want ABORTED ETAG_MISMATCH", err)
	}
	if _, _, err := e.app.CancelOrder(agent(partner1), app.CancelInput{RequestID: uuid.NewString(), OrderID: o.ID,
		Etag: app.Etag(o)}); err != nil {
		t.Errorf("current etag: %v", err)
	}
}

// ---- WatchOrder ----

// watch runs WatchOrder in the background and delivers its snapshots.
func (e *env) watch(ctx context.Context, id string) (<-chan domain.Order, <-chan error) {
	snaps, done := make(chan domain.Order, 16), make(chan error, 1)
	go func() {
		done <- e.app.WatchOrder(ctx, id, func(o domain.Order) error {
			snaps <- o
			return nil
		})
		close(snaps)
	}()
	return snaps, done
}

func next(t *testing.T, snaps <-chan domain.Order) domain.Order {
	t.Helper()
	select {
	case o, ok := <-snaps:
		if !ok {
			t.Fatal("WatchOrder ended early")
		}
		return o
	case <-time.After(20 * time.Second):
		t.Fatal("no snapshot")
	}
	return domain.Order{}
}

// OR-1: WatchOrder sends the current snapshot, one per change (signalled in this process), and
// ends after the first settled one.
func TestWatchOrder_OR1_EndsAfterSettledSnapshot(t *testing.T) {
	e := newEnv(t, testkit.SQLiteDSN(t), app.Options{WatchPoll: time.Hour}) // only signals wake it
	o := e.place(agent(partner1), customer1, online(1), perpetual(1))
	snaps, done := e.watch(agent(partner1), o.ID)
	if s := next(t, snaps); s.Version != 1 || s.State != domain.OrderProvisioning {
		t.Fatalf("first snapshot v%d %s; want the placed order", s.Version, s.State)
	}
	v2 := e.update(o.ID, func(x *domain.Order) { x.Lines[0].State = domain.LineProvisioned })
	e.changes.Notify(o.ID)
	if s := next(t, snaps); s.Version != v2.Version || s.Lines[0].State != domain.LineProvisioned {
		t.Fatalf("second snapshot v%d; want v%d with line 0 provisioned", s.Version, v2.Version)
	}
	v3 := e.update(o.ID, func(x *domain.Order) {
		x.State = domain.OrderCompleted
		x.Lines[1].State = domain.LineProvisioned
	})
	e.changes.Notify(o.ID)
	if s := next(t, snaps); s.Version != v3.Version || s.State != domain.OrderCompleted {
		t.Fatalf("third snapshot v%d %s; want v%d COMPLETED", s.Version, s.State, v3.Version)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("WatchOrder ended with %v; want nil after the settled snapshot", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WatchOrder did not end after the settled snapshot")
	}
	if s, ok := <-snaps; ok {
		t.Errorf("snapshot after the settled one: %+v", s)
	}

	// A settled order ends the watch after its one snapshot; another partner cannot watch it.
	snaps, done = e.watch(agent(partner1), o.ID)
	if s := next(t, snaps); s.Version != v3.Version {
		t.Errorf("snapshot of a settled order v%d; want v%d", s.Version, v3.Version)
	}
	if err := <-done; err != nil {
		t.Errorf("watching a settled order: %v", err)
	}
	if err := e.app.WatchOrder(agent(partner2), o.ID, func(domain.Order) error { return nil }); !isErr(err, errs.NotFound, "") {
		t.Errorf("another partner's watch: %v; want NOT_FOUND", err)
	}
}

// OR-1: another replica may run the saga, so WatchOrder also re-reads every WatchPoll and sees
// changes nobody signalled here.
func TestWatchOrder_OR1_SeesChangesOfOtherReplicas(t *testing.T) {
	e := newEnv(t, testkit.SQLiteDSN(t), app.Options{WatchPoll: 2 * time.Millisecond})
	o := e.place(agent(partner1), customer1, online(1))
	ctx, cancel := context.WithCancel(agent(partner1))
	defer cancel()
	snaps, done := e.watch(ctx, o.ID)
	next(t, snaps)
	v2 := e.update(o.ID, func(x *domain.Order) {
		x.State = domain.OrderFailed
		x.Failure = &domain.Failure{Reason: "KEY_POOL_EXHAUSTED", Step: domain.StepIssueEntitlements}
	})
	if s := next(t, snaps); s.Version != v2.Version || s.State != domain.OrderFailed {
		t.Fatalf("snapshot v%d %s; want v%d FAILED", s.Version, s.State, v2.Version)
	}
	if err := <-done; err != nil {
		t.Errorf("WatchOrder: %v", err)
	}
}

// A watch whose context ends returns the context's error.
func TestWatchOrder_ContextEnds(t *testing.T) {
	e := newEnv(t, testkit.SQLiteDSN(t), app.Options{WatchPoll: time.Hour})
	o := e.place(agent(partner1), customer1, online(1))
	ctx, cancel := context.WithCancel(agent(partner1))
	snaps, done := e.watch(ctx, o.ID)
	next(t, snaps)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchOrder after its context ended: %v; want context.Canceled", err)
	}
}

// OR-2: orders placed at the same instant page by ID: each is listed exactly once.
func TestListOrders_OR2_PagingThroughEqualTimes(t *testing.T) {
	e := sqliteEnv(t)
	want := map[string]bool{}
	for range 5 {
		want[e.place(agent(partner1), customer1, online(1)).ID] = true // the clock stands still
	}
	var got []string
	token := ""
	for range 10 {
		os, next, err := e.app.ListOrders(agent(partner1), app.ListInput{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			got = append(got, o.ID)
		}
		if token = next; token == "" {
			break
		}
	}
	seen := map[string]bool{}
	for i, id := range got {
		if seen[id] || !want[id] {
			t.Errorf("order %s listed twice or unknown", id)
		}
		seen[id] = true
		if i > 0 && got[i-1] < id {
			t.Errorf("%s listed before %s: not newest (ID descending) first", got[i-1], id)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d of %d orders: %v", len(seen), len(want), got)
	}
}

// notifyingStore changes the order (as another goroutine of this process would) right after
// the first read of it, and signals the change before that read returns.
type notifyingStore struct {
	app.Store
	once   sync.Once
	change func()
}

func (s *notifyingStore) Order(ctx context.Context, id string) (domain.Order, error) {
	o, err := s.Store.Order(ctx, id)
	s.once.Do(s.change)
	return o, err
}

// OR-1: a change signalled while WatchOrder reads the order for its first snapshot is not
// lost: the next snapshot follows at once, not at the next poll.
func TestWatchOrder_OR1_ChangeDuringFirstReadNotLost(t *testing.T) {
	e := newEnv(t, testkit.SQLiteDSN(t), app.Options{})
	o := e.place(agent(partner1), customer1, online(1))
	ns := &notifyingStore{Store: e.store}
	ns.change = func() {
		e.update(o.ID, func(x *domain.Order) { x.State = domain.OrderCompleted })
		e.changes.Notify(o.ID)
	}
	a := app.New(ns, e.identity, e.catalog, e.subs, e.sagas, e.clock, e.changes, app.Options{WatchPoll: time.Hour})
	snaps, done := make(chan domain.Order, 4), make(chan error, 1)
	ctx, cancel := context.WithCancel(agent(partner1))
	defer cancel()
	go func() {
		done <- a.WatchOrder(ctx, o.ID, func(x domain.Order) error { snaps <- x; return nil })
	}()
	if s := <-snaps; s.State != domain.OrderProvisioning {
		t.Fatalf("first snapshot %s; want PROVISIONING", s.State)
	}
	select {
	case s := <-snaps:
		if s.State != domain.OrderCompleted {
			t.Errorf("second snapshot %s; want COMPLETED", s.State)
		}
	case <-time.After(5 * time.Second): // the poll is an hour away; the signal came long before
		t.Fatal("the change signalled during the first read was lost: no snapshot until the next poll")
	}
	if err := <-done; err != nil {
		t.Errorf("WatchOrder: %v", err)
	}
}
