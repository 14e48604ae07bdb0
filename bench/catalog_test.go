package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	testingv1 "github.com/partnerhub/partnerhub/gen/partnerhub/testing/v1"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog"
	"github.com/partnerhub/partnerhub/services/catalog/seed"
	"github.com/partnerhub/partnerhub/services/identity"
)

// The catalog's hot path (issue 4, acceptance 2): GetSku on a warm cache against a no-op RPC on
// the same server, in the same run, with the same client settings. The catalog runs in this
// process as it runs in production — catalog.Run with its full interceptor chain, SQLite in a
// temporary directory, the in-process cache (or Redis) — next to identity, which signs the
// tokens and serves the markets; the seed catalog is imported with ImportCatalog. The no-op RPC
// is partnerhub.testing.v1.ClockService/GetTime, which a fake-clock service serves through the
// same interceptors (request ID, metrics, logging, errors, recovery, auth: the bearer token is
// verified there too) and whose handler only reads a clock.
//
// One client connection and one partner token (an Admin agent's, as an order flow carries) serve
// both RPCs. Workers (PARTNERHUB_BENCH_WORKERS,
// default 32) call back to back for a fixed phase (PARTNERHUB_BENCH_PHASE, default 250ms); phases
// of the two RPCs alternate (no-op, GetSku, GetSku, no-op, ...; PARTNERHUB_BENCH_ROUNDS rounds of
// two, default 40) so drift and GC cycles hit both alike: many short phases give a steadier ratio
// than a few long ones. Reported: ops/s of each over all rounds and their ratio (acceptance:
// ≥ 0.8), the median and range of the rounds' own ratios (how much the machine moved),
// p50/p99 latency of each, database reads per 1,000 GetSku calls from the catalog's counter
// partnerhub_catalog_store_reads_total on its admin /metrics (acceptance: ≤ 1), and heap bytes
// and allocations per call of each (B/op and allocs/op are GetSku's; client and server together,
// one process). Nothing is asserted about timings: the figures are published (README), not
// enforced. On a loaded machine the ratio moves by ±0.1 between runs: compare several.
//
// Every invocation measures the whole set of phases, whatever b.N (it lasts longer than the
// default -benchtime, so the framework calls it once). The cache=redis run puts the catalog's
// cache in Redis with its near cache, as compose and k8s run it: in the Redis at
// PARTNERHUB_BENCH_REDIS_ADDR (host:port) when set, else in a container testkit starts (make bench
// prepares Docker as make test does).

const (
	benchOperatorSecret = "bench-operator-secret-0123456789"
	benchCatalogSecret  = "bench-catalog-secret-01234567890"
)

func BenchmarkCatalogGetSku(b *testing.B) {
	b.Run("cache=memory", func(b *testing.B) { benchCatalogGetSku(b, "") })
	b.Run("cache=redis", func(b *testing.B) {
		addr := os.Getenv("PARTNERHUB_BENCH_REDIS_ADDR")
		if addr == "" {
			addr = testkit.StartRedisEmpty(b) // a container, as make test starts them
		}
		benchCatalogGetSku(b, addr)
	})
}

