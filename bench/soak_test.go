package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/orders"
	"github.com/partnerhub/partnerhub/services/subscriptions"
)

// BenchmarkSoak (`make soak`) runs the six services as processes (procStack) for
// PARTNERHUB_SOAK_DURATION (default 10 minutes) at half their measured capacity, and fails unless
// the run ends with
//   - zero errors: no RPC error and no order that ends other than COMPLETED;
//   - RSS growth under 10 % for every service, from the end of the warm-up (the first tenth of
//     the run, at most a minute, by when caches and pools have reached their working size) to
//     the end of the run;
//   - no goroutine growth: once the load stops, every service is back to the goroutines it had
//     before the load (within 15 s, for streams and timers to end).
//
// The load: one-line orders through the whole saga in an open loop at half the capacity a 32-client
// closed loop measures first (for 30 s) (PARTNERHUB_SOAK_RATE fixes it), spread over fresh customers, plus 4
// clients reading SKUs back to back with 10 ms pauses and a ListSubscriptions of 100 every 100 ms.
// PARTNERHUB_SOAK_DB=postgres runs it on PostgreSQL + Redis instead of SQLite. The last line of
// the output is the verdict.
func BenchmarkSoak(b *testing.B) {
	engine := suiteSQLite
	if os.Getenv("PARTNERHUB_SOAK_DB") == "postgres" {
		engine = suitePostgres
	}
	d := envDuration(b, "PARTNERHUB_SOAK_DURATION", pick(10*time.Minute, 5*time.Second))
	every := pick(10*time.Second, 500*time.Millisecond)
	warmup := min(d/10, time.Minute)

	ps := startProcStack(b, engine)
	ps.connectAll(b)
	ctx := ps.partnerCtx(context.Background())
	oc := &orderClient{st: ps.suite, orders: ordersv1.NewOrderServiceClient(ps.conn(orders.Name)),
		customers: identityv1.NewCustomerServiceClient(ps.conn(identity.Name))}

	var rate float64
	if os.Getenv("PARTNERHUB_SOAK_RATE") != "" {
		rate = float64(envInt(b, "PARTNERHUB_SOAK_RATE", 1))
	} else {
		// 30 s, not 10: the first seconds on empty databases run faster than the suite can keep
		// up (before the first WAL checkpoints); half of that burst overloaded a 10-minute run.
		probe := pick(30*time.Second, time.Second)
		res, err := oc.closedLoop(ctx, 32, probe, oc.newPool(b, ctx, int(600*probe.Seconds())+32))
		if err != nil {
			b.Fatalf("capacity: %v", err)
		}
		rate = res.completedPerSec() / 2
	}
	n := max(1, int(rate*d.Seconds()))
	pool := oc.newPool(b, ctx, n)
	// Every kind of call once before the idle sample, so that the connections the services open
	// lazily to each other (a first ListSubscriptions asks identity) are already counted.
	// (Cancelled, not timed out: a deadline can fail a call before the context reports it ended.)
	warmCtx, stopWarm := context.WithCancel(ctx)
	_, warmErr := backgroundReads(warmCtx, ps.suite, pool.ids[0])
	time.Sleep(pick(2*time.Second, 300*time.Millisecond))
	stopWarm()
	if err := warmErr(); err != nil {
		b.Fatalf("warm-up reads: %v", err)
	}

	time.Sleep(pick(3*time.Second, 200*time.Millisecond))
	before, err := ps.sample(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	stacksBefore := map[string]map[string]int{}
	for _, name := range suiteServices {
		if stacksBefore[name], err = goroutineStacks(context.Background(), ps.procs[name].adminAddr); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	s := ps.startSampler(context.Background(), every)
	readsCtx, stopReads := context.WithCancel(ctx)
	reads, readErr := backgroundReads(readsCtx, ps.suite, pool.ids[0])
	start := time.Now()
	// A line a minute on stderr, as the run goes (a benchmark's log comes only at its end).
	progress := progressReport{every: pick(time.Minute, time.Second), report: func(p progress) {
		line := fmt.Sprintf("soak %s: %s", time.Since(start).Round(time.Second), p)
		// The sampler's latest: a sample of its own would open a second connection to each
		// admin port, a goroutine more at the end.
		if u := s.last(); u != nil {
			line += "; RSS MB (goroutines): " + fmtUsage(u)
		}
		fmt.Fprintln(os.Stderr, line)
	}}
	res, err := oc.openLoop(ctx, rate, n, pool, progress)
	elapsed := time.Since(start)
	if err != nil {
		// What every service was doing when the load failed: the stacks most goroutines share.
		for _, name := range suiteServices {
			if now, serr := goroutineStacks(context.Background(), ps.procs[name].adminAddr); serr == nil {
				b.Logf("%s's goroutines when the load failed, most common stacks first:\n%s", name, topStacks(now, 8))
			}
		}
	}
	stopReads()
	readCount, rerr := reads(), readErr()
	samples, serr := s.stop()
	b.StopTimer()
	if err == nil {
		err = errors.Join(rerr, serr)
	}

	// Goroutines back to where they were before the load.
	var after map[string]usage
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if after, serr = ps.sample(context.Background()); serr != nil || time.Now().After(deadline) || !grew(before, after) {
			break
		}
	}

	// RSS from the end of the warm-up to the end of the run: the mean of a tenth of the samples
	// right after the warm-up against the mean of the last tenth (single samples move with GC).
	var baseline, final map[string]usage
	skip := int(warmup / every) // sample i was taken at (i+1)·every
	if w := max(1, len(samples)/10); skip+w <= len(samples)-w {
		baseline, final = meanUsage(samples[skip:skip+w]), meanUsage(samples[len(samples)-w:])
	}
	var problems []string
	if err != nil {
		problems = append(problems, "error: "+err.Error())
	}
	if res.failed > 0 {
		problems = append(problems, fmt.Sprintf("%d orders failed (first: %s)", res.failed, res.firstFailure))
	}
	if baseline == nil {
		problems = append(problems, fmt.Sprintf("too few samples (%d)", len(samples)))
	}
	var rss, gor []string
	worst := 0.0
	for _, name := range suiteServices {
		if baseline != nil {
			g := (final[name].rssMB - baseline[name].rssMB) / baseline[name].rssMB * 100
			worst = max(worst, g)
			rss = append(rss, fmt.Sprintf("%s %.1f→%.1f MB (%+.1f%%)", name, baseline[name].rssMB, final[name].rssMB, g))
			b.ReportMetric(g, name+"-rss-growth-%")
			// A harness check (PARTNERHUB_BENCH_SHORT) lasts seconds, while caches and pools are
			// still filling: its growth is reported, not judged.
			if g >= 10 && !short() {
				problems = append(problems, fmt.Sprintf("%s RSS grew %.1f%%", name, g))
			}
		}
		if after != nil {
			gor = append(gor, fmt.Sprintf("%s %d→%d", name, before[name].goroutines, after[name].goroutines))
			b.ReportMetric(float64(after[name].goroutines-before[name].goroutines), name+"-goroutine-growth")
			if after[name].goroutines > before[name].goroutines {
				problems = append(problems, fmt.Sprintf("%s goroutines %d→%d", name, before[name].goroutines, after[name].goroutines))
				if now, err := goroutineStacks(context.Background(), ps.procs[name].adminAddr); err == nil {
					b.Logf("%s gained these goroutines:\n%s", name, stacksGained(stacksBefore[name], now))
				}
			}
		}
	}
	b.ReportMetric(rate, "orders/s")
	b.ReportMetric(float64(res.completed), "orders")
	b.ReportMetric(float64(readCount), "reads")
	b.ReportMetric(float64(res.failed), "failed-orders")
	b.ReportMetric(ms(res.total.quantile(0.50)), "complete-p50-ms")
	b.ReportMetric(ms(res.total.quantile(0.99)), "complete-p99-ms")
	b.ReportMetric(worst, "worst-rss-growth-%")
	b.ReportMetric(0, "ns/op")

	verdict := "PASS"
	if len(problems) > 0 {
		verdict = "FAIL (" + strings.Join(problems, "; ") + ")"
	}
	b.Logf("soak, %s, %s at %.0f orders/s (half the measured capacity) on %s: %d orders completed, %d failed, %d reads; "+
		"→ COMPLETED p50 %s, p99 %s, slowest %s; mean RSS of the tenth after the %s warm-up → of the last tenth: %s; goroutines before → after the load: %s",
		engine, elapsed.Round(time.Second), rate, machine(), res.completed, res.failed, readCount,
		fmtMs(res.total.quantile(0.50)), fmtMs(res.total.quantile(0.99)), fmtMs(res.slowest), warmup,
		strings.Join(rss, ", "), strings.Join(gor, ", "))
	summary := fmt.Sprintf("soak: %s — %s, %d orders at %.0f/s, %d errors, RSS growth ≤ %.1f%%, goroutines %s",
		verdict, elapsed.Round(time.Second), res.completed, rate, res.failed+boolInt(err != nil), worst,
		map[bool]string{true: "grew", false: "back to idle"}[after == nil || grew(before, after)])
	if len(problems) > 0 {
		b.Fatal(summary)
	}
	b.Log(summary)
}

// meanUsage is the mean RSS of each service over samples.
func meanUsage(samples []map[string]usage) map[string]usage {
	sum := map[string]usage{}
	for _, u := range samples {
		for name, v := range u {
			t := sum[name]
			t.rssMB += v.rssMB / float64(len(samples))
			sum[name] = t
		}
	}
	return sum
}

// grew reports whether any service has more goroutines in after than in before.
func grew(before, after map[string]usage) bool {
	for n, u := range after {
		if u.goroutines > before[n].goroutines {
			return true
		}
	}
	return false
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// backgroundReads reads until ctx ends: 4 clients GetSku with 10 ms pauses, and the first page
// of 100 of one customer's subscriptions every 100 ms. It returns how many reads were made and
// the first error.
func backgroundReads(ctx context.Context, st *suite, customer string) (count func() int64, firstErr func() error) {
	cat := catalogv1.NewCatalogServiceClient(st.conn("catalog"))
	subs := subscriptionsv1.NewSubscriptionServiceClient(st.conn(subscriptions.Name))
	skus := []string{benchOrderSku}
	var (
		n   atomic.Int64
		mu  sync.Mutex
		err error
		wg  sync.WaitGroup
	)
	fail := func(e error) {
		if ctx.Err() != nil {
			return // the end of the run, not a failure
		}
		mu.Lock()
		if err == nil {
			err = e
		}
		mu.Unlock()
	}
	loop := func(pause time.Duration, call func() error) {
		defer wg.Done()
		for ctx.Err() == nil {
			if e := call(); e != nil {
				fail(e)
				return
			}
			n.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
		}
	}
	for range 4 {
		wg.Add(1)
		go loop(10*time.Millisecond, func() error {
			_, e := cat.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: skus[0]})
			if e != nil {
				e = fmt.Errorf("GetSku: %w", e)
			}
			return e
		})
	}
	wg.Add(1)
	go loop(100*time.Millisecond, func() error {
		_, e := subs.ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{CustomerId: customer, PageSize: 100})
		if e != nil {
			e = fmt.Errorf("ListSubscriptions: %w", e)
		}
		return e
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return n.Load, func() error {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return err
	}
}

// fmtUsage is one service after another: "catalog 31.2 (25), …".
func fmtUsage(u map[string]usage) string {
	parts := make([]string, 0, len(suiteServices))
	for _, name := range suiteServices {
		parts = append(parts, fmt.Sprintf("%s %.1f (%d)", name, u[name].rssMB, u[name].goroutines))
	}
	return strings.Join(parts, ", ")
}
