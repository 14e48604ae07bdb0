package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/protobuf/types/known/timestamppb"

	testingv1 "github.com/partnerhub/partnerhub/gen/partnerhub/testing/v1"
)

// The stack's shared fake clock and its fault helpers.
//
// orders, subscriptions and keys run with --fake-clock, all started at the same instant
// (ClockStart). Tests move them together with Advance or AdvanceTo (never one service's
// ClockService alone, or their clocks disagree) and read the time with Now. The clocks only move
// forward and are shared by every test of the run: a test takes dates relative to Now, never
// absolute ones.
//
// Kill (docker kill: SIGKILL, no graceful stop) and Stop (docker stop: SIGTERM, then SIGKILL after
// 10 s) take a service down; Start brings it back: a new container from the same image and
// settings on the same network alias and database (a service keeps no state in its container),
// its fake clock starting at the stack's current time, so it agrees with the others from its
// first instant. Conn(name) follows it to the new container's mapped port.

// ClockStart returns the instant every fake clock started at (PARTNERHUB_<SVC>_FAKE_CLOCK_START).
func (s *Stack) ClockStart() time.Time { return s.clockStart }

// Now returns the fake clocks' current time. Every running fake-clocked service is asked, and
// the test fails when one disagrees with the time the stack set.
func (s *Stack) Now(ctx context.Context, t testing.TB) time.Time {
	t.Helper()
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	now := s.clockNow()
	for _, name := range s.upFakeClocked() {
		resp, err := testingv1.NewClockServiceClient(s.Conn(name)).GetTime(ctx, &testingv1.GetTimeRequest{})
		if err != nil {
			t.Fatalf("%s ClockService.GetTime: %v", name, err)
		}
		if got := resp.GetNow().AsTime(); !got.Equal(now) {
			t.Fatalf("%s's fake clock says %v, the stack's %v: was one service's clock moved alone? (use stack.Advance)", name, got, now)
		}
	}
	return now
}

// Advance moves every fake-clocked service forward by d (> 0) to one and the same instant and
// returns it. A service that is down starts at that time when Start brings it back.
func (s *Stack) Advance(ctx context.Context, t testing.TB, d time.Duration) time.Time {
	t.Helper()
	if d <= 0 {
		t.Fatalf("stack.Advance(%v): the clocks only move forward", d)
	}
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.setClocks(ctx, t, s.clockNow().Add(d))
}

// AdvanceTo moves every fake-clocked service to at, which may not be before the current time, and
// returns it (at itself when it is the current time).
func (s *Stack) AdvanceTo(ctx context.Context, t testing.TB, at time.Time) time.Time {
	t.Helper()
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	if now := s.clockNow(); at.Before(now) {
		t.Fatalf("stack.AdvanceTo(%v): before the current time %v; the clocks only move forward", at, now)
	}
	return s.setClocks(ctx, t, at)
}

func (s *Stack) setClocks(ctx context.Context, t testing.TB, at time.Time) time.Time {
	t.Helper()
	at = at.UTC()
	for _, name := range s.upFakeClocked() {
		resp, err := testingv1.NewClockServiceClient(s.Conn(name)).SetTime(ctx, &testingv1.SetTimeRequest{Time: timestamppb.New(at)})
		if err != nil || !resp.GetNow().AsTime().Equal(at) {
			t.Fatalf("%s ClockService.SetTime(%v): %v, %v", name, at, resp, err)
		}
	}
	s.mu.Lock()
	s.now = at
	s.mu.Unlock()
	return at
}

func (s *Stack) clockNow() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// upFakeClocked lists the fake-clocked services that are running.
func (s *Stack) upFakeClocked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, name := range fakeClocked {
		if !s.down[name] {
			out = append(out, name)
		}
	}
	return out
}

// Kill kills the named service's container like `docker kill` (SIGKILL: no graceful stop, no
// drain, in-flight work lost) and returns once it no longer runs.
func (s *Stack) Kill(ctx context.Context, name string) error {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	c, err := s.running(name)
	if err != nil {
		return err
	}
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("kill %s: docker client: %w", name, err)
	}
	defer dc.Close()
	if _, err := dc.ContainerKill(ctx, c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	if err := waitNotRunning(ctx, c); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	s.setDown(name)
	return nil
}

