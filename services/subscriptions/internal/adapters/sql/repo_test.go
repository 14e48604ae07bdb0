package sql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	subsql "github.com/partnerhub/partnerhub/services/subscriptions/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
	"github.com/partnerhub/partnerhub/services/subscriptions/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// nextDue stands in for domain.NextDue: a subscription that is not final is due at its term end.
func nextDue(s domain.Subscription) (time.Time, bool) {
	if s.State.Final() {
		return time.Time{}, false
	}
	return s.TermEnd, true
}

func open(tb testing.TB, dsn string) (*subsql.Store, *store.DB) {
	tb.Helper()
	db := testkit.OpenDB(tb, dsn, migrations.FS, "subscriptions_schema")
	return subsql.New(db, nextDue), db
}

// t0 has nanoseconds on purpose: the store keeps microseconds.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func at(d time.Duration) time.Time { return store.Time(t0.Add(d)) }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// sub returns a subscription with every field set.
func sub(id, customer, partner string) domain.Subscription {
	return domain.Subscription{
		ID: id, CustomerID: customer, PartnerID: partner, SkuID: "sku-1", ProductID: "prod-1",
		DisplayName: "Office 365 E3", Kind: domain.KindOnlineService, State: domain.StateActive,
		Channel: domain.ChannelCSP, Quantity: 5, MaxQuantity: 300,
		Lots: []domain.SeatLot{
			{ID: "lot-1", Quantity: 3, AddTime: at(0), OrderID: "order-1", UnitPrice: domain.Money{Minor: 24000, Currency: "EUR"}},
			{ID: "lot-2", Quantity: 2, AddTime: at(time.Hour + 7*time.Microsecond), UnitPrice: domain.Money{Minor: 23000, Currency: "EUR"}},
		},
		Plan: domain.PlanMonthly, Term: domain.TermP1Y, TermStart: day(2025, 3, 14), TermEnd: day(2026, 3, 14),
		AutoRenew: true, UnitPrice: domain.Money{Minor: 24000, Currency: "EUR"},
		Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, OrderID: "order-1",
		PurchaseTime: at(-time.Minute), StateTime: at(time.Second), RemindersSent: []int32{60, 30},
		PendingTransferID: "transfer-1", Version: 1, CreateTime: at(0), UpdateTime: at(2 * time.Second),
		MovedInTime: at(30 * time.Minute), LicensedUserIDs: []string{"u1", "u2"},
	}
}

