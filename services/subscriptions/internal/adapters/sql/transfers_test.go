package sql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	subsql "github.com/partnerhub/partnerhub/services/subscriptions/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
	"github.com/partnerhub/partnerhub/services/subscriptions/migrations"
)

// The transfer tests keep their own fixture so they do not depend on the subscription tests'.

func transferStore(tb testing.TB, dsn string) *subsql.Store {
	tb.Helper()
	return subsql.New(testkit.OpenDB(tb, dsn, migrations.FS, "subscriptions_schema"), nil)
}

// trT0 is a microsecond instant (what the store keeps) in UTC.
var trT0 = time.Date(2026, 3, 2, 9, 30, 15, 123456000, time.UTC)

func trDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// sampleTransfer is a transfer with every field set.
func sampleTransfer(id, customer, source, target string, created time.Time) domain.Transfer {
	return domain.Transfer{
		ID: id, CustomerID: customer, SourcePartnerID: source, TargetPartnerID: target,
		Method: domain.MethodExpireAndRepurchase, State: domain.TransferAccepted,
		Items: []domain.TransferItem{
			{SubscriptionID: "s1", SourceSkuID: "sku-1", TargetSkuID: "sku-2", TargetProductID: "prod-2",
				TargetDisplayName: "Visio Plan 2", TargetMaxQuantity: 300, Quantity: 3, LicenseReassignmentRequired: true,
				State: domain.ItemAwaitingExpiry, SourceTermEnd: trDay(2026, 3, 14)},
			{SubscriptionID: "s2", SourceSkuID: "sku-1", TargetSkuID: "sku-1", Quantity: 1, State: domain.ItemMoved,
				TargetSubscriptionID: "s9", SourceTermEnd: trDay(2026, 4, 1)},
		},
		Limit:              domain.TenantLimit{Limit: 300, Active: 151, Peak: 151},
		RepurchaseDeadline: trDay(2026, 5, 1), CreatedBy: "user-1", DecidedBy: "user-2", Note: "moving, \"quoted\"",
		CompleteTime: created.Add(time.Hour), Version: 1, CreateTime: created, UpdateTime: created.Add(time.Second),
	}
}

