package auth_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// fakeIdentity is a FetchKeys whose answer the test changes, and which counts calls.
type fakeIdentity struct {
	mu    sync.Mutex
	keys  map[string]ed25519.PublicKey
	err   error
	calls atomic.Int32
}

func (f *fakeIdentity) fetch(context.Context) (map[string]ed25519.PublicKey, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := make(map[string]ed25519.PublicKey, len(f.keys))
	for k, v := range f.keys {
		out[k] = v
	}
	return out, nil
}

func (f *fakeIdentity) set(keys map[string]ed25519.PublicKey, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys, f.err = keys, err
}

// wallClock is a settable "now" for CachedKeys (whose intervals are 5 s and 5 min).
type wallClock struct {
	mu  sync.Mutex
	now time.Time
}

func (w *wallClock) Now() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
func (w *wallClock) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func TestCachedKeys(t *testing.T) {
	k1, k2 := pub(newKey(t, "k1")), pub(newKey(t, "k2"))
	errDown := errors.New("identity down")

	type step struct {
		advance   time.Duration                // wall time passing before the lookup
		identity  map[string]ed25519.PublicKey // what identity publishes from now on (nil: unchanged)
		down      bool                         // identity fails from now on
		kid       string
		want      ed25519.PublicKey // nil: an error
		wantCalls int32             // fetches so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fetches on first use, then serves from memory", []step{
			{identity: map[string]ed25519.PublicKey{"k1": k1}, kid: "k1", want: k1, wantCalls: 1},
			{kid: "k1", want: k1, wantCalls: 1},
			{advance: 4 * time.Minute, kid: "k1", want: k1, wantCalls: 1},
		}},
		{"unknown kid refreshes at most once per min interval", []step{
			{identity: map[string]ed25519.PublicKey{"k1": k1}, kid: "k1", want: k1, wantCalls: 1},
			{kid: "forged-1", wantCalls: 1}, // just fetched: no new fetch
			{kid: "forged-2", wantCalls: 1},
			{advance: 4 * time.Second, kid: "forged-3", wantCalls: 1},
			{advance: 2 * time.Second, kid: "forged-4", wantCalls: 2}, // past 5 s: one fetch
			{kid: "forged-5", wantCalls: 2},
			{kid: "k1", want: k1, wantCalls: 2},
		}},
		{"a rotated key is picked up on its first use", []step{
			{identity: map[string]ed25519.PublicKey{"k1": k1}, kid: "k1", want: k1, wantCalls: 1},
			{advance: 10 * time.Second, identity: map[string]ed25519.PublicKey{"k1": k1, "k2": k2}, kid: "k2", want: k2, wantCalls: 2},
			{kid: "k1", want: k1, wantCalls: 2},
		}},
		{"refreshes when stale", []step{
			{identity: map[string]ed25519.PublicKey{"k1": k1}, kid: "k1", want: k1, wantCalls: 1},
			{advance: 6 * time.Minute, identity: map[string]ed25519.PublicKey{"k2": k2}, kid: "k1", wantCalls: 2}, // k1 retired
			{kid: "k2", want: k2, wantCalls: 2},
		}},
		{"keeps a known key when the refresh fails", []step{
			{identity: map[string]ed25519.PublicKey{"k1": k1}, kid: "k1", want: k1, wantCalls: 1},
			{advance: 6 * time.Minute, down: true, kid: "k1", want: k1, wantCalls: 2},
			{kid: "k1", want: k1, wantCalls: 2}, // the failed attempt counts: no retry storm
			{advance: 10 * time.Second, kid: "k2", wantCalls: 3},
			{kid: "k1", want: k1, wantCalls: 3},
		}},
		{"first fetch fails: error, retried after the min interval", []step{
			{down: true, kid: "k1", wantCalls: 1},
			{kid: "k1", wantCalls: 1},
			{advance: 6 * time.Second, identity: map[string]ed25519.PublicKey{"k1": k1}, kid: "k1", want: k1, wantCalls: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := &fakeIdentity{}
			clk := &wallClock{now: t0}
			c := auth.NewCachedKeys(id.fetch, clk.Now)
			for i, s := range tt.steps {
				clk.advance(s.advance)
				switch {
				case s.down:
					id.set(nil, errDown)
				case s.identity != nil:
					id.set(s.identity, nil)
				}
				got, err := c.PublicKey(context.Background(), s.kid)
				if s.want == nil && err == nil {
					t.Errorf("step %d: PublicKey(%s) = %x, want an error", i, s.kid, got)
				}
				if s.want != nil && (err != nil || !got.Equal(s.want)) {
					t.Errorf("step %d: PublicKey(%s) = %x, %v; want %x", i, s.kid, got, err, s.want)
				}
				if n := id.calls.Load(); n != s.wantCalls {
					t.Errorf("step %d: %d fetches, want %d", i, n, s.wantCalls)
				}
			}
		})
	}
}

