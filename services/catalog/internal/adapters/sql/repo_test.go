package sql_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	catsql "github.com/partnerhub/partnerhub/services/catalog/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// t0 has nanoseconds on purpose: the domain keeps microseconds, what both engines store.
var t0 = time.Date(2026, 3, 1, 8, 30, 0, 123456789, time.UTC)

func open(t *testing.T, dsn string) *catsql.Repo {
	t.Helper()
	return catsql.New(testkit.OpenDB(t, dsn, migrations.FS, "catalog_schema"), catsql.NewReadCounter())
}

func product(id string, kind domain.ProductKind, programs ...domain.SalesProgram) domain.Product {
	p, _ := domain.MergeProduct(domain.Product{}, false, domain.Product{ID: id, DisplayName: "Product " + id,
		Description: "about " + id, Kind: kind, Publisher: "Microsoft", SalesPrograms: programs}, t0)
	return p
}

func sku(id string, kind domain.ProductKind, av domain.Availability) domain.Sku {
	s, _ := domain.MergeSku(domain.Sku{}, false, domain.Sku{
		ID: id, ProductID: domain.ProductOfSku(id), DisplayName: "SKU " + id, Description: "a SKU",
		TermOptions: []domain.TermOption{
			{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanMonthly, domain.PlanAnnual}},
			{Term: domain.TermP3Y, Plans: []domain.BillingPlan{domain.PlanAnnual, domain.PlanTriennial}},
		},
		Cancellation: domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7},
		AutoRenew:    domain.AutoRenewDefault{Enabled: true, EffectiveFrom: domain.AutoRenewCutoff(), Renewable: true},
		KeyType:      domain.KeyMAK,
		DownloadVariants: []domain.DownloadVariant{{ID: "2022-en-us-iso-x64", Version: "2022", Language: "en-US",
			FileType: "ISO", OperatingSystem: "Windows x64", SizeBytes: 5368709120}, {ID: "2022-de-de-iso-x64"}},
		InstallationInstructionsURL: "https://learn.example/esu",
		MaximumQuantity:             500,
		Availability:                av,
		AHBMaxSavingPercent:         40,
	}, kind, domain.SkuWrite{Availability: true, Discontinuation: true}, t0)
	return s
}

func price(skuID, country string, t domain.Term, p domain.BillingPlan, amount int64, currency string) domain.Price {
	pr, _ := domain.MergePrice(domain.Price{}, false, domain.Price{
		PriceKey:           domain.PriceKey{SkuID: skuID, CountryCode: country, Term: t, Plan: p},
		BillingPeriodPrice: domain.Money{AmountMinor: amount, CurrencyCode: currency}}, t0)
	return pr
}

var (
	everywhere = domain.Availability{Mode: domain.AllExceptListed}
	notInCN    = domain.Availability{Mode: domain.AllExceptListed, Countries: []string{"CN", "MM"}}
	onlyDE     = domain.Availability{Mode: domain.OnlyListed, Countries: []string{"AT", "DE"}}
)

// fixture: three products with SKUs in various markets and programs, one SKU discontinued.
type fixture struct {
	m365, ws, res domain.Product
	basic, old    domain.Sku
	wsStd, wsDE   domain.Sku
	res1          domain.Sku
	prices        []domain.Price
}

