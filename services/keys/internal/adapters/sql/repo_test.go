package sql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	keysql "github.com/partnerhub/partnerhub/services/keys/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func open(tb testing.TB, dsn string) *keysql.Store {
	tb.Helper()
	return keysql.New(testkit.OpenDB(tb, dsn, migrations.FS, "keys_schema"))
}

// t0 has nanoseconds on purpose: the store keeps microseconds.
var t0 = time.Date(2026, 3, 2, 9, 26, 53, 589793238, time.UTC)

func at(d time.Duration) time.Time { return store.Time(t0.Add(d)) }

// ent returns an entitlement with every field set: two keys, two variants, revoked.
func ent(id, customer, partner, order, line string) domain.Entitlement {
	return domain.Entitlement{
		ID: id, RequestID: "req-" + id, CustomerID: customer, PartnerID: partner, OrderID: order, OrderLineID: line,
		SubscriptionID: "sub-" + id, SkuID: "sku-1", ProductID: "prod-1", ProductName: "Office LTSC Professional Plus 2021",
		Kind: domain.FulfilKeyAndDownload, Quantity: 5, State: domain.EntitlementRevoked,
		Keys: []domain.IssuedKey{
			{ID: id + "-k1", Type: domain.KeyTypeMAK, Masked: "XXXXX-XXXXX-XXXXX-XXXXX-AB3C9", Sealed: "v1.t1.sealed-1",
				ActivationLimit: 500},
			{ID: id + "-k0", Type: domain.KeyTypeMAK, Masked: "XXXXX-XXXXX-XXXXX-XXXXX-7HJK2", Sealed: "v1.t1.sealed-0",
				ActivationLimit: 25},
		},
		Variants: []domain.Variant{
			{ID: "v-en", Version: "2021", Language: "en-US", FileType: "ISO", OperatingSystem: "Windows",
				FileName: "office-2021-en.iso", SizeBytes: 4_700_000_123, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			{ID: "v-de", Version: "2021", Language: "de-DE", FileType: "IMG", OperatingSystem: "Windows",
				FileName: "office-2021-de.img", SizeBytes: 1, SHA256: "00"},
		},
		Instructions: "https://docs.example/install", RevokeTime: at(time.Hour),
		Revocation: domain.RevokedOrderCancelled, Version: 1, CreateTime: at(0), UpdateTime: at(time.Second),
	}
}

// run runs fn in a transaction and fails the test on an error.
func run(tb testing.TB, s *keysql.Store, fn func(ctx context.Context, tx app.Tx) error) {
	tb.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

func insert(tb testing.TB, s *keysql.Store, ents ...domain.Entitlement) {
	tb.Helper()
	run(tb, s, func(ctx context.Context, tx app.Tx) error {
		for _, e := range ents {
			if err := tx.InsertEntitlement(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func get(tb testing.TB, s *keysql.Store, id string) domain.Entitlement {
	tb.Helper()
	e, err := s.Entitlement(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestEntitlement_RoundTrip(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		want := ent("e1", "c1", "p1", "o1", "l1")
		// An entitlement with nothing but its key fields round-trips too: no keys, no variants,
		// zero times (the revocation time is NULL), bought directly.
		bare := domain.Entitlement{ID: "bare", OrderID: "o1", OrderLineID: "l2", Kind: domain.FulfilLicenseOnly,
			State: domain.EntitlementActive, Version: 1}
		insert(t, s, want, bare)

		if got := get(t, s, "e1"); !reflect.DeepEqual(got, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
		}
		if got := get(t, s, "bare"); !reflect.DeepEqual(got, bare) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, bare)
		}
		for _, k := range want.Keys {
			got, err := s.EntitlementOfKey(ctx, k.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("EntitlementOfKey(%s) = %+v, %v", k.ID, got, err)
			}
		}
		_, err := s.EntitlementOfKey(ctx, "no-such-key")
		if e, ok := errs.As(err); !ok || e.Kind != errs.NotFound || e.Metadata["resource"] != "key" {
			t.Errorf("EntitlementOfKey(no-such-key) = %v; want NOT_FOUND of a key", err)
		}
		list, err := s.Entitlements(ctx, app.EntitlementQuery{OrderID: "o1", IncludeLicenseOnly: true})
		if err != nil || !reflect.DeepEqual(list, []domain.Entitlement{want, bare}) {
			t.Errorf("Entitlements = %+v, %v", list, err)
		}

		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if got, err := tx.Entitlement(ctx, "e1"); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Tx.Entitlement = %+v, %v", got, err)
			}
			if got, ok, err := tx.EntitlementOfLine(ctx, "o1", "l1"); err != nil || !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("EntitlementOfLine(o1, l1) = %+v, %v, %v", got, ok, err)
			}
			if _, ok, err := tx.EntitlementOfLine(ctx, "o1", "l9"); err != nil || ok {
				t.Errorf("EntitlementOfLine(o1, l9) = %v, %v; want none", ok, err)
			}
			got, err := tx.EntitlementsOfOrder(ctx, "o1")
			if err != nil || !reflect.DeepEqual(got, []domain.Entitlement{bare, want}) {
				t.Errorf("EntitlementsOfOrder(o1) = %+v, %v", got, err)
			}
			if got, err := tx.EntitlementsOfOrder(ctx, "o9"); err != nil || len(got) != 0 {
				t.Errorf("EntitlementsOfOrder(o9) = %+v, %v", got, err)
			}
			return nil
		})

		// Times in other zones and with nanoseconds are stored as UTC microseconds.
		zoned := ent("e3", "c1", "p1", "o3", "l1")
		zoned.CreateTime = t0.In(time.FixedZone("X", 5*3600))
		zoned.RevokeTime = t0.In(time.FixedZone("Y", -3*3600))
		insert(t, s, zoned)
		if got := get(t, s, "e3"); got.CreateTime != store.Time(t0) || got.RevokeTime != store.Time(t0) {
			t.Errorf("times %v, %v; want %v", got.CreateTime, got.RevokeTime, store.Time(t0))
		}
	})
}

func TestEntitlement_InsertErrors(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		first := ent("e1", "c1", "p1", "o1", "l1")
		insert(t, s, first)

		if _, err := s.Entitlement(ctx, "nope"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("Entitlement(nope) = %v; want NOT_FOUND", err)
		}
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			_, err := tx.Entitlement(ctx, "nope")
			return err
		})
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("Tx.Entitlement(nope) = %v; want NOT_FOUND", err)
		}

		// Another entitlement of the same order line is refused, and the transaction goes on (on
		// PostgreSQL too): it reads the line's entitlement and commits what else it wrote.
		second := ent("e2", "c1", "p1", "o1", "l1")
		second.Keys[0].ID, second.Keys[1].ID = "e2-a", "e2-b"
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if err := tx.InsertEntitlement(ctx, second); errs.KindOf(err) != errs.AlreadyExists {
				t.Errorf("second entitlement of the line = %v; want ALREADY_EXISTS", err)
			}
			if got, ok, err := tx.EntitlementOfLine(ctx, "o1", "l1"); err != nil || !ok || got.ID != "e1" {
				t.Errorf("after the refusal EntitlementOfLine = %s, %v, %v", got.ID, ok, err)
			}
			return tx.InsertEntitlement(ctx, ent("e4", "c1", "p1", "o1", "l4"))
		})
		if got := get(t, s, "e1"); !reflect.DeepEqual(got, first) {
			t.Errorf("the refused insert changed the first: %+v", got)
		}
		if _, err := s.Entitlement(ctx, "e2"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("the refused entitlement was stored: %v", err)
		}
		if _, err := s.EntitlementOfKey(ctx, "e2-a"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("the refused entitlement's key was stored: %v", err)
		}
		get(t, s, "e4")

		// The same ID on another line.
		sameID := ent("e1", "c1", "p1", "o1", "l5")
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertEntitlement(ctx, sameID) })
		if errs.KindOf(err) != errs.AlreadyExists {
			t.Errorf("entitlement ID twice = %v; want ALREADY_EXISTS", err)
		}
		v2 := ent("v2", "c1", "p1", "o1", "l6")
		v2.Version = 2
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertEntitlement(ctx, v2) }); err == nil {
			t.Error("insert with version 2 succeeded")
		}
		// A key ID of another entitlement: the app's bug, not the caller's conflict.
		dupKey := ent("e5", "c1", "p1", "o1", "l7")
		dupKey.Keys[1].ID = "e1-k0"
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertEntitlement(ctx, dupKey) })
		if err == nil || errs.KindOf(err) == errs.AlreadyExists {
			t.Errorf("a key ID in use = %v; want a plain error", err)
		}
		// Only MAK keys are issued (CA-8, KD-5); the schema refuses a KMS key whatever the app does.
		kms := ent("e6", "c1", "p1", "o1", "l8")
		kms.Keys[0].Type = domain.KeyTypeKMS
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertEntitlement(ctx, kms) }); err == nil {
			t.Error("a KMS key was stored")
		}
		for _, id := range []string{"e5", "e6"} {
			if _, err := s.Entitlement(ctx, id); errs.KindOf(err) != errs.NotFound {
				t.Errorf("%s survived its failed insert: %v", id, err)
			}
		}
	})
}

