package idempotency_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// forEachDB runs fn with a Store on every engine.
func forEachDB(t *testing.T, opts idempotency.Options, fn func(t *testing.T, s *idempotency.Store, db *store.DB)) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		db, err := store.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		s, err := idempotency.New(t.Context(), db, opts)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		fn(t, s, db)
	})
}

// fakeNow is a settable wall clock for lease tests.
type fakeNow struct{ ns atomic.Int64 }

func (f *fakeNow) Now() time.Time      { return time.Unix(0, f.ns.Load()).UTC() }
func (f *fakeNow) Add(d time.Duration) { f.ns.Add(int64(d)) }
func newFakeNow(t time.Time) *fakeNow  { f := &fakeNow{}; f.ns.Store(t.UnixNano()); return f }

func TestStoreLifecycle(t *testing.T) {
	clock := newFakeNow(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	opts := idempotency.Options{Lease: time.Minute, Wait: 50 * time.Millisecond, Now: clock.Now}
	forEachDB(t, opts, func(t *testing.T, s *idempotency.Store, db *store.DB) {
		ctx := t.Context()
		fp, other := []byte("fingerprint-1"), []byte("fingerprint-2")

		if _, claimed, err := s.Begin(ctx, "org1", "r1", fp); err != nil || !claimed {
			t.Fatalf("first Begin: claimed %v, err %v", claimed, err)
		}
		// While pending: a retry waits Options.Wait, then gets ABORTED; another request is refused.
		if _, claimed, err := s.Begin(ctx, "org1", "r1", fp); claimed || errs.KindOf(err) != errs.Aborted {
			t.Errorf("Begin while pending: claimed %v, err %v; want ABORTED", claimed, err)
		}
		if _, _, err := s.Begin(ctx, "org1", "r1", other); !errs.HasReason(err, errs.ReasonRequestIDReused) ||
			errs.KindOf(err) != errs.AlreadyExists {
			t.Errorf("Begin with another fingerprint while pending: %v; want ALREADY_EXISTS REQUEST_ID_REUSED", err)
		}
		// The same ID in another scope is another key.
		if _, claimed, err := s.Begin(ctx, "org2", "r1", other); err != nil || !claimed {
			t.Errorf("Begin in another scope: claimed %v, err %v", claimed, err)
		}

		if err := s.Complete(ctx, "org1", "r1", []byte("response-1")); err != nil {
			t.Fatal(err)
		}
		stored, claimed, err := s.Begin(ctx, "org1", "r1", fp)
		if err != nil || claimed || string(stored) != "response-1" {
			t.Errorf("Begin after Complete = %q, claimed %v, err %v", stored, claimed, err)
		}
		if _, _, err := s.Begin(ctx, "org1", "r1", other); !errs.HasReason(err, errs.ReasonRequestIDReused) {
			t.Errorf("Begin with another fingerprint after Complete: %v; want REQUEST_ID_REUSED", err)
		}
		if err := s.Complete(ctx, "org1", "r1", []byte("again")); err == nil {
			t.Error("second Complete succeeded")
		}
		// Abandon does not touch a completed request.
		if err := s.Abandon(ctx, "org1", "r1"); err != nil {
			t.Fatal(err)
		}
		if stored, _, _ := s.Begin(ctx, "org1", "r1", fp); string(stored) != "response-1" {
			t.Errorf("Abandon removed a completed response: %q", stored)
		}

		// An empty response is a response.
		if _, claimed, _ := s.Begin(ctx, "org1", "empty", fp); !claimed {
			t.Fatal("not claimed")
		}
		if err := s.Complete(ctx, "org1", "empty", nil); err != nil {
			t.Fatal(err)
		}
		if stored, claimed, err := s.Begin(ctx, "org1", "empty", fp); err != nil || claimed || stored == nil || len(stored) != 0 {
			t.Errorf("empty response: %q (nil %v), claimed %v, err %v", stored, stored == nil, claimed, err)
		}

		// Abandon frees the ID for a retry.
		if _, claimed, _ := s.Begin(ctx, "org1", "r2", fp); !claimed {
			t.Fatal("not claimed")
		}
		if err := s.Abandon(ctx, "org1", "r2"); err != nil {
			t.Fatal(err)
		}
		if _, claimed, err := s.Begin(ctx, "org1", "r2", fp); err != nil || !claimed {
			t.Errorf("Begin after Abandon: claimed %v, err %v", claimed, err)
		}

		// A claim whose lease ran out (its process died) is taken over by the next retry, once.
		clock.Add(2 * time.Minute)
		if _, claimed, err := s.Begin(ctx, "org1", "r2", fp); err != nil || !claimed {
			t.Errorf("Begin after the lease expired: claimed %v, err %v; want a takeover", claimed, err)
		}
		if _, claimed, err := s.Begin(ctx, "org1", "r2", fp); claimed || errs.KindOf(err) != errs.Aborted {
			t.Errorf("Begin right after a takeover: claimed %v, err %v; want ABORTED", claimed, err)
		}

		// Purge drops what was created before the cut-off, and only that.
		clock.Add(time.Hour)
		if _, claimed, _ := s.Begin(ctx, "org1", "late", fp); !claimed {
			t.Fatal("not claimed")
		}
		n, err := s.Purge(ctx, clock.Now().Add(-30*time.Minute))
		if err != nil || n != 4 {
			t.Errorf("Purge = %d, %v; want 4 (r1, empty, r2 in org1 and r1 in org2)", n, err)
		}
		var left int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM idempotency_keys`).Scan(&left); err != nil || left != 1 {
			t.Errorf("rows after Purge = %d, %v; want 1", left, err)
		}
	})
}

func TestBeginWaitsForConcurrentFirstRun(t *testing.T) {
	forEachDB(t, idempotency.Options{Wait: 5 * time.Second}, func(t *testing.T, s *idempotency.Store, _ *store.DB) {
		ctx := t.Context()
		if _, claimed, _ := s.Begin(ctx, "o", "r", []byte("fp")); !claimed {
			t.Fatal("not claimed")
		}
		go func() {
			time.Sleep(150 * time.Millisecond)
			_ = s.Complete(context.Background(), "o", "r", []byte("done"))
		}()
		start := time.Now()
		stored, claimed, err := s.Begin(ctx, "o", "r", []byte("fp"))
		if err != nil || claimed || string(stored) != "done" {
			t.Errorf("waiting Begin = %q, claimed %v, err %v", stored, claimed, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("waiting Begin took %v", d)
		}
		// The request's deadline bounds the wait too.
		if _, claimed, _ := s.Begin(ctx, "o", "r2", []byte("fp")); !claimed {
			t.Fatal("not claimed")
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, _, err := s.Begin(short, "o", "r2", []byte("fp")); err == nil {
			t.Error("Begin outlived its context")
		}
	})
}

func TestConcurrentClaims(t *testing.T) {
	forEachDB(t, idempotency.Options{}, func(t *testing.T, s *idempotency.Store, _ *store.DB) {
		ctx := t.Context()
		const callers = 20
		var claims atomic.Int32
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				_, claimed, err := s.Begin(ctx, "o", "same", []byte("fp"))
				if err != nil {
					t.Error(err)
					return
				}
				if claimed {
					claims.Add(1)
					time.Sleep(50 * time.Millisecond)
					if err := s.Complete(ctx, "o", "same", []byte("r")); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if n := claims.Load(); n != 1 {
			t.Errorf("%d of %d concurrent Begins claimed the ID, want 1", n, callers)
		}
	})
}
