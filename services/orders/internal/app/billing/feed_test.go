package billing_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partner1  = "aaaaaaaa-0000-4000-8000-000000000001"
	partner2  = "aaaaaaaa-0000-4000-8000-000000000002"
	customer1 = "cccccccc-0000-4000-8000-000000000001"
	customer2 = "cccccccc-0000-4000-8000-000000000002"
	customer3 = "cccccccc-0000-4000-8000-000000000003"
	sub1      = "5b000000-0000-4000-8000-000000000001"
	sub2      = "5b000000-0000-4000-8000-000000000002"
)

// t0 is in March 2026; the store keeps microseconds.
func t0() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }

func openStore(t *testing.T) *ordersql.Store { return openStoreAt(t, testkit.SQLiteDSN(t)) }

func openStoreAt(t *testing.T, dsn string) *ordersql.Store {
	t.Helper()
	return ordersql.New(testkit.OpenDB(t, dsn, migrations.FS, "orders_schema"))
}

// fakeFeed is the subscriptions events feed: events in sequence order, paged after a cursor.
type fakeFeed struct {
	mu     sync.Mutex
	events []seqEvent
	err    error
	calls  int
}

type seqEvent struct {
	seq int64
	ev  ledger.SubscriptionEvent
}

func (f *fakeFeed) add(ev ledger.SubscriptionEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, seqEvent{seq: int64(len(f.events) + 1), ev: ev})
}

func (f *fakeFeed) EventsAfter(_ context.Context, after int64, limit int) (billing.EventPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return billing.EventPage{}, f.err
	}
	page := billing.EventPage{Last: after}
	for _, e := range f.events {
		if e.seq <= after {
			continue
		}
		if len(page.Events) == limit {
			page.More = true
			break
		}
		page.Events = append(page.Events, e.ev)
		page.Last = e.seq
	}
	return page, nil
}

func event(id string, typ ledger.EventType, minor int64) ledger.SubscriptionEvent {
	return ledger.SubscriptionEvent{EventID: id, Type: typ, PartnerID: partner1, CustomerID: customer1,
		SubscriptionID: sub1, Time: t0(), Amount: ledger.Money{Minor: minor, Currency: "EUR"}}
}

func allEntries(t *testing.T, s *ordersql.Store, partner string) []ledger.Entry {
	t.Helper()
	es, err := s.LedgerEntries(context.Background(), billing.EntryQuery{PartnerID: partner})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func cursor(t *testing.T, s *ordersql.Store) int64 {
	t.Helper()
	c, err := s.Cursor(context.Background(), billing.CursorName)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sync1(t *testing.T, f *billing.Feed) int {
	t.Helper()
	n, err := f.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// monthlyRenewal is the RENEWED event of a one-year term billed monthly: 36.00 due for its first
// month.
func monthlyRenewal() ledger.SubscriptionEvent {
	r := event("ev-renew", ledger.EventRenewed, 3600)
	r.Plan, r.Term = ledger.PlanMonthly, ledger.TermP1Y
	r.PeriodStart, r.PeriodEnd = t0(), t0().AddDate(0, 1, 0)
	return r
}

// rewind moves the feed's stored cursor back to its start, as a replay would.
func rewind(t *testing.T, s *ordersql.Store) {
	t.Helper()
	if err := s.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		return tx.SetCursor(ctx, billing.CursorName, 0)
	}); err != nil {
		t.Fatal(err)
	}
}

// Scenario n, OR-7: an autorenewal is charged once, however often the feed delivers it (a crash
// before the cursor was stored, a cursor reset, a replica that read the same page).
func TestFeed_ScenarioN_AutorenewalChargedOnce(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := openStoreAt(t, dsn)
		events := &fakeFeed{}
		renewal := monthlyRenewal()
		events.add(renewal)
		feed := billing.NewFeed(s, events, clock.NewFake(t0()), billing.FeedOptions{})

		if n := sync1(t, feed); n != 1 {
			t.Fatalf("first sync inserted %d entries, want 1", n)
		}
		if n := sync1(t, feed); n != 0 {
			t.Errorf("second sync inserted %d, want 0 (caught up)", n)
		}
		// Replay from the start of the feed, and the same event again under a new sequence.
		rewind(t, s)
		events.add(renewal)
		if n := sync1(t, feed); n != 0 {
			t.Errorf("replay inserted %d entries, want 0", n)
		}
		es := allEntries(t, s, partner1)
		if len(es) != 1 {
			t.Fatalf("ledger holds %d entries, want 1", len(es))
		}
		e := es[0]
		if e.Kind != ledger.KindCharge || e.Amount != (ledger.Money{Minor: 3600, Currency: "EUR"}) ||
			e.Source.Kind != ledger.SourceSubscriptionEvent || e.Source.EventID != "ev-renew" || e.Source.SubscriptionID != sub1 ||
			e.InvoiceMonth != ledger.MonthOf(t0()) || !e.ServicePeriodEnd.Equal(t0().AddDate(0, 1, 0)) || e.Plan != ledger.PlanMonthly {
			t.Errorf("entry %+v", e)
		}
		if c := cursor(t, s); c != 2 {
			t.Errorf("cursor %d, want 2", c)
		}
	})
}

