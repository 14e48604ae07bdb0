// Package testkit starts the real infrastructure that adapter tests run against: PostgreSQL and
// Redis in containers (testcontainers-go), plus SQLite in a temp dir, so one test suite can run
// against every engine.
//
// # Lifecycle
//
// A test binary starts at most one PostgreSQL and one Redis container, lazily on first use, and
// shares them across its tests: StartPostgres hands every call a fresh database in the shared
// server, StartRedis the shared server's address. The containers are removed when the binary's
// tests end, which needs a TestMain in every package that uses them:
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
// StartRedisControlled is the exception: it starts a Redis of the calling test's own, which the
// test may stop and start again, and removes it when the test ends.
//
// A test that starts a shared container without it fails and says so: the Ryuk reaper that would
// otherwise collect containers cannot be pulled in an air-gapped CI, so nothing else would
// remove them. (A binary killed by -timeout still leaks its containers; they carry the label
// "dev.partnerhub.testkit" so `docker rm -f $(docker ps -aq -f label=dev.partnerhub.testkit)`
// cleans up.)
//
// # Environment
//
// Images come from PARTNERHUB_TEST_POSTGRES_IMAGE and PARTNERHUB_TEST_REDIS_IMAGE (defaults
// postgres:16-alpine and redis:7-alpine). Unless already set, TESTCONTAINERS_RYUK_DISABLED=true
// and, for a local engine, TESTCONTAINERS_HOST_OVERRIDE=localhost (inside a container
// testcontainers would otherwise dial the bridge gateway, which may not route to mapped ports).
//
// Docker is required: when it is missing the tests fail with a message saying so, they are never
// skipped, because a skipped adapter test is a green build that tested nothing.
package testkit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the admin connection
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"

	"github.com/partnerhub/partnerhub/pkg/store"
)

// Defaults for the container images.
const (
	DefaultPostgresImage = "postgres:16-alpine"
	DefaultRedisImage    = "redis:7-alpine"
)

// startTimeout bounds a container start, image pull included.
const startTimeout = 3 * time.Minute

// label marks every container testkit starts.
const label = "dev.partnerhub.testkit"

// kit is the one piece of package state: the containers of this test binary. It is a singleton
// because containers are shared across all tests of the binary, which have no other common owner.
var kit struct {
	mainRunning atomic.Bool
	dbSeq       atomic.Int64

	mu        sync.Mutex
	terminate []func(context.Context) error // of the containers started, run by Main
	pgOnce    sync.Once
	pg        *postgresServer
	pgErr     error
	redisOnce sync.Once
	redisAddr string
	redisErr  error
}

// Main runs the package's tests and then removes the containers they started. Call it from
// TestMain; it does not return.
func Main(m *testing.M) {
	kit.mainRunning.Store(true)
	code := m.Run()
	kit.mainRunning.Store(false)
	if err := terminateAll(); err != nil {
		fmt.Fprintln(os.Stderr, "testkit:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func terminateAll() error {
	if kit.pg != nil {
		_ = kit.pg.admin.Close()
	}
	kit.mu.Lock()
	fns := kit.terminate
	kit.terminate = nil
	kit.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var failed []string
	for _, fn := range fns {
		if err := fn(ctx); err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("removing containers: %s", strings.Join(failed, "; "))
	}
	return nil
}

func requireMain(tb testing.TB) {
	tb.Helper()
	if !kit.mainRunning.Load() {
		tb.Fatal("testkit: this package starts containers but has no TestMain calling testkit.Main; " +
			"add `func TestMain(m *testing.M) { testkit.Main(m) }` so they are removed after the tests")
	}
}

// setEnvDefaults applies the testcontainers settings this kind of machine needs, unless the
// environment already says otherwise. It runs before the first container starts, because
// testcontainers reads its configuration once.
func setEnvDefaults() {
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	dockerHost := os.Getenv("DOCKER_HOST")
	local := dockerHost == "" || strings.HasPrefix(dockerHost, "unix://")
	if _, ok := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); !ok && local {
		_ = os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	}
}

func image(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// startError explains a container that did not start: which image, why, what testcontainers
// logged, and what to do about it.
func startError(what, img, env string, err error, logs *logBuffer) error {
	return fmt.Errorf("testkit: cannot start %s container from image %q: %w\n"+
		"Adapter tests need a running Docker engine (make test starts one when run as root) and the "+
		"image available locally or from a registry; set %s to use another image.\n"+
		"testcontainers said:\n%s", what, img, err, env, logs.String())
}

// logBuffer collects testcontainers' log lines, so a failed start can show them while a good one
// stays quiet.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, "  "+strings.TrimSuffix(format, "\n")+"\n", v...)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func addTerminate(ctr testcontainers.Container) {
	kit.mu.Lock()
	defer kit.mu.Unlock()
	kit.terminate = append(kit.terminate, func(ctx context.Context) error {
		return ctr.Terminate(ctx)
	})
}

// postgresServer is the shared PostgreSQL container of the binary.
type postgresServer struct {
	base  url.URL // DSN of the server's maintenance database
	admin *sql.DB // connected to it, to create test databases
}

// StartPostgres returns the DSN (postgres://...) of a new, empty database on the binary's shared
// PostgreSQL server, starting the server on first use. The database is dropped when the test
// ends.
func StartPostgres(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	kit.pgOnce.Do(func() { kit.pg, kit.pgErr = startPostgres() })
	if kit.pgErr != nil {
		tb.Fatal(kit.pgErr)
	}
	pg := kit.pg
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), kit.dbSeq.Add(1))
	if _, err := pg.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testkit: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE closes connections a test forgot; a failure only leaves a database behind in a
		// container about to be removed.
		_, _ = pg.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u := pg.base
	u.Path = "/" + name
	return u.String()
}