func TestUpdateEntitlement(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		orig := ent("e1", "c1", "p1", "o1", "l1")
		orig.State, orig.Revocation, orig.RevokeTime = domain.EntitlementActive, "", time.Time{}
		insert(t, s, orig, ent("e2", "c2", "p1", "o2", "l1"))

		// Revoke: the keys lose their sealed form, keep their IDs and masks.
		revoked, ok := orig.Revoke(domain.RevokedOrderCompensated, at(2*time.Hour))
		if !ok {
			t.Fatal("Revoke did nothing")
		}
		revoked.Version, revoked.UpdateTime = 2, at(2*time.Hour)
		// Then in the same transaction the keys and variants change: a key dropped, one added, the
		// variants reordered with one new.
		changed := revoked
		changed.Version = 3
		changed.Keys = []domain.IssuedKey{revoked.Keys[1],
			{ID: "e1-k2", Type: domain.KeyTypeMAK, Masked: "XXXXX-XXXXX-XXXXX-XXXXX-QQQQQ", ActivationLimit: 1}}
		changed.Variants = []domain.Variant{orig.Variants[1], {ID: "v-fr", Language: "fr-FR"}, orig.Variants[0]}
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if err := tx.UpdateEntitlement(ctx, revoked); err != nil {
				return err
			}
			got, err := tx.Entitlement(ctx, "e1")
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, revoked) {
				t.Errorf("in the transaction\n%+v\nwant\n%+v", got, revoked)
			}
			for _, k := range got.Keys {
				if k.Sealed != "" {
					t.Errorf("key %s of a revoked entitlement keeps its sealed form", k.ID)
				}
			}
			return tx.UpdateEntitlement(ctx, changed)
		})
		if got := get(t, s, "e1"); !reflect.DeepEqual(got, changed) {
			t.Fatalf("after the updates\n%+v\nwant\n%+v", got, changed)
		}
		if _, err := s.EntitlementOfKey(ctx, "e1-k1"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("the dropped key still finds its entitlement: %v", err)
		}
		for _, id := range []string{"e1-k0", "e1-k2"} {
			if got, err := s.EntitlementOfKey(ctx, id); err != nil || got.ID != "e1" {
				t.Errorf("EntitlementOfKey(%s) = %s, %v", id, got.ID, err)
			}
		}
		// The other entitlement's keys and variants are its own.
		if got := get(t, s, "e2"); !reflect.DeepEqual(got, ent("e2", "c2", "p1", "o2", "l1")) {
			t.Errorf("e2 changed: %+v", got)
		}

		// An update to no keys and no variants.
		none := changed
		none.Version, none.Keys, none.Variants, none.Kind = 4, nil, nil, domain.FulfilLicenseOnly
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.UpdateEntitlement(ctx, none) })
		if got := get(t, s, "e1"); !reflect.DeepEqual(got, none) {
			t.Fatalf("after emptying\n%+v\nwant\n%+v", got, none)
		}

		// Version 4 is stored. An update based on version 2 or 5 is stale, and so is one that
		// repeats the stored version instead of stepping past it.
		for _, v := range []int64{3, 4, 6} {
			stale := changed
			stale.Version = v
			err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateEntitlement(ctx, stale) })
			if errs.KindOf(err) != errs.Aborted || errs.ReasonOf(err) != errs.ReasonEtagMismatch {
				t.Errorf("update to version %d = %v; want ABORTED / ETAG_MISMATCH", v, err)
			}
		}
		if got := get(t, s, "e1"); !reflect.DeepEqual(got, none) {
			t.Errorf("a refused update changed the entitlement: %+v", got)
		}
		missing := ent("nope", "c1", "p1", "o9", "l1")
		missing.Version = 2
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateEntitlement(ctx, missing) })
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("update of a missing entitlement = %v; want NOT_FOUND", err)
		}
		// Moving to an order line that has an entitlement.
		clash := none
		clash.Version, clash.OrderID = 5, "o2"
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateEntitlement(ctx, clash) })
		if errs.KindOf(err) != errs.AlreadyExists {
			t.Errorf("update onto a taken order line = %v; want ALREADY_EXISTS", err)
		}
	})
}