// BI-2, OR-7: a renewal that gives its term's price books every installment of the renewed term,
// once, however often the feed delivers it; the stored entries read back with their keys.
func TestFeed_BI2_RenewalBooksEveryInstallmentOnce(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := openStoreAt(t, dsn)
		events := &fakeFeed{}
		renewal := monthlyRenewal()
		renewal.TermAmount = ledger.Money{Minor: 43200, Currency: "EUR"}
		events.add(renewal)
		feed := billing.NewFeed(s, events, clock.NewFake(t0()), billing.FeedOptions{})
		if n := sync1(t, feed); n != 12 {
			t.Fatalf("first sync inserted %d entries, want 12 (a year billed monthly)", n)
		}
		rewind(t, s)
		if n := sync1(t, feed); n != 0 {
			t.Errorf("replay inserted %d entries, want 0", n)
		}
		es := allEntries(t, s, partner1)
		var sum int64
		months := map[ledger.Month]bool{}
		for _, e := range es {
			sum += e.Amount.Minor
			months[e.InvoiceMonth] = true
			if e.Kind != ledger.KindCharge || e.Source.EventID != "ev-renew" || e.Amount.Minor != 3600 {
				t.Errorf("entry %s: %s %s from %s", e.Key, e.Kind, e.Amount, e.Source.EventID)
			}
		}
		if len(es) != 12 || sum != 43200 || len(months) != 12 {
			t.Errorf("%d entries over %d invoice months summing to %d; want 12 over 12 summing to 432.00", len(es), len(months), sum)
		}
	})
}

// BI-3: a cancellation with a refund credits (SU-10), a penalty charges (SU-15), removed seats
// refund; what bills nothing (a compensation's zero refund, a directly bought subscription, a
// reminder, an Open renewal at zero, BI-1) adds no entry but the cursor moves past it.
func TestFeed_BI3_CreditsPenaltiesAndNothing(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := openStoreAt(t, dsn)
		events := &fakeFeed{}
		direct := event("ev-direct", ledger.EventRenewed, 5000)
		direct.PartnerID = ""
		for _, e := range []ledger.SubscriptionEvent{
			event("ev-cancel", ledger.EventCancelled, -2500),
			event("ev-penalty", ledger.EventPenalty, 750),
			event("ev-seats", ledger.EventQuantityChanged, -900),
			event("ev-compensation", ledger.EventCancelled, 0),
			event("ev-open-renewal", ledger.EventRenewed, 0),
			direct,
			event("ev-reminder", ledger.EventUnspecified, 0),
		} {
			events.add(e)
		}
		feed := billing.NewFeed(s, events, clock.NewFake(t0()), billing.FeedOptions{PageSize: 2})
		if n := sync1(t, feed); n != 3 {
			t.Fatalf("inserted %d entries, want 3", n)
		}
		kinds := map[string]ledger.Kind{}
		for _, e := range allEntries(t, s, partner1) {
			kinds[e.Source.EventID] = e.Kind
		}
		want := map[string]ledger.Kind{"ev-cancel": ledger.KindCredit, "ev-penalty": ledger.KindPenalty, "ev-seats": ledger.KindRefund}
		if len(kinds) != len(want) {
			t.Errorf("entries %v, want %v", kinds, want)
		}
		for id, k := range want {
			if kinds[id] != k {
				t.Errorf("%s: kind %v, want %v", id, kinds[id], k)
			}
		}
		if c := cursor(t, s); c != 7 {
			t.Errorf("cursor %d, want 7 (past the events that bill nothing)", c)
		}
	})
}

