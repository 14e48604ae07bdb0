package sql_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

func month(t time.Time) ledger.Month { return ledger.MonthOf(t) }

// entry returns a refund of a subscription event with every field set.
func entry(tb testing.TB, partner, eventID string, created time.Time, minor int64) ledger.Entry {
	tb.Helper()
	src := ledger.Source{Kind: ledger.SourceSubscriptionEvent, SubscriptionID: "sub-1", EventID: eventID}
	k, err := ledger.DeriveKey(src, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return ledger.Entry{Key: k, PartnerID: partner, CustomerID: "c1", Kind: ledger.KindCredit,
		Amount: ledger.Money{Minor: minor, Currency: "EUR"}, TaxInclusive: true, Source: src, SKUID: "sku-1",
		Quantity: 3, Term: ledger.TermP1Y, Plan: ledger.PlanMonthly, ServicePeriodStart: created,
		ServicePeriodEnd: created.Add(24 * time.Hour), InvoiceMonth: month(created),
		Description: "Prorated credit for 3 × Microsoft 365 E3", CreateTime: created}
}

// charge returns an order-line charge: no service period, installment n.
func charge(tb testing.TB, partner, orderID string, n int, created time.Time, invoice ledger.Month) ledger.Entry {
	tb.Helper()
	src := ledger.Source{Kind: ledger.SourceOrderLine, OrderID: orderID, LineID: "l/1"}
	k, err := ledger.DeriveKey(src, n)
	if err != nil {
		tb.Fatal(err)
	}
	return ledger.Entry{Key: k, PartnerID: partner, CustomerID: "c1", Kind: ledger.KindCharge,
		Amount: ledger.Money{Minor: 1999, Currency: "JPY"}, Source: src, Plan: ledger.PlanAnnual,
		InvoiceMonth: invoice, CreateTime: created}
}

func insertEntry(tb testing.TB, s *ordersql.Store, e ledger.Entry) bool {
	tb.Helper()
	var inserted bool
	if err := s.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		var err error
		inserted, err = tx.InsertEntry(ctx, e)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	return inserted
}

func TestLedger_InsertAndList(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		m := month(t0)
		credit := entry(t, "p1", "ev/1", at(time.Hour), -500)
		c1 := charge(t, "p1", "o1", 1, at(0), m)
		c2 := charge(t, "p1", "o1", 2, at(0), m.AddMonths(1)) // next month's invoice
		other := charge(t, "p2", "o2", 1, at(0), m)
		for _, e := range []ledger.Entry{credit, c1, c2, other} {
			if !insertEntry(t, s, e) {
				t.Fatalf("first insert of %s reported false", e.Key)
			}
		}
		// The same key again, even with other fields: false, nothing changes.
		dup := credit
		dup.Amount.Minor, dup.Description = -999, "replayed"
		if insertEntry(t, s, dup) {
			t.Error("second insert of the same key reported true")
		}
		if insertEntry(t, s, c1) {
			t.Error("second insert of the same charge reported true")
		}

		got, err := s.Entries(ctx, "p1", m)
		if err != nil {
			t.Fatal(err)
		}
		// (CreateTime, key) order; round trip of every field, the key included.
		if want := []ledger.Entry{c1, credit}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Entries(p1, %s)\n%+v\nwant\n%+v", m, got, want)
		}
		for _, e := range got {
			if err := e.Validate(); err != nil {
				t.Errorf("read back entry %s: %v", e.Key, err)
			}
		}
		if got, err := s.Entries(ctx, "p1", m.AddMonths(1)); err != nil || !reflect.DeepEqual(got, []ledger.Entry{c2}) {
			t.Errorf("Entries(p1, next month) = %+v, %v", got, err)
		}
		if got, err := s.Entries(ctx, "p2", m); err != nil || !reflect.DeepEqual(got, []ledger.Entry{other}) {
			t.Errorf("Entries(p2) = %+v, %v", got, err)
		}
		if got, err := s.Entries(ctx, "p3", m); err != nil || len(got) != 0 {
			t.Errorf("Entries(p3) = %+v, %v", got, err)
		}

		// Zoned times are stored as UTC microseconds; the entry sorts after c1 (same time, greater
		// key) and before the credit an hour later.
		zoned := entry(t, "p1", "ev-2", t0.In(time.FixedZone("X", -7200)), 0)
		insertEntry(t, s, zoned)
		got, err = s.Entries(ctx, "p1", m)
		if err != nil || len(got) != 3 || got[1].Key != zoned.Key || got[1].CreateTime != store.Time(t0) ||
			got[1].ServicePeriodStart != store.Time(t0) {
			t.Errorf("zoned entry read back as %+v, %v", got, err)
		}
	})
}

func TestLedger_InvalidAndCorrupt(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		// An entry whose key is not its source's is refused before it reaches the table.
		bad := entry(t, "p1", "ev-1", at(0), -1)
		bad.Source.EventID = "ev-2"
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			_, err := tx.InsertEntry(ctx, bad)
			return err
		}); err == nil {
			t.Error("InsertEntry of an entry whose key is not its source's succeeded")
		}

		// A stored row whose source no longer derives its key is a corrupt row error.
		e := entry(t, "p1", "ev-3", at(0), -1)
		insertEntry(t, s, e)
		raw := rawDB(t, dsn)
		if _, err := raw.ExecContext(ctx, `UPDATE ledger_entries SET event_id = 'ev-4'`); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Entries(ctx, "p1", month(t0)); err == nil {
			t.Errorf("Entries over a corrupt row = %+v; want an error", got)
		}
	})
}

// rawDB opens the test's database directly, to damage rows.
func rawDB(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}