func benchCatalogGetSku(b *testing.B, redisAddr string) {
	workers := envInt(b, "PARTNERHUB_BENCH_WORKERS", 32)
	rounds := envInt(b, "PARTNERHUB_BENCH_ROUNDS", pick(40, 2))
	phase := pick(250*time.Millisecond, 50*time.Millisecond)
	if s := os.Getenv("PARTNERHUB_BENCH_PHASE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			b.Fatalf("PARTNERHUB_BENCH_PHASE=%q: want a positive duration, e.g. 2s", s)
		}
		phase = d
	}

	st := startCatalogStack(b, redisAddr)
	skus := seedSkuIDs(b)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+st.partnerToken)
	cat := catalogv1.NewCatalogServiceClient(st.conn)
	clk := testingv1.NewClockServiceClient(st.conn)

	getSku := func(ctx context.Context, i int) error {
		_, err := cat.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: skus[i%len(skus)]})
		return err
	}
	noop := func(ctx context.Context, _ int) error {
		_, err := clk.GetTime(ctx, &testingv1.GetTimeRequest{})
		return err
	}

	// Warm: every SKU once, checked, then a short unmeasured phase of each RPC.
	for _, id := range skus {
		resp, err := cat.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: id})
		if err != nil {
			b.Fatalf("GetSku %s: %v", id, err)
		}
		if resp.GetSku().GetSkuId() != id {
			b.Fatalf("GetSku %s returned SKU %q", id, resp.GetSku().GetSkuId())
		}
	}
	for _, f := range []callFunc{noop, getSku} {
		if _, err := runPhase(ctx, workers, phase/2, f); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}

	readsBefore := st.storeReads(b)
	var noopRes, skuRes phaseResult
	roundRatios := make([]float64, 0, rounds) // GetSku ops/s over no-op ops/s of each round
	b.ResetTimer()
	for r := range rounds {
		// no-op then GetSku, then GetSku then no-op, ...: drift hits both alike.
		order := [2]int{0, 1} // 0: no-op, 1: GetSku
		if r%2 == 1 {
			order = [2]int{1, 0}
		}
		var pair [2]phaseResult
		for _, k := range order {
			res, err := runPhase(ctx, workers, phase, [2]callFunc{noop, getSku}[k])
			if err != nil {
				b.Fatalf("measured phase: %v", err)
			}
			pair[k] = res
		}
		noopRes.add(pair[0])
		skuRes.add(pair[1])
		roundRatios = append(roundRatios, pair[1].opsPerSec()/pair[0].opsPerSec())
	}
	b.StopTimer()
	readsAfter := st.storeReads(b)

	skuOps, noopOps := skuRes.opsPerSec(), noopRes.opsPerSec()
	ratio := skuOps / noopOps
	slices.Sort(roundRatios)
	medianRatio := roundRatios[len(roundRatios)/2]
	if len(roundRatios)%2 == 0 {
		medianRatio = (roundRatios[len(roundRatios)/2-1] + medianRatio) / 2
	}
	skuP50, skuP99 := skuRes.quantile(0.50), skuRes.quantile(0.99)
	noopP50, noopP99 := noopRes.quantile(0.50), noopRes.quantile(0.99)
	readsPer1000 := (readsAfter - readsBefore) * 1000 / float64(skuRes.ops)

	b.ReportMetric(0, "ns/op") // one invocation measures everything: the built-in figure means nothing
	b.ReportMetric(skuOps, "getsku-ops/s")
	b.ReportMetric(noopOps, "noop-ops/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(medianRatio, "round-ratio-median")
	b.ReportMetric(us(skuP50), "getsku-p50-µs")
	b.ReportMetric(us(skuP99), "getsku-p99-µs")
	b.ReportMetric(us(noopP50), "noop-p50-µs")
	b.ReportMetric(us(noopP99), "noop-p99-µs")
	b.ReportMetric(readsPer1000, "db-reads/1000-getsku")
	b.ReportMetric(skuRes.perOp(skuRes.bytes), "B/op")
	b.ReportMetric(skuRes.perOp(skuRes.mallocs), "allocs/op")
	b.ReportMetric(noopRes.perOp(noopRes.bytes), "noop-B/op")
	b.ReportMetric(noopRes.perOp(noopRes.mallocs), "noop-allocs/op")

	cache := "in-process cache"
	if redisAddr != "" {
		cache = "Redis cache"
	}
	b.Logf("catalog GetSku, warm, %s, %d workers, %d×%s per RPC: GetSku %.0f ops/s vs no-op %.0f ops/s = ratio %.2f (acceptance ≥ 0.8; per round: median %.2f, range %.2f–%.2f); "+
		"GetSku p50 %s p99 %s, no-op p50 %s p99 %s; database reads per 1,000 GetSku %.2f (counter %.0f → %.0f over %d calls; acceptance ≤ 1); "+
		"client+server per call: GetSku %.0f B, %.0f allocs; no-op %.0f B, %.0f allocs",
		cache, workers, rounds, phase, skuOps, noopOps, ratio, medianRatio, roundRatios[0], roundRatios[len(roundRatios)-1], round(skuP50), round(skuP99), round(noopP50), round(noopP99),
		readsPer1000, readsBefore, readsAfter, skuRes.ops,
		skuRes.perOp(skuRes.bytes), skuRes.perOp(skuRes.mallocs), noopRes.perOp(noopRes.bytes), noopRes.perOp(noopRes.mallocs))
}