func load(t *testing.T, repo *catsql.Repo) fixture {
	t.Helper()
	f := fixture{
		m365:  product("CFQ7TTC0LH18", domain.KindOnlineService, domain.ProgramCSPDirect, domain.ProgramCSPIndirectReseller),
		ws:    product("DG7GMGF0D7FV", domain.KindSoftwareSubscription, domain.ProgramCSPDirect, domain.ProgramOpen),
		res:   product("DZH318Z0BQ3Q", domain.KindAzureReservation, domain.ProgramCSPDirect),
		basic: sku("CFQ7TTC0LH18:0001", domain.KindOnlineService, everywhere),
		wsStd: sku("DG7GMGF0D7FV:0001", domain.KindSoftwareSubscription, everywhere),
		wsDE:  sku("DG7GMGF0D7FV:0002", domain.KindSoftwareSubscription, onlyDE),
		res1:  sku("DZH318Z0BQ3Q:0001", domain.KindAzureReservation, notInCN),
	}
	f.old = sku("CFQ7TTC0LH18:0002", domain.KindOnlineService, everywhere)
	f.old, _ = f.old.Discontinue(f.basic.ID, t0.Add(time.Hour))
	f.prices = []domain.Price{
		price(f.basic.ID, "DE", domain.TermP1Y, domain.PlanAnnual, 6732, "EUR"),
		price(f.basic.ID, "DE", domain.TermP1Y, domain.PlanMonthly, 561, "EUR"),
		price(f.basic.ID, "US", domain.TermP1Y, domain.PlanAnnual, 7200, "USD"),
		price(f.wsStd.ID, "DE", domain.TermP3Y, domain.PlanTriennial, 300000, "EUR"),
		price(f.res1.ID, "JP", domain.TermP1Y, domain.PlanAnnual, 150000, "JPY"),
	}
	err := repo.Write(context.Background(), func(tx app.Tx) error {
		for _, p := range []domain.Product{f.m365, f.ws, f.res} {
			if err := tx.PutProduct(context.Background(), p, true); err != nil {
				return err
			}
		}
		for _, s := range []domain.Sku{f.basic, f.old, f.wsStd, f.wsDE, f.res1} {
			if err := tx.PutSku(context.Background(), s, true); err != nil {
				return err
			}
		}
		for _, p := range f.prices {
			if err := tx.PutPrice(context.Background(), p, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.m365.SkuCount, f.ws.SkuCount, f.res.SkuCount = 2, 2, 1
	return f
}

func ids[T any](xs []T, id func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func skuIDs(ss []domain.Sku) []string { return ids(ss, func(s domain.Sku) string { return s.ID }) }

// Everything reads back exactly as written, on both engines: times to the microsecond, lists in
// order, nullable times unset or set.
func TestRepo_RoundTrip(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		f := load(t, repo)
		for _, want := range []domain.Product{f.m365, f.ws, f.res} {
			got, err := repo.Product(ctx, want.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("product\n%+v %v\nwant\n%+v", got, err, want)
			}
		}
		for _, want := range []domain.Sku{f.basic, f.old, f.wsStd, f.wsDE, f.res1} {
			got, err := repo.Sku(ctx, want.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("SKU\n%+v %v\nwant\n%+v", got, err, want)
			}
		}
		for _, want := range f.prices {
			got, err := repo.Price(ctx, want.PriceKey)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("price\n%+v %v\nwant\n%+v", got, err, want)
			}
		}
		if _, err := repo.Product(ctx, "CFQ7TTC0XXXX"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown product: %v", err)
		}
		if _, err := repo.Sku(ctx, "CFQ7TTC0LH18:0009"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown SKU: %v", err)
		}
		if _, err := repo.Price(ctx, domain.PriceKey{SkuID: f.basic.ID, CountryCode: "GB", Term: domain.TermP1Y, Plan: domain.PlanAnnual}); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown price: %v", err)
		}
	})
}

// CA-1, CA-2, CA-9: list filters and keyset paging.
func TestRepo_Lists_CA2(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		f := load(t, repo)
		for _, c := range []struct {
			name string
			q    app.SkuQuery
			want []string
		}{
			{"all sold", app.SkuQuery{Limit: 10}, []string{f.basic.ID, f.wsStd.ID, f.wsDE.ID, f.res1.ID}},
			{"with discontinued", app.SkuQuery{IncludeDiscontinued: true, Limit: 10}, []string{f.basic.ID, f.old.ID, f.wsStd.ID, f.wsDE.ID, f.res1.ID}},
			{"of a product", app.SkuQuery{ProductID: f.ws.ID, Limit: 10}, []string{f.wsStd.ID, f.wsDE.ID}},
			{"of a kind", app.SkuQuery{Kind: domain.KindAzureReservation, Limit: 10}, []string{f.res1.ID}},
			{"CA-2 sold in CN", app.SkuQuery{Country: "CN", Limit: 10}, []string{f.basic.ID, f.wsStd.ID}},
			{"CA-2 sold in DE", app.SkuQuery{Country: "DE", Limit: 10}, []string{f.basic.ID, f.wsStd.ID, f.wsDE.ID, f.res1.ID}},
			{"page", app.SkuQuery{After: f.basic.ID, Limit: 2}, []string{f.wsStd.ID, f.wsDE.ID}},
		} {
			got, err := repo.Skus(ctx, c.q)
			if err != nil || !slices.Equal(skuIDs(got), c.want) {
				t.Errorf("%s: %v %v, want %v", c.name, skuIDs(got), err, c.want)
			}
		}
		for _, c := range []struct {
			name string
			q    app.ProductQuery
			want []string
		}{
			{"all", app.ProductQuery{Limit: 10}, []string{f.m365.ID, f.ws.ID, f.res.ID}},
			{"of a kind", app.ProductQuery{Kind: domain.KindOnlineService, Limit: 10}, []string{f.m365.ID}},
			{"CA-2 with a SKU sold in CN", app.ProductQuery{Country: "CN", Limit: 10}, []string{f.m365.ID, f.ws.ID}},
			{"page", app.ProductQuery{After: f.m365.ID, Limit: 1}, []string{f.ws.ID}},
		} {
			got, err := repo.Products(ctx, c.q)
			if err != nil || !slices.Equal(ids(got, func(p domain.Product) string { return p.ID }), c.want) {
				t.Errorf("%s: %v %v, want %v", c.name, got, err, c.want)
			}
		}
	})
}

