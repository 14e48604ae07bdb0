package bench

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/identity"
)

// procStack is the six services as six processes — the binaries `make images` builds into dist/
// (PARTNERHUB_BENCH_DIST overrides the directory) — configured as compose configures them, on
// SQLite files in a temporary directory or on PostgreSQL + Redis (testkit's containers). Unlike
// the in-process suite it shows what each service costs by itself: its resident memory and its
// goroutines, read from /proc and from its admin port's /debug/pprof.
type procStack struct {
	*suite
	procs map[string]*proc
}

// proc is one running service.
type proc struct {
	name      string
	cmd       *exec.Cmd
	adminAddr string
	exited    chan struct{}
}

// startProcStack starts the six processes and waits until each serves, the demo partner has a
// token and the seed catalog is in.
func startProcStack(b *testing.B, engine suiteEngine) *procStack {
	b.Helper()
	dist := os.Getenv("PARTNERHUB_BENCH_DIST")
	if dist == "" {
		dist = filepath.Join("..", "dist")
	}
	dist, err := filepath.Abs(dist) // each process runs in a directory of its own
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range suiteServices {
		if _, err := os.Stat(filepath.Join(dist, n)); err != nil {
			b.Fatalf("no %s binary in %s (make images builds them; PARTNERHUB_BENCH_DIST names another directory): %v", n, dist, err)
		}
	}
	addrs := freeAddrs(b, 2*len(suiteServices))
	grpcAddr, adminAddr := map[string]string{}, map[string]string{}
	for i, n := range suiteServices {
		grpcAddr[n], adminAddr[n] = addrs[2*i], addrs[2*i+1]
	}
	dir := b.TempDir()
	redisAddr := ""
	if engine == suitePostgres {
		redisAddr = testkit.StartRedisEmpty(b)
	}
	creds := []string{"operator=" + benchOperatorSecret}
	for _, n := range suiteServices[1:] {
		creds = append(creds, n+"=bench-"+n+"-service-secret-0123456789")
	}

	ps := &procStack{procs: map[string]*proc{}}
	b.Cleanup(ps.stop)
	for _, n := range suiteServices {
		env := map[string]string{
			"GRPC_ADDR": grpcAddr[n], "ADMIN_ADDR": adminAddr[n], "LOG_LEVEL": "warn",
			"DATABASE_URL": "sqlite:" + filepath.Join(dir, n+".db"),
		}
		if engine == suitePostgres {
			env["DATABASE_URL"] = testkit.StartPostgres(b)
		}
		switch n {
		case identity.Name:
			env["DEMO"], env["DEMO_CLIENT_SECRET"] = "true", benchDemoSecret
			env["SERVICE_CREDENTIALS"] = strings.Join(creds, ",")
			env["DELEGATEDADMIN_ADDR"] = grpcAddr["delegatedadmin"]
		default:
			env["IDENTITY_ADDR"] = grpcAddr[identity.Name]
			env["SERVICE_SECRET"] = "bench-" + n + "-service-secret-0123456789"
		}
		switch n {
		case "catalog":
			env["SEED"], env["REDIS_ADDR"] = "true", redisAddr
		case "orders":
			env["CATALOG_ADDR"], env["SUBSCRIPTIONS_ADDR"] = grpcAddr["catalog"], grpcAddr["subscriptions"]
			env["KEYS_ADDR"], env["DELEGATEDADMIN_ADDR"] = grpcAddr["keys"], grpcAddr["delegatedadmin"]
		case "subscriptions":
			env["CATALOG_ADDR"] = grpcAddr["catalog"]
		case "keys":
			env["SEALING_KEYS"], env["LINK_KEYS"], env["LOOKUP_KEY"] = "bench1:"+randKey(), "bench1:"+randKey(), randKey()
		}
		p, err := startProc(filepath.Join(dist, n), n, env, filepath.Join(dir, n+".log"))
		if err != nil {
			b.Fatal(err)
		}
		p.adminAddr = adminAddr[n]
		ps.procs[n] = p
	}

	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range suiteServices {
		for svc.Probe(ctx, grpcAddr[n], time.Second) != nil {
			if err := ps.exited(); err != nil {
				b.Fatalf("%v (logs in %s)", err, dir)
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not serving after 60 s (log: %s)", n, tail(filepath.Join(dir, n+".log")))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ps.suite = &suite{errc: make(chan error, 1), addr: grpcAddr, conns: map[string]*grpc.ClientConn{}}
	for _, n := range suiteServices {
		c, err := grpc.NewClient(grpcAddr[n], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		ps.conns[n] = c
	}
	tok, err := identityv1.NewTokenServiceClient(ps.conn(identity.Name)).IssueToken(ctx, &identityv1.IssueTokenRequest{
		ClientId: identity.DemoClientID, ClientSecret: benchDemoSecret})
	if err != nil {
		b.Fatalf("demo token: %v", err)
	}
	ps.demoToken = tok.GetAccessToken().GetToken()
	cat := catalogv1.NewCatalogServiceClient(ps.conn("catalog"))
	for {
		_, err := cat.GetSku(ps.partnerCtx(ctx), &catalogv1.GetSkuRequest{SkuId: benchOrderSku})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the seed catalog has no %s after 60 s: %v", benchOrderSku, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ps.warmUp(b)
	return ps
}

func startProc(bin, name string, env map[string]string, logFile string) (*proc, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(logFile)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = os.Environ()
	prefix := "PARTNERHUB_" + strings.ToUpper(name) + "_"
	for k, v := range env {
		cmd.Env = append(cmd.Env, prefix+k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(p.exited)
	}()
	return p, nil
}

// connectAll opens the benchmark's connection to every service (a health check each), so that
// an idle sample already counts the goroutines that serve them.
func (ps *procStack) connectAll(b *testing.B) {
	b.Helper()
	for _, n := range suiteServices {
		if _, err := healthpb.NewHealthClient(ps.conn(n)).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatalf("%s: health check: %v", n, err)
		}
	}
}

// exited returns an error naming a process that has exited, or nil.
func (ps *procStack) exited() error {
	for _, p := range ps.procs {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %v", p.name, p.cmd.ProcessState)
		default:
		}
	}
	return nil
}

// stop ends every process (SIGTERM: a graceful stop) and waits for them.
func (ps *procStack) stop() {
	for _, p := range ps.procs {
		_ = p.cmd.Process.Signal(os.Interrupt)
	}
	for _, p := range ps.procs {
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

// usage is what a process holds at one moment.
type usage struct {
	rssMB      float64
	goroutines int
}

// sample reads every process's resident memory (/proc/<pid>/status VmRSS) and goroutine count
// (the admin port's /debug/pprof/goroutine).
func (ps *procStack) sample(ctx context.Context) (map[string]usage, error) {
	out := map[string]usage{}
	for n, p := range ps.procs {
		rss, err := rssMB(p.cmd.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		g, err := goroutines(ctx, p.adminAddr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[n] = usage{rssMB: rss, goroutines: g}
	}
	return out, nil
}

func rssMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(fields[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// goroutines reads "goroutine profile: total N" from the admin port.
func goroutines(ctx context.Context, adminAddr string) (int, error) {
	body, err := goroutineProfile(ctx, adminAddr)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(body), "\n")
	var n int
	if _, err := fmt.Sscanf(line, "goroutine profile: total %d", &n); err != nil {
		return 0, fmt.Errorf("goroutine profile: %q: %w", line, err)
	}
	return n, nil
}

// goroutineProfile is the admin port's goroutine profile in text (debug=1).
func goroutineProfile(ctx context.Context, adminAddr string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// goroutineStacks is the admin port's goroutine profile as a count per distinct stack (the
// function names of its frames), for saying which goroutines a service gained.
func goroutineStacks(ctx context.Context, adminAddr string) (map[string]int, error) {
	body, err := goroutineProfile(ctx, adminAddr)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, block := range strings.Split(string(body), "\n\n")[1:] {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		var n int
		if _, err := fmt.Sscanf(lines[0], "%d @", &n); err != nil {
			continue
		}
		var frames []string
		for _, l := range lines[1:] {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" {
				frames = append(frames, f[2])
			}
		}
		out[strings.Join(frames, " < ")] += n
	}
	return out, nil
}

// stacksGained is what after has more of than before, one line per stack.
func stacksGained(before, after map[string]int) string {
	var lines []string
	for stack, n := range after {
		if n > before[stack] {
			lines = append(lines, fmt.Sprintf("+%d %s", n-before[stack], stack))
		}
	}
	return strings.Join(lines, "\n")
}

// topStacks is the n stacks the most goroutines share, one line each with its count.
func topStacks(stacks map[string]int, n int) string {
	keys := slices.SortedFunc(maps.Keys(stacks), func(a, b string) int { return cmp.Compare(stacks[b], stacks[a]) })
	lines := make([]string, 0, n)
	for _, k := range keys[:min(n, len(keys))] {
		lines = append(lines, fmt.Sprintf("%d %s", stacks[k], k))
	}
	return strings.Join(lines, "\n")
}

// tail is the end of a log file, for a failure message.
func tail(file string) string {
	b, _ := os.ReadFile(file)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// sampler records usage every interval until stopped; peak keeps each process's highest RSS and
// goroutine count.
type sampler struct {
	mu      sync.Mutex
	samples []map[string]usage
	err     error
	stopc   chan struct{}
	done    chan struct{}
}

func (ps *procStack) startSampler(ctx context.Context, every time.Duration) *sampler {
	s := &sampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
			u, err := ps.sample(ctx)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			if err == nil {
				s.samples = append(s.samples, u)
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// stop ends sampling and returns the samples.
// last is the latest sample; nil before the first.
func (s *sampler) last() map[string]usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return nil
	}
	return s.samples[len(s.samples)-1]
}

func (s *sampler) stop() ([]map[string]usage, error) {
	close(s.stopc)
	<-s.done
	return s.samples, s.err
}

// peak is each process's highest RSS and goroutine count over samples.
func peak(samples []map[string]usage) map[string]usage {
	out := map[string]usage{}
	for _, u := range samples {
		for n, v := range u {
			p := out[n]
			p.rssMB, p.goroutines = max(p.rssMB, v.rssMB), max(p.goroutines, v.goroutines)
			out[n] = p
		}
	}
	return out
}