func startPostgres() (*postgresServer, error) {
	setEnvDefaults()
	const env = "PARTNERHUB_TEST_POSTGRES_IMAGE"
	img := image(env, DefaultPostgresImage)
	logs := &logBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ctr, err := tcpostgres.Run(ctx, img,
		testcontainers.WithLogger(logs),
		testcontainers.WithLabels(map[string]string{label: "postgres"}),
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		// Durability is worthless in a throwaway container; these make DDL and commits fast.
		testcontainers.WithCmd("postgres", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300"),
		tcpostgres.BasicWaitStrategies(),
	)
	if ctr != nil {
		addTerminate(ctr)
	}
	if err != nil {
		return nil, startError("PostgreSQL", img, env, err, logs)
	}
	host, err := ctr.Host(ctx)
	if err != nil {
		return nil, startError("PostgreSQL", img, env, err, logs)
	}
	port, err := ctr.MappedPort(ctx, "5432/tcp")
	if err != nil {
		return nil, startError("PostgreSQL", img, env, err, logs)
	}
	base := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", "postgres"),
		Host:     net.JoinHostPort(host, port.Port()),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	admin, err := sql.Open("pgx", base.String())
	if err != nil {
		return nil, fmt.Errorf("testkit: connect to PostgreSQL container: %w", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		return nil, startError("PostgreSQL", img, env, err, logs)
	}
	return &postgresServer{base: base, admin: admin}, nil
}

// StartRedis returns the host:port of the binary's shared Redis server, starting it on first
// use. The server is shared by every test of the binary: give each test its own key prefix (its
// t.Name(), say) rather than flushing.
func StartRedis(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	kit.redisOnce.Do(func() { kit.redisAddr, kit.redisErr = startRedis() })
	if kit.redisErr != nil {
		tb.Fatal(kit.redisErr)
	}
	return kit.redisAddr
}

// StartRedisEmpty is StartRedis with the server emptied first (FLUSHALL), for a caller that
// starts one stack after another in one process, each of which must begin with an empty cache as
// a new deployment does (bench/: a catalog seeding a new database must not find the previous
// stack's cached SKUs and look ready before its import is in). Not for tests that share the
// server with others running in parallel.
func StartRedisEmpty(tb testing.TB) string {
	tb.Helper()
	addr := StartRedis(tb)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = c.Close() }() // a client of one command: nothing left to flush
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.FlushAll(ctx).Err(); err != nil {
		tb.Fatalf("testkit: empty Redis at %s: %v", addr, err)
	}
	return addr
}

func startRedis() (string, error) {
	setEnvDefaults()
	const env = "PARTNERHUB_TEST_REDIS_IMAGE"
	img := image(env, DefaultRedisImage)
	logs := &logBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ctr, err := tcredis.Run(ctx, img,
		testcontainers.WithLogger(logs),
		testcontainers.WithLabels(map[string]string{label: "redis"}),
	)
	if ctr != nil {
		addTerminate(ctr)
	}
	if err != nil {
		return "", startError("Redis", img, env, err, logs)
	}
	addr, err := ctr.PortEndpoint(ctx, "6379/tcp", "")
	if err != nil {
		return "", startError("Redis", img, env, err, logs)
	}
	return addr, nil
}

// StartRedisControlled starts a Redis server of the test's own, which the test can stop and start
// again to see how code copes with an outage, and returns its host:port. The container is removed
// when the test ends.
//
// The address stays valid across restarts: the container's host port is pinned (chosen free,
// outside the ephemeral range Docker and the kernel hand out, so that another container is
// unlikely to take it while this one is stopped). The data survives a restart too, as it would
// for a production Redis with persistence: Redis saves on the SIGTERM of stop, and start reloads
// it from the container's filesystem. Tests that want an empty server after a restart flush it.
//
// stop returns when Redis has exited; start returns when Redis answers PING again (data loaded).
// Both fail the test on error, so call them from the test's goroutine.
func StartRedisControlled(tb testing.TB) (addr string, stop, start func()) {
	tb.Helper()
	setEnvDefaults()
	const env = "PARTNERHUB_TEST_REDIS_IMAGE"
	img := image(env, DefaultRedisImage)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var (
		ctr  *tcredis.RedisContainer
		port int
		err  error
		logs *logBuffer
	)
	// A port found free can be taken before Docker binds it; another one will do.
	for range 3 {
		if port, err = freeHostPort(); err != nil {
			tb.Fatalf("testkit: %v", err)
		}
		logs = &logBuffer{}
		ctr, err = tcredis.Run(ctx, img,
			testcontainers.WithLogger(logs),
			testcontainers.WithLabels(map[string]string{label: "redis-controlled"}),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PortBindings = network.PortMap{
					network.MustParsePort("6379/tcp"): {{HostPort: strconv.Itoa(port)}},
				}
			}),
		)
		if ctr != nil {
			c := ctr
			tb.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := c.Terminate(ctx); err != nil {
					tb.Errorf("testkit: remove controlled Redis container: %v", err)
				}
			})
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatal(startError("Redis", img, env, err, logs))
	}
	host, err := ctr.Host(ctx)
	if err != nil {
		tb.Fatal(startError("Redis", img, env, err, logs))
	}
	addr = net.JoinHostPort(host, strconv.Itoa(port))
	if err := waitRedis(ctx, addr); err != nil {
		tb.Fatal(startError("Redis", img, env, err, logs))
	}
	stop = func() {
		tb.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		timeout := 10 * time.Second // time to save before Docker kills it
		if err := ctr.Stop(ctx, &timeout); err != nil {
			tb.Fatalf("testkit: stop Redis: %v", err)
		}
	}
	start = func() {
		tb.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := ctr.Start(ctx); err != nil {
			tb.Fatalf("testkit: start Redis again: %v", err)
		}
		// The wait strategies of the first start may pass on the old log line; PING does not.
		if err := waitRedis(ctx, addr); err != nil {
			tb.Fatalf("testkit: Redis did not come back on %s: %v", addr, err)
		}
	}
	return addr, stop, start
}