// run runs fn in a transaction and fails the test on an error.
func run(tb testing.TB, s *subsql.Store, fn func(ctx context.Context, tx app.Tx) error) {
	tb.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

func insert(tb testing.TB, s *subsql.Store, subs ...domain.Subscription) {
	tb.Helper()
	run(tb, s, func(ctx context.Context, tx app.Tx) error {
		for _, x := range subs {
			if err := tx.InsertSubscription(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
}

func get(tb testing.TB, s *subsql.Store, id string) domain.Subscription {
	tb.Helper()
	got, err := s.Subscription(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func TestSubscription_RoundTrip(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s, _ := open(t, dsn)
		want := sub("s1", "c1", "p1")
		// A subscription with nothing but its key round-trips too: zero times, no lots.
		bare := domain.Subscription{ID: "bare", Kind: domain.KindSoftwarePlan, State: domain.StateCancelled,
			Channel: domain.ChannelDirect, Version: 1}
		insert(t, s, want, bare)
		if got := get(t, s, "s1"); !reflect.DeepEqual(got, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
		}
		if got := get(t, s, "bare"); !reflect.DeepEqual(got, bare) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, bare)
		}

		// Every field changes, and a new term empties the reminders.
		upd := domain.Subscription{
			ID: "s1", CustomerID: "c2", PartnerID: "p2", SkuID: "sku-2", ProductID: "prod-2", DisplayName: "Visio",
			Kind: domain.KindSoftwareSubscription, State: domain.StateSuspended, Channel: domain.ChannelOpen,
			Quantity: 9, MaxQuantity: 10,
			Lots: append(slices.Clone(want.Lots), domain.SeatLot{ID: "lot-3", Quantity: 4, AddTime: at(48 * time.Hour),
				OrderID: "order-3", UnitPrice: domain.Money{Minor: -1, Currency: "USD"}}),
			Plan: domain.PlanTriennial, Term: domain.TermP3Y, TermStart: day(2026, 3, 14), TermEnd: day(2029, 3, 14),
			UnitPrice: domain.Money{Minor: 99, Currency: "USD"}, Policy: domain.PolicyNever, OrderID: "order-9",
			PurchaseTime: at(-time.Hour), StateTime: at(3 * time.Second), Version: 2, CreateTime: at(0), UpdateTime: at(time.Hour),
			LicensedUserIDs: []string{"u3"},
		}
		var inTx domain.Subscription
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			cur, err := tx.Subscription(ctx, "s1")
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(cur, want) {
				t.Errorf("Tx.Subscription = %+v", cur)
			}
			if err := tx.UpdateSubscription(ctx, upd); err != nil {
				return err
			}
			inTx, err = tx.Subscription(ctx, "s1")
			return err
		})
		if got := get(t, s, "s1"); !reflect.DeepEqual(got, upd) || !reflect.DeepEqual(inTx, upd) {
			t.Fatalf("after update\n%+v\n(in tx %+v)\nwant\n%+v", got, inTx, upd)
		}

		// Times in other zones and with nanoseconds are stored as UTC microseconds.
		zoned := sub("s3", "c1", "p1")
		zoned.CreateTime = t0.In(time.FixedZone("X", 5*3600))
		insert(t, s, zoned)
		if got := get(t, s, "s3"); got.CreateTime != store.Time(t0) {
			t.Errorf("create time %v, want %v", got.CreateTime, store.Time(t0))
		}
	})
}

func TestSubscription_Errors(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := open(t, dsn)
		orig := sub("s1", "c1", "p1")
		insert(t, s, orig)

		if _, err := s.Subscription(ctx, "nope"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("Subscription(nope) = %v; want NOT_FOUND", err)
		}
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			_, err := tx.Subscription(ctx, "nope")
			return err
		})
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("Tx.Subscription(nope) = %v; want NOT_FOUND", err)
		}

		// Based on version 2 while 1 is stored: a concurrent change won.
		stale := orig
		stale.Version, stale.DisplayName = 3, "changed"
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateSubscription(ctx, stale) })
		if errs.KindOf(err) != errs.Aborted || errs.ReasonOf(err) != errs.ReasonEtagMismatch {
			t.Errorf("stale update = %v; want ABORTED / ETAG_MISMATCH", err)
		}
		// Same version as stored: also stale.
		stale.Version = 1
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateSubscription(ctx, stale) })
		if errs.ReasonOf(err) != errs.ReasonEtagMismatch {
			t.Errorf("update without a version step = %v; want ETAG_MISMATCH", err)
		}
		if got := get(t, s, "s1"); !reflect.DeepEqual(got, orig) {
			t.Errorf("a refused update changed the row: %+v", got)
		}

		missing := sub("nope", "c1", "p1")
		missing.Version = 2
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateSubscription(ctx, missing) })
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("update of a missing row = %v; want NOT_FOUND", err)
		}
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertSubscription(ctx, orig) })
		if errs.KindOf(err) != errs.AlreadyExists {
			t.Errorf("second insert = %v; want ALREADY_EXISTS", err)
		}
		comma := sub("comma", "c1", "p1")
		comma.Lots[1].ID = "lot,2"
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertSubscription(ctx, comma) }); err == nil {
			t.Error("a lot ID with a separator was stored")
		}
		licensed := sub("licensed", "c1", "p1")
		licensed.LicensedUserIDs = []string{"u1,u2"}
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertSubscription(ctx, licensed) }); err == nil {
			t.Error("a licensed user ID with a separator was stored")
		}
		v2 := sub("v2", "c1", "p1")
		v2.Version = 2
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertSubscription(ctx, v2) }); err == nil {
			t.Error("insert with version 2 succeeded")
		}
	})
}

// Several updates in one transaction, one row twice, reads in between: each read sees the
// transaction's writes (PostgreSQL sends the updates in batches), and one stale update fails the
// transaction and leaves every row as it was.
func TestUpdateSubscription_ManyInOneTx(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := open(t, dsn)
		var orig []domain.Subscription
		for i := range 5 {
			orig = append(orig, sub(fmt.Sprintf("s%d", i), "c1", "p1"))
		}
		insert(t, s, orig...)
		next := func(x domain.Subscription, q int32) domain.Subscription {
			x.Version, x.Quantity, x.State = x.Version+1, q, domain.StateSuspended
			return x
		}
		want := slices.Clone(orig)
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			for i := range 3 {
				want[i] = next(want[i], 10+int32(i))
				if err := tx.UpdateSubscription(ctx, want[i]); err != nil {
					return err
				}
			}
			want[1] = next(want[1], 20) // the same row again
			if err := tx.UpdateSubscription(ctx, want[1]); err != nil {
				return err
			}
			if n, err := tx.CountActive(ctx, "c1"); err != nil || n != 5 {
				t.Errorf("CountActive = %d, %v", n, err)
			}
			got, err := tx.Subscription(ctx, "s1")
			if err != nil || !reflect.DeepEqual(got, want[1]) {
				t.Errorf("in the transaction s1 = %+v, %v\nwant %+v", got, err, want[1])
			}
			want[4] = next(want[4], 40)
			return tx.UpdateSubscription(ctx, want[4])
		})
		for _, w := range want {
			if got := get(t, s, w.ID); !reflect.DeepEqual(got, w) {
				t.Errorf("%s = %+v\nwant %+v", w.ID, got, w)
			}
		}

		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			for i, w := range want {
				w = next(w, 99)
				if i == 3 {
					w.Version++ // stale
				}
				if err := tx.UpdateSubscription(ctx, w); err != nil {
					return err
				}
			}
			return nil
		})
		if errs.ReasonOf(err) != errs.ReasonEtagMismatch || !strings.Contains(err.Error(), `"s3"`) {
			t.Errorf("batch with a stale update = %v; want ETAG_MISMATCH for s3", err)
		}
		for _, w := range want {
			if got := get(t, s, w.ID); !reflect.DeepEqual(got, w) {
				t.Errorf("after the failed batch %s = %+v", w.ID, got)
			}
		}
	})
}

