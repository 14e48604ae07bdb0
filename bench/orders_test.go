package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof" // PARTNERHUB_BENCH_PPROF
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/orders"
)

// Order throughput through the whole saga (issue 7, acceptance 3): one-line orders placed with
// PlaceOrder and followed with WatchOrder until COMPLETED, against the whole suite in this
// process (orders_stack_test.go) on the devstack's storage (SQLite, in-process cache) and on
// PostgreSQL + Redis. The orders are the demo partner's (its Admin agent's token), for customers
// it creates first with identity's CreateCustomer (a reseller relationship each), one line of 5 ×
// CFQ7TTC0LDPB:0001 (Microsoft 365 Business Standard) P1Y ANNUAL, in DE.
//
// An order is measured from PlaceOrder until WatchOrder shows it COMPLETED: the saga's steps
// (subscription, entitlement, charges) are inside. Orders go round robin to customers, at most
// ordersPerCustomer each, well below subscriptions' tenant limit (SU-13: 300 active subscriptions
// per tenant by default; every order adds one); each phase gets fresh customers, enough for it.
//
// Phases:
//  1. warm-up: a closed loop of C clients (PARTNERHUB_BENCH_ORDER_CLIENTS, default 32) for a
//     fifth of the phase, unmeasured;
//  2. maximum throughput: the same closed loop — every client places an order, waits for it to
//     complete, places the next — for PARTNERHUB_BENCH_ORDER_PHASE (default 10s): the orders
//     completed within the phase per second of it (those still in flight at its end are waited
//     for and count in the latencies, not in the rate), with the latencies of PlaceOrder alone
//     and of PlaceOrder → COMPLETED under saturation, the orders slower than a second, and the
//     process's CPU time and heap allocations per order;
//  3. latency at half load: an open loop that places orders at a fixed rate (half the measured
//     maximum, or PARTNERHUB_BENCH_ORDER_RATE orders/s) for the phase, each in its own goroutine
//     whatever the others do; latency is counted from the order's scheduled start, so a stall in
//     the loop is not hidden (no coordinated omission).
//
// The clients run in the same process as the services and take their share of the CPU; nothing
// is asserted about timings (figures are published in the README, not enforced). An order that
// ends FAILED is counted and its first failure shown; any RPC error stops the benchmark.
// PARTNERHUB_BENCH_PPROF=host:port serves net/http/pprof of the process meanwhile (goroutine
// dumps; -cpuprofile covers CPU).
func BenchmarkOrders(b *testing.B) {
	b.Run("db=sqlite", func(b *testing.B) { benchOrders(b, suiteSQLite) })
	b.Run("db=postgres+redis", func(b *testing.B) { benchOrders(b, suitePostgres) })
}

const (
	benchOrderSku     = "CFQ7TTC0LDPB:0001"
	ordersPerCustomer = 250 // below the tenant limit of 300 (SU-13)
)

