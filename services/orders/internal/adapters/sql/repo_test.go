package sql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func open(tb testing.TB, dsn string) *ordersql.Store {
	tb.Helper()
	return ordersql.New(testkit.OpenDB(tb, dsn, migrations.FS, "orders_schema"))
}

// t0 has nanoseconds on purpose: the store keeps microseconds.
var t0 = time.Date(2026, 3, 2, 9, 26, 53, 589793238, time.UTC)

func at(d time.Duration) time.Time { return store.Time(t0.Add(d)) }

const scope = "PARTNER:p1"

// order returns an order with every field set: two lines, one failed, one with a cancellation.
func order(id, partner, customer string, created time.Time) domain.Order {
	return domain.Order{
		ID: id, PartnerID: partner, CustomerID: customer, CountryCode: "AU", PlacedBy: "u1",
		State: domain.OrderPartiallyCancelled, TaxInclusive: true,
		Failure: &domain.Failure{Reason: domain.ReasonProvisioningFailed, Message: "keys said no",
			Metadata: map[string]string{"line_id": "l2", "limit": "5"}, Step: domain.StepIssueEntitlements},
		CancellationPending: true, PartnerReference: "PO-4711", RequestID: "req-" + id, Version: 1,
		CreateTime: created, UpdateTime: created.Add(time.Minute), CompleteTime: created.Add(2 * time.Minute),
		Lines: []domain.OrderLine{
			{ID: "l1", SkuID: "sku-office", DisplayName: "Office LTSC 2021", Kind: domain.KindPerpetualSoftware,
				Quantity: 5, Term: domain.TermPerpetual, Plan: domain.PlanOneTime, AutoRenew: false,
				KeyType: domain.KeyMAK, HasDownloads: true,
				UnitPeriodPrice: domain.Money{Minor: 43999, Currency: "AUD"},
				UnitTermPrice:   domain.Money{Minor: 43999, Currency: "AUD"}, TaxInclusive: true,
				Policy: domain.PolicyFullCreditWindow, WindowDays: 30, State: domain.LineCancelling,
				SubscriptionID: "", EntitlementID: "ent-1", ChargeID: "order-line/" + id + "/l1/1",
				CompleteTime: created.Add(time.Minute),
				Cancellation: &domain.LineCancellation{Route: domain.RoutePerpetualCredit,
					RequestTime: created.Add(time.Hour), EntitlementsRevoked: true, SubscriptionCancelled: true,
					Credit: domain.Money{Minor: -219995, Currency: "AUD"}, Reason: "bought by mistake"}},
			{ID: "l2", SkuID: "sku-m365", DisplayName: "Microsoft 365 E3", Kind: domain.KindOnlineService,
				Quantity: 12, Term: domain.TermP1Y, Plan: domain.PlanMonthly, AutoRenew: true, KeyType: domain.KeyNone,
				UnitPeriodPrice: domain.Money{Minor: 3600, Currency: "AUD"},
				UnitTermPrice:   domain.Money{Minor: 43200, Currency: "AUD"}, TaxInclusive: true,
				Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, State: domain.LineCancelled,
				SubscriptionID: "sub-2",
				Failure:        &domain.Failure{Reason: domain.ReasonProvisioningFailed, Step: domain.StepCreateSubscription},
				Cancellation: &domain.LineCancellation{Route: domain.RouteViaSubscriptions,
					RequestTime: created.Add(time.Hour), CompleteTime: created.Add(2 * time.Hour),
					SubscriptionCancelled: true, EntitlementsRevoked: true, CreditRecorded: true,
					Credit: domain.Money{Minor: -1234, Currency: "AUD"}}},
		},
	}
}

// bare is an order with nothing but its required fields: no lines, no failure, zero times.
func bare(id, partner, customer string, created time.Time) domain.Order {
	return domain.Order{ID: id, PartnerID: partner, CustomerID: customer, State: domain.OrderPending,
		RequestID: "req-" + id, Version: 1, CreateTime: created, UpdateTime: created}
}