// Concurrent read-modify-write transactions on one entitlement each see the last one's version:
// SQLite's write lock, PostgreSQL's FOR UPDATE (and InTx's retries).
func TestUpdateEntitlement_Concurrent(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		insert(t, s, ent("e1", "c1", "p1", "o1", "l1"))
		const writers = 8
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
					e, err := tx.Entitlement(ctx, "e1")
					if err != nil {
						return err
					}
					e.Version++
					e.Quantity++
					e.Keys[0].ActivationLimit = int32(i)
					return tx.UpdateEntitlement(ctx, e)
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := get(t, s, "e1"); got.Version != 1+writers || got.Quantity != 5+writers {
			t.Errorf("version %d, quantity %d; want %d, %d", got.Version, got.Quantity, 1+writers, 5+writers)
		}
	})
}

// entSortKey is the list order.
// entSortKey orders entitlements as Store.Entitlements lists them: newest first, (CreateTime, ID)
// descending.
func entSortKey(a, b domain.Entitlement) int {
	if c := b.CreateTime.Compare(a.CreateTime); c != 0 {
		return c
	}
	switch {
	case a.ID > b.ID:
		return -1
	case a.ID < b.ID:
		return 1
	}
	return 0
}

func entIDs(ents []domain.Entitlement) []string {
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.ID
	}
	return out
}