// CA-2, CA-3, CA-9: offers are the SKUs sold in the market through one of the programs, not
// discontinued, with their products and their prices in that market only.
func TestRepo_Offers_CA2_CA3_CA9(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		f := load(t, repo)
		open := domain.ProgramMask(domain.ProgramOpen)
		all := domain.ProgramMask(domain.SalesPrograms()...)
		for _, c := range []struct {
			name string
			q    app.OfferQuery
			want []string
		}{
			{"DE, every program", app.OfferQuery{Country: "DE", ProgramMask: all, Limit: 10}, []string{f.basic.ID, f.wsStd.ID, f.wsDE.ID, f.res1.ID}},
			{"CA-3 Open only", app.OfferQuery{Country: "DE", ProgramMask: open, Limit: 10}, []string{f.wsStd.ID, f.wsDE.ID}},
			{"CA-3 no program", app.OfferQuery{Country: "DE", ProgramMask: 0, Limit: 10}, []string{}},
			{"CA-2 CN", app.OfferQuery{Country: "CN", ProgramMask: all, Limit: 10}, []string{f.basic.ID, f.wsStd.ID}},
			{"of a kind", app.OfferQuery{Country: "DE", ProgramMask: all, Kind: domain.KindSoftwareSubscription, Limit: 10}, []string{f.wsStd.ID, f.wsDE.ID}},
			{"of a product", app.OfferQuery{Country: "DE", ProgramMask: all, ProductID: f.m365.ID, Limit: 10}, []string{f.basic.ID}},
			{"page", app.OfferQuery{Country: "DE", ProgramMask: all, After: f.wsStd.ID, Limit: 1}, []string{f.wsDE.ID}},
		} {
			got, err := repo.Offers(ctx, c.q)
			if err != nil || !slices.Equal(ids(got, func(o app.Offer) string { return o.Sku.ID }), c.want) {
				t.Errorf("%s: %v %v, want %v", c.name, ids(got, func(o app.Offer) string { return o.Sku.ID }), err, c.want)
			}
		}
		got, err := repo.Offers(ctx, app.OfferQuery{Country: "DE", ProgramMask: all, ProductID: f.m365.ID, Limit: 10})
		if err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
		if !reflect.DeepEqual(got[0].Sku, f.basic) || !reflect.DeepEqual(got[0].Product, f.m365) {
			t.Errorf("offer %+v", got[0])
		}
		if want := []domain.Price{f.prices[0], f.prices[1]}; !reflect.DeepEqual(got[0].Prices, want) {
			t.Errorf("prices in DE %+v, want %+v", got[0].Prices, want)
		}
	})
}

