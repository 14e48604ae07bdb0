package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// The infrastructure faults of issue 8 (point 3), under load: Redis and PostgreSQL stopped and
// started again, and a peer slowed down by a proxy past the caller's per-call deadline. The
// Redis and PostgreSQL tests stop containers every service shares: they are ordinary (not
// t.Parallel) top-level tests, so no other test runs meanwhile, and they leave the stack healthy
// (stack.RestoreInfra waits until every service answers gRPC health SERVING again).
//
// Load is a few client goroutines calling the RPCs in a loop, each call with its own deadline;
// loadRecorder keeps what every call saw, so a test can tell what clients got while the fault
// lasted and after it ended.

// loadCall is one call made under load.
type loadCall struct {
	rpc        string
	start, end time.Time
	code       codes.Code
	reason     string // ErrorInfo reason of a failed call
	msg        string
}

func (c loadCall) took() time.Duration { return c.end.Sub(c.start) }

// loadRecorder runs calls from a few goroutines until stopped and records them.
type loadRecorder struct {
	mu       sync.Mutex
	calls    []loadCall
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startLoad starts workers goroutines, each calling every rpc of rpcs in turn (with its own
// deadline perCall, pausing pause between calls) until Stop.
func startLoad(ctx context.Context, workers int, perCall, pause time.Duration, rpcs map[string]func(ctx context.Context) error) *loadRecorder {
	names := make([]string, 0, len(rpcs))
	for n := range rpcs {
		names = append(names, n)
	}
	sort.Strings(names)
	l := &loadRecorder{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				name := names[i%len(names)]
				cctx, cancel := context.WithTimeout(ctx, perCall)
				start := time.Now()
				err := rpcs[name](cctx)
				end := time.Now()
				cancel()
				l.record(loadCall{rpc: name, start: start, end: end, code: status.Code(err), reason: reasonOf(err), msg: errMsg(err)})
				time.Sleep(pause)
			}
		}()
	}
	return l
}

func errMsg(err error) string {
	if err == nil {
		return ""
	}
	return status.Convert(err).Message()
}

func (l *loadRecorder) record(c loadCall) {
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
}

