package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// queryEntry is an entry of a subscription event with the fields the filters look at.
func queryEntry(tb testing.TB, partner, customer, sub, eventID string, kind ledger.Kind, created time.Time, invoice ledger.Month) ledger.Entry {
	tb.Helper()
	src := ledger.Source{Kind: ledger.SourceSubscriptionEvent, SubscriptionID: sub, EventID: eventID, OrderID: "o-" + sub}
	k, err := ledger.DeriveKey(src, 0)
	if err != nil {
		tb.Fatal(err)
	}
	minor := int64(1000)
	if kind == ledger.KindCredit || kind == ledger.KindRefund {
		minor = -minor
	}
	return ledger.Entry{Key: k, PartnerID: partner, CustomerID: customer, Kind: kind,
		Amount: ledger.Money{Minor: minor, Currency: "EUR"}, Source: src, InvoiceMonth: invoice, CreateTime: created}
}

func keysOf(es []ledger.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key.String()
	}
	return out
}

func sameKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// listEntries pages through q with page size n, as ListLedgerEntries does.
func listEntries(t *testing.T, s *ordersql.Store, q billing.EntryQuery, n int) []string {
	t.Helper()
	var out []string
	q.Limit = n
	for range 100 {
		page, err := s.LedgerEntries(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, keysOf(page)...)
		if len(page) < n {
			return out
		}
		last := page[len(page)-1]
		q.AfterTime, q.AfterKey = last.CreateTime, last.Key.String()
	}
	t.Fatal("paging does not end")
	return nil
}

// BI-1..BI-3, ID-8: ListLedgerEntries' filters select within one partner; keyset pages in
// (created_at, entry_key) order see every row once, also when several share a created_at.
func TestLedgerEntries_FiltersAndPaging(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		m := month(t0)
		es := []ledger.Entry{
			queryEntry(t, "p1", "c1", "s1", "e1", ledger.KindCharge, at(0), m),
			queryEntry(t, "p1", "c1", "s1", "e2", ledger.KindCredit, at(0), m.AddMonths(1)), // same time as e1
			queryEntry(t, "p1", "c2", "s2", "e3", ledger.KindPenalty, at(time.Hour), m),
			queryEntry(t, "p1", "c2", "s2", "e4", ledger.KindRefund, at(2*time.Hour), m),
			queryEntry(t, "p1", "c1", "s3", "e5", ledger.KindCharge, at(3*time.Hour), m),
			queryEntry(t, "p2", "c1", "s1", "e6", ledger.KindCharge, at(0), m), // another partner's
		}
		for _, e := range es {
			insertEntry(t, s, e)
		}
		k := func(is ...int) []string {
			var out []string
			for _, i := range is {
				out = append(out, es[i].Key.String())
			}
			return out
		}
		cases := []struct {
			name string
			q    billing.EntryQuery
			want []string
		}{
			{"partner", billing.EntryQuery{PartnerID: "p1"}, k(0, 1, 2, 3, 4)},
			{"ID-8 other partner", billing.EntryQuery{PartnerID: "p2"}, k(5)},
			{"customer", billing.EntryQuery{PartnerID: "p1", CustomerID: "c1"}, k(0, 1, 4)},
			{"subscription", billing.EntryQuery{PartnerID: "p1", SubscriptionID: "s2"}, k(2, 3)},
			{"order", billing.EntryQuery{PartnerID: "p1", OrderID: "o-s3"}, k(4)},
			{"kinds", billing.EntryQuery{PartnerID: "p1", Kinds: []ledger.Kind{ledger.KindCredit, ledger.KindRefund}}, k(1, 3)},
			{"month", billing.EntryQuery{PartnerID: "p1", Month: m}, k(0, 2, 3, 4)},
			{"next month (OR-3 credit)", billing.EntryQuery{PartnerID: "p1", Month: m.AddMonths(1)}, k(1)},
			{"time range", billing.EntryQuery{PartnerID: "p1", From: at(time.Hour), To: at(3 * time.Hour)}, k(2, 3)},
			{"no match", billing.EntryQuery{PartnerID: "p1", CustomerID: "c9"}, nil},
		}
		for _, c := range cases {
			for _, n := range []int{1, 2, 10} {
				if got := listEntries(t, s, c.q, n); !sameKeys(got, c.want) {
					t.Errorf("%s, page size %d: got %v, want %v", c.name, n, got, c.want)
				}
			}
		}
		// Entries read back whole.
		got, err := s.LedgerEntries(context.Background(), billing.EntryQuery{PartnerID: "p1", SubscriptionID: "s1", Limit: 1})
		if err != nil || len(got) != 1 || got[0].Key != es[0].Key || got[0].Amount != es[0].Amount ||
			!got[0].CreateTime.Equal(es[0].CreateTime) || got[0].InvoiceMonth != m {
			t.Errorf("read back %+v, %v; want %+v", got, err, es[0])
		}
		if _, err := s.LedgerEntries(context.Background(), billing.EntryQuery{}); err == nil {
			t.Error("a query without a partner was accepted (ID-8)")
		}
	})
}

// CA-4: the feed takes SKU, term, plan and tax treatment from the order line that provisioned a
// subscription, else the tax treatment from the customer's newest order.
func TestPurchaseOf(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		insert(t, s, order("o1", "p1", "c1", at(0))) // AU, tax-inclusive; line l2 provisioned sub-2
		o2 := bare("o2", "p1", "c2", at(time.Hour))  // tax-exclusive, no lines
		insert(t, s, o2)

		p, ok, err := s.PurchaseOf(ctx, "sub-2", "c1")
		want := billing.Purchase{SKUID: "sku-m365", Term: ledger.TermP1Y, Plan: ledger.PlanMonthly, TaxInclusive: true}
		if err != nil || !ok || p != want {
			t.Errorf("PurchaseOf(sub-2) = %+v, %v, %v; want %+v", p, ok, err, want)
		}
		// Not provisioned by an order line: the customer's tax treatment only.
		p, ok, err = s.PurchaseOf(ctx, "sub-x", "c1")
		if err != nil || !ok || p != (billing.Purchase{TaxInclusive: true}) {
			t.Errorf("PurchaseOf(sub-x, c1) = %+v, %v, %v; want tax-inclusive only", p, ok, err)
		}
		p, ok, err = s.PurchaseOf(ctx, "sub-y", "c2")
		if err != nil || !ok || p != (billing.Purchase{}) {
			t.Errorf("PurchaseOf(sub-y, c2) = %+v, %v, %v; want tax-exclusive only", p, ok, err)
		}
		// Neither: unknown.
		if p, ok, err = s.PurchaseOf(ctx, "sub-z", "c9"); err != nil || ok {
			t.Errorf("PurchaseOf(sub-z, c9) = %+v, %v, %v; want not found", p, ok, err)
		}
		if p, ok, err = s.PurchaseOf(ctx, "", ""); err != nil || ok {
			t.Errorf("PurchaseOf(\"\", \"\") = %+v, %v, %v; want not found", p, ok, err)
		}
	})
}