func benchOrders(b *testing.B, engine suiteEngine) {
	clients := envInt(b, "PARTNERHUB_BENCH_ORDER_CLIENTS", 32)
	phase := envDuration(b, "PARTNERHUB_BENCH_ORDER_PHASE", pick(10*time.Second, 500*time.Millisecond))
	fixedRate := 0
	if os.Getenv("PARTNERHUB_BENCH_ORDER_RATE") != "" {
		fixedRate = envInt(b, "PARTNERHUB_BENCH_ORDER_RATE", 1)
	}

	if a := os.Getenv("PARTNERHUB_BENCH_PPROF"); a != "" {
		// net/http/pprof of this process (services and clients): goroutine dumps during a phase.
		srv := &http.Server{Addr: a, Handler: http.DefaultServeMux}
		go func() { _ = srv.ListenAndServe() }()
		b.Cleanup(func() { srv.Close() })
	}
	loadBefore := loadAverage()
	setupStart := time.Now()
	st := startSuite(b, engine)
	oc := &orderClient{st: st, orders: ordersv1.NewOrderServiceClient(st.conn(orders.Name)),
		customers: identityv1.NewCustomerServiceClient(st.conn(identity.Name))}
	ctx := st.partnerCtx(context.Background())
	setup := time.Since(setupStart)

	// Warm-up, which also says how many customers the measured closed loop needs.
	warmRes, err := oc.closedLoop(ctx, clients, max(phase/5, time.Second), oc.newPool(b, ctx, clients*ordersPerCustomer/4))
	if err != nil {
		b.Fatalf("warm-up: %v%s", err, st.why())
	}
	warmRate := warmRes.completedPerSec()

	b.ResetTimer()
	closed, err := oc.closedLoop(ctx, clients, phase, oc.newPool(b, ctx, int(3*warmRate*phase.Seconds())+4*clients))
	if err != nil {
		b.Fatalf("closed loop: %v%s", err, st.why())
	}
	maxRate := closed.completedPerSec()
	rate := maxRate / 2
	if fixedRate > 0 {
		rate = float64(fixedRate)
	}
	n := max(1, int(rate*phase.Seconds()))
	open, err := oc.openLoop(ctx, rate, n, oc.newPool(b, ctx, n), progressReport{})
	if err != nil {
		b.Fatalf("open loop: %v%s", err, st.why())
	}
	b.StopTimer()

	cp50, cp99 := closed.total.quantile(0.50), closed.total.quantile(0.99)
	cpp50, cpp99 := closed.place.quantile(0.50), closed.place.quantile(0.99)
	op50, op99 := open.total.quantile(0.50), open.total.quantile(0.99)
	opp50, opp99 := open.place.quantile(0.50), open.place.quantile(0.99)

	b.ReportMetric(0, "ns/op") // one invocation measures everything: the built-in figure means nothing
	b.ReportMetric(maxRate, "orders/s")
	b.ReportMetric(ms(cp50), "sat-complete-p50-ms")
	b.ReportMetric(ms(cp99), "sat-complete-p99-ms")
	b.ReportMetric(ms(cpp50), "sat-place-p50-ms")
	b.ReportMetric(ms(cpp99), "sat-place-p99-ms")
	b.ReportMetric(rate, "open-rate-orders/s")
	b.ReportMetric(open.completedPerSec(), "open-completed/s")
	b.ReportMetric(ms(op50), "complete-p50-ms")
	b.ReportMetric(ms(op99), "complete-p99-ms")
	b.ReportMetric(ms(opp50), "place-p50-ms")
	b.ReportMetric(ms(opp99), "place-p99-ms")
	b.ReportMetric(float64(closed.failed+open.failed), "failed-orders")
	b.ReportMetric(float64(closed.slow+open.slow), "orders-over-1s")
	cpuPerOrder := closed.cpu / time.Duration(max(1, closed.completed))
	b.ReportMetric(ms(cpuPerOrder), "cpu-ms/order")
	perOrder := func(n uint64) float64 { return float64(n) / float64(max(1, closed.completed)) }
	b.ReportMetric(perOrder(closed.bytes), "B/op") // per order at max throughput
	b.ReportMetric(perOrder(closed.mallocs), "allocs/op")

	var t strings.Builder
	fmt.Fprintf(&t, "orders through the whole saga, %s (PlaceOrder → WatchOrder COMPLETED, one line; suite up in %s, %d customers created in %s):\n\n",
		engine, setup.Round(100*time.Millisecond), oc.created, oc.creating.Round(100*time.Millisecond))
	t.WriteString("| load | orders/s | PlaceOrder p50 | PlaceOrder p99 | → COMPLETED p50 | → COMPLETED p99 | slowest | orders (> 1 s) | failed |\n")
	t.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&t, "| closed loop, %d clients, %s (max throughput) | %.0f | %s | %s | %s | %s | %s | %d (%d) | %d |\n",
		clients, phase, maxRate, fmtMs(cpp50), fmtMs(cpp99), fmtMs(cp50), fmtMs(cp99), fmtMs(closed.slowest),
		closed.completed, closed.slow, closed.failed)
	fmt.Fprintf(&t, "| open loop at %.0f/s (%s), %s | %.0f | %s | %s | %s | %s | %s | %d (%d) | %d |\n",
		rate, map[bool]string{true: "PARTNERHUB_BENCH_ORDER_RATE", false: "half the max"}[fixedRate > 0], phase,
		open.completedPerSec(), fmtMs(opp50), fmtMs(opp99), fmtMs(op50), fmtMs(op99), fmtMs(open.slowest),
		open.completed, open.slow, open.failed)
	notCounted := ""
	if engine == suitePostgres {
		notCounted = "; PostgreSQL and Redis run in containers, their CPU is not counted"
	}
	fmt.Fprintf(&t, "\nCPU per order at max throughput: %s (process CPU %s over %s for %d orders, services and clients%s; %d cores ⇒ a CPU-bound ceiling of %.0f orders/s). ",
		fmtMs(cpuPerOrder), closed.cpu.Round(10*time.Millisecond), closed.elapsed.Round(10*time.Millisecond), closed.completed,
		notCounted, runtime.NumCPU(), float64(runtime.NumCPU())*float64(time.Second)/float64(max(1, cpuPerOrder)))
	fmt.Fprintf(&t, "Heap per order: %.0f kB in %.0f allocations. ", perOrder(closed.bytes)/1024, perOrder(closed.mallocs))
	fmt.Fprintf(&t, "Open loop: up to %d orders in flight. ", open.maxInFlight)
	if f := closed.firstFailure + open.firstFailure; f != "" {
		fmt.Fprintf(&t, "First failure: %s. ", f)
	}
	fmt.Fprintf(&t, "Clients and the six services in one process on %s; 1-min load average before the run %s (above 0: other processes took CPU too).",
		machine(), loadBefore)
	b.Log(t.String())
}