// listAll pages through q with pages of size, each page continuing from the last row of the one
// before.
func listAll(t *testing.T, s *keysql.Store, q app.EntitlementQuery, size int) []domain.Entitlement {
	t.Helper()
	q.Limit = size
	var all []domain.Entitlement
	for range 1000 {
		page, err := s.Entitlements(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < size {
			return all
		}
		last := page[len(page)-1]
		q.AfterCreateTime, q.AfterID = last.CreateTime, last.ID
	}
	t.Fatal("paging does not end")
	return nil
}

func TestEntitlements_FiltersAndPaging(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		kinds := []domain.FulfilmentKind{domain.FulfilKeyAndDownload, domain.FulfilKeyOnly, domain.FulfilDownloadOnly,
			domain.FulfilInstructionsOnly, domain.FulfilLicenseOnly}
		// More than one IN list's worth (500), so a list without a limit reads the keys and
		// variants in several queries.
		const n = 620
		var all []domain.Entitlement
		for i := range n {
			customer, partner := "c1", "p1"
			switch {
			case i >= 560:
				customer, partner = "c2", ""
			case i%5 == 0:
				partner = "p2" // c1 has two partners of record
			}
			// IDs do not follow creation, and runs of seven share a create time, so the ID breaks ties.
			id := fmt.Sprintf("e%03d", (i*37)%n)
			x := ent(id, customer, partner, fmt.Sprintf("o%d", i%4), "line-"+id)
			x.CreateTime = at(time.Duration(i/7) * time.Millisecond)
			x.Kind = kinds[i%len(kinds)]
			x.Keys = x.Keys[:i%3]           // 0, 1 or 2 keys
			x.Variants = x.Variants[:i%2+1] // 1 or 2 variants
			if len(x.Keys) == 0 {
				x.Keys = nil
			}
			all = append(all, x)
		}
		insert(t, s, all...)
		slices.SortFunc(all, entSortKey)

		filter := func(keep func(domain.Entitlement) bool) []domain.Entitlement {
			var out []domain.Entitlement
			for _, x := range all {
				if keep(x) {
					out = append(out, x)
				}
			}
			return out
		}
		notLicenseOnly := func(x domain.Entitlement) bool { return x.Kind != domain.FulfilLicenseOnly }
		cases := []struct {
			name string
			q    app.EntitlementQuery
			keep func(domain.Entitlement) bool
		}{
			{"all", app.EntitlementQuery{IncludeLicenseOnly: true}, func(domain.Entitlement) bool { return true }},
			{"all but license-only", app.EntitlementQuery{}, notLicenseOnly},
			{"customer", app.EntitlementQuery{CustomerID: "c2"},
				func(x domain.Entitlement) bool { return x.CustomerID == "c2" && notLicenseOnly(x) }},
			{"partner", app.EntitlementQuery{PartnerID: "p2", IncludeLicenseOnly: true},
				func(x domain.Entitlement) bool { return x.PartnerID == "p2" }},
			{"customer and partner", app.EntitlementQuery{CustomerID: "c1", PartnerID: "p1"},
				func(x domain.Entitlement) bool {
					return x.CustomerID == "c1" && x.PartnerID == "p1" && notLicenseOnly(x)
				}},
			{"order", app.EntitlementQuery{OrderID: "o3", IncludeLicenseOnly: true},
				func(x domain.Entitlement) bool { return x.OrderID == "o3" }},
			{"order and customer", app.EntitlementQuery{OrderID: "o1", CustomerID: "c1"},
				func(x domain.Entitlement) bool { return x.OrderID == "o1" && x.CustomerID == "c1" && notLicenseOnly(x) }},
			{"nobody", app.EntitlementQuery{CustomerID: "c9", IncludeLicenseOnly: true},
				func(domain.Entitlement) bool { return false }},
		}
		for _, c := range cases {
			want := filter(c.keep)
			// Whole rows, keys and variants included, in one list and in pages of 33.
			got, err := s.Entitlements(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %d entitlements %v\nwant %d %v", c.name, len(got), entIDs(got), len(want), entIDs(want))
			}
			if got := listAll(t, s, c.q, 33); !reflect.DeepEqual(got, want) {
				t.Errorf("%s in pages: got %d entitlements %v\nwant %d %v", c.name, len(got), entIDs(got), len(want), entIDs(want))
			}
		}

		// A limit alone is the first page.
		got, err := s.Entitlements(ctx, app.EntitlementQuery{IncludeLicenseOnly: true, Limit: 10})
		if err != nil || !reflect.DeepEqual(got, all[:10]) {
			t.Errorf("first page = %v, %v; want %v", entIDs(got), err, entIDs(all[:10]))
		}
		// After the last row: nothing.
		last := all[len(all)-1]
		got, err = s.Entitlements(ctx, app.EntitlementQuery{IncludeLicenseOnly: true, AfterCreateTime: last.CreateTime,
			AfterID: last.ID})
		if err != nil || len(got) != 0 {
			t.Errorf("after the last row = %v, %v", entIDs(got), err)
		}
	})
}

