package cached_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog/internal/adapters/cached"
	catsql "github.com/partnerhub/partnerhub/services/catalog/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var t0 = time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)

const (
	productID = "CFQ7TTC0LH18"
	skuID     = "CFQ7TTC0LH18:0001"
)

var priceKey = domain.PriceKey{SkuID: skuID, CountryCode: "DE", Term: domain.TermP1Y, Plan: domain.PlanAnnual}

// instance is one catalog instance's repository: the SQL repository (counting its reads) behind
// the decorator, over a cache it may share with other instances.
type instance struct {
	repo  *cached.Repo
	reads *prometheus.CounterVec
	spy   *spyAside
}

func newInstance(t *testing.T, db *store.DB, c cache.Cache) *instance {
	t.Helper()
	reads := catsql.NewReadCounter()
	aside := cache.NewAside(c, cache.AsideOptions{Name: "catalog", TTL: time.Minute, NegativeTTL: 5 * time.Second})
	t.Cleanup(aside.Close)
	spy := &spyAside{Aside: aside}
	return &instance{repo: cached.New(catsql.New(db, reads), spy, nil), reads: reads, spy: spy}
}

func (i *instance) count(op string) float64 { return testutil.ToFloat64(i.reads.WithLabelValues(op)) }

// spyAside records invalidations and can make them fail. It wraps an Aside, or a Near in front
// of one (Redis, as the composition root builds it).
type spyAside struct {
	cached.Aside
	mu          sync.Mutex
	invalidated [][]string
	fail        error
}

func (s *spyAside) Invalidate(ctx context.Context, keys ...string) error {
	s.mu.Lock()
	s.invalidated = append(s.invalidated, keys)
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.Aside.Invalidate(ctx, keys...)
}

func openDB(t *testing.T) *store.DB {
	return testkit.OpenDB(t, testkit.SQLiteDSN(t), migrations.FS, "catalog_schema")
}