// sortKey is the list order.
func sortKey(a, b domain.Subscription) int {
	if c := a.CreateTime.Compare(b.CreateTime); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

func ids(subs []domain.Subscription) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

// listAll pages through q with pages of size, checking that each page continues the last.
func listAll(t *testing.T, s *subsql.Store, q app.ListQuery, size int) []domain.Subscription {
	t.Helper()
	q.Limit = size
	var all []domain.Subscription
	for range 100 {
		page, err := s.Subscriptions(context.Background(), q)
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

func TestSubscriptions_FiltersAndPaging(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s, _ := open(t, dsn)
		states := domain.States()
		channels := []domain.Channel{domain.ChannelCSP, domain.ChannelWebDirect, domain.ChannelOpen, domain.ChannelDirect}
		var all []domain.Subscription
		for i := range 280 {
			customer, partner := "c1", "p1"
			if i >= 250 {
				customer, partner = "c2", "p2"
			} else if i%5 == 0 {
				partner = "p2" // c1 has two partners of record
			}
			// IDs do not follow creation, and runs of seven share a create time, so the ID breaks ties.
			x := sub(fmt.Sprintf("s%03d", (i*37)%280), customer, partner)
			x.CreateTime = at(time.Duration(i/7) * time.Millisecond)
			x.State, x.Channel = states[i%len(states)], channels[i%len(channels)]
			x.SkuID = fmt.Sprintf("sku-%d", i%3)
			all = append(all, x)
		}
		insert(t, s, all...)
		slices.SortFunc(all, sortKey)

		filter := func(keep func(domain.Subscription) bool) []string {
			var out []string
			for _, x := range all {
				if keep(x) {
					out = append(out, x.ID)
				}
			}
			return out
		}
		cases := []struct {
			name string
			q    app.ListQuery
			keep func(domain.Subscription) bool
		}{
			{"all", app.ListQuery{}, func(domain.Subscription) bool { return true }},
			{"customer", app.ListQuery{CustomerID: "c1"}, func(x domain.Subscription) bool { return x.CustomerID == "c1" }},
			{"partner", app.ListQuery{PartnerID: "p2"}, func(x domain.Subscription) bool { return x.PartnerID == "p2" }},
			{"customer and partner", app.ListQuery{CustomerID: "c1", PartnerID: "p2"},
				func(x domain.Subscription) bool { return x.CustomerID == "c1" && x.PartnerID == "p2" }},
			{"states", app.ListQuery{CustomerID: "c1", States: []domain.State{domain.StateActive, domain.StateExpired}},
				func(x domain.Subscription) bool {
					return x.CustomerID == "c1" && (x.State == domain.StateActive || x.State == domain.StateExpired)
				}},
			{"channel", app.ListQuery{Channel: domain.ChannelOpen}, func(x domain.Subscription) bool { return x.Channel == domain.ChannelOpen }},
			{"sku", app.ListQuery{PartnerID: "p1", SkuID: "sku-2"},
				func(x domain.Subscription) bool { return x.PartnerID == "p1" && x.SkuID == "sku-2" }},
		}
		for _, c := range cases {
			want := filter(c.keep)
			if got := ids(listAll(t, s, c.q, 100)); !slices.Equal(got, want) {
				t.Errorf("%s: got %d rows %v\nwant %d %v", c.name, len(got), got, len(want), want)
			}
		}

		// The 250 rows of c1 in pages of 100: each row once, in order, full rows.
		got := listAll(t, s, app.ListQuery{CustomerID: "c1"}, 100)
		if len(got) != 250 {
			t.Fatalf("%d rows of c1, want 250", len(got))
		}
		seen := map[string]bool{}
		for i, x := range got {
			if seen[x.ID] {
				t.Fatalf("row %s twice", x.ID)
			}
			seen[x.ID] = true
			if i > 0 && sortKey(got[i-1], x) >= 0 {
				t.Fatalf("rows %s and %s out of order", got[i-1].ID, x.ID)
			}
		}
		if !reflect.DeepEqual(got[0], all[0]) {
			t.Errorf("first row %+v\nwant %+v", got[0], all[0])
		}
	})
}

// SU-11: software subscriptions bought before the cut-off are left out; other kinds are not.
func TestSubscriptions_HideSoftwareBoughtBefore(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s, _ := open(t, dsn)
		cutoff := day(2021, 10, 14)
		mk := func(id string, kind domain.ProductKind, bought time.Time) domain.Subscription {
			x := sub(id, "c1", "p1")
			x.Kind, x.PurchaseTime, x.CreateTime = kind, bought, bought
			return x
		}
		insert(t, s,
			mk("old-software", domain.KindSoftwareSubscription, cutoff.Add(-time.Microsecond)),
			mk("new-software", domain.KindSoftwareSubscription, cutoff),
			mk("old-online", domain.KindOnlineService, cutoff.AddDate(-1, 0, 0)),
			mk("old-plan", domain.KindSoftwarePlan, cutoff.AddDate(-1, 0, 0)),
		)
		got, err := s.Subscriptions(context.Background(), app.ListQuery{CustomerID: "c1", HideSoftwareBoughtBefore: cutoff})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"old-online", "old-plan", "new-software"}; !slices.Equal(ids(got), want) {
			t.Errorf("got %v, want %v", ids(got), want)
		}
		if got := listAll(t, s, app.ListQuery{CustomerID: "c1"}, 10); len(got) != 4 {
			t.Errorf("without the filter: %v", ids(got))
		}
	})
}