// why is what a failed call's message adds: the service that stopped early, if one did.
func (s *suite) why() string {
	if err := s.stopped(); err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

// machine describes this machine for the tables: cores, memory, Go, date.
func machine() string {
	mem := "? GiB"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					mem = fmt.Sprintf("%.0f GiB", kb/(1<<20))
				}
			}
		}
	}
	return fmt.Sprintf("%d cores, %s, %s, %s", runtime.NumCPU(), mem, runtime.Version(), time.Now().UTC().Format("2006-01-02"))
}

// loadAverage is the machine's 1-minute load average (/proc/loadavg), or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// orderClient places and follows orders as the demo partner.
type orderClient struct {
	st        *suite
	orders    ordersv1.OrderServiceClient
	customers identityv1.CustomerServiceClient
	created   int           // customers created by newPool
	creating  time.Duration // the time newPool took
}

// customerPool hands out customers round robin, at most ordersPerCustomer orders each.
type customerPool struct {
	ids   []string
	limit int // orders in all; 0: ordersPerCustomer each
	next  atomic.Int64
	out   atomic.Pointer[time.Time] // when pick first found the capacity used up
}

// exhausted returns when the pool's capacity was used up, or zero.
func (p *customerPool) exhausted() time.Time {
	if t := p.out.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// pick returns the customer of the next order, or false when the pool's capacity is used up.
func (p *customerPool) pick() (string, bool) {
	i := int(p.next.Add(1) - 1)
	limit := p.limit
	if limit == 0 {
		limit = len(p.ids) * ordersPerCustomer
	}
	if i >= limit {
		now := time.Now()
		p.out.CompareAndSwap(nil, &now)
		return "", false
	}
	return p.ids[i%len(p.ids)], true
}

// newPool creates enough fresh customers for orders orders (CreateCustomer, 8 at a time).
func (oc *orderClient) newPool(b *testing.B, ctx context.Context, orders int) *customerPool {
	b.Helper()
	defer func(t0 time.Time) { oc.creating += time.Since(t0) }(time.Now())
	n := max(1, (orders+ordersPerCustomer-1)/ordersPerCustomer)
	oc.created += n
	p := &customerPool{ids: make([]string, n)}
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		firstErr atomic.Pointer[error]
	)
	for range min(8, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && firstErr.Load() == nil; i = int(next.Add(1) - 1) {
				tag := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
				resp, err := oc.customers.CreateCustomer(ctx, &identityv1.CreateCustomerRequest{
					RequestId: uuid.NewString(), OrganisationName: "Bench Customer " + tag, CountryCode: "DE",
					DomainPrefix: "bench" + tag,
					Admin:        &identityv1.InitialAdmin{DisplayName: "Bench IT", Email: "it@bench-" + tag + ".example"},
				})
				if err != nil {
					err = fmt.Errorf("CreateCustomer: %w", err)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				p.ids[i] = resp.GetCustomer().GetCustomerId()
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		b.Fatal(*e)
	}
	return p
}

// orderResult is what one order measured.
type orderResult struct {
	place, total time.Duration
	done         time.Time
	failure      string // the failure of an order that ended FAILED (or another settled state)
}

// placeAndWait places a one-line order for the customer and follows it until it settles; total
// counts from start (the scheduled start in the open loop).
func (oc *orderClient) placeAndWait(ctx context.Context, customer string, start time.Time) (orderResult, error) {
	// Well above the saga's lease (30 s), after which a stalled saga is resumed.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	resp, err := oc.orders.PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{RequestId: uuid.NewString(), CustomerId: customer,
		Lines: []*ordersv1.OrderLineInput{{SkuId: benchOrderSku, Quantity: 5,
			Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL}}})
	if err != nil {
		return orderResult{}, fmt.Errorf("PlaceOrder: %w", err)
	}
	res := orderResult{place: time.Since(t0)}
	o := resp.GetOrder()
	for !settled(o.GetState()) {
		stream, err := oc.orders.WatchOrder(ctx, &ordersv1.WatchOrderRequest{OrderId: o.GetOrderId()})
		if err != nil {
			return res, fmt.Errorf("WatchOrder: %w", err)
		}
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Unavailable {
				break // settled (EOF), or ended early: watch again unless settled
			}
			if err != nil {
				return res, fmt.Errorf("WatchOrder %s: %w", o.GetOrderId(), err)
			}
			o = msg.GetOrder()
		}
	}
	res.done = time.Now()
	res.total = res.done.Sub(start)
	if o.GetState() != ordersv1.OrderState_ORDER_STATE_COMPLETED {
		res.failure = fmt.Sprintf("order %s %s: %s %s (step %s)", o.GetOrderId(), o.GetState(),
			o.GetFailure().GetReason(), o.GetFailure().GetMessage(), o.GetFailure().GetStep())
	}
	return res, nil
}

