package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/orders"
)

// BenchmarkServiceMemory is each service's resident memory (RSS) and goroutines as a process of
// its own (procStack): idle, a few seconds after start once the demo partner has a token and the
// seed catalog is in (goal: ≤ 40 MB each); loaded, the highest seen while 16 clients place
// orders through the whole saga and 8 read SKUs; and a few seconds after the load (goroutines
// back where they were: nothing leaks per request). On SQLite and on PostgreSQL + Redis.
func BenchmarkServiceMemory(b *testing.B) {
	b.Run("db=sqlite", func(b *testing.B) { benchServiceMemory(b, suiteSQLite) })
	b.Run("db=postgres+redis", func(b *testing.B) { benchServiceMemory(b, suitePostgres) })
}

func benchServiceMemory(b *testing.B, engine suiteEngine) {
	settle := envDuration(b, "PARTNERHUB_BENCH_SETTLE", pick(3*time.Second, 200*time.Millisecond))
	load := envDuration(b, "PARTNERHUB_BENCH_MEMORY_LOAD", pick(10*time.Second, time.Second))
	ps := startProcStack(b, engine)
	ctx := context.Background()
	ps.connectAll(b)
	time.Sleep(settle)
	idle, err := ps.sample(ctx)
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	s := ps.startSampler(ctx, 250*time.Millisecond)
	orderCount, skuOps, err := mixedLoad(b, ps.suite, 16, 8, load)
	samples, serr := s.stop()
	if err != nil {
		b.Fatalf("load: %v", err)
	}
	if serr != nil {
		b.Fatal(serr)
	}
	loaded := peak(samples)
	time.Sleep(settle)
	after, err := ps.sample(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()

	var t strings.Builder
	fmt.Fprintf(&t, "each service as a process, %s; load: %d orders and %d GetSku in %s\n", engine, orderCount, skuOps, load)
	t.WriteString("| service | idle RSS | loaded RSS (peak) | goroutines idle / loaded (peak) / after |\n|---|---:|---:|---:|\n")
	for _, n := range suiteServices {
		b.ReportMetric(idle[n].rssMB, n+"-idle-rss-MB")
		b.ReportMetric(loaded[n].rssMB, n+"-loaded-rss-MB")
		b.ReportMetric(float64(idle[n].goroutines), n+"-idle-goroutines")
		b.ReportMetric(float64(loaded[n].goroutines), n+"-loaded-goroutines")
		b.ReportMetric(float64(after[n].goroutines), n+"-after-goroutines")
		fmt.Fprintf(&t, "| %s | %.1f MB | %.1f MB | %d / %d / %d |\n", n, idle[n].rssMB, loaded[n].rssMB,
			idle[n].goroutines, loaded[n].goroutines, after[n].goroutines)
	}
	b.ReportMetric(0, "ns/op")
	b.Log(t.String())
}

// mixedLoad has orderClients place orders through the whole saga back to back and skuClients
// read SKUs, for d; it returns the orders completed and the GetSku calls made. An order that
// ends FAILED is an error.
func mixedLoad(b *testing.B, st *suite, orderClients, skuClients int, d time.Duration) (int, int, error) {
	ctx := st.partnerCtx(context.Background())
	oc := &orderClient{st: st, orders: ordersv1.NewOrderServiceClient(st.conn(orders.Name)),
		customers: identityv1.NewCustomerServiceClient(st.conn(identity.Name))}
	pool := oc.newPool(b, ctx, int(600*d.Seconds())+orderClients)
	cat := catalogv1.NewCatalogServiceClient(st.conn("catalog"))
	skus := seedSkuIDs(b)
	var (
		wg       sync.WaitGroup
		orderRes loadResult
		skuRes   phaseResult
		oerr     error
		serr     error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		orderRes, oerr = oc.closedLoop(ctx, orderClients, d, pool)
	}()
	go func() {
		defer wg.Done()
		skuRes, serr = runPhase(ctx, skuClients, d, func(ctx context.Context, i int) error {
			_, err := cat.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: skus[i%len(skus)]})
			return err
		})
	}()
	wg.Wait()
	switch {
	case oerr != nil:
		return 0, 0, oerr
	case serr != nil:
		return 0, 0, fmt.Errorf("GetSku: %w", serr)
	case orderRes.failed > 0:
		return 0, 0, fmt.Errorf("%d orders failed; first: %s", orderRes.failed, orderRes.firstFailure)
	}
	return orderRes.completed, skuRes.ops, nil
}
