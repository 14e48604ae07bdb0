package saga_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/saga"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

// The harness of the runner tests: the real store (SQLite and PostgreSQL), the real use cases
// (app.App places and cancels the orders), and one hand-written fake for the four peer ports
// that behaves like an idempotent callee: a repeated request ID gets the first answer and makes
// no second effect.

func TestMain(m *testing.M) { testkit.Main(m) }

var (
	// bizStart is the business clock's start: order, line and ledger times.
	bizStart = time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	// wallStart is the wall clock's start: leases and backoff. Far from bizStart on purpose, so a
	// test mixing up the two clocks shows.
	wallStart = time.Date(2031, 7, 1, 12, 0, 0, 0, time.UTC)
)

const (
	partnerID  = "7d1e2f30-0000-4000-8000-00000000a001"
	customerID = "7d1e2f30-0000-4000-8000-00000000c001"

	skuOnline    = "CFQ7TTC0LH18:0001" // an online service: subscription, no keys
	skuPerpetual = "DG7GMGF0D7FV:0002" // perpetual software: MAK key and downloads, no subscription
	skuSubKeys   = "DG7GMGF0D5RK:0001" // a software subscription with a MAK key and downloads
)

func eur(minor int64) domain.Money { return domain.Money{Minor: minor, Currency: "EUR"} }

func partner() auth.Principal {
	return auth.Principal{Subject: "agent-1", OrgID: partnerID, OrgKind: auth.OrgPartner,
		Roles: []auth.Role{auth.AdminAgent}}
}

func partnerCtx() context.Context { return auth.WithPrincipal(context.Background(), partner()) }

func onlineLine() domain.LineInput {
	return domain.LineInput{SkuID: skuOnline, Quantity: 10, Term: domain.TermP1Y, Plan: domain.PlanMonthly}
}

func perpetualLine() domain.LineInput {
	return domain.LineInput{SkuID: skuPerpetual, Quantity: 2, Term: domain.TermPerpetual, Plan: domain.PlanOneTime}
}

func subKeysLine() domain.LineInput {
	return domain.LineInput{SkuID: skuSubKeys, Quantity: 3, Term: domain.TermP1Y, Plan: domain.PlanAnnual}
}

func catalogOffers() map[string]app.Offer {
	dl := []app.DownloadVariant{{ID: "dl-1", Version: "2021", Language: "en-US", FileType: "ISO",
		OperatingSystem: "Windows", SizeBytes: 1 << 30}}
	return map[string]app.Offer{
		skuOnline: {SkuID: skuOnline, ProductID: "prod-online", DisplayName: "Microsoft 365 E3",
			Kind: domain.KindOnlineService, KeyType: domain.KeyNone, Policy: domain.PolicyProratedRefundWindow,
			WindowDays: 7, MaxQuantity: 300, AutoRenew: app.AutoRenewDefault{Enabled: true, Renewable: true},
			Price: app.Price{PerPeriod: eur(1000), PerTerm: eur(12000), PeriodsPerTerm: 12}},
		skuPerpetual: {SkuID: skuPerpetual, ProductID: "prod-perpetual", DisplayName: "Office LTSC 2021",
			Kind: domain.KindPerpetualSoftware, KeyType: domain.KeyMAK, Downloads: dl,
			Policy: domain.PolicyFullCreditWindow, WindowDays: 30, MaxQuantity: 500,
			Price: app.Price{PerPeriod: eur(50000), PerTerm: eur(50000), PeriodsPerTerm: 1}},
		skuSubKeys: {SkuID: skuSubKeys, ProductID: "prod-subkeys", DisplayName: "Visio Professional subscription",
			Kind: domain.KindSoftwareSubscription, KeyType: domain.KeyMAK, Downloads: dl,
			Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, MaxQuantity: 100,
			AutoRenew: app.AutoRenewDefault{Enabled: true, Renewable: true},
			Price:     app.Price{PerPeriod: eur(30000), PerTerm: eur(30000), PeriodsPerTerm: 1}},
	}
}

// call is one call a peer received.
type call struct {
	Op        string // provision, compensate, issue, revoke, cancel
	RequestID string
	OrderID   string
	LineID    string
	Ref       string // compensate: the undone step's request ID; revoke: the reason; cancel: the subscription
	Sku       string // provision, issue: the line's SKU (not compared)
	Principal string // who the call acts for: subject@org of the principal in its context (not compared)
}

func (c call) String() string {
	return fmt.Sprintf("%s %s line=%s ref=%s", c.Op, c.RequestID, c.LineID, c.Ref)
}