// A transaction's reads see its writes; a failed one writes nothing; an update replaces the
// market rows with the SKU's new list.
func TestRepo_Transactions(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		if empty, err := repo.Empty(ctx); err != nil || !empty {
			t.Fatalf("new catalog empty: %v %v", empty, err)
		}
		f := load(t, repo)
		if empty, err := repo.Empty(ctx); err != nil || empty {
			t.Fatalf("loaded catalog empty: %v %v", empty, err)
		}
		refuse := errors.New("no")
		err := repo.Write(ctx, func(tx app.Tx) error {
			p := price(f.basic.ID, "GB", domain.TermP1Y, domain.PlanAnnual, 5904, "GBP")
			if err := tx.PutPrice(ctx, p, true); err != nil {
				return err
			}
			if got, ok, err := tx.Price(ctx, p.PriceKey); err != nil || !ok || got.BillingPeriodPrice.AmountMinor != 5904 {
				t.Errorf("read own write: %v %v %v", got, ok, err)
			}
			return refuse
		})
		if !errors.Is(err, refuse) {
			t.Fatalf("Write = %v", err)
		}
		if _, err := repo.Price(ctx, domain.PriceKey{SkuID: f.basic.ID, CountryCode: "GB", Term: domain.TermP1Y, Plan: domain.PlanAnnual}); errs.KindOf(err) != errs.NotFound {
			t.Errorf("a failed transaction wrote: %v", err)
		}

		moved, _ := f.basic.WithAvailability(domain.Availability{Mode: domain.OnlyListed, Countries: []string{"CN"}}, t0.Add(time.Hour))
		if err := repo.Write(ctx, func(tx app.Tx) error { return tx.PutSku(ctx, moved, false) }); err != nil {
			t.Fatal(err)
		}
		inDE, _ := repo.Skus(ctx, app.SkuQuery{Country: "DE", ProductID: f.m365.ID, Limit: 10})
		inCN, _ := repo.Skus(ctx, app.SkuQuery{Country: "CN", ProductID: f.m365.ID, Limit: 10})
		if len(inDE) != 0 || !slices.Equal(skuIDs(inCN), []string{f.basic.ID}) {
			t.Errorf("after SetAvailability: DE %v, CN %v", skuIDs(inDE), skuIDs(inCN))
		}
		err = repo.Snapshot(ctx, func(tx app.TxReader) error {
			ids, err := tx.SkuIDs(ctx, f.m365.ID)
			if err != nil || !slices.Equal(ids, []string{f.basic.ID, f.old.ID}) {
				t.Errorf("SkuIDs %v %v", ids, err)
			}
			ps, err := tx.Prices(ctx, f.basic.ID)
			if err != nil || len(ps) != 3 {
				t.Errorf("Prices %v %v", ps, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Every read that reaches the database is counted by operation (the benchmark's proof that warm
// lookups do not).
func TestRepo_ReadsCounted(t *testing.T) {
	ctx := context.Background()
	reads := catsql.NewReadCounter()
	repo := catsql.New(testkit.OpenDB(t, testkit.SQLiteDSN(t), migrations.FS, "catalog_schema"), reads)
	f := load(t, repo)
	_, _ = repo.Sku(ctx, f.basic.ID)
	_, _ = repo.Sku(ctx, f.basic.ID)
	_, _ = repo.Price(ctx, f.prices[0].PriceKey)
	if n := testutil.ToFloat64(reads.WithLabelValues("sku")); n != 2 {
		t.Errorf("sku reads %v", n)
	}
	if n := testutil.ToFloat64(reads.WithLabelValues("price")); n != 1 {
		t.Errorf("price reads %v", n)
	}
}