// Stop stops the named service's container like `docker stop` (SIGTERM, SIGKILL after 10 s).
func (s *Stack) Stop(ctx context.Context, name string) error {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	c, err := s.running(name)
	if err != nil {
		return err
	}
	grace := 10 * time.Second
	if err := c.Stop(ctx, &grace); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	if err := waitNotRunning(ctx, c); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	s.setDown(name)
	return nil
}

// Start brings a killed or stopped service back: a new container with the same image, settings,
// network alias and database, a fake clock (if the service has one) at the stack's current time.
// It returns once the service answers gRPC health with SERVING on Conn(name), which now talks to
// the new container (its mapped host port may have changed).
func (s *Stack) Start(ctx context.Context, name string) error {
	return s.StartWithEnv(ctx, name, nil)
}

// StartWithEnv is Start with some environment settings replaced or added (env, e.g.
// PARTNERHUB_ORDERS_KEYS_ADDR pointing at a fault test's proxy). The settings hold for this
// container only: the next Stop or Kill and Start brings the service back as the stack runs it.
func (s *Stack) StartWithEnv(ctx context.Context, name string, env map[string]string) error {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.mu.Lock()
	old, known, down, at := s.services[name], s.services[name] != nil, s.down[name], s.now
	s.mu.Unlock()
	if !known {
		return fmt.Errorf("start: no service %q", name)
	}
	if !down {
		return fmt.Errorf("start %s: it is running (Kill or Stop it first)", name)
	}
	i := slices.IndexFunc(specs, func(sp svcSpec) bool { return sp.name == name })
	sp := specs[i]
	c, err := startService(ctx, s.net, s.image(name), sp, at, env)
	if c != nil {
		s.mu.Lock()
		s.containers = append(s.containers, c) // terminated with the stack even if it failed
		s.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	host, err := c.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", sp.grpc), "")
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.mu.Lock()
	s.retired[name] = append(s.retired[name], old)
	s.services[name] = c
	delete(s.down, name)
	s.custom[name] = len(env) > 0
	r := s.resolvers[name]
	s.mu.Unlock()
	r.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: host}}})
	if err := waitServing(ctx, s, name); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if isFakeClocked(name) {
		resp, err := testingv1.NewClockServiceClient(s.Conn(name)).GetTime(ctx, &testingv1.GetTimeRequest{})
		if err != nil || !resp.GetNow().AsTime().Equal(at) {
			return fmt.Errorf("start %s: its fake clock says %v (%w); want the stack's %v", name, resp.GetNow().AsTime(), err, at)
		}
	}
	return nil
}

// Restore makes sure, when the test ends, that the named service runs again as the stack runs
// it: a fault test that fails between Kill (or Stop) and Start would otherwise leave it down for
// every later test, and one started with StartWithEnv is killed and started with the stack's
// settings.
func (s *Stack) Restore(t testing.TB, name string) {
	t.Cleanup(func() {
		s.mu.Lock()
		down, custom := s.down[name], s.custom[name]
		s.mu.Unlock()
		if !down && !custom {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if !down {
			if err := s.Kill(ctx, name); err != nil {
				t.Errorf("restore %s after the test: %v", name, err)
				return
			}
		}
		if err := s.Start(ctx, name); err != nil {
			t.Errorf("restore %s after the test: %v", name, err)
		}
	})
}

// running returns the named service's container, which must be up.
func (s *Stack) running(name string) (testcontainers.Container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.services[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("no service %q", name)
	case s.down[name]:
		return nil, fmt.Errorf("%s is already down", name)
	}
	return c, nil
}

func (s *Stack) setDown(name string) {
	s.mu.Lock()
	s.down[name] = true
	s.mu.Unlock()
}

// waitNotRunning polls the container's state until the engine reports it not running.
func waitNotRunning(ctx context.Context, c testcontainers.Container) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.State(ctx)
		if err == nil && !st.Running {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still running after 30 s (%w)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitServing polls gRPC health on the service's connection until it answers SERVING.
func waitServing(ctx context.Context, s *Stack, name string) error {
	h := healthpb.NewHealthClient(s.Conn(name))
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := h.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("gRPC health not SERVING after 60 s: %v, %w", resp.GetStatus(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
