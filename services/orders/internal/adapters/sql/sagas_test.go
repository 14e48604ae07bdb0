package sql_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

func saga(tb testing.TB, s *ordersql.Store, orderID string) app.SagaRecord {
	tb.Helper()
	var r app.SagaRecord
	run(tb, s, func(ctx context.Context, tx app.Tx) error {
		var err error
		r, err = tx.Saga(ctx, orderID)
		return err
	})
	return r
}

func put(s *ordersql.Store, r app.SagaRecord) error {
	return s.Tx(context.Background(), func(ctx context.Context, tx app.Tx) error { return tx.PutSaga(ctx, r) })
}

func TestSaga_RoundTrip(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		o := order("o1", "p1", "c1", at(0))
		insert(t, s, o)

		// InsertOrder stored the saga: version 1, due now, no lease.
		want := app.SagaRecord{Saga: domain.NewSaga(o), Version: 1}
		if got := saga(t, s, "o1"); !reflect.DeepEqual(got, want) {
			t.Fatalf("saga after insert\n%+v\nwant\n%+v", got, want)
		}

		// A saga with every field set: compensating, a failure, task fields, retry times, a lease.
		sg := want.Saga
		sg.Status = domain.SagaCompensating
		sg.Failure = &domain.Failure{Reason: domain.ReasonProvisioningFailed, Message: "no",
			Metadata: map[string]string{"a": "1"}, Step: domain.StepIssueEntitlements}
		sg.Tasks[0] = domain.Task{Step: sg.Tasks[0].Step, Status: domain.TaskDone, Attempts: 1}
		sg.Tasks[2] = domain.Task{Step: sg.Tasks[2].Step, LineID: sg.Tasks[2].LineID, Status: domain.TaskFailed,
			Attempts: 8, Uncertain: true, CompensationAttempts: 3, RetryAt: at(time.Minute), ResultID: "sub-1"}
		full := app.SagaRecord{Saga: sg, NextRun: at(time.Minute), LeaseOwner: "replica-1",
			LeaseUntil: at(30 * time.Second), Version: 2}
		if err := put(s, full); err != nil {
			t.Fatal(err)
		}
		if got := saga(t, s, "o1"); !reflect.DeepEqual(got, full) {
			t.Fatalf("saga after put\n%+v\nwant\n%+v", got, full)
		}
		// Back to no lease, no next run, no failure.
		free := app.SagaRecord{Saga: want.Saga, Version: 3}
		free.Saga.Status = domain.SagaFailed
		if err := put(s, free); err != nil {
			t.Fatal(err)
		}
		if got := saga(t, s, "o1"); !reflect.DeepEqual(got, free) {
			t.Fatalf("saga after second put\n%+v\nwant\n%+v", got, free)
		}

		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			_, err := tx.Saga(ctx, "o9")
			return err
		})
		if !isKind(err, errs.NotFound, "") {
			t.Errorf("Saga(o9) = %v; want NOT_FOUND", err)
		}
	})
}

func TestPutSaga_Versions(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		o := bare("o1", "p1", "c1", at(0))
		insert(t, s, o)
		r := saga(t, s, "o1")
		r.Version = 2
		r.LeaseOwner, r.LeaseUntil = "a", at(time.Minute)
		if err := put(s, r); err != nil {
			t.Fatal(err)
		}
		// Another replica based on version 1, or one that skips a version: ABORTED.
		for _, v := range []int64{2, 1, 4} {
			stale := r
			stale.Version, stale.LeaseOwner = v, "b"
			if err := put(s, stale); !isKind(err, errs.Aborted, errs.ReasonEtagMismatch) {
				t.Errorf("PutSaga with version %d: %v; want ABORTED/ETAG_MISMATCH", v, err)
			}
		}
		if got := saga(t, s, "o1"); !reflect.DeepEqual(got, r) {
			t.Errorf("refused puts changed the saga: %+v", got)
		}
		missing := app.SagaRecord{Saga: domain.Saga{OrderID: "o9", Flow: domain.Flow{Status: domain.SagaRunning}}, Version: 2}
		if err := put(s, missing); !isKind(err, errs.NotFound, "") {
			t.Errorf("PutSaga of a missing saga: %v; want NOT_FOUND", err)
		}
	})
}

func TestDueSagas(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		now := at(time.Hour)
		type setup struct {
			id         string
			status     domain.SagaStatus
			nextRun    time.Time
			leaseUntil time.Time
		}
		setups := []setup{
			{"now", domain.SagaRunning, time.Time{}, time.Time{}},                         // due: next run NULL
			{"past", domain.SagaCompensating, now.Add(-time.Minute), time.Time{}},         // due
			{"exact", domain.SagaRunning, now, time.Time{}},                               // due: at now
			{"older", domain.SagaRunning, now.Add(-time.Hour), now.Add(-time.Second)},     // due: lease ran out
			{"leaseend", domain.SagaRunning, now.Add(-2 * time.Minute), now},              // due: lease ends now
			{"future", domain.SagaRunning, now.Add(time.Second), time.Time{}},             // not yet
			{"held", domain.SagaRunning, now.Add(-time.Minute), now.Add(time.Minute)},     // leased
			{"completed", domain.SagaCompleted, now.Add(-time.Hour), time.Time{}},         // terminal
			{"failed", domain.SagaFailed, time.Time{}, time.Time{}},                       // terminal
			{"heldnull", domain.SagaCompensating, time.Time{}, now.Add(10 * time.Second)}, // leased
		}
		for i, st := range setups {
			o := bare(st.id, "p1", "c1", at(time.Duration(i)*time.Second))
			insert(t, s, o)
			r := saga(t, s, st.id)
			r.Saga.Status, r.NextRun, r.Version = st.status, st.nextRun, 2
			if !st.leaseUntil.IsZero() {
				r.LeaseOwner, r.LeaseUntil = "replica-1", st.leaseUntil
			}
			if err := put(s, r); err != nil {
				t.Fatal(err)
			}
		}
		// NULL (now) first, then by next run.
		want := []string{"now", "older", "leaseend", "past", "exact"}
		if got, err := s.DueSagas(ctx, now, 100); err != nil || !slices.Equal(got, want) {
			t.Errorf("DueSagas = %v, %v; want %v", got, err, want)
		}
		if got, err := s.DueSagas(ctx, now, 2); err != nil || !slices.Equal(got, want[:2]) {
			t.Errorf("DueSagas limit 2 = %v, %v; want %v", got, err, want[:2])
		}
		// The held leases run out: "held" and "heldnull" are due at now+1m, with "future".
		want = []string{"heldnull", "now", "older", "leaseend", "held", "past", "exact", "future"}
		if got, err := s.DueSagas(ctx, now.Add(time.Minute), 100); err != nil || !slices.Equal(got, want) {
			t.Errorf("DueSagas a minute later = %v, %v; want %v", got, err, want)
		}
	})
}