func inTx(tb testing.TB, s *subsql.Store, fn func(ctx context.Context, tx app.Tx) error) {
	tb.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

func insertTransfers(tb testing.TB, s *subsql.Store, ts ...domain.Transfer) {
	tb.Helper()
	inTx(tb, s, func(ctx context.Context, tx app.Tx) error {
		for _, t := range ts {
			if err := tx.InsertTransfer(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// A transfer round-trips with every field, inside and outside a transaction; an update needs the
// next version and the same creation fields; the errors are the app's kinds.
func TestTransferStore_RoundTripAndUpdate(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := transferStore(t, dsn)
		want := sampleTransfer("t1", "c1", "p1", "p2", trT0)
		bare := domain.Transfer{ID: "bare", Method: domain.MethodDirectMove, State: domain.TransferPending, Version: 1}
		insertTransfers(t, s, want, bare)
		for _, w := range []domain.Transfer{want, bare} {
			if got, err := s.Transfer(ctx, w.ID); err != nil || !reflect.DeepEqual(got, w) {
				t.Fatalf("read back %+v, %v\nwant %+v", got, err, w)
			}
		}

		done := want
		done.State, done.CompleteTime = domain.TransferCompleted, trT0.Add(48*time.Hour)
		done.Items = []domain.TransferItem{{SubscriptionID: "s1", State: domain.ItemNotMoved, SourceTermEnd: trDay(2026, 3, 14)}}
		done.Limit.Peak, done.Version, done.UpdateTime = 152, 2, trT0.Add(48*time.Hour)
		inTx(t, s, func(ctx context.Context, tx app.Tx) error {
			cur, err := tx.Transfer(ctx, "t1")
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(cur, want) {
				t.Errorf("Tx.Transfer = %+v", cur)
			}
			return tx.UpdateTransfer(ctx, done)
		})
		if got, _ := s.Transfer(ctx, "t1"); !reflect.DeepEqual(got, done) {
			t.Fatalf("after update %+v\nwant %+v", got, done)
		}

		moved := done
		moved.Version, moved.TargetPartnerID = 3, "p9"
		missing := done
		missing.ID, missing.Version = "nope", 2
		for name, c := range map[string]struct {
			fn   func(ctx context.Context, tx app.Tx) error
			kind errs.Kind
		}{
			"stale update":           {func(ctx context.Context, tx app.Tx) error { return tx.UpdateTransfer(ctx, done) }, errs.Aborted},
			"creation field changed": {func(ctx context.Context, tx app.Tx) error { return tx.UpdateTransfer(ctx, moved) }, errs.Aborted},
			"missing update":         {func(ctx context.Context, tx app.Tx) error { return tx.UpdateTransfer(ctx, missing) }, errs.NotFound},
			"second insert":          {func(ctx context.Context, tx app.Tx) error { return tx.InsertTransfer(ctx, want) }, errs.AlreadyExists},
			"missing read": {func(ctx context.Context, tx app.Tx) error {
				_, err := tx.Transfer(ctx, "nope")
				return err
			}, errs.NotFound},
		} {
			if err := s.Tx(ctx, c.fn); errs.KindOf(err) != c.kind {
				t.Errorf("%s: %v; want %v", name, err, c.kind)
			}
		}
		if got, _ := s.Transfer(ctx, "t1"); !reflect.DeepEqual(got, done) {
			t.Errorf("refused changes changed the transfer: %+v", got)
		}
		if _, err := s.Transfer(ctx, "nope"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("Transfer(nope) = %v", err)
		}
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			return tx.InsertTransfer(ctx, domain.Transfer{ID: "v2", Version: 2})
		}); err == nil {
			t.Error("an insert with version 2 was accepted")
		}
	})
}

// A transfer written in a transaction that fails is not stored.
func TestTransferStore_Rollback(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := transferStore(t, dsn)
		boom := errors.New("boom")
		err := s.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error {
			if err := tx.InsertTransfer(ctx, sampleTransfer("t1", "c1", "p1", "p2", trT0)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx = %v", err)
		}
		if _, err := s.Transfer(context.Background(), "t1"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("rolled-back transfer: %v", err)
		}
	})
}

// Transfers lists newest first with every filter, and keyset pages return each row once, ties in
// creation time included.
func TestTransferStore_List(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := transferStore(t, dsn)
		var all []domain.Transfer
		sides := [][2]string{{"p1", "p2"}, {"p2", "p1"}, {"", "p1"}, {"p3", "p2"}}
		for i := range 60 {
			side := sides[i%len(sides)]
			tr := sampleTransfer(fmt.Sprintf("t%02d", (i*7)%60), fmt.Sprintf("c%d", i%2), side[0], side[1],
				trT0.Add(time.Duration(i/3)*time.Second)) // runs of three share a creation time
			tr.State = domain.TransferStates()[i%len(domain.TransferStates())]
			all = append(all, tr)
		}
		insertTransfers(t, s, all...)
		slices.SortFunc(all, func(a, b domain.Transfer) int {
			if c := b.CreateTime.Compare(a.CreateTime); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		for _, c := range []struct {
			name string
			q    app.TransferQuery
			keep func(domain.Transfer) bool
		}{
			{"all", app.TransferQuery{}, func(domain.Transfer) bool { return true }},
			{"customer", app.TransferQuery{CustomerID: "c1"}, func(x domain.Transfer) bool { return x.CustomerID == "c1" }},
			{"incoming", app.TransferQuery{PartnerID: "p1", Direction: domain.DirectionIncoming},
				func(x domain.Transfer) bool { return x.TargetPartnerID == "p1" }},
			{"outgoing", app.TransferQuery{PartnerID: "p2", Direction: domain.DirectionOutgoing},
				func(x domain.Transfer) bool { return x.SourcePartnerID == "p2" }},
			{"either side", app.TransferQuery{PartnerID: "p2"},
				func(x domain.Transfer) bool { return x.SourcePartnerID == "p2" || x.TargetPartnerID == "p2" }},
			{"direct purchases", app.TransferQuery{CustomerID: "c0", DirectOnly: true},
				func(x domain.Transfer) bool { return x.CustomerID == "c0" && x.SourcePartnerID == "" }},
			{"states", app.TransferQuery{PartnerID: "p1", States: []domain.TransferState{domain.TransferPending, domain.TransferFailed}},
				func(x domain.Transfer) bool {
					return (x.SourcePartnerID == "p1" || x.TargetPartnerID == "p1") &&
						(x.State == domain.TransferPending || x.State == domain.TransferFailed)
				}},
		} {
			var want []string
			for _, x := range all {
				if c.keep(x) {
					want = append(want, x.ID)
				}
			}
			var got []string
			q := c.q
			q.Limit = 7
			for range 20 {
				page, err := s.Transfers(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range page {
					got = append(got, x.ID)
				}
				if len(page) < q.Limit {
					break
				}
				q.BeforeCreateTime, q.BeforeID = page[len(page)-1].CreateTime, page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: got %v\nwant %v", c.name, got, want)
			}
		}
	})
}