func TestCachedKeys_FetchErrorReturnedForUnknownKey(t *testing.T) {
	errDown := errors.New("identity down")
	id := &fakeIdentity{err: errDown}
	c := auth.NewCachedKeys(id.fetch, func() time.Time { return t0 })
	if _, err := c.PublicKey(context.Background(), "k1"); !errors.Is(err, errDown) {
		t.Errorf("err = %v, want the fetch error", err)
	}
}

// Concurrent calls with unknown key IDs (a burst of forged tokens) while a fetch is in flight
// must not each fetch: identity sees one RPC, not one per forged token.
func TestCachedKeys_ConcurrentUnknownKidsFetchOnce(t *testing.T) {
	const callers = 32
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	// identity hangs until released, as it does when it is overloaded: every fetch blocks.
	fetch := func(context.Context) (map[string]ed25519.PublicKey, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		return map[string]ed25519.PublicKey{}, nil
	}
	c := auth.NewCachedKeys(fetch, func() time.Time { return t0 })

	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.PublicKey(context.Background(), "forged-0") })
	<-started // the first fetch is in flight
	var launched sync.WaitGroup
	for i := range callers {
		launched.Add(1)
		wg.Go(func() {
			launched.Done()
			if _, err := c.PublicKey(context.Background(), "forged-"+string(rune('a'+i))); err == nil {
				t.Error("forged kid accepted")
			}
		})
	}
	launched.Wait()
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d fetches for %d concurrent unknown key IDs, want 1", n, callers+1)
	}
}

// A caller waiting behind a fetch in flight gives up when its context ends: UNAVAILABLE for an
// unknown key (the token may be fine), the known key when there is one.
func TestCachedKeys_WaitingCallerHonoursContext(t *testing.T) {
	k1 := pub(newKey(t, "k1"))
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	fetch := func(context.Context) (map[string]ed25519.PublicKey, error) {
		switch calls.Add(1) {
		case 1:
			return map[string]ed25519.PublicKey{"k1": k1}, nil
		case 2:
			close(started)
			<-release
		}
		return map[string]ed25519.PublicKey{"k1": k1}, nil
	}
	clk := &wallClock{now: t0}
	c := auth.NewCachedKeys(fetch, clk.Now)
	if _, err := c.PublicKey(context.Background(), "k1"); err != nil {
		t.Fatal(err)
	}
	clk.advance(10 * time.Minute) // stale: the next lookup fetches
	done := make(chan struct{})
	go func() { defer close(done); _, _ = c.PublicKey(context.Background(), "k2") }()
	<-started

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.PublicKey(ctx, "k3"); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("unknown key while waiting: err = %v, want UNAVAILABLE", err)
	}
	if got, err := c.PublicKey(ctx, "k1"); err != nil || !got.Equal(k1) {
		t.Errorf("known stale key while waiting: %x, %v; want k1", got, err)
	}
	close(release)
	<-done
	if n := calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}