// A transaction whose function fails leaves nothing behind.
func TestTx_Rollback(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		keep := ent("keep", "c1", "p1", "o1", "l1")
		insert(t, s, keep)
		boom := errors.New("boom")
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			if err := tx.InsertEntitlement(ctx, ent("gone", "c1", "p1", "o1", "l2")); err != nil {
				return err
			}
			changed := keep
			changed.Version, changed.Keys, changed.Variants = 2, nil, nil
			if err := tx.UpdateEntitlement(ctx, changed); err != nil {
				return err
			}
			if err := tx.InsertLink(ctx, link("dl1", "keep", "")); err != nil {
				return err
			}
			if err := tx.AppendActivity(ctx, record("a1", "p1", "c1", at(0)), "PARTNER:p1", "r1"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx = %v, want the function's error", err)
		}
		if _, err := s.Entitlement(ctx, "gone"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("inserted entitlement survived: %v", err)
		}
		if _, err := s.EntitlementOfKey(ctx, "gone-k0"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("inserted key survived: %v", err)
		}
		if got := get(t, s, "keep"); !reflect.DeepEqual(got, keep) {
			t.Errorf("update survived: %+v", got)
		}
		if got, err := s.Activities(ctx, app.ActivityQuery{}); err != nil || len(got) != 0 {
			t.Errorf("activity survived: %+v, %v", got, err)
		}
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if _, err := tx.Link(ctx, "dl1"); errs.KindOf(err) != errs.NotFound {
				t.Errorf("link survived: %v", err)
			}
			if _, ok, err := tx.ActivityOfRequest(ctx, "PARTNER:p1", "r1"); ok || err != nil {
				t.Errorf("request record survived: %v, %v", ok, err)
			}
			return nil
		})
	})
}