// run runs fn in a transaction and fails the test on an error.
func run(tb testing.TB, s *ordersql.Store, fn func(ctx context.Context, tx app.Tx) error) {
	tb.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

func insert(tb testing.TB, s *ordersql.Store, orders ...domain.Order) {
	tb.Helper()
	run(tb, s, func(ctx context.Context, tx app.Tx) error {
		for _, o := range orders {
			if err := tx.InsertOrder(ctx, o, scope, app.SagaRecord{Saga: domain.NewSaga(o)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func get(tb testing.TB, s *ordersql.Store, id string) domain.Order {
	tb.Helper()
	o, err := s.Order(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

func isKind(err error, kind errs.Kind, reason errs.Reason) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == kind && (reason == "" || e.Reason == reason)
}

func TestOrder_RoundTrip(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		want := order("o1", "p1", "c1", at(0))
		b := bare("o2", "p1", "c1", at(time.Second))
		insert(t, s, want, b)

		if got := get(t, s, "o1"); !reflect.DeepEqual(got, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
		}
		if got := get(t, s, "o2"); !reflect.DeepEqual(got, b) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, b)
		}
		if _, err := s.Order(ctx, "o9"); !isKind(err, errs.NotFound, "") {
			t.Errorf("Order(o9) = %v; want NOT_FOUND", err)
		}
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if got, err := tx.Order(ctx, "o1"); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Tx.Order = %+v, %v", got, err)
			}
			if _, err := tx.Order(ctx, "o9"); !isKind(err, errs.NotFound, "") {
				t.Errorf("Tx.Order(o9) = %v; want NOT_FOUND", err)
			}
			return nil
		})

		// Times in other zones and with nanoseconds are stored as UTC microseconds.
		zoned := order("o3", "p1", "c1", t0.In(time.FixedZone("X", 5*3600)))
		zoned.Lines[0].Cancellation.RequestTime = t0.In(time.FixedZone("Y", -3600))
		insert(t, s, zoned)
		got := get(t, s, "o3")
		if got.CreateTime != at(0) || got.Lines[0].Cancellation.RequestTime != at(0) {
			t.Errorf("zoned times read back as %v, %v; want %v", got.CreateTime,
				got.Lines[0].Cancellation.RequestTime, at(0))
		}
	})
}

func TestOrderOfRequest(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		want := order("o1", "p1", "c1", at(0))
		insert(t, s, want)
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if got, ok, err := tx.OrderOfRequest(ctx, scope, "req-o1"); err != nil || !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("OrderOfRequest(req-o1) = %+v, %v, %v", got, ok, err)
			}
			for _, k := range [][2]string{{scope, "req-o9"}, {"PARTNER:p2", "req-o1"}} {
				if _, ok, err := tx.OrderOfRequest(ctx, k[0], k[1]); err != nil || ok {
					t.Errorf("OrderOfRequest(%s, %s) = %v, %v; want none", k[0], k[1], ok, err)
				}
			}
			return nil
		})

		// Another order of the same request: ALREADY_EXISTS, and nothing of it stays.
		dup := bare("o2", "p1", "c1", at(time.Second))
		dup.RequestID = "req-o1"
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			return tx.InsertOrder(ctx, dup, scope, app.SagaRecord{Saga: domain.NewSaga(dup)})
		})
		if !isKind(err, errs.AlreadyExists, "") {
			t.Errorf("second order of the request: %v; want ALREADY_EXISTS", err)
		}
		if _, err := s.Order(ctx, "o2"); !isKind(err, errs.NotFound, "") {
			t.Errorf("Order(o2) after refusal = %v; want NOT_FOUND", err)
		}
		// The same request ID in another scope is another request.
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			return tx.InsertOrder(ctx, dup, "PARTNER:p2", app.SagaRecord{Saga: domain.NewSaga(dup)})
		})
		if err != nil {
			t.Errorf("same request ID in another scope: %v", err)
		}
		// The same order ID under another request: ALREADY_EXISTS too.
		again := bare("o1", "p1", "c1", at(0))
		again.RequestID = "req-other"
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			return tx.InsertOrder(ctx, again, scope, app.SagaRecord{Saga: domain.NewSaga(again)})
		})
		if !isKind(err, errs.AlreadyExists, "") {
			t.Errorf("order ID in use: %v; want ALREADY_EXISTS", err)
		}
		if got := get(t, s, "o1"); !reflect.DeepEqual(got, want) {
			t.Errorf("o1 changed: %+v", got)
		}
		// A version other than 1 is refused.
		v2 := bare("o5", "p1", "c1", at(0))
		v2.Version = 2
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			return tx.InsertOrder(ctx, v2, scope, app.SagaRecord{Saga: domain.NewSaga(v2)})
		}); err == nil {
			t.Error("InsertOrder with version 2 succeeded")
		}
	})
}

