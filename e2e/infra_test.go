package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
)

// Infrastructure faults (faults_infra_test.go): PostgreSQL and Redis stopped and started again,
// and a TCP proxy that slows a peer down.
//
// StopInfra and StartInfra stop and start the very same container (docker stop / docker start),
// so its data and its network alias survive, as they would in a database or cache restart; the
// services reach it by alias and must reconnect by themselves. RestoreInfra makes sure, when a
// test ends, that the container runs again and every service answers gRPC health SERVING (the
// services report NOT_SERVING while their database is gone).

// infra returns the container of "postgres" or "redis".
func (s *Stack) infra(name string) (testcontainers.Container, error) {
	switch name {
	case "postgres":
		return s.pg, nil
	case "redis":
		return s.redis, nil
	}
	return nil, fmt.Errorf("no infrastructure container %q (postgres or redis)", name)
}

// StopInfra stops the "postgres" or "redis" container like `docker stop` (its stop signal:
// SIGINT, a fast shutdown, for PostgreSQL; SIGTERM for Redis; SIGKILL after 10 s) and returns
// once it no longer runs.
func (s *Stack) StopInfra(ctx context.Context, name string) error {
	c, err := s.infra(name)
	if err != nil {
		return err
	}
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("stop %s: docker client: %w", name, err)
	}
	defer dc.Close()
	grace := 10
	if _, err := dc.ContainerStop(ctx, c.GetContainerID(), client.ContainerStopOptions{Timeout: &grace}); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	if err := waitNotRunning(ctx, c); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	return nil
}

// StartInfra starts the stopped "postgres" or "redis" container again (`docker start`) and
// returns once it answers (psql SELECT 1, redis-cli PING) inside the container.
func (s *Stack) StartInfra(ctx context.Context, name string) error {
	c, err := s.infra(name)
	if err != nil {
		return err
	}
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("start %s: docker client: %w", name, err)
	}
	defer dc.Close()
	if _, err := dc.ContainerStart(ctx, c.GetContainerID(), client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var err error
		if name == "postgres" {
			_, err = s.SQL(ctx, "postgres", "SELECT 1")
		} else {
			var out string
			out, err = s.RedisCLI(ctx, "PING")
			if err == nil && !strings.Contains(out, "PONG") {
				err = fmt.Errorf("PING answered %q", out)
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("start %s: not answering after 60 s: %w", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// infraRunning reports whether the "postgres" or "redis" container runs.
func (s *Stack) infraRunning(ctx context.Context, name string) bool {
	c, err := s.infra(name)
	if err != nil {
		return false
	}
	st, err := c.State(ctx)
	return err == nil && st.Running
}

// RestoreInfra makes sure, when the test ends, that the "postgres" or "redis" container runs
// again and every service answers gRPC health SERVING, so that a fault test failing half-way
// leaves a healthy stack to the tests after it.
func (s *Stack) RestoreInfra(t testing.TB, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if !s.infraRunning(ctx, name) {
			if err := s.StartInfra(ctx, name); err != nil {
				t.Errorf("restore %s after the test: %v", name, err)
				return
			}
		}
		if err := s.WaitAllServing(ctx); err != nil {
			t.Errorf("after restoring %s: %v", name, err)
		}
	})
}

// WaitAllServing waits until every service that is not down answers gRPC health SERVING.
func (s *Stack) WaitAllServing(ctx context.Context) error {
	for _, sp := range specs {
		s.mu.Lock()
		down := s.down[sp.name]
		s.mu.Unlock()
		if down {
			continue
		}
		if err := waitServing(ctx, s, sp.name); err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
	}
	return nil
}

// RedisCLI runs redis-cli with args inside the Redis container and returns its output.
func (s *Stack) RedisCLI(ctx context.Context, args ...string) (string, error) {
	code, r, err := s.redis.Exec(ctx, append([]string{"redis-cli"}, args...), tcexec.Multiplexed())
	if err != nil {
		return "", err
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		return string(out), fmt.Errorf("redis-cli exited %d", code)
	}
	return strings.TrimSpace(string(out)), nil
}

// Endpoint returns the host address ("localhost:port") of the named service's gRPC port, as
// the current container maps it.
func (s *Stack) Endpoint(ctx context.Context, name string) (string, error) {
	c, err := s.running(name)
	if err != nil {
		return "", err
	}
	i := specIndex(name)
	return c.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", specs[i].grpc), "")
}

// Metrics reads the named service's Prometheus metrics (/metrics on its admin port) and returns
// the samples whose name starts with prefix, keyed by name and labels as exposed
// (`partnerhub_cache_degraded{cache="catalog"}`).
func (s *Stack) Metrics(ctx context.Context, name, prefix string) (map[string]float64, error) {
	c, err := s.running(name)
	if err != nil {
		return nil, err
	}
	host, err := c.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", specs[specIndex(name)].admi), "http")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s /metrics: %s", name, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// GatewayIP returns the address of this host on the stack's Docker network: a listener of the
// test process on it (or on every interface) is reachable from the containers.
func (s *Stack) GatewayIP(ctx context.Context) (string, error) {
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", err
	}
	defer dc.Close()
	res, err := dc.NetworkInspect(ctx, s.net.ID, client.NetworkInspectOptions{})
	if err != nil {
		return "", err
	}
	for _, c := range res.Network.IPAM.Config {
		if c.Gateway.Is4() {
			return c.Gateway.String(), nil
		}
	}
	return "", fmt.Errorf("network %s has no IPv4 gateway", s.net.Name)
}

func specIndex(name string) int {
	for i, sp := range specs {
		if sp.name == name {
			return i
		}
	}
	panic("no service " + name)
}

// delayProxy is a TCP proxy in the test process in front of a service: it forwards every
// connection to target and holds every chunk the target sends back for the delay set when the
// chunk arrived (SetDelay; 0 at first), keeping their order: a peer that has become slow to
// answer (requests reach it at once, its answers come late). Containers reach it on the
// stack's gateway address (Stack.GatewayIP).
type delayProxy struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // nanoseconds
	conns  atomic.Int64 // connections accepted so far
	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
}

// startDelayProxy listens on every interface at a free port and forwards to target; it is
// closed with the test.
func startDelayProxy(t testing.TB, target string) *delayProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("delay proxy: %v", err)
	}
	p := &delayProxy{ln: ln, target: target, open: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Port is the port the proxy listens on.
func (p *delayProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// SetDelay sets how long every chunk the target sends from now on is held.
func (p *delayProxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Close stops the proxy and closes every connection through it.
func (p *delayProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
}

func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.open[c] = struct{}{}
	return true
}

func (p *delayProxy) serve() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		go p.forward(down)
	}
}

func (p *delayProxy) forward(down net.Conn) {
	if !p.track(down) {
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		down.Close()
		return
	}
	if !p.track(up) {
		down.Close()
		return
	}
	closeBoth := sync.OnceFunc(func() { down.Close(); up.Close() })
	// Requests: straight through.
	go func() {
		_, _ = io.Copy(up, down)
		closeBoth()
	}()
	// Answers: each chunk stamped when read, written once its delay has passed, in order.
	type chunk struct {
		b   []byte
		due time.Time
	}
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := up.Read(buf)
			if n > 0 {
				q <- chunk{buf[:n], time.Now().Add(time.Duration(p.delay.Load()))}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		if _, err := down.Write(c.b); err != nil {
			break
		}
	}
	closeBoth()
}