// fakePeers implements app.Identity, app.Catalog, app.Subscriptions and app.Keys.
type fakePeers struct {
	mu       sync.Mutex
	calls    []call            // calls with a request ID, in the order they arrived
	attempts map[string]int    // op/requestID → calls
	effects  map[string]string // op/requestID → the ID it made: the callee's distinct effects
	undone   map[string]bool   // provision/issue request IDs whose effect was compensated or revoked
	offerN   int               // catalog calls
	checkN   int               // identity calls
	seq      int
	inflight map[string]int // order ID → calls in flight
	overlaps []string       // calls that arrived while another call of their order was in flight

	relationship bool
	offers       map[string]app.Offer
	window       app.CancelWindow
	refund       domain.Money

	// fail is asked before a call takes effect: an error is the call's answer, nothing happened.
	fail func(c call, attempt int) error
	// lost is asked after a call took effect: an error replaces the answer (the reply was lost).
	lost func(ctx context.Context, c call, attempt int) error
	// during runs while the call is in flight, before anything else.
	during func(ctx context.Context, c call)
}

var (
	_ app.Identity      = (*fakePeers)(nil)
	_ app.Catalog       = (*fakePeers)(nil)
	_ app.Subscriptions = (*fakePeers)(nil)
	_ app.Keys          = (*fakePeers)(nil)
)

func newFakePeers() *fakePeers {
	return &fakePeers{attempts: map[string]int{}, effects: map[string]string{}, undone: map[string]bool{},
		inflight: map[string]int{}, relationship: true, offers: catalogOffers()}
}

// do runs one idempotent call: the first call of a request ID makes the effect (effect names
// its result), repeats answer with the same result.
func (f *fakePeers) do(ctx context.Context, c call, effect func(n int) string) (string, error) {
	if p, ok := auth.FromContext(ctx); ok {
		c.Principal = p.Subject + "@" + p.OrgID
	}
	f.mu.Lock()
	key := c.Op + "/" + c.RequestID
	f.attempts[key]++
	n := f.attempts[key]
	f.calls = append(f.calls, c)
	if f.inflight[c.OrderID] > 0 {
		f.overlaps = append(f.overlaps, c.String())
	}
	f.inflight[c.OrderID]++
	fail, lost, during := f.fail, f.lost, f.during
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight[c.OrderID]--
		f.mu.Unlock()
	}()
	if during != nil {
		during(ctx, c)
	}
	if fail != nil {
		if err := fail(c, n); err != nil {
			return "", err
		}
	}
	f.mu.Lock()
	id, ok := f.effects[key]
	if !ok {
		f.seq++
		id = effect(f.seq)
		f.effects[key] = id
	}
	f.mu.Unlock()
	if lost != nil {
		if err := lost(ctx, c, n); err != nil {
			return "", err
		}
	}
	return id, nil
}

func (f *fakePeers) CheckCustomer(_ context.Context, _, _ string) (app.CustomerCheck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkN++
	cc := app.CustomerCheck{Exists: true, CountryCode: "DE", RelationshipActive: f.relationship}
	if !f.relationship {
		cc.DenialReason = "NO_RELATIONSHIP"
	}
	return cc, nil
}

func (f *fakePeers) Offer(_ context.Context, skuID, market string, _ domain.Term, _ domain.BillingPlan) (app.Offer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offerN++
	of, ok := f.offers[skuID]
	if !ok || market != "DE" {
		return app.Offer{}, errs.NotFoundf("sku", skuID)
	}
	return of, nil
}

func (f *fakePeers) Provision(ctx context.Context, requestID string, o domain.Order, l domain.OrderLine, offer app.Offer) (string, error) {
	if l.Term == domain.TermPerpetual {
		return "", errs.Invalid("term", "perpetual lines have no subscription")
	}
	if offer.SkuID != l.SkuID {
		return "", errs.Invalid("offer", "offer of %s for line of %s", offer.SkuID, l.SkuID)
	}
	return f.do(ctx, call{Op: "provision", RequestID: requestID, OrderID: o.ID, LineID: l.ID, Sku: l.SkuID},
		func(n int) string { return fmt.Sprintf("sub-%d", n) })
}

func (f *fakePeers) Compensate(ctx context.Context, requestID, stepRequestID, _ string) error {
	_, err := f.do(ctx, call{Op: "compensate", RequestID: requestID, OrderID: f.orderOfStep(stepRequestID), Ref: stepRequestID},
		func(int) string {
			f.undone[stepRequestID] = true // also a tombstone when the step never ran
			return "compensated"
		})
	return err
}