func TestCountActive(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s, _ := open(t, dsn)
		var subs []domain.Subscription
		for i, st := range domain.States() {
			for j := range 2 {
				subs = append(subs, sub(fmt.Sprintf("c1-%d-%d", i, j), "c1", "p1"))
				subs[len(subs)-1].State = st
			}
		}
		subs = append(subs, sub("c2-a", "c2", "p1"))
		insert(t, s, subs...)
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			for customer, want := range map[string]int{"c1": 4, "c2": 1, "c3": 0} {
				n, err := tx.CountActive(ctx, customer)
				if err != nil {
					return err
				}
				if n != want {
					t.Errorf("CountActive(%s) = %d, want %d", customer, n, want)
				}
			}
			return nil
		})
	})
}

// The tenant limit's count runs twice for every order placed: it must come from the index alone,
// not from a table read per subscription of the customer (which made orders slower as tenants
// grew toward their 300).
func TestCountActive_SU13_ReadsTheIndexOnly(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		_, db := open(t, dsn)
		ctx := context.Background()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		args := []any{"c1"}
		query, want := "EXPLAIN QUERY PLAN "+subsql.CountActiveQuery, "COVERING INDEX subscriptions_active"
		if db.Engine() == store.Postgres {
			// An empty table is read whole by PostgreSQL's cost model: ask what it does when it
			// must not.
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			query, want = "EXPLAIN "+subsql.CountActiveQuery, "Index Only Scan using subscriptions_active"
		}
		rows, err := conn.QueryContext(ctx, query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(any)
			}
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, fmt.Sprint(*vals[len(vals)-1].(*any)))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(plan, "\n"); !strings.Contains(got, want) {
			t.Errorf("plan of CountActive:\n%s\nwant %q", got, want)
		}
	})
}

// sampleEvents returns one event of several types, each with its payload.
func sampleEvents(prefix, partner, customer string) []domain.Event {
	m := domain.Money{Minor: 1234, Currency: "EUR"}
	evs := []domain.Event{
		{Type: domain.EventCreated, State: domain.StateActive, Created: &domain.CreatedPayload{OrderID: "o1", OrderLineID: "l1",
			SkuID: "sku-1", Channel: domain.ChannelCSP, Quantity: 3, Plan: domain.PlanAnnual, Term: domain.TermP1Y,
			TermStart: day(2025, 1, 1), TermEnd: day(2026, 1, 1), UnitPrice: m, AutoRenew: true}},
		{Type: domain.EventRenewed, State: domain.StateActive, Renewed: &domain.RenewedPayload{Kind: domain.RenewalProductKey,
			TermStart: day(2026, 1, 1), TermEnd: day(2027, 1, 1), Quantity: 3, Plan: domain.PlanMonthly, AmountDue: m, OrderID: "o2"}},
		{Type: domain.EventQuantityChanged, State: domain.StateActive, QuantityChanged: &domain.QuantityChangedPayload{
			OldQuantity: 3, NewQuantity: 1, OldTermEnd: day(2027, 1, 1), NewTermEnd: day(2027, 1, 1),
			PriceDelta: domain.Money{Minor: -500, Currency: "EUR"}}},
		{Type: domain.EventSuspended, State: domain.StateSuspended, Suspended: &domain.SuspendedPayload{Reason: "non-payment"}},
		{Type: domain.EventCancelled, State: domain.StateCancelled, Cancelled: &domain.CancelledPayload{
			Refund: domain.Money{Minor: -100, Currency: "EUR"}, Quantity: 1, Compensation: true, Reason: "saga"}},
		{Type: domain.EventTransferred, State: domain.StateActive, Transferred: &domain.TransferredPayload{
			TransferID: "t1", FromPartnerID: "p0", ToPartnerID: partner, TargetSubscriptionID: "s9"}},
		{Type: domain.EventRenewalReminder, State: domain.StateActive, RenewalReminder: &domain.RenewalReminderPayload{
			DaysBeforeExpiry: 7, TermEnd: day(2027, 1, 1), AutoRenew: true, Quantity: 1}},
		{Type: domain.EventPenalty, State: domain.StateActive, Penalty: &domain.PenaltyPayload{Amount: m,
			RemainingTermValue: m, RateBasisPoints: 2500, Reason: "SU-15"}},
		{Type: domain.EventAutoRenewChanged, State: domain.StateActive, AutoRenewChanged: &domain.AutoRenewChangedPayload{}},
		{Type: domain.EventChannelConverted, State: domain.StateActive, ChannelConverted: &domain.ChannelConvertedPayload{
			FromChannel: domain.ChannelWebDirect, ToChannel: domain.ChannelOpen, TermStart: day(2025, 1, 1),
			TermEnd: day(2026, 1, 1), FirstMonthCharge: m}},
	}
	for i := range evs {
		e := &evs[i]
		e.ID, e.PartnerID, e.CustomerID = fmt.Sprintf("%s-%d", prefix, i), partner, customer
		e.SubscriptionID, e.Time, e.RequestID = "s-"+customer, at(time.Duration(i)*time.Second), "req-"+prefix
	}
	return evs
}