func TestUpdateOrder(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		o := order("o1", "p1", "c1", at(0))
		for i := range o.Lines {
			l := &o.Lines[i]
			l.State, l.SubscriptionID, l.EntitlementID, l.ChargeID = domain.LineProvisioning, "", "", ""
			l.CompleteTime, l.Failure, l.Cancellation = time.Time{}, nil, nil
		}
		insert(t, s, o)

		// Every field of the order changes; of its lines, what the saga and cancellations change
		// (state, IDs, complete time, failure, cancellation).
		upd := order("o1", "p2", "c2", at(time.Hour))
		upd.Version = 2
		upd.Lines[0].State = domain.LineProvisioned
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.UpdateOrder(ctx, upd) })
		if got := get(t, s, "o1"); !reflect.DeepEqual(got, upd) {
			t.Fatalf("after update\n%+v\nwant\n%+v", got, upd)
		}
		// The scope stays: the order is still the request's.
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if _, ok, err := tx.OrderOfRequest(ctx, scope, upd.RequestID); err != nil || !ok {
				t.Errorf("OrderOfRequest after update = %v, %v", ok, err)
			}
			return nil
		})

		// A stale version (same as stored, or one behind) is ABORTED / ETAG_MISMATCH.
		for _, v := range []int64{2, 1, 4} {
			stale := upd
			stale.Version = v
			stale.State = domain.OrderFailed
			err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateOrder(ctx, stale) })
			if !isKind(err, errs.Aborted, errs.ReasonEtagMismatch) {
				t.Errorf("update with version %d: %v; want ABORTED/ETAG_MISMATCH", v, err)
			}
		}
		// A missing order is NOT_FOUND.
		missing := bare("o9", "p1", "c1", at(0))
		missing.Version = 2
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateOrder(ctx, missing) })
		if !isKind(err, errs.NotFound, "") {
			t.Errorf("update of a missing order: %v; want NOT_FOUND", err)
		}
		if got := get(t, s, "o1"); !reflect.DeepEqual(got, upd) {
			t.Errorf("refused updates changed the order: %+v", got)
		}

		// A line the order does not have is an error, and changes nothing.
		extra := upd
		extra.Version = 3
		extra.Lines = append(append([]domain.OrderLine(nil), upd.Lines...), domain.OrderLine{ID: "l9"})
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.UpdateOrder(ctx, extra) }); err == nil {
			t.Error("update with an unknown line succeeded")
		}
		if got := get(t, s, "o1"); !reflect.DeepEqual(got, upd) {
			t.Errorf("a refused update changed the order: %+v", got)
		}
	})
}

func orderIDs(os []domain.Order) []string {
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	return ids
}

// listAll pages through Orders with page size size and returns the IDs in order.
func listAll(t *testing.T, s *ordersql.Store, q app.OrderQuery, size int) []string {
	t.Helper()
	var ids []string
	q.Limit = size
	for range 100 {
		page, err := s.Orders(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, orderIDs(page)...)
		if len(page) < size {
			return ids
		}
		last := page[len(page)-1]
		q.BeforeCreateTime, q.BeforeID = last.CreateTime, last.ID
	}
	t.Fatal("paging does not end")
	return nil
}