// callFunc makes call number i of one worker.
type callFunc func(ctx context.Context, i int) error

// phaseResult is what phases of one RPC measured.
type phaseResult struct {
	ops       int
	elapsed   time.Duration
	latencies []time.Duration
	// Heap allocations during the phases (runtime.MemStats: client and server, one process).
	mallocs, bytes uint64
}

func (p *phaseResult) add(q phaseResult) {
	p.ops += q.ops
	p.elapsed += q.elapsed
	p.latencies = append(p.latencies, q.latencies...)
	p.mallocs += q.mallocs
	p.bytes += q.bytes
}

func (p *phaseResult) perOp(n uint64) float64 { return float64(n) / float64(p.ops) }

func (p *phaseResult) opsPerSec() float64 { return float64(p.ops) / p.elapsed.Seconds() }

func (p *phaseResult) quantile(q float64) time.Duration {
	if len(p.latencies) == 0 {
		return 0
	}
	slices.Sort(p.latencies)
	i := int(q*float64(len(p.latencies))+0.999999) - 1
	return p.latencies[max(0, min(i, len(p.latencies)-1))]
}

// runPhase has workers call f back to back for d and returns how many calls completed, the wall
// time from the common start until the last worker finished, and every call's latency. The first
// error stops the phase.
func runPhase(ctx context.Context, workers int, d time.Duration, f callFunc) (phaseResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		firstErr atomic.Pointer[error]
		start    = make(chan struct{})
		lats     = make([][]time.Duration, workers)
	)
	for w := range workers {
		// The latency buffers are allocated before the heap counters are read: they are the
		// harness's, not the RPC's.
		own := make([]time.Duration, 0, 1<<14)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			deadline := time.Now().Add(d)
			for i := w; ; i += workers {
				t0 := time.Now()
				if t0.After(deadline) || ctx.Err() != nil {
					break
				}
				if err := f(ctx, i); err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, &err)
					}
					cancel()
					break
				}
				own = append(own, time.Since(t0))
			}
			lats[w] = own
		}()
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	close(start)
	wg.Wait()
	res := phaseResult{elapsed: time.Since(t0)}
	runtime.ReadMemStats(&m1)
	res.mallocs, res.bytes = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	for _, l := range lats {
		res.ops += len(l)
		res.latencies = append(res.latencies, l...)
	}
	if e := firstErr.Load(); e != nil {
		return res, *e
	}
	if res.ops == 0 {
		return res, errors.New("no call completed")
	}
	return res, nil
}

// catalogStack is identity and catalog running in this process.
type catalogStack struct {
	conn         *grpc.ClientConn // to catalog; the benchmark's only connection for its calls
	partnerToken string
	metricsURL   string
}