func appendEvents(tb testing.TB, s *subsql.Store, evs ...domain.Event) []domain.Event {
	tb.Helper()
	var out []domain.Event
	run(tb, s, func(ctx context.Context, tx app.Tx) error {
		var err error
		out, err = tx.AppendEvents(ctx, evs...)
		return err
	})
	return out
}

func events(tb testing.TB, s *subsql.Store, q app.EventQuery) []domain.Event {
	tb.Helper()
	evs, err := s.Events(context.Background(), q)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

func TestEvents(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := open(t, dsn)
		if last, err := s.LastSequence(ctx); err != nil || last != 0 {
			t.Fatalf("LastSequence of an empty feed = %d, %v", last, err)
		}
		if got := events(t, s, app.EventQuery{}); len(got) != 0 {
			t.Fatalf("empty feed has %d events", len(got))
		}
		a := appendEvents(t, s, sampleEvents("a", "p1", "c1")...)
		b := appendEvents(t, s, sampleEvents("b", "p2", "c2")...)
		c := appendEvents(t, s, sampleEvents("c", "p1", "c3")[:2]...)
		all := slices.Concat(a, b, c)
		for i, e := range all {
			if e.Sequence != int64(i+1) {
				t.Fatalf("event %d has sequence %d", i, e.Sequence)
			}
		}
		got := events(t, s, app.EventQuery{})
		if !reflect.DeepEqual(got, all) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, all)
		}
		if last, err := s.LastSequence(ctx); err != nil || last != int64(len(all)) {
			t.Errorf("LastSequence = %d, %v; want %d", last, err, len(all))
		}

		seqs := func(evs []domain.Event) []int64 {
			var out []int64
			for _, e := range evs {
				out = append(out, e.Sequence)
			}
			return out
		}
		want := func(keep func(domain.Event) bool, limit int) []int64 {
			var out []int64
			for _, e := range all {
				if keep(e) && (limit == 0 || len(out) < limit) {
					out = append(out, e.Sequence)
				}
			}
			return out
		}
		for _, c := range []struct {
			q    app.EventQuery
			keep func(domain.Event) bool
		}{
			{app.EventQuery{After: 5, Limit: 3}, func(e domain.Event) bool { return e.Sequence > 5 }},
			{app.EventQuery{After: 20}, func(e domain.Event) bool { return e.Sequence > 20 }},
			{app.EventQuery{After: 22}, func(e domain.Event) bool { return false }},
			{app.EventQuery{PartnerID: "p1"}, func(e domain.Event) bool { return e.PartnerID == "p1" }},
			{app.EventQuery{PartnerID: "p1", After: 4, Limit: 7}, func(e domain.Event) bool { return e.PartnerID == "p1" && e.Sequence > 4 }},
			{app.EventQuery{CustomerID: "c3"}, func(e domain.Event) bool { return e.CustomerID == "c3" }},
			{app.EventQuery{PartnerID: "p1", CustomerID: "c1", After: 9}, func(e domain.Event) bool { return e.CustomerID == "c1" && e.Sequence > 9 }},
			{app.EventQuery{SubscriptionID: "s-c2"}, func(e domain.Event) bool { return e.SubscriptionID == "s-c2" }},
			{app.EventQuery{Types: []domain.EventType{domain.EventRenewed, domain.EventPenalty}, After: 3},
				func(e domain.Event) bool {
					return e.Sequence > 3 && (e.Type == domain.EventRenewed || e.Type == domain.EventPenalty)
				}},
			{app.EventQuery{PartnerID: "p1", Types: []domain.EventType{domain.EventCreated}},
				func(e domain.Event) bool { return e.PartnerID == "p1" && e.Type == domain.EventCreated }},
		} {
			if got, w := seqs(events(t, s, c.q)), want(c.keep, c.q.Limit); !slices.Equal(got, w) {
				t.Errorf("Events(%+v) = %v, want %v", c.q, got, w)
			}
		}

		// One call with more events than one INSERT takes.
		var many []domain.Event
		for i := range 5 {
			many = append(many, sampleEvents(fmt.Sprintf("m%d", i), "p3", "c4")...)
		}
		many = appendEvents(t, s, many[:47]...)
		if got := events(t, s, app.EventQuery{After: int64(len(all))}); !reflect.DeepEqual(got, many) ||
			many[0].Sequence != int64(len(all)+1) || many[46].Sequence != int64(len(all)+47) {
			t.Fatalf("a large append read back as %d events", len(got))
		}
		all = append(all, many...)

		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			_, err := tx.AppendEvents(ctx, domain.Event{ID: "x", Type: "NO_SUCH_TYPE"})
			return err
		}); err == nil {
			t.Error("an event of unknown type was appended")
		}
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			_, err := tx.AppendEvents(ctx, sampleEvents("a", "p1", "c1")[0])
			return err
		}); err == nil {
			t.Error("an event ID was appended twice")
		}
		if last, _ := s.LastSequence(ctx); last != int64(len(all)) {
			t.Errorf("failed appends moved LastSequence to %d", last)
		}
	})
}