// orderOfStep finds the order of a provisioning request, for the in-flight bookkeeping.
func (f *fakePeers) orderOfStep(stepRequestID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Op == "provision" && c.RequestID == stepRequestID {
			return c.OrderID
		}
	}
	return ""
}

func (f *fakePeers) CancelWindow(_ context.Context, _ string) (app.CancelWindow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.window, nil
}

func (f *fakePeers) Cancel(ctx context.Context, requestID, subscriptionID, _ string) (domain.Money, error) {
	_, err := f.do(ctx, call{Op: "cancel", RequestID: requestID, Ref: subscriptionID},
		func(int) string { return "cancelled" })
	if err != nil {
		return domain.Money{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refund, nil
}

func (f *fakePeers) Issue(ctx context.Context, requestID string, o domain.Order, l domain.OrderLine, offer app.Offer) (string, error) {
	if !l.NeedsEntitlements() || offer.SkuID != l.SkuID {
		return "", errs.Invalid("line", "line %s needs no entitlement from offer %s", l.ID, offer.SkuID)
	}
	return f.do(ctx, call{Op: "issue", RequestID: requestID, OrderID: o.ID, LineID: l.ID, Sku: l.SkuID},
		func(n int) string { return fmt.Sprintf("ent-%d", n) })
}

func (f *fakePeers) Revoke(ctx context.Context, requestID, orderID string, lineIDs []string, reason app.RevocationReason) error {
	line := ""
	if len(lineIDs) == 1 {
		line = lineIDs[0]
	}
	_, err := f.do(ctx, call{Op: "revoke", RequestID: requestID, OrderID: orderID, LineID: line, Ref: string(reason)},
		func(int) string {
			for _, l := range lineIDs {
				f.undone[domain.RequestIDFor(orderID, domain.StepIssueEntitlements, l)] = true
			}
			return "revoked"
		})
	return err
}

// callsOf lists the calls of the given ops, in order.
func (f *fakePeers) callsOf(ops ...string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		for _, op := range ops {
			if c.Op == op {
				out = append(out, c)
			}
		}
	}
	return out
}

func (f *fakePeers) attemptsOf(op, requestID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[op+"/"+requestID]
}

// effectOf is the ID the call with op and request ID made, "" if none.
func (f *fakePeers) effectOf(op, requestID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.effects[op+"/"+requestID]
}

// live counts the effects of op (provision, issue) that exist and were not undone.
func (f *fakePeers) live(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for key := range f.effects {
		if len(key) > len(op) && key[:len(op)+1] == op+"/" && !f.undone[key[len(op)+1:]] {
			n++
		}
	}
	return n
}

func (f *fakePeers) set(fn func(f *fakePeers)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// countingStore counts the recovery loop's looks for due sagas and remembers when (wall time)
// each order was first listed as due.
type countingStore struct {
	app.Store
	wall  clock.Clock
	polls atomic.Int64

	mu       sync.Mutex
	firstDue map[string]time.Time
}

func newCountingStore(s app.Store, wall clock.Clock) *countingStore {
	return &countingStore{Store: s, wall: wall, firstDue: map[string]time.Time{}}
}

func (c *countingStore) DueSagas(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := c.Store.DueSagas(ctx, now, limit)
	c.mu.Lock()
	for _, id := range ids {
		if _, ok := c.firstDue[id]; !ok {
			c.firstDue[id] = now
		}
	}
	c.mu.Unlock()
	c.polls.Add(1)
	return ids, err
}

func (c *countingStore) dueAt(id string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.firstDue[id]
	return t, ok
}

// waitPolls waits until the recovery loop has looked for due sagas n more times.
func (c *countingStore) waitPolls(t *testing.T, n int64) {
	t.Helper()
	want := c.polls.Load() + n
	waitFor(t, fmt.Sprintf("%d more polls of the recovery loop", n), func() bool { return c.polls.Load() >= want })
}

// parkedSagas stores new sagas without a lease and never starts them: the recovery loops of
// the runners under test find them due.
type parkedSagas struct{}

func (parkedSagas) NewRecord(s domain.Saga, p auth.Principal) app.SagaRecord {
	return app.SagaRecord{Saga: s, Principal: p, Version: 1}
}
func (parkedSagas) Start(context.Context, domain.Order, app.SagaRecord, map[string]app.Offer) {}
func (parkedSagas) ApplyCancellation(string)                                                  {}

// env is one test's world.
type env struct {
	t       *testing.T
	store   *ordersql.Store
	peers   *fakePeers
	biz     *clock.Fake
	wall    *clock.Fake
	changes *app.Changes
}

func newEnv(t *testing.T, dsn string) *env {
	return &env{t: t, store: ordersql.New(testkit.OpenDB(t, dsn, migrations.FS, "orders_schema")),
		peers: newFakePeers(), biz: clock.NewFake(bizStart), wall: clock.NewFake(wallStart), changes: app.NewChanges()}
}

// fastRetry retries at once in wall time terms (1-2 ms), so tests need not move the wall clock
// for a retry.
var fastRetry = domain.RetryPolicy{Base: time.Millisecond, Max: 2 * time.Millisecond, MaxAttempts: 4}

// runner returns a runner over st (the env's store when nil) with the fake wall clock.
func (e *env) runner(owner string, st app.Store, opts saga.Options) *saga.Runner {
	if st == nil {
		st = e.store
	}
	opts.Owner, opts.Wall = owner, e.wall
	if opts.Poll == 0 {
		opts.Poll = 2 * time.Millisecond
	}
	if opts.Retry.MaxAttempts == 0 {
		opts.Retry = fastRetry
	}
	p := saga.Peers{Identity: e.peers, Catalog: e.peers, Subscriptions: e.peers, Keys: e.peers}
	return saga.New(st, p, e.biz, e.changes, opts)
}

// start runs r's recovery loop until the returned stop (or the test's end).
func (e *env) start(r *saga.Runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	e.t.Cleanup(stop)
	return stop
}

func (e *env) app(s app.Sagas) *app.App {
	return app.New(e.store, e.peers, e.peers, e.peers, s, e.biz, e.changes, app.Options{})
}

func (e *env) place(a *app.App, lines ...domain.LineInput) domain.Order {
	e.t.Helper()
	in := app.PlaceInput{PlaceOrderInput: domain.PlaceOrderInput{RequestID: uuid.NewString(),
		CustomerID: customerID, Lines: lines}}
	o, err := a.PlaceOrder(partnerCtx(), in)
	if err != nil {
		e.t.Fatalf("PlaceOrder: %v", err)
	}
	return o
}

func (e *env) order(id string) domain.Order {
	e.t.Helper()
	o, err := e.store.Order(context.Background(), id)
	if err != nil {
		e.t.Fatalf("read order %s: %v", id, err)
	}
	return o
}

func (e *env) saga(id string) app.SagaRecord {
	e.t.Helper()
	var rec app.SagaRecord
	err := e.store.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		var err error
		rec, err = tx.Saga(ctx, id)
		return err
	})
	if err != nil {
		e.t.Fatalf("read saga %s: %v", id, err)
	}
	return rec
}