func TestOrders_FiltersAndPaging(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		// 12 orders over two partners and three customers; pairs share a create time, so the ID
		// breaks ties.
		var all []domain.Order
		for i := range 12 {
			o := order(fmt.Sprintf("o%02d", i), fmt.Sprintf("p%d", i%2), fmt.Sprintf("c%d", i%3),
				at(time.Duration(i/2)*time.Minute))
			o.State = domain.OrderStates()[i%4]
			all = append(all, o)
		}
		insert(t, s, all...)

		newestFirst := func(keep func(domain.Order) bool) []string {
			var want []domain.Order
			for _, o := range all {
				if keep(o) {
					want = append(want, o)
				}
			}
			slices.SortFunc(want, func(a, b domain.Order) int {
				if c := b.CreateTime.Compare(a.CreateTime); c != 0 {
					return c
				}
				return -compareStrings(a.ID, b.ID)
			})
			return orderIDs(want)
		}
		cases := []struct {
			name string
			q    app.OrderQuery
			keep func(domain.Order) bool
		}{
			{"all", app.OrderQuery{}, func(domain.Order) bool { return true }},
			{"partner", app.OrderQuery{PartnerID: "p1"}, func(o domain.Order) bool { return o.PartnerID == "p1" }},
			{"customer", app.OrderQuery{CustomerID: "c2"}, func(o domain.Order) bool { return o.CustomerID == "c2" }},
			{"partner and customer", app.OrderQuery{PartnerID: "p0", CustomerID: "c0"},
				func(o domain.Order) bool { return o.PartnerID == "p0" && o.CustomerID == "c0" }},
			{"states", app.OrderQuery{States: []domain.OrderState{domain.OrderPending, domain.OrderCompleted}},
				func(o domain.Order) bool { return o.State == domain.OrderPending || o.State == domain.OrderCompleted }},
			{"partner and state", app.OrderQuery{PartnerID: "p1", States: []domain.OrderState{domain.OrderProvisioning}},
				func(o domain.Order) bool { return o.PartnerID == "p1" && o.State == domain.OrderProvisioning }},
			{"none", app.OrderQuery{PartnerID: "p9"}, func(domain.Order) bool { return false }},
		}
		for _, c := range cases {
			want := newestFirst(c.keep)
			for _, size := range []int{1, 2, 5, 100} {
				if got := listAll(t, s, c.q, size); !slices.Equal(got, want) {
					t.Errorf("%s, pages of %d: %v; want %v", c.name, size, got, want)
				}
			}
		}
		// A page holds whole orders, lines included.
		page, err := s.Orders(ctx, app.OrderQuery{PartnerID: "p1", Limit: 2})
		if err != nil || len(page) != 2 {
			t.Fatalf("Orders = %v, %v", orderIDs(page), err)
		}
		for _, o := range page {
			if want := get(t, s, o.ID); !reflect.DeepEqual(o, want) {
				t.Errorf("listed %s\n%+v\nwant\n%+v", o.ID, o, want)
			}
		}
		// Keyset position between two orders of the same time: strictly older ones only.
		got, err := s.Orders(ctx, app.OrderQuery{BeforeCreateTime: at(5 * time.Minute), BeforeID: "o11"})
		if err != nil || !slices.Equal(orderIDs(got)[:2], []string{"o10", "o09"}) || len(got) != 11 {
			t.Errorf("Orders before (5m, o11) = %v, %v", orderIDs(got), err)
		}
	})
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestCursors(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		if v, err := s.Cursor(ctx, "subscriptions-events"); err != nil || v != 0 {
			t.Errorf("unset cursor = %d, %v; want 0", v, err)
		}
		for _, v := range []int64{42, 7, 1 << 40} {
			run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.SetCursor(ctx, "subscriptions-events", v) })
			if got, err := s.Cursor(ctx, "subscriptions-events"); err != nil || got != v {
				t.Errorf("cursor = %d, %v; want %d", got, err, v)
			}
		}
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.SetCursor(ctx, "other", 1) })
		if got, err := s.Cursor(ctx, "subscriptions-events"); err != nil || got != 1<<40 {
			t.Errorf("cursor after another one was set = %d, %v", got, err)
		}
	})
}

func TestTx_Rollback(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		insert(t, s, bare("o0", "p1", "c1", at(0)))
		boom := errors.New("boom")
		o := order("o1", "p1", "c1", at(time.Second))
		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			if err := tx.InsertOrder(ctx, o, scope, app.SagaRecord{Saga: domain.NewSaga(o)}); err != nil {
				return err
			}
			upd := bare("o0", "p1", "c1", at(0))
			upd.Version, upd.State = 2, domain.OrderFailed
			if err := tx.UpdateOrder(ctx, upd); err != nil {
				return err
			}
			if _, err := tx.InsertEntry(ctx, entry(t, "p1", "ev-1", at(0), -100)); err != nil {
				return err
			}
			if err := tx.SetCursor(ctx, "feed", 9); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx = %v; want boom", err)
		}
		if _, err := s.Order(ctx, "o1"); !isKind(err, errs.NotFound, "") {
			t.Errorf("rolled-back order: %v; want NOT_FOUND", err)
		}
		if got := get(t, s, "o0"); got.Version != 1 || got.State != domain.OrderPending {
			t.Errorf("rolled-back update stayed: %+v", got)
		}
		if es, err := s.Entries(ctx, "p1", month(t0)); err != nil || len(es) != 0 {
			t.Errorf("rolled-back entries: %v, %v", es, err)
		}
		if v, err := s.Cursor(ctx, "feed"); err != nil || v != 0 {
			t.Errorf("rolled-back cursor = %d, %v", v, err)
		}
		if ids, err := s.DueSagas(ctx, at(time.Hour), 10); err != nil || !slices.Equal(ids, []string{"o0"}) {
			t.Errorf("DueSagas after rollback = %v, %v; want [o0]", ids, err)
		}
	})
}