// startCatalogStack starts identity and catalog (SQLite under a temporary directory, catalog on a
// fake clock so that ClockService is served, its admin port on a free address), wires them with
// service credentials as deploy/devstack does, imports the seed catalog and signs in a partner.
func startCatalogStack(b *testing.B, redisAddr string) *catalogStack {
	b.Helper()
	dir := b.TempDir()
	addrs := freeAddrs(b, 4)
	idAddr, catAddr, catAdmin, unusedDA := addrs[0], addrs[1], addrs[2], addrs[3]
	noEnv := func(string) (string, bool) { return "", false }

	idCfg := identity.Bind(config.New(identity.Name).WithEnv(noEnv))
	idCfg.GRPCAddr, idCfg.AdminAddr = idAddr, ""
	idCfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "identity.db")
	idCfg.LogLevel = "error"
	idCfg.ServiceCredentials = "operator=" + benchOperatorSecret + ",catalog=" + benchCatalogSecret
	idCfg.DelegatedAdminAddr = unusedDA // dialled lazily; nothing here calls it

	catCfg := catalog.Bind(config.New(catalog.Name).WithEnv(noEnv))
	catCfg.GRPCAddr, catCfg.AdminAddr = catAddr, catAdmin
	catCfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "catalog.db")
	catCfg.LogLevel = "error"
	catCfg.FakeClock = true
	catCfg.IdentityAddr = idAddr
	catCfg.ServiceSecret = benchCatalogSecret
	catCfg.RedisAddr = redisAddr

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s stopped: %w", name, err)
			}
		}()
	}
	b.Cleanup(func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			b.Log("identity/catalog did not stop within 15 s")
		}
	})
	waitServing := func(addr string) {
		deadline := time.Now().Add(30 * time.Second)
		for svc.Probe(ctx, addr, time.Second) != nil {
			select {
			case err := <-errc:
				b.Fatal(err)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not serving after 30 s", addr)
			}
		}
	}
	start("identity", func(ctx context.Context) error { return identity.Run(ctx, *idCfg) })
	waitServing(idAddr)
	start("catalog", func(ctx context.Context) error { return catalog.Run(ctx, *catCfg) })
	waitServing(catAddr)

	idConn, err := grpc.NewClient(idAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { idConn.Close() })
	tokens := identityv1.NewTokenServiceClient(idConn)
	op, err := tokens.IssueServiceToken(ctx, &identityv1.IssueServiceTokenRequest{ClientId: "svc_operator", ClientSecret: benchOperatorSecret})
	if err != nil {
		b.Fatalf("operator token: %v", err)
	}
	opCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+op.GetAccessToken().GetToken())

	// The token the benchmark reads with: a partner's Admin agent, as an order flow would carry.
	p, err := identityv1.NewPartnerServiceClient(idConn).CreatePartner(opCtx, &identityv1.CreatePartnerRequest{
		RequestId: uuid.NewString(), LegalName: "Bench Partner GmbH", CountryCode: "DE",
		Programs: []identityv1.PartnerProgram{identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT},
		Admin: &identityv1.InitialAdmin{UserName: "admin@bench-" + uuid.NewString()[:8] + ".example",
			DisplayName: "Bench admin", Email: "admin@bench.example"},
	})
	if err != nil {
		b.Fatalf("CreatePartner: %v", err)
	}
	pt, err := tokens.IssueToken(ctx, &identityv1.IssueTokenRequest{
		ClientId: p.GetAdminCredential().GetClientId(), ClientSecret: p.GetAdminClientSecret()})
	if err != nil {
		b.Fatalf("partner token: %v", err)
	}

	conn, err := grpc.NewClient(catAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	imp, err := catalogv1.NewCatalogAdminServiceClient(conn).ImportCatalog(opCtx, &catalogv1.ImportCatalogRequest{
		RequestId: uuid.NewString(), Content: seed.File, Format: catalogv1.CatalogFormat_CATALOG_FORMAT_YAML})
	switch {
	case err != nil:
		b.Fatalf("ImportCatalog (seed catalog): %v", err)
	case imp.GetSummary().GetSkusCreated()+imp.GetSummary().GetSkusUnchanged()+imp.GetSummary().GetSkusUpdated() == 0:
		b.Fatalf("ImportCatalog imported no SKU: %v", imp.GetSummary())
	}
	return &catalogStack{conn: conn, partnerToken: pt.GetAccessToken().GetToken(), metricsURL: "http://" + catAdmin + "/metrics"}
}

// storeReads returns the catalog's partnerhub_catalog_store_reads_total, summed over its labels.
func (s *catalogStack) storeReads(b *testing.B) float64 {
	b.Helper()
	resp, err := http.Get(s.metricsURL)
	if err != nil {
		b.Fatalf("catalog /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("catalog /metrics: %s", resp.Status)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, catalog.StoreReadsMetric)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			b.Fatalf("catalog /metrics: %q: %v", line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("catalog /metrics: %v", err)
	}
	if !found {
		b.Fatalf("catalog /metrics has no %s", catalog.StoreReadsMetric)
	}
	return sum
}

// seedSkuIDs returns the SKU IDs of the seed catalog, the keys the benchmark reads.
func seedSkuIDs(b *testing.B) []string {
	b.Helper()
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^\s*- sku_id:\s*"?([A-Z0-9]{12}:[0-9]{4})"?\s*$`).FindAllSubmatch(seed.File, -1) {
		ids = append(ids, string(m[1]))
	}
	if len(ids) == 0 {
		b.Fatal("no sku_id in the seed catalog")
	}
	return ids
}

// freeAddrs returns n local addresses free at the time of the call.
func freeAddrs(b *testing.B, n int) []string {
	b.Helper()
	// Every listener stays open until all n are taken, so that the n addresses differ.
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