// Sequences follow commit order: 8 appenders commit 50 transactions each while a reader keeps
// reading after the last sequence it saw; it must end up with every event exactly once. Each
// transaction appends twice with a read in between, so a sequence handed out early commits late
// unless the store serializes appenders.
func TestEvents_CommitOrder(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := open(t, dsn)
		const writers, txs = 8, 50
		var wg sync.WaitGroup
		errc := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range txs {
					err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
						evs := sampleEvents(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("p%d", w), "c1")[:2]
						if _, err := tx.AppendEvents(ctx, evs[0]); err != nil {
							return err
						}
						if _, err := tx.CountActive(ctx, "c1"); err != nil {
							return err
						}
						_, err := tx.AppendEvents(ctx, evs[1])
						return err
					})
					if err != nil {
						errc <- err
						return
					}
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		seen := map[string]int{}
		var cursor int64
		read := func() int {
			evs := events(t, s, app.EventQuery{After: cursor, Limit: 37})
			for _, e := range evs {
				if e.Sequence <= cursor {
					t.Fatalf("sequence %d after cursor %d", e.Sequence, cursor)
				}
				cursor = e.Sequence
				seen[e.ID]++
			}
			return len(evs)
		}
		for finished := false; ; {
			select {
			case <-done:
				finished = true
			default:
			}
			if n := read(); finished && n == 0 {
				break
			} else if n == 0 {
				time.Sleep(time.Millisecond) // a consumer polls; it need not spin
			}
		}
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if len(seen) != writers*txs*2 {
			t.Errorf("the reader saw %d events, want %d", len(seen), writers*txs*2)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("event %s seen %d times", id, n)
			}
		}
		if last, _ := s.LastSequence(ctx); last != writers*txs*2 {
			t.Errorf("LastSequence = %d", last)
		}
	})
}

// due lists the IDs of up to limit subscriptions due at now, from the start.
func due(tb testing.TB, s *subsql.Store, now time.Time, limit int) []string {
	tb.Helper()
	b, err := s.Due(context.Background(), now, app.DueCursor{}, limit)
	if err != nil {
		tb.Fatal(err)
	}
	return ids(b.Subs)
}

// claimDue reads up to limit due subscriptions and claims them in tx, as the lifecycle engine
// does.
func claimDue(ctx context.Context, s *subsql.Store, tx app.Tx, now time.Time, limit int) ([]domain.Subscription, error) {
	b, err := s.Due(ctx, now, app.DueCursor{}, limit)
	if err != nil {
		return nil, err
	}
	return tx.Claim(ctx, b)
}

func TestDue(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := open(t, dsn)
		now := day(2026, 1, 1)
		mk := func(id string, termEnd time.Time, st domain.State) domain.Subscription {
			x := sub(id, "c1", "p1")
			x.TermEnd, x.State = termEnd, st
			return x
		}
		insert(t, s,
			mk("d-late", now.Add(-time.Hour), domain.StateActive),
			mk("d-early-b", now.AddDate(0, -1, 0), domain.StateExpired),
			mk("d-early-a", now.AddDate(0, -1, 0), domain.StateDisabled),
			mk("d-now", now, domain.StateSuspended),
			mk("future", now.Add(time.Microsecond), domain.StateActive),
			mk("final", now.AddDate(-1, 0, 0), domain.StateDeleted),
		)
		if got, want := due(t, s, now, 10), []string{"d-early-a", "d-early-b", "d-late", "d-now"}; !slices.Equal(got, want) {
			t.Errorf("Due = %v, want %v", got, want)
		}
		// Page by page from the cursor: each row once, in order.
		var paged []string
		var after app.DueCursor
		for {
			page, err := s.Due(ctx, now, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Subs) == 0 {
				break
			}
			paged, after = append(paged, ids(page.Subs)...), page.Last
		}
		if want := []string{"d-early-a", "d-early-b", "d-late", "d-now"}; !slices.Equal(paged, want) {
			t.Errorf("Due by pages of 3 = %v, want %v", paged, want)
		}
		// An update moves next_due: renewed, d-early-a is due next year; cancelled, d-late never.
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			subs, err := claimDue(ctx, s, tx, now, 3)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(subs[0], get(t, s, "d-early-a")) {
				t.Errorf("claimed %+v", subs[0])
			}
			subs[0].TermEnd, subs[0].Version = now.AddDate(1, 0, 0), 2
			subs[2].State, subs[2].Version = domain.StateCancelled, 2
			for _, x := range []domain.Subscription{subs[0], subs[2]} {
				if err := tx.UpdateSubscription(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
		if got, want := due(t, s, now, 10), []string{"d-early-b", "d-now"}; !slices.Equal(got, want) {
			t.Errorf("after updates Due = %v, want %v", got, want)
		}
		if got, want := due(t, s, now.AddDate(2, 0, 0), 10), []string{"d-early-b", "d-now", "future", "d-early-a"}; !slices.Equal(got, want) {
			t.Errorf("two years later Due = %v, want %v", got, want)
		}
	})
}