func settled(s ordersv1.OrderState) bool {
	switch s {
	case ordersv1.OrderState_ORDER_STATE_COMPLETED, ordersv1.OrderState_ORDER_STATE_FAILED,
		ordersv1.OrderState_ORDER_STATE_CANCELLED, ordersv1.OrderState_ORDER_STATE_PARTIALLY_CANCELLED:
		return true
	}
	return false
}

// loadResult is what a phase measured.
type loadResult struct {
	completed, failed int
	// inWindow counts the orders completed by the end of the phase, slow those that took over
	// slowOrder; slowest is the longest.
	inWindow, slow int
	cpu            time.Duration // CPU time of the process (services and clients) during the phase
	// Heap allocations during the phase (runtime.MemStats: services and clients, one process).
	mallocs, bytes uint64
	slowest        time.Duration
	window         time.Duration
	firstFailure   string
	elapsed        time.Duration
	place, total   phaseResult // latencies only (phaseResult.quantile)
	maxInFlight    int
}

// completedPerSec is the orders completed during the phase per second of it: orders still in
// flight when it ends are not counted (a closed loop has clients of them, a few percent), nor
// is the time they take to settle, which a stalled order would otherwise stretch.
func (r *loadResult) completedPerSec() float64 { return float64(r.inWindow) / r.window.Seconds() }

// slowOrder is what a table calls a stalled order.
const slowOrder = time.Second

// collector gathers orders' results from many goroutines.
type collector struct {
	done     []time.Time // when each completed order completed
	mu       sync.Mutex
	res      loadResult
	firstErr error
	inFlight int
}

func (c *collector) begin() {
	c.mu.Lock()
	c.inFlight++
	c.res.maxInFlight = max(c.res.maxInFlight, c.inFlight)
	c.mu.Unlock()
}

func (c *collector) end(r orderResult, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	switch {
	case err != nil:
		if c.firstErr == nil {
			c.firstErr = err
		}
	case r.failure != "":
		c.res.failed++
		if c.res.firstFailure == "" {
			c.res.firstFailure = r.failure
		}
	default:
		c.res.completed++
		c.done = append(c.done, r.done)
		if r.total > slowOrder {
			c.res.slow++
		}
		c.res.slowest = max(c.res.slowest, r.total)
		c.res.place.latencies = append(c.res.place.latencies, r.place)
		c.res.total.latencies = append(c.res.total.latencies, r.total)
	}
}

