package app_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// BenchmarkLifecycleSweep measures one lifecycle sweep over many due subscriptions (issue 5,
// acceptance 3: 100,000 in under 10 s on SQLite and on PostgreSQL): PARTNERHUB_BENCH_SUBSCRIPTIONS
// (default 100,000) ACTIVE subscriptions without autorenew, spread over 1,000 tenants, all at their
// term end, so the sweep expires every one of them: claim, advance, store, append an EXPIRED event.
// The subscriptions are written straight through the store in batches (that is set-up, not
// measured). Reported: the sweep's wall time and subscriptions per second. Each invocation sweeps
// once, whatever b.N.
func BenchmarkLifecycleSweep(b *testing.B) {
	n := 100_000
	if s := os.Getenv("PARTNERHUB_BENCH_SUBSCRIPTIONS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("PARTNERHUB_BENCH_SUBSCRIPTIONS=%q: want a positive integer", s)
		}
		n = v
	}
	b.Run("db=sqlite", func(b *testing.B) { benchSweep(b, testkit.SQLiteDSN(b), n) })
	b.Run("db=postgres", func(b *testing.B) { benchSweep(b, testkit.StartPostgres(b), n) })
}

func benchSweep(b *testing.B, dsn string, n int) {
	h := newHarness(b, dsn, 0)
	ctx := context.Background()
	start := domain.Day(t0)
	end := domain.AddTerm(start, domain.TermP1Y)
	const batch = 1000
	for i := 0; i < n; i += batch {
		err := h.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			for j := i; j < min(i+batch, n); j++ {
				s := domain.Subscription{
					ID: uuid.Must(uuid.NewV7()).String(), CustomerID: fmt.Sprintf("dddddddd-0000-4000-8000-%012d", j%1000), PartnerID: partnerA,
					SkuID: "CFQ7TTC0LDPB:0001", ProductID: "CFQ7TTC0LDPB", DisplayName: "Microsoft 365 Business Standard",
					Kind: domain.KindOnlineService, State: domain.StateActive, Channel: domain.ChannelCSP, Quantity: 5,
					MaxQuantity: 300, Lots: []domain.SeatLot{{ID: uuid.NewString(), Quantity: 5, AddTime: t0,
						UnitPrice: domain.Money{Minor: 12000, Currency: "EUR"}}},
					Plan: domain.PlanMonthly, Term: domain.TermP1Y, TermStart: start, TermEnd: end,
					UnitPrice: domain.Money{Minor: 12000, Currency: "EUR"}, Policy: domain.PolicyProratedRefundWindow,
					WindowDays: 7, PurchaseTime: t0, StateTime: t0, Version: 1, CreateTime: t0, UpdateTime: t0,
					RemindersSent: []int32{60, 30, 7, 1},
				}
				if err := tx.InsertSubscription(ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	if _, err := h.clock.Set(end); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	began := time.Now()
	swept, err := h.app.Sweep(ctx, app.DefaultSweepBatch)
	elapsed := time.Since(began)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if swept != n {
		b.Fatalf("swept %d subscriptions, want %d", swept, n)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(elapsed.Seconds(), "sweep-s")
	b.ReportMetric(float64(n), "subscriptions")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "subscriptions/s")
	b.Logf("lifecycle sweep: %d subscriptions expired in %s (%.0f/s; goal: 100,000 in under 10 s)",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
}