// Stop stops the workers and returns every call, in the order they ended.
func (l *loadRecorder) Stop() []loadCall {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// Snapshot returns the calls recorded so far.
func (l *loadRecorder) Snapshot() []loadCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// callsIn returns the calls that started at or after from and ended before to (zero: no bound).
func callsIn(calls []loadCall, from, to time.Time) []loadCall {
	var out []loadCall
	for _, c := range calls {
		if c.start.Before(from) || (!to.IsZero() && !c.end.Before(to)) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// loadSummary is one line per RPC: calls, outcomes by code (and reason), slowest call.
func loadSummary(calls []loadCall) string {
	type agg struct {
		n       int
		outcome map[string]int
		max     time.Duration
	}
	per := map[string]*agg{}
	for _, c := range calls {
		a := per[c.rpc]
		if a == nil {
			a = &agg{outcome: map[string]int{}}
			per[c.rpc] = a
		}
		a.n++
		k := c.code.String()
		if c.reason != "" {
			k += "/" + c.reason
		}
		a.outcome[k]++
		a.max = max(a.max, c.took())
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		a := per[n]
		var outs []string
		for k, v := range a.outcome {
			outs = append(outs, fmt.Sprintf("%s×%d", k, v))
		}
		sort.Strings(outs)
		fmt.Fprintf(&b, "\n  %-28s %4d calls  %-60s slowest %v", n, a.n, strings.Join(outs, " "), a.max.Round(time.Millisecond))
	}
	return b.String()
}

// firstOKAfter returns, per RPC, how long after at its first call that started at or after at
// succeeded.
func firstOKAfter(calls []loadCall, at time.Time) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, c := range calls {
		if c.code != codes.OK || c.start.Before(at) {
			continue
		}
		if d, ok := out[c.rpc]; !ok || c.end.Sub(at) < d {
			out[c.rpc] = c.end.Sub(at)
		}
	}
	return out
}

func roundMap(m map[string]time.Duration) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %v", n, m[n].Round(10*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// seedSkuIDs waits until the catalog answers with its seed and returns the first n SKU IDs.
func seedSkuIDs(t *testing.T, ctx context.Context, partner context.Context, n int) []string {
	t.Helper()
	cat := catalogv1.NewCatalogServiceClient(stack.Conn("catalog"))
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := cat.ListSkus(partner, &catalogv1.ListSkusRequest{PageSize: int32(n)})
		if err == nil && len(resp.GetSkus()) > 0 {
			var ids []string
			for _, s := range resp.GetSkus() {
				ids = append(ids, s.GetSkuId())
			}
			return ids
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("the seed catalog did not appear: %v, %v", resp, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitMetrics polls the named service's metrics (prefix) until ok holds, for at most timeout, and
// returns when it held (time.Time{} if never) and the last samples.
func waitMetrics(ctx context.Context, name, prefix string, timeout time.Duration, ok func(map[string]float64) bool) (time.Time, map[string]float64, error) {
	deadline := time.Now().Add(timeout)
	var last map[string]float64
	var lastErr error
	for {
		m, err := stack.Metrics(ctx, name, prefix)
		if err == nil {
			last = m
			if ok(m) {
				return time.Now(), m, nil
			}
		}
		lastErr = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Time{}, last, lastErr
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const (
	catDegraded = `partnerhub_cache_degraded{cache="catalog"}`
	catNearOn   = `partnerhub_cache_near_usable{cache="catalog"}`
	catRedisHit = `partnerhub_cache_requests_total{cache="catalog",result="hit"}`
	catBypass   = `partnerhub_cache_requests_total{cache="catalog",result="bypass"}`
)

// TestE2E_Fault_RedisRestartedUnderLoad_CatalogServes (issue 8, F4): Redis, the catalog's
// cache, is stopped for 6 s and started again while four clients call GetSku and ListSkus
// (2 s deadline each). "A Redis outage degrades to the database, never to errors" (DESIGN.md,
// pkg/cache): every call succeeds the whole time; the near cache turns off and the Aside goes
// degraded (reads from PostgreSQL) while Redis is away; once Redis answers again the catalog
// leaves degraded mode, turns its near cache on and serves from the cache again (cache hits
// counted, Redis sees the catalog's reads).
func TestE2E_Fault_RedisRestartedUnderLoad_CatalogServes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack.RestoreInfra(t, "redis")
	token := demoToken(t)
	partner := withToken(ctx, token)
	skus := seedSkuIDs(t, ctx, partner, 20)
	cat := catalogv1.NewCatalogServiceClient(stack.Conn("catalog"))
	if _, m, err := waitMetrics(ctx, "catalog", "partnerhub_cache", 10*time.Second, func(m map[string]float64) bool {
		return m[catDegraded] == 0 && m[catNearOn] == 1
	}); err != nil || m[catDegraded] != 0 || m[catNearOn] != 1 {
		t.Fatalf("catalog cache before the fault: degraded %v, near cache on %v (%v); want 0 and 1", m[catDegraded], m[catNearOn], err)
	}

	var n sync.Mutex
	i := 0
	next := func() string { n.Lock(); defer n.Unlock(); i++; return skus[i%len(skus)] }
	load := startLoad(ctx, 4, 2*time.Second, 5*time.Millisecond, map[string]func(context.Context) error{
		"catalog.GetSku": func(ctx context.Context) error {
			id := next()
			resp, err := cat.GetSku(withToken(ctx, token), &catalogv1.GetSkuRequest{SkuId: id})
			if err == nil && resp.GetSku().GetSkuId() != id {
				return status.Errorf(codes.DataLoss, "GetSku %s answered %s", id, resp.GetSku().GetSkuId())
			}
			return err
		},
		"catalog.ListSkus": func(ctx context.Context) error {
			resp, err := cat.ListSkus(withToken(ctx, token), &catalogv1.ListSkusRequest{PageSize: 20})
			if err == nil && len(resp.GetSkus()) != len(skus) {
				return status.Errorf(codes.DataLoss, "ListSkus answered %d SKUs, want %d", len(resp.GetSkus()), len(skus))
			}
			return err
		},
	})
	defer load.Stop()
	time.Sleep(2 * time.Second)
	before, _ := stack.Metrics(ctx, "catalog", "partnerhub_cache")

	t0 := time.Now()
	if err := stack.StopInfra(ctx, "redis"); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	// The near cache goes off within its ServeFor (1 s) and the Aside degrades on its first error.
	degradedAt, during, err := waitMetrics(ctx, "catalog", "partnerhub_cache", 5*time.Second, func(m map[string]float64) bool {
		return m[catDegraded] == 1 && m[catNearOn] == 0
	})
	if degradedAt.IsZero() {
		t.Errorf("with Redis stopped the catalog cache never showed degraded with the near cache off: %v (%v)", during, err)
	}
	time.Sleep(time.Until(t1.Add(6 * time.Second)))
	t2 := time.Now()
	if err := stack.StartInfra(ctx, "redis"); err != nil {
		t.Fatal(err)
	}
	t3 := time.Now()
	backAt, after, err := waitMetrics(ctx, "catalog", "partnerhub_cache", 30*time.Second, func(m map[string]float64) bool {
		return m[catDegraded] == 0 && m[catNearOn] == 1
	})
	if backAt.IsZero() {
		t.Fatalf("Redis back for 30 s, the catalog cache still degraded %v, near cache on %v (%v)", after[catDegraded], after[catNearOn], err)
	}
	// Reads come from the cache again: hits grow, bypasses (database reads past the cache) stop.
	time.Sleep(2 * time.Second)
	settledM, _ := stack.Metrics(ctx, "catalog", "partnerhub_cache")
	time.Sleep(2 * time.Second)
	endM, _ := stack.Metrics(ctx, "catalog", "partnerhub_cache")
	calls := load.Stop()
	if endM[catRedisHit] <= settledM[catRedisHit] && endM[`partnerhub_cache_near_requests_total{cache="catalog",result="hit"}`] <=
		settledM[`partnerhub_cache_near_requests_total{cache="catalog",result="hit"}`] {
		t.Errorf("no cache hit (Redis or near) in the 2 s after the catalog left degraded mode: before %v, after %v", settledM, endM)
	}
	if endM[catBypass] != settledM[catBypass] {
		t.Errorf("the catalog still bypassed its cache %v times in the 2 s after leaving degraded mode", endM[catBypass]-settledM[catBypass])
	}
	if keys, err := stack.RedisCLI(ctx, "--scan", "--pattern", "catalog:*"); err != nil || !strings.Contains(keys, "catalog:") {
		t.Errorf("Redis holds no catalog key after the restart: %q, %v", keys, err)
	}

	for _, c := range calls {
		if c.code != codes.OK {
			t.Errorf("%s at %v into the test (Redis stopped %v–%v, started %v–%v): %v %s %q after %v; want every call answered",
				c.rpc, c.start.Sub(t0).Round(time.Millisecond), 0, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t0).Round(time.Millisecond),
				t3.Sub(t0).Round(time.Millisecond), c.code, c.reason, c.msg, c.took().Round(time.Millisecond))
		}
	}
	t.Logf("Redis stopped in %v, degraded mode seen %v after the stop; down %v; answering %v after start; catalog on Redis with near cache again %v after Redis answered",
		t1.Sub(t0).Round(time.Millisecond), degradedAt.Sub(t1).Round(time.Millisecond), t3.Sub(t1).Round(time.Millisecond),
		t3.Sub(t2).Round(time.Millisecond), backAt.Sub(t3).Round(time.Millisecond))
	t.Logf("calls before the stop:%s", loadSummary(callsIn(calls, time.Time{}, t0)))
	t.Logf("calls from the stop until Redis answered again:%s", loadSummary(callsIn(calls, t0, t3)))
	t.Logf("calls after Redis answered again:%s", loadSummary(callsIn(calls, t3, time.Time{})))
	t.Logf("cache metrics before %v\n during %v\n after %v", before, during, endM)
}

// TestE2E_Fault_PostgresRestartedUnderLoad_FailsFastThenRecovers (issue 8, F5): the PostgreSQL
// container every service keeps its data in is stopped for 8 s and started again (same
// container, same data) while clients read through every service (5 s deadline each) and
// PlaceOrder is called every 300 ms with a new request ID.
//
//   - While it is down, every call that needs the database fails FAST with UNAVAILABLE
//     (DEPENDENCY_UNAVAILABLE): never INTERNAL, never a hang until the deadline; most at once
//     (pkg/store's connect gate), none later than one connect timeout (2 s) plus scheduling
//     delays. The catalog's cached reads (GetSku, ListSkus) keep answering while their cache
//     entries last (logged, not asserted: the TTL decides).
//   - After it is back the services reconnect by themselves (no restart), gRPC health turns
//     SERVING again, and every RPC succeeds.
//   - Nothing is half-written (OR-1, OR-7): every order a PlaceOrder answered settles, each
//     PlaceOrder refused with UNAVAILABLE is retried with its request ID and then places its
//     order exactly once, every order COMPLETES with one subscription and one charge.
func TestE2E_Fault_PostgresRestartedUnderLoad_FailsFastThenRecovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	waitOrdersReady(t, ctx, tn)
	o := placeCompleted(t, ctx, tn, lineM365Annual(1))
	subID := o.GetLines()[0].GetProvisioning().GetSubscriptionId()
	// The orders placed under the fault go to three more customers of the same partner, in turn
	// (each stays below the tenant's subscription limit, SU-13).
	var placing []lifecycleTenant
	for i := range 3 {
		c := tn
		c.customerID, c.customerAdminToken = createCustomerAs(t, ctx, tn.agentToken, "DE", fmt.Sprintf("Fabrikam Outage %d GmbH", i))
		placing = append(placing, c)
	}
	stack.RestoreInfra(t, "postgres")

	agent := func(ctx context.Context) context.Context { return withToken(ctx, tn.agentToken) }
	ords, subs := ordersv1.NewOrderServiceClient(stack.Conn("orders")), subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	ents := keysv1.NewEntitlementServiceClient(stack.Conn("keys"))
	custs := identityv1.NewCustomerServiceClient(stack.Conn("identity"))
	das := delegatedadminv1.NewDelegatedAdminServiceClient(stack.Conn("delegatedadmin"))
	cat := catalogv1.NewCatalogServiceClient(stack.Conn("catalog"))
	// Every RPC here reads its service's database.
	dbRPCs := map[string]func(ctx context.Context) error{
		"orders.GetOrder": func(ctx context.Context) error {
			_, err := ords.GetOrder(agent(ctx), &ordersv1.GetOrderRequest{OrderId: o.GetOrderId()})
			return err
		},
		"subscriptions.GetSubscription": func(ctx context.Context) error {
			_, err := subs.GetSubscription(agent(ctx), &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: subID})
			return err
		},
		"keys.ListSoftware": func(ctx context.Context) error {
			_, err := ents.ListSoftware(agent(ctx), &keysv1.ListSoftwareRequest{CustomerId: tn.customerID, IncludeLicenseOnly: true})
			return err
		},
		"identity.GetCustomer": func(ctx context.Context) error {
			_, err := custs.GetCustomer(agent(ctx), &identityv1.GetCustomerRequest{CustomerId: tn.customerID})
			return err
		},
		"delegatedadmin.ListRelationships": func(ctx context.Context) error {
			_, err := das.ListRelationships(agent(ctx), &delegatedadminv1.ListRelationshipsRequest{})
			return err
		},
	}
	// The catalog answers these from its cache (Redis and the near cache).
	cached := map[string]func(ctx context.Context) error{
		"catalog.ListSkus": func(ctx context.Context) error {
			_, err := cat.ListSkus(agent(ctx), &catalogv1.ListSkusRequest{PageSize: 5})
			return err
		},
		"catalog.GetSku": func(ctx context.Context) error {
			_, err := cat.GetSku(agent(ctx), &catalogv1.GetSkuRequest{SkuId: skuM365Business})
			return err
		},
	}
	const (
		deadline = 5 * time.Second
		// failFastMax bounds a failure while the database is down: one connect timeout (2 s)
		// plus slack for a loaded 2-core machine; failFastMedian the typical one.
		failFastMax    = 3500 * time.Millisecond
		failFastMedian = 500 * time.Millisecond
	)
	for name, fn := range dbRPCs {
		if err := fn(ctx); err != nil {
			t.Fatalf("%s before the fault: %v", name, err)
		}
	}
	load := startLoad(ctx, 3, deadline, 20*time.Millisecond, dbRPCs)
	defer load.Stop()
	cachedLoad := startLoad(ctx, 1, deadline, 20*time.Millisecond, cached)
	defer cachedLoad.Stop()

	// PlaceOrder every 500 ms, from before the stop until the stack is back.
	type placed struct {
		req        *ordersv1.PlaceOrderRequest
		start, end time.Time
		orderID    string
		err        error
	}
	const placeEvery = 500 * time.Millisecond
	var (
		placedMu sync.Mutex
		places   []placed
	)
	stopPlacing := make(chan struct{})
	var placingDone sync.WaitGroup
	placingDone.Add(1)
	go func() {
		defer placingDone.Done()
		tick := time.NewTicker(placeEvery)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopPlacing:
				return
			case <-tick.C:
			}
			req := &ordersv1.PlaceOrderRequest{RequestId: uuid.NewString(), CustomerId: placing[i%len(placing)].customerID,
				Lines: []*ordersv1.OrderLineInput{lineM365Annual(1)}}
			cctx, cancel := context.WithTimeout(ctx, deadline)
			start := time.Now()
			resp, err := ords.PlaceOrder(withToken(cctx, tn.agentToken), req)
			p := placed{req: req, start: start, end: time.Now(), orderID: resp.GetOrder().GetOrderId(), err: err}
			cancel()
			placedMu.Lock()
			places = append(places, p)
			placedMu.Unlock()
		}
	}()

	time.Sleep(1500 * time.Millisecond)
	t0 := time.Now()
	if err := stack.StopInfra(ctx, "postgres"); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	time.Sleep(8 * time.Second)
	t2 := time.Now()
	if err := stack.StartInfra(ctx, "postgres"); err != nil {
		t.Fatal(err)
	}
	t3 := time.Now()
	if err := stack.WaitAllServing(ctx); err != nil {
		t.Fatalf("after PostgreSQL came back: %v", err)
	}
	t4 := time.Now()
	time.Sleep(3 * time.Second)
	close(stopPlacing)
	placingDone.Wait()
	calls := load.Stop()
	cachedCalls := cachedLoad.Stop()

	// While it was down (calls that started once the container had stopped and ended before it
	// started again): UNAVAILABLE, fast. Never a wait until the deadline; typically at once
	// (store's connect gate), at worst one connect timeout (2 s) plus a loaded machine's delays.
	down := callsIn(calls, t1, t2)
	var failures []time.Duration
	for _, c := range down {
		if c.code == codes.OK {
			continue
		}
		failures = append(failures, c.took())
		if c.code != codes.Unavailable {
			t.Errorf("%s with PostgreSQL down: %v %s %q after %v; want UNAVAILABLE", c.rpc, c.code, c.reason, c.msg, c.took().Round(time.Millisecond))
		} else if c.took() > failFastMax {
			t.Errorf("%s with PostgreSQL down: UNAVAILABLE after %v; want it well under the %v deadline (at most %v)", c.rpc, c.took().Round(time.Millisecond), deadline, failFastMax)
		}
	}
	p50, p95, slowest := percentiles(failures)
	if len(failures) == 0 {
		t.Errorf("no call failed while PostgreSQL was down: %s", loadSummary(down))
	} else if p50 > failFastMedian {
		t.Errorf("with PostgreSQL down the median failure took %v; want UNAVAILABLE at once (under %v)", p50.Round(time.Millisecond), failFastMedian)
	}
	for name := range dbRPCs {
		if !slices.ContainsFunc(down, func(c loadCall) bool { return c.rpc == name && c.code == codes.Unavailable }) {
			t.Errorf("%s never answered UNAVAILABLE while PostgreSQL was down:%s", name, loadSummary(down))
		}
	}
	// Back: every RPC succeeds from a second after every service reported SERVING.
	for _, c := range callsIn(calls, t4.Add(time.Second), time.Time{}) {
		if c.code != codes.OK {
			t.Errorf("%s %v after every service was SERVING again: %v %s %q", c.rpc, c.start.Sub(t4).Round(time.Millisecond), c.code, c.reason, c.msg)
		}
	}
	t.Logf("PostgreSQL stopped in %v, down %v, answering %v after its start; every service SERVING %v after that",
		t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond), t4.Sub(t3).Round(time.Millisecond))
	t.Logf("calls before the stop:%s", loadSummary(callsIn(calls, time.Time{}, t0)))
	t.Logf("calls while it stopped (%v):%s", t1.Sub(t0).Round(time.Millisecond), loadSummary(callsIn(calls, t0, t1)))
	t.Logf("calls while it was down (%d failures: median %v, p95 %v, slowest %v):%s", len(failures), p50.Round(time.Millisecond),
		p95.Round(time.Millisecond), slowest.Round(time.Millisecond), loadSummary(down))
	t.Logf("calls from its start to every service SERVING:%s", loadSummary(callsIn(calls, t2, t4)))
	t.Logf("first success of each RPC after PostgreSQL answered: %s", roundMap(firstOKAfter(calls, t3)))
	t.Logf("calls after:%s", loadSummary(callsIn(calls, t4, time.Time{})))
	// The catalog answers from its cache while an entry lasts (TTL), then UNAVAILABLE like the rest.
	t.Logf("catalog reads (cached) from the stop until PostgreSQL answered:%s", loadSummary(callsIn(cachedCalls, t0, t3)))

	// Nothing half-written: each PlaceOrder answered settles; each refused one, retried with its
	// request ID, places its order once; every order completes with one subscription and one charge.
	placedMu.Lock()
	all := slices.Clone(places)
	placedMu.Unlock()
	var answered, refused, other int
	var refusals []time.Duration
	for _, p := range all {
		c := status.Code(p.err)
		switch {
		case p.err == nil:
			answered++
		case c == codes.Unavailable:
			refused++
			refusals = append(refusals, p.end.Sub(p.start))
		default:
			other++
			t.Logf("PlaceOrder %v into the test: %v %s %q after %v", p.start.Sub(t0).Round(time.Millisecond), c, reasonOf(p.err),
				errMsg(p.err), p.end.Sub(p.start).Round(time.Millisecond))
		}
		// While the database was down: an order (PlaceOrder before any database call, e.g. a
		// replay, cannot happen here) is not expected, UNAVAILABLE fast is.
		if !p.start.Before(t1) && p.end.Before(t2) && p.err != nil && (c != codes.Unavailable || p.end.Sub(p.start) > failFastMax) {
			t.Errorf("PlaceOrder %v into the test, PostgreSQL down: %v after %v; want UNAVAILABLE, fast", p.start.Sub(t0).Round(time.Millisecond),
				p.err, p.end.Sub(p.start).Round(time.Millisecond))
		}
	}
	r50, _, rmax := percentiles(refusals)
	t.Logf("PlaceOrder: %d calls, %d answered with an order, %d refused UNAVAILABLE (median %v, slowest %v), %d other",
		len(all), answered, refused, r50.Round(time.Millisecond), rmax.Round(time.Millisecond), other)
	orderIDs := map[string]bool{}
	for _, p := range all {
		id := p.orderID
		if p.err != nil {
			// The client's retry, with the same request ID.
			id = retryPlaceOrder(t, ctx, tn.agentToken, p.req)
		}
		if orderIDs[id] {
			t.Errorf("two requests answered order %s", id)
		}
		orderIDs[id] = true
	}
	charged := map[string]int{}
	for _, c := range placing {
		listed := listOrders(t, ctx, tn.agentToken, c.customerID)
		completed := 0
		for _, lo := range listed {
			if !orderIDs[lo.GetOrderId()] {
				t.Errorf("order %s listed, answered to no request", lo.GetOrderId())
			}
			s := watchSettled(t, ctx, tn.agentToken, lo.GetOrderId(), 90*time.Second)
			line := s.GetLines()[0]
			if s.GetState() != ordersv1.OrderState_ORDER_STATE_COMPLETED || line.GetProvisioning().GetSubscriptionId() == "" || line.GetProvisioning().GetChargeLedgerEntryId() == "" {
				t.Errorf("order %s: %s; want COMPLETED with a subscription and a charge", s.GetOrderId(), describeOrder(s))
				continue
			}
			completed++
		}
		if got := listSubscriptions(t, ctx, c); len(got) != completed || len(listed) != completed {
			t.Errorf("customer %s: %d orders, %d completed, %d subscriptions; want one subscription per order, every order completed",
				c.customerID, len(listed), completed, len(got))
		}
		for _, e := range ledgerEntries(t, ctx, tn.adminToken, &ordersv1.ListLedgerEntriesRequest{CustomerId: c.customerID}) {
			charged[e.GetSource().GetOrderId()]++
		}
	}
	for id := range orderIDs {
		if charged[id] != 1 {
			t.Errorf("order %s has %d ledger entries; want one charge", id, charged[id])
		}
	}
}