// freeHostPort returns a TCP port that is free on this host now, from 20000-32767: below the
// ephemeral ranges of Linux (32768-60999) and Docker, so that neither hands it out meanwhile.
func freeHostPort() (int, error) {
	for range 50 {
		port := 20000 + rand.IntN(12768)                    //nolint:gosec // G404: picking a port, not a secret
		l, err := net.Listen("tcp", ":"+strconv.Itoa(port)) //nolint:noctx // a listen does not block; freeHostPort has no context
		if err != nil {
			continue
		}
		_ = l.Close()
		return port, nil
	}
	return 0, errors.New("no free TCP port found in 20000-32767")
}

// waitRedis waits until the Redis at addr answers PING with PONG (a Redis still loading its data
// answers -LOADING).
func waitRedis(ctx context.Context, addr string) error {
	var last error
	for {
		if last = pingRedis(ctx, addr); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for PONG: %w (last: %w)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func pingRedis(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n]), "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(string(buf[:n])))
	}
	return nil
}

// SQLiteDSN returns the DSN of a new SQLite database file in the test's temp dir.
func SQLiteDSN(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
}

// ForEachDB runs fn as a subtest on each engine: "sqlite" with a fresh file database and
// "postgres" with a fresh database on the shared server. This is how every repository test runs,
// so one suite proves the SQL portable.
func ForEachDB(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, StartPostgres(t)) })
}

// OpenDB opens the database at dsn, applies a service's migrations (version table
// versionTable, as the service's Run does) and closes it when the test ends.
func OpenDB(tb testing.TB, dsn string, migrations fs.FS, versionTable string) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("testkit: open %s: %v", dsn, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx, migrations, versionTable); err != nil {
		tb.Fatalf("testkit: migrate: %v", err)
	}
	return db
}