// Claim keeps only the rows still stored with the version read: one that changed since is left
// for the next sweep, and so is one that no longer exists.
func TestClaim_SkipsChangedRows(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s, _ := open(t, dsn)
		now := day(2026, 1, 1)
		var subs []domain.Subscription
		for _, id := range []string{"a", "b", "c"} {
			x := sub(id, "c1", "p1")
			x.TermEnd = now.Add(-time.Hour)
			subs = append(subs, x)
		}
		insert(t, s, subs...)
		read, err := s.Due(context.Background(), now, app.DueCursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		changed := get(t, s, "b")
		changed.Quantity, changed.Version = changed.Quantity+1, 2
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.UpdateSubscription(ctx, changed) })
		gone := sub("gone", "c1", "p1")
		read.Subs = append(read.Subs, gone)
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			got, err := tx.Claim(ctx, read)
			if want := []string{"a", "c"}; !slices.Equal(ids(got), want) {
				t.Errorf("Claim = %v, want %v", ids(got), want)
			}
			return err
		})
	})
}

// An update writes only the columns that differ from the row as the transaction read or last
// wrote it. Whatever the sequence of updates, the stored row is the last one written, whole.
func TestUpdateSubscription_NarrowWritesWholeRow(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s, _ := open(t, dsn)
		x := sub("n1", "c1", "p1")
		insert(t, s, x)
		var last domain.Subscription
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			cur, err := tx.Subscription(ctx, "n1")
			if err != nil {
				return err
			}
			for i := range 3 {
				cur.Version++
				cur.Quantity += int32(i + 1)
				cur.State = []domain.State{domain.StateSuspended, domain.StateActive, domain.StateExpired}[i]
				cur.RemindersSent = append(cur.RemindersSent, []int32{60, 30, 7}[i])
				cur.CustomerID = []string{"c1", "c2", "c2"}[i]
				cur.LicensedUserIDs = [][]string{{"u1", "u2"}, {"u1"}, nil}[i]
				if err := tx.UpdateSubscription(ctx, cur); err != nil {
					return err
				}
			}
			last = cur
			return nil
		})
		if got := get(t, s, "n1"); !reflect.DeepEqual(got, last) {
			t.Errorf("stored %+v\nwant %+v", got, last)
		}
		// A row the transaction did not read is written whole.
		blind := last
		blind.Version, blind.DisplayName, blind.PartnerID = last.Version+1, "renamed", "p2"
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.UpdateSubscription(ctx, blind) })
		if got := get(t, s, "n1"); !reflect.DeepEqual(got, blind) {
			t.Errorf("stored %+v\nwant %+v", got, blind)
		}
	})
}