// waitOrder polls the stored order until ok holds, and returns it.
func (e *env) waitOrder(id, what string, ok func(domain.Order) bool) domain.Order {
	e.t.Helper()
	var o domain.Order
	waitFor(e.t, "order "+id+" "+what, func() bool {
		var err error
		o, err = e.store.Order(context.Background(), id)
		return err == nil && ok(o)
	})
	return o
}

func settledAs(s domain.OrderState) func(domain.Order) bool {
	return func(o domain.Order) bool { return o.State == s && !o.CancellationPending }
}

func (e *env) entries(orderID string) []ledger.Entry {
	e.t.Helper()
	es, err := e.store.LedgerEntries(context.Background(), billing.EntryQuery{PartnerID: partnerID, OrderID: orderID})
	if err != nil {
		e.t.Fatalf("ledger entries of %s: %v", orderID, err)
	}
	return es
}

// waitFor polls cond until it holds; the deadline is only there so a broken build fails
// instead of hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitCtx is waitFor inside a fake: it gives up when ctx ends.
func waitCtx(ctx context.Context, cond func() bool) {
	deadline := time.Now().Add(20 * time.Second)
	for !cond() && ctx.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
}

func rid(o domain.Order, step domain.Step, line int) string {
	l := ""
	if line >= 0 {
		l = o.Lines[line].ID
	}
	return domain.RequestIDFor(o.ID, step, l)
}

func crid(o domain.Order, step domain.Step, line int) string {
	return domain.CompensationRequestIDFor(o.ID, step, o.Lines[line].ID)
}

// sumOf adds the amounts of the entries of one kind for one line.
func sumOf(es []ledger.Entry, kind ledger.Kind, lineID string) (n int, minor int64) {
	for _, e := range es {
		if e.Kind == kind && e.Source.LineID == lineID {
			n++
			minor += e.Amount.Minor
		}
	}
	return n, minor
}