// percentiles returns the median, the 95th percentile and the maximum of ds (zeros when empty).
func percentiles(ds []time.Duration) (p50, p95, maxd time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*95/100)], s[len(s)-1]
}

// retryPlaceOrder retries a PlaceOrder the way a client does after UNAVAILABLE or a timeout:
// with the same request ID, waiting out REQUEST_IN_PROGRESS, for at most 60 s. It returns the
// order.
func retryPlaceOrder(t *testing.T, ctx context.Context, token string, req *ordersv1.PlaceOrderRequest) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := ordersAPI().PlaceOrder(withToken(cctx, token), req)
		cancel()
		if err == nil {
			return resp.GetOrder().GetOrderId()
		}
		c := status.Code(err)
		retryable := c == codes.Unavailable || c == codes.DeadlineExceeded || (c == codes.Aborted && reasonOf(err) == "REQUEST_IN_PROGRESS")
		if !retryable || time.Now().After(deadline) {
			t.Fatalf("PlaceOrder retried with request ID %s: %v", req.GetRequestId(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// slowKeysDelay is how long the proxy holds keys' answers in TestE2E_Fault_KeysSlow...: longer
// than orders' 5 s per-call timeout to keys (services/orders/internal/adapters/keys callTimeout).
const slowKeysDelay = 7 * time.Second

// TestE2E_Fault_KeysSlow_DeadlinesPropagateSagaRetriesOrCompensates (issue 8, F6; OR-1, OR-7):
// orders reaches keys through a TCP proxy in the test process that holds every answer of keys
// for 7 s, longer than orders' 5 s per-call timeout (the stack's orders is stopped and one
// started with PARTNERHUB_ORDERS_KEYS_ADDR set to the proxy, on the same database and alias;
// the stack's orders comes back when the test ends). Requests reach keys at once, so keys does
// the work; only the answer is late: the saga cannot know whether the call happened.
//
//   - Deadlines propagate: a synchronous orders RPC that calls keys (ValidateProductKeys) ends
//     when the client's deadline does (2 s: DEADLINE_EXCEEDED after 2 s, not 5 or 7), and
//     orders' own 5 s per-call timeout bounds it when the client allows more.
//   - Keys fast again within the saga's retry window (8 calls): the retried issue_entitlements,
//     same request ID, gets keys' first answer, and the order COMPLETES once: one subscription,
//     one entitlement, one charge.
//   - Keys slow past the retry window: the saga gives up on issue_entitlements (DEADLINE_EXCEEDED
//     counts as uncertain) and compensates in reverse order; revoke_entitlements (retried without
//     limit) goes through once keys answers in time again, and the order ends FAILED, its
//     subscription cancelled, the entitlement keys did issue revoked, nothing charged.
func TestE2E_Fault_KeysSlow_DeadlinesPropagateSagaRetriesOrCompensates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tn := newOpenPartner(t, ctx)
	gw, err := stack.GatewayIP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keysAt, err := stack.Endpoint(ctx, "keys")
	if err != nil {
		t.Fatal(err)
	}
	proxy := startDelayProxy(t, keysAt)
	// Registered after the proxy: runs before the proxy closes (cleanups run last first).
	stack.Restore(t, "orders")
	t0 := time.Now()
	if err := stack.Kill(ctx, "orders"); err != nil { // no saga in flight: nothing to drain
		t.Fatal(err)
	}
	if err := stack.StartWithEnv(ctx, "orders", map[string]string{
		"PARTNERHUB_ORDERS_KEYS_ADDR": fmt.Sprintf("%s:%d", gw, proxy.Port()),
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("orders restarted to reach keys through the proxy at %s:%d in %v", gw, proxy.Port(), time.Since(t0).Round(100*time.Millisecond))
	agent := withToken(ctx, tn.agentToken)
	review := &ordersv1.ValidateProductKeysRequest{ProductKeys: []string{"AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"},
		Target: &ordersv1.ValidateProductKeysRequest_CustomerId{CustomerId: tn.customerID}}
	if _, err := retryUnavailable(ctx, func(ctx context.Context) (*ordersv1.ValidateProductKeysResponse, error) {
		return redemptionAPI().ValidateProductKeys(withToken(ctx, tn.agentToken), review)
	}); err != nil {
		t.Fatalf("ValidateProductKeys through the proxy, no delay: %v", err)
	}
	if proxy.conns.Load() == 0 {
		t.Fatalf("orders answered ValidateProductKeys without a connection through the proxy")
	}

	t.Run("DeadlinesPropagate", func(t *testing.T) {
		proxy.SetDelay(slowKeysDelay)
		defer proxy.SetDelay(0)
		for _, tc := range []struct {
			client   time.Duration
			min, max time.Duration
		}{
			{2 * time.Second, 1900 * time.Millisecond, 3 * time.Second},          // the client's deadline, passed on to orders' call
			{15 * time.Second, 4900 * time.Millisecond, 6500 * time.Millisecond}, // orders' 5 s per-call timeout
		} {
			cctx, cancel := context.WithTimeout(agent, tc.client)
			start := time.Now()
			_, err := redemptionAPI().ValidateProductKeys(cctx, review)
			took := time.Since(start)
			cancel()
			t.Logf("ValidateProductKeys with a %v deadline, keys answering after %v: %v %s after %v", tc.client, slowKeysDelay,
				status.Code(err), reasonOf(err), took.Round(time.Millisecond))
			if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Unavailable {
				t.Errorf("ValidateProductKeys with a %v deadline: %v; want DEADLINE_EXCEEDED (or UNAVAILABLE)", tc.client, err)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("ValidateProductKeys with a %v deadline ended after %v; want between %v and %v", tc.client, took.Round(time.Millisecond), tc.min, tc.max)
			}
		}
	})

	t.Run("FastAgainWithinRetryWindow_Completes", func(t *testing.T) {
		tn := newLifecycleTenant(t, ctx)
		proxy.SetDelay(slowKeysDelay)
		defer proxy.SetDelay(0)
		o := placeOrder(t, ctx, tn, lineSQLServerSub(1))
		placed := time.Now()
		mid := waitOrder(t, ctx, tn.agentToken, o.GetOrderId(), "the subscription created, the saga at issue_entitlements", 20*time.Second,
			func(o *ordersv1.Order) bool { return o.GetLines()[0].GetProvisioning().GetSubscriptionId() != "" })
		// Two issue_entitlements calls time out (5 s each, 100 ms and 200 ms backoff between).
		time.Sleep(time.Until(placed.Add(11 * time.Second)))
		still := getOrder(t, ctx, tn.agentToken, o.GetOrderId())
		if still.GetState() != ordersv1.OrderState_ORDER_STATE_PROVISIONING || still.GetFailure() != nil || still.GetLines()[0].GetProvisioning().GetEntitlementId() != "" {
			t.Fatalf("order with keys slow for 11 s: %s; want PROVISIONING, retrying issue_entitlements", describeOrder(still))
		}
		proxy.SetDelay(0)
		fast := time.Now()
		done := watchSettled(t, ctx, tn.agentToken, o.GetOrderId(), orderWaitTimeout)
		t.Logf("keys slow for %v after the order was placed; the order COMPLETED %v after keys was fast again",
			fast.Sub(placed).Round(100*time.Millisecond), time.Since(fast).Round(100*time.Millisecond))
		checkProvisionedOnce(t, ctx, tn, done, mid.GetLines()[0].GetProvisioning().GetSubscriptionId())
	})

	t.Run("SlowPastRetryWindow_FailsCompensated", func(t *testing.T) {
		tn := newLifecycleTenant(t, ctx)
		proxy.SetDelay(slowKeysDelay)
		defer proxy.SetDelay(0)
		o := placeOrder(t, ctx, tn, lineSQLServerSub(1))
		placed := time.Now()
		mid := waitOrder(t, ctx, tn.agentToken, o.GetOrderId(), "the subscription created, the saga at issue_entitlements", 20*time.Second,
			func(o *ordersv1.Order) bool { return o.GetLines()[0].GetProvisioning().GetSubscriptionId() != "" })
		subID := mid.GetLines()[0].GetProvisioning().GetSubscriptionId()
		// 8 calls of 5 s plus 11.3 s of backoff: about 51 s.
		gaveUp := waitOrder(t, ctx, tn.agentToken, o.GetOrderId(), "the saga given up on issue_entitlements (COMPENSATING)", 90*time.Second,
			func(o *ordersv1.Order) bool {
				return o.GetState() == ordersv1.OrderState_ORDER_STATE_COMPENSATING || o.GetState() == ordersv1.OrderState_ORDER_STATE_FAILED
			})
		gaveUpAt := time.Now()
		if f := gaveUp.GetFailure(); f.GetStep() != "issue_entitlements" || failureReason(f) != "DEPENDENCY_UNAVAILABLE" {
			t.Errorf("order after the saga gave up: %s; want failure DEPENDENCY_UNAVAILABLE at step issue_entitlements", describeOrder(gaveUp))
		}
		// revoke_entitlements goes to the slow keys as well: the order stays COMPENSATING.
		time.Sleep(time.Second)
		if still := getOrder(t, ctx, tn.agentToken, o.GetOrderId()); still.GetState() != ordersv1.OrderState_ORDER_STATE_COMPENSATING {
			t.Errorf("order with keys still slow: %s; want COMPENSATING until revoke_entitlements goes through", describeOrder(still))
		}
		proxy.SetDelay(0)
		fast := time.Now()
		done := watchSettled(t, ctx, tn.agentToken, o.GetOrderId(), orderWaitTimeout)
		t.Logf("the saga gave up %v after the order was placed; FAILED %v after keys was fast again (%s)",
			gaveUpAt.Sub(placed).Round(100*time.Millisecond), time.Since(fast).Round(100*time.Millisecond), describeOrder(done))
		line := done.GetLines()[0]
		if done.GetState() != ordersv1.OrderState_ORDER_STATE_FAILED || done.GetFailure().GetStep() != "issue_entitlements" ||
			line.GetProvisioning().GetChargeLedgerEntryId() != "" {
			t.Fatalf("order: %s; want FAILED at issue_entitlements, no charge", describeOrder(done))
		}
		checkNothingProvisioned(t, ctx, tn, subID)
	})
}

// checkNothingProvisioned checks that a FAILED order's customer holds nothing: its subscription
// subID CANCELLED (or gone), no active subscription or entitlement, no ledger entry (OR-1).
func checkNothingProvisioned(t *testing.T, ctx context.Context, tn lifecycleTenant, subID string) {
	t.Helper()
	resp, err := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions")).GetSubscription(withToken(ctx, tn.agentToken),
		&subscriptionsv1.GetSubscriptionRequest{SubscriptionId: subID})
	switch {
	case status.Code(err) == codes.NotFound:
	case err != nil:
		t.Errorf("GetSubscription %s: %v", subID, err)
	case resp.GetSubscription().GetState() != subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_CANCELLED:
		t.Errorf("subscription %s after the compensation: %v; want CANCELLED", subID, resp.GetSubscription().GetState())
	}
	if active := listSubscriptions(t, ctx, tn, stActive); len(active) != 0 {
		t.Errorf("active subscriptions of the customer: %v; want none", active)
	}
	ents := listSoftware(t, ctx, tn, "")
	for _, e := range ents {
		if e.GetState() == keysv1.EntitlementState_ENTITLEMENT_STATE_ACTIVE {
			t.Errorf("active entitlement %s after the compensation; want none", e.GetEntitlementId())
		}
	}
	t.Logf("entitlements of the customer after the compensation: %d (none active)", len(ents))
	if es := ledgerEntries(t, ctx, tn.adminToken, &ordersv1.ListLedgerEntriesRequest{CustomerId: tn.customerID}); len(es) != 0 {
		t.Errorf("ledger of the customer: %s; want no charge", describeEntries(es))
	}
}