// CA-4: the tax treatment, SKU and term come from the order line that provisioned the
// subscription, else from the customer's orders; none: tax-exclusive.
func TestFeed_CA4_TaxTreatmentFromOrders(t *testing.T) {
	s := openStore(t)
	line := domain.OrderLine{ID: "l1", SkuID: "sku-m365", Quantity: 10, Term: domain.TermP1Y, Plan: domain.PlanAnnual,
		UnitPeriodPrice: domain.Money{Minor: 4000, Currency: "AUD"}, UnitTermPrice: domain.Money{Minor: 4000, Currency: "AUD"},
		TaxInclusive: true, State: domain.LineProvisioned, SubscriptionID: sub1}
	o := domain.Order{ID: "o1", PartnerID: partner1, CustomerID: customer1, CountryCode: "AU", State: domain.OrderCompleted,
		TaxInclusive: true, RequestID: "r1", Version: 1, CreateTime: t0(), UpdateTime: t0(), Lines: []domain.OrderLine{line}}
	if err := s.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		return tx.InsertOrder(ctx, o, "PARTNER:"+partner1, app.SagaRecord{Saga: domain.NewSaga(o)})
	}); err != nil {
		t.Fatal(err)
	}
	events := &fakeFeed{}
	onLine := event("ev-1", ledger.EventRenewed, 4000)
	onLine.Amount.Currency = "AUD"
	sameCustomer := onLine
	sameCustomer.EventID, sameCustomer.SubscriptionID = "ev-2", sub2
	otherCustomer := event("ev-3", ledger.EventRenewed, 100)
	otherCustomer.CustomerID, otherCustomer.SubscriptionID = customer2, sub2
	for _, e := range []ledger.SubscriptionEvent{onLine, sameCustomer, otherCustomer} {
		events.add(e)
	}
	feed := billing.NewFeed(s, events, clock.NewFake(t0()), billing.FeedOptions{})
	if n := sync1(t, feed); n != 3 {
		t.Fatalf("inserted %d, want 3", n)
	}
	got := map[string]ledger.Entry{}
	for _, e := range allEntries(t, s, partner1) {
		got[e.Source.EventID] = e
	}
	if e := got["ev-1"]; !e.TaxInclusive || e.SKUID != "sku-m365" || e.Term != ledger.TermP1Y || e.Plan != ledger.PlanAnnual {
		t.Errorf("entry of the order line's subscription %+v; want tax-inclusive sku-m365 P1Y ANNUAL", e)
	}
	if e := got["ev-2"]; !e.TaxInclusive || e.SKUID != "" {
		t.Errorf("entry of the customer's other subscription %+v; want tax-inclusive, no SKU", e)
	}
	if e := got["ev-3"]; e.TaxInclusive {
		t.Errorf("entry of a customer without orders %+v; want tax-exclusive", e)
	}
}

// An event the ledger refuses (a renewal with a negative amount) is stepped over, not retried
// forever; the events after it still bill.
func TestFeed_RefusedEventSkipped(t *testing.T) {
	s := openStore(t)
	events := &fakeFeed{}
	events.add(event("ev-bad", ledger.EventRenewed, -1))
	events.add(event("ev-good", ledger.EventPenalty, 10))
	feed := billing.NewFeed(s, events, clock.NewFake(t0()), billing.FeedOptions{})
	if n := sync1(t, feed); n != 1 {
		t.Errorf("inserted %d, want 1", n)
	}
	if c := cursor(t, s); c != 2 {
		t.Errorf("cursor %d, want 2", c)
	}
}

// A feed that does not answer stores nothing and keeps the cursor; the next poll retries.
func TestFeed_FailureKeepsCursor(t *testing.T) {
	s := openStore(t)
	events := &fakeFeed{err: errs.Unavailablef("subscriptions down")}
	events.add(event("ev-1", ledger.EventPenalty, 10))
	feed := billing.NewFeed(s, events, clock.NewFake(t0()), billing.FeedOptions{})
	if _, err := feed.Sync(context.Background()); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Sync err %v; want UNAVAILABLE", err)
	}
	if c := cursor(t, s); c != 0 {
		t.Errorf("cursor %d, want 0", c)
	}
	events.mu.Lock()
	events.err = nil
	events.mu.Unlock()
	if n := sync1(t, feed); n != 1 {
		t.Errorf("retry inserted %d, want 1", n)
	}
}

// Run polls until its context ends, then returns.
func TestFeed_RunPollsAndStops(t *testing.T) {
	s := openStore(t)
	events := &fakeFeed{}
	feed := billing.NewFeed(s, events, clock.NewFake(t0()), billing.FeedOptions{Interval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { feed.Run(ctx); close(done) }()
	events.add(event("ev-1", ledger.EventPenalty, 10))
	deadline := time.Now().Add(5 * time.Second)
	for len(allEntries(t, s, partner1)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not apply the event")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