// PostgreSQL: claimers that run at the same time share the due rows without overlap or waiting.
// (SQLite runs one write transaction at a time, so there is nothing to share there.)
func TestClaim_Concurrent(t *testing.T) {
	dsn := testkit.StartPostgres(t)
	ctx := context.Background()
	s, _ := open(t, dsn)
	now := day(2026, 1, 1)
	var subs []domain.Subscription
	for i := range 300 {
		x := sub(fmt.Sprintf("s%03d", i), "c1", "p1")
		x.TermEnd = now.Add(-time.Duration(i%17) * time.Hour)
		subs = append(subs, x)
	}
	insert(t, s, subs...)

	// Two transactions claim the same 20 rows and hold their claims at the same time: without
	// SKIP LOCKED the second would wait for the first, which waits for the second.
	read, err := s.Due(ctx, now, app.DueCursor{}, 20)
	if err != nil {
		t.Fatal(err)
	}
	var both sync.WaitGroup
	both.Add(2)
	claimed := make([][]string, 2)
	var wg sync.WaitGroup
	for k := range 2 {
		var once sync.Once
		wg.Go(func() {
			err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
				got, err := tx.Claim(ctx, read)
				if err != nil {
					return err
				}
				claimed[k] = ids(got)
				once.Do(both.Done)
				waited := make(chan struct{})
				go func() { both.Wait(); close(waited) }()
				select {
				case <-waited:
					return nil
				case <-time.After(10 * time.Second):
					return errors.New("the other claimer did not get through its claim")
				}
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	all := append(slices.Clone(claimed[0]), claimed[1]...)
	slices.Sort(all)
	if !slices.Equal(all, slices.Sorted(slices.Values(ids(read.Subs)))) {
		t.Errorf("claimed %v and %v, want each of %v once", claimed[0], claimed[1], ids(read.Subs))
	}

	// Four engines sweep every due row, each row once.
	var mu sync.Mutex
	done := map[string]int{}
	var workers sync.WaitGroup
	for range 4 {
		workers.Go(func() {
			for {
				var batch []string
				err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
					batch = nil
					claimed, err := claimDue(ctx, s, tx, now, 25)
					if err != nil {
						return err
					}
					for _, x := range claimed {
						x.State, x.Version = domain.StateDeleted, x.Version+1
						if err := tx.UpdateSubscription(ctx, x); err != nil {
							return err
						}
						batch = append(batch, x.ID)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, id := range batch {
					done[id]++
				}
				mu.Unlock()
				if len(batch) == 0 && len(due(t, s, now, 1)) == 0 {
					return
				}
			}
		})
	}
	workers.Wait()
	if len(done) != 300 {
		t.Errorf("swept %d rows, want 300", len(done))
	}
	for id, n := range done {
		if n != 1 {
			t.Errorf("%s swept %d times", id, n)
		}
	}
}

// A transaction whose function fails leaves nothing behind.
func TestTx_Rollback(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := open(t, dsn)
		keep := sub("keep", "c1", "p1")
		insert(t, s, keep)
		boom := errors.New("boom")
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			if err := tx.InsertSubscription(ctx, sub("gone", "c1", "p1")); err != nil {
				return err
			}
			changed := keep
			changed.Version, changed.State = 2, domain.StateSuspended
			if err := tx.UpdateSubscription(ctx, changed); err != nil {
				return err
			}
			if _, err := tx.AppendEvents(ctx, sampleEvents("e", "p1", "c1")...); err != nil {
				return err
			}
			if err := tx.PutStep(ctx, domain.Step{RequestID: "r1", Kind: domain.StepProvision, SubscriptionID: "gone"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx = %v, want the function's error", err)
		}
		if _, err := s.Subscription(ctx, "gone"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("inserted row survived: %v", err)
		}
		if got := get(t, s, "keep"); !reflect.DeepEqual(got, keep) {
			t.Errorf("update survived: %+v", got)
		}
		if evs := events(t, s, app.EventQuery{}); len(evs) != 0 {
			t.Errorf("%d events survived", len(evs))
		}
		if last, _ := s.LastSequence(ctx); last != 0 {
			t.Errorf("LastSequence = %d", last)
		}
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if _, ok, err := tx.Step(ctx, "r1"); ok || err != nil {
				t.Errorf("step survived: %v, %v", ok, err)
			}
			return nil
		})
		// The numbers the failed transaction took are handed out again.
		if evs := appendEvents(t, s, sampleEvents("f", "p1", "c1")[0]); evs[0].Sequence != 1 {
			t.Errorf("sequence %d after a rollback, want 1", evs[0].Sequence)
		}
	})
}

func TestSteps(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s, _ := open(t, dsn)
		step := func(id string) (domain.Step, bool) {
			var st domain.Step
			var ok bool
			run(t, s, func(ctx context.Context, tx app.Tx) error {
				var err error
				st, ok, err = tx.Step(ctx, id)
				return err
			})
			return st, ok
		}
		put := func(st domain.Step) {
			run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.PutStep(ctx, st) })
		}
		if _, ok := step("r1"); ok {
			t.Fatal("a step that was never put exists")
		}
		created := domain.Step{RequestID: "r1", Kind: domain.StepProvision, SubscriptionID: "s1", CreateTime: at(0)}
		put(created)
		if got, ok := step("r1"); !ok || !reflect.DeepEqual(got, created) {
			t.Errorf("step = %+v, %v; want %+v", got, ok, created)
		}
		before := sub("s1", "c1", "p1")
		added := domain.Step{RequestID: "r2", Kind: domain.StepAddSeats, SubscriptionID: "s1", LotID: "lot-3",
			Before: &before, CreateTime: at(time.Minute)}
		put(added)
		if got, ok := step("r2"); !ok || !reflect.DeepEqual(got, added) {
			t.Errorf("step = %+v, %v; want %+v", got, ok, added)
		}
		// Replaced: compensated, and the snapshot dropped.
		added.Compensated, added.Before = true, nil
		put(added)
		if got, ok := step("r2"); !ok || !reflect.DeepEqual(got, added) {
			t.Errorf("replaced step = %+v, %v; want %+v", got, ok, added)
		}
		tomb := domain.Step{RequestID: "r3", Compensated: true, CreateTime: at(time.Hour)}
		put(tomb)
		if got, ok := step("r3"); !ok || !reflect.DeepEqual(got, tomb) {
			t.Errorf("tombstone = %+v, %v; want %+v", got, ok, tomb)
		}
	})
}

// BenchmarkClaimAndUpdate is one transaction of a lifecycle sweep on SQLite: claim 500 due
// subscriptions and update each.
func BenchmarkClaimAndUpdate(b *testing.B) {
	const batch = 500
	s, _ := open(b, testkit.SQLiteDSN(b))
	now := day(2026, 1, 1)
	subs := make([]domain.Subscription, 0, batch)
	for i := range b.N * batch {
		x := sub(fmt.Sprintf("s%07d", i), fmt.Sprintf("c%d", i%1000), fmt.Sprintf("p%d", i%50))
		x.TermEnd = now.Add(-time.Duration(i%1000) * time.Minute)
		if subs = append(subs, x); len(subs) == batch {
			insert(b, s, subs...)
			subs = subs[:0]
		}
	}
	b.ResetTimer()
	for range b.N {
		run(b, s, func(ctx context.Context, tx app.Tx) error {
			claimed, err := claimDue(ctx, s, tx, now, batch)
			if err != nil {
				return err
			}
			if len(claimed) != batch {
				return fmt.Errorf("claimed %d", len(claimed))
			}
			for _, x := range claimed {
				x.TermEnd, x.RemindersSent, x.Version = x.TermEnd.AddDate(1, 0, 0), nil, x.Version+1
				if err := tx.UpdateSubscription(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}