func seedCatalog(t *testing.T, r app.Repository) {
	t.Helper()
	p, _ := domain.MergeProduct(domain.Product{}, false, domain.Product{ID: productID, DisplayName: "M365", Kind: domain.KindOnlineService,
		Publisher: "Microsoft", SalesPrograms: []domain.SalesProgram{domain.ProgramCSPDirect}}, t0)
	s, _ := domain.MergeSku(domain.Sku{}, false, domain.Sku{ID: skuID, ProductID: productID, DisplayName: "M365",
		TermOptions:     []domain.TermOption{{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanAnnual}}},
		Cancellation:    domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7},
		KeyType:         domain.KeyNone,
		MaximumQuantity: 10, Availability: domain.Availability{Mode: domain.AllExceptListed}},
		domain.KindOnlineService, domain.SkuWrite{Availability: true, Discontinuation: true}, t0)
	pr, _ := domain.MergePrice(domain.Price{}, false, domain.Price{PriceKey: priceKey, BillingPeriodPrice: domain.Money{AmountMinor: 6732, CurrencyCode: "EUR"}}, t0)
	err := r.Write(context.Background(), func(tx app.Tx) error {
		ctx := context.Background()
		if err := tx.PutProduct(ctx, p, true); err != nil {
			return err
		}
		if err := tx.PutSku(ctx, s, true); err != nil {
			return err
		}
		return tx.PutPrice(ctx, pr, true)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func setPrice(t *testing.T, r app.Repository, amount int64) {
	t.Helper()
	err := r.Write(context.Background(), func(tx app.Tx) error {
		cur, _, err := tx.Price(context.Background(), priceKey)
		if err != nil {
			return err
		}
		in := cur
		in.BillingPeriodPrice.AmountMinor = amount
		next, _ := domain.MergePrice(cur, true, in, t0.Add(time.Hour))
		return tx.PutPrice(context.Background(), next, false)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A hit after a miss: the second read of each entity does not reach the database.
func TestCached_HitAfterMiss(t *testing.T) {
	ctx := context.Background()
	in := newInstance(t, openDB(t), cache.NewMemory(1000))
	seedCatalog(t, in.repo)
	for range 3 {
		if _, err := in.repo.Sku(ctx, skuID); err != nil {
			t.Fatal(err)
		}
		if _, err := in.repo.Product(ctx, productID); err != nil {
			t.Fatal(err)
		}
		if _, err := in.repo.Price(ctx, priceKey); err != nil {
			t.Fatal(err)
		}
		if _, err := in.repo.Offers(ctx, app.OfferQuery{Country: "DE", ProgramMask: 1, Limit: 10}); err != nil {
			t.Fatal(err)
		}
	}
	for _, op := range []string{"sku", "product", "price", "offers"} {
		if n := in.count(op); n != 1 {
			t.Errorf("%s: %v database reads for 3 lookups", op, n)
		}
	}
}

// A value read from the cache is the value in the database, field for field.
func TestCached_ValuesRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	in := newInstance(t, db, cache.NewMemory(1000))
	seedCatalog(t, in.repo)
	direct := catsql.New(db, nil)
	for range 2 { // a miss, then a hit
		s, err1 := in.repo.Sku(ctx, skuID)
		ws, _ := direct.Sku(ctx, skuID)
		p, err2 := in.repo.Product(ctx, productID)
		wp, _ := direct.Product(ctx, productID)
		pr, err3 := in.repo.Price(ctx, priceKey)
		wpr, _ := direct.Price(ctx, priceKey)
		if err1 != nil || err2 != nil || err3 != nil || !reflect.DeepEqual(s, ws) || !reflect.DeepEqual(p, wp) || !reflect.DeepEqual(pr, wpr) {
			t.Errorf("cached\n%+v\n%+v\n%+v\nstored\n%+v\n%+v\n%+v", s, p, pr, ws, wp, wpr)
		}
	}
}

// Unknown IDs are remembered as unknown for a short while (negative caching).
func TestCached_NegativeCaching(t *testing.T) {
	ctx := context.Background()
	in := newInstance(t, openDB(t), cache.NewMemory(1000))
	for range 5 {
		if _, err := in.repo.Sku(ctx, "CFQ7TTC0LH18:0099"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("unknown SKU: %v", err)
		}
	}
	if n := in.count("sku"); n != 1 {
		t.Errorf("%v database reads for 5 lookups of an unknown SKU", n)
	}
	// Creating it invalidates the negative entry.
	seedCatalog(t, in.repo)
	if _, err := in.repo.Sku(ctx, skuID); err != nil {
		t.Errorf("created SKU: %v", err)
	}
}

// Every write invalidates what it wrote before it returns, on every instance sharing the cache:
// the next read, here or there, sees it. Lists move to a new version.
func TestCached_WriteInvalidatesEverywhere(t *testing.T) {
	ctx := context.Background()
	db, shared := openDB(t), cache.NewMemory(1000)
	a, b := newInstance(t, db, shared), newInstance(t, db, shared)
	seedCatalog(t, a.repo)
	offers := func(i *instance) int64 {
		os, err := i.repo.Offers(ctx, app.OfferQuery{Country: "DE", ProgramMask: 1, Limit: 10})
		if err != nil || len(os) != 1 || len(os[0].Prices) != 1 {
			t.Fatalf("offers %+v %v", os, err)
		}
		return os[0].Prices[0].BillingPeriodPrice.AmountMinor
	}
	for _, i := range []*instance{a, b} { // warm both
		if p, _ := i.repo.Price(ctx, priceKey); p.BillingPeriodPrice.AmountMinor != 6732 {
			t.Fatal(p)
		}
		offers(i)
	}
	setPrice(t, a.repo, 6999)
	for name, i := range map[string]*instance{"writer": a, "other": b} {
		if p, _ := i.repo.Price(ctx, priceKey); p.BillingPeriodPrice.AmountMinor != 6999 {
			t.Errorf("%s reads %v after the write", name, p.BillingPeriodPrice.AmountMinor)
		}
		if got := offers(i); got != 6999 {
			t.Errorf("%s lists %v after the write", name, got)
		}
	}
	keys := a.spy.invalidated[len(a.spy.invalidated)-1]
	if want := []string{"price:" + skuID + ":DE:P1Y:ANNUAL", "lists"}; len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Errorf("invalidated %v, want %v", keys, want)
	}
	// A transaction that writes nothing invalidates nothing; a failed one that wrote does.
	n := len(a.spy.invalidated)
	_ = a.repo.Write(ctx, func(tx app.Tx) error { _, _, err := tx.Sku(ctx, skuID); return err })
	if len(a.spy.invalidated) != n {
		t.Errorf("a read-only transaction invalidated %v", a.spy.invalidated[n:])
	}
	boom := errors.New("boom")
	err := a.repo.Write(ctx, func(tx app.Tx) error {
		s, _, _ := tx.Sku(ctx, skuID)
		if err := tx.PutSku(ctx, s, false); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || len(a.spy.invalidated) != n+1 {
		t.Errorf("failed write: %v, invalidations %v", err, a.spy.invalidated[n:])
	}
}

// An invalidation the cache cannot take does not fail the committed write: the decorator reports
// it, and the Aside bypasses the cache until it has delivered it.
func TestCached_DeferredInvalidationIsNotAnError(t *testing.T) {
	reads := catsql.NewReadCounter()
	aside := cache.NewAside(cache.NewMemory(1000), cache.AsideOptions{Name: "catalog"})
	t.Cleanup(aside.Close)
	spy := &spyAside{Aside: aside, fail: errors.New("cache down")}
	var reported []error
	repo := cached.New(catsql.New(openDB(t), reads), spy, func(err error) { reported = append(reported, err) })
	seedCatalog(t, repo)
	if len(reported) != 1 {
		t.Errorf("reported %v", reported)
	}
}

// 200 concurrent misses on one key cost one database read.
func TestCached_ConcurrentMissesOneRead(t *testing.T) {
	ctx := context.Background()
	in := newInstance(t, openDB(t), cache.NewMemory(1000))
	seedCatalog(t, in.repo)
	concurrentMisses(t, in, "sku", func() error { _, err := in.repo.Sku(ctx, skuID); return err })
}

// concurrentMisses runs read from 200 goroutines released together on a cold cache and checks
// that the repository's op was read from the database once.
func concurrentMisses(t *testing.T, in *instance, op string, read func() error) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			if err := read(); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := in.count(op); n != 1 {
		t.Errorf("%v database reads for 200 concurrent misses", n)
	}
}