// progressReport asks a load phase for a report every so often.
type progressReport struct {
	every  time.Duration
	report func(progress)
}

// progress is how a load phase stands: orders completed (and failed) since the previous report,
// the p99 from scheduled start to COMPLETED of those, and the orders placed and not yet settled.
type progress struct {
	completed, failed, inFlight int
	p99                         time.Duration
}

func (p progress) String() string {
	return fmt.Sprintf("%d completed (p99 %s), %d failed, %d in flight", p.completed, fmtMs(p.p99), p.failed, p.inFlight)
}

// reportEvery calls p.report every p.every until the returned stop is called.
func (c *collector) reportEvery(p progressReport) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(p.every)
		defer t.Stop()
		var seen, failed int
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			c.mu.Lock()
			all := c.res.total.latencies
			recent := phaseResult{latencies: slices.Clone(all[seen:])}
			pr := progress{completed: len(all) - seen, failed: c.res.failed - failed, inFlight: c.inFlight}
			seen, failed = len(all), c.res.failed
			c.mu.Unlock()
			pr.p99 = recent.quantile(0.99)
			p.report(pr)
		}
	}()
	return func() { close(done); <-finished }
}

// closedLoop has clients place an order and wait for it, back to back, for d (or until the pool
// is used up); elapsed runs until the last order in flight has settled.
func (oc *orderClient) closedLoop(ctx context.Context, clients int, d time.Duration, pool *customerPool) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		c  collector
		wg sync.WaitGroup
	)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU()
	t0 := time.Now()
	deadline := t0.Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				customer, ok := pool.pick()
				if !ok {
					return
				}
				c.begin()
				r, err := oc.placeAndWait(ctx, customer, time.Now())
				c.end(r, err)
				if err != nil {
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	c.res.elapsed = time.Since(t0)
	// The window ends with the phase, or when the customers ran out (the clients then stopped).
	windowEnd := deadline
	if out := pool.exhausted(); !out.IsZero() && out.Before(deadline) {
		windowEnd = out
	}
	c.res.window = windowEnd.Sub(t0)
	for _, d := range c.done {
		if !d.After(windowEnd) {
			c.res.inWindow++
		}
	}
	c.res.cpu = processCPU() - cpu0
	runtime.ReadMemStats(&m1)
	c.res.mallocs, c.res.bytes = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	if c.firstErr != nil {
		return c.res, c.firstErr
	}
	if c.res.completed == 0 {
		return c.res, fmt.Errorf("no order completed (%d failed; first: %s)", c.res.failed, c.res.firstFailure)
	}
	return c.res, nil
}

// processCPU is the CPU time (user + system) this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openLoop places n orders at rate per second, each in its own goroutine, and waits for all to
// settle; latencies count from each order's scheduled start. elapsed runs from the first
// scheduled start until the last order settled.
// Every progress.every (if set) it reports how the load goes to progress.report.
func (oc *orderClient) openLoop(ctx context.Context, rate float64, n int, pool *customerPool, progress progressReport) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		c  collector
		wg sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / rate)
	t0 := time.Now()
	if progress.every > 0 {
		stop := c.reportEvery(progress)
		defer stop()
	}
	for i := range n {
		at := t0.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		customer, ok := pool.pick()
		if !ok {
			break
		}
		wg.Add(1)
		c.begin()
		go func() {
			defer wg.Done()
			r, err := oc.placeAndWait(ctx, customer, at)
			c.end(r, err)
			if err != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	c.res.elapsed = time.Since(t0)
	// Every order counts, however late: the rate is the offered one when the suite keeps up.
	c.res.window, c.res.inWindow = time.Duration(n)*interval, c.res.completed
	if c.firstErr != nil {
		return c.res, c.firstErr
	}
	if c.res.completed == 0 {
		return c.res, fmt.Errorf("no order completed (%d failed; first: %s)", c.res.failed, c.res.firstFailure)
	}
	return c.res, nil
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration, e.g. 10s", name, s)
	}
	return d
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.1f ms", ms(d)) }
