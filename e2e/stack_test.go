// Package e2e runs the whole suite in containers: PostgreSQL, Redis and the six service images on
// one Docker network, the services configured for PostgreSQL (and catalog for Redis), and drives
// them over their public gRPC APIs like a client would. orders, subscriptions and keys run on fake
// clocks (--fake-clock) that start at the same instant and that tests move together with
// Stack.Advance / Stack.AdvanceTo (partnerhub.testing.v1.ClockService); tokens live on wall time.
// Fault tests take services down and up again with Stack.Kill, Stack.Stop and Stack.Start (clock.go),
// and PostgreSQL or Redis with Stack.StopInfra and Stack.StartInfra (infra_test.go).
//
// Images: partnerhub/<svc>:dev (`make images`; PARTNERHUB_IMAGE_REPO / PARTNERHUB_IMAGE_TAG
// override), PARTNERHUB_TEST_POSTGRES_IMAGE (postgres:16-alpine) and PARTNERHUB_TEST_REDIS_IMAGE
// (redis:7-alpine). `make test` builds or finds them and sets the variables.
package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// demoSecret is the demo credential's secret in the e2e stack (client ID demo-admin).
const demoSecret = "e2e-demo-secret-0123456789"

// operatorSecret is the secret of the "operator" service credential (client ID svc_operator),
// with which tests get a SERVICE token for operator RPCs such as CreatePartner. Development
// only, like every secret here: the stack lives for one test run on a private network.
const operatorSecret = "e2e-operator-secret-0123456789"

// serviceSecret is the service credential secret of a service in the e2e stack (development
// only): identity knows them all, each service its own, so the services can call each other.
func serviceSecret(name string) string { return "e2e-" + name + "-service-secret-0123456789" }

// serviceCredentials is identity's service-credentials setting for the e2e stack: every other
// service of specs, and the operator.
func serviceCredentials() string {
	pairs := []string{"operator=" + operatorSecret}
	for _, sp := range specs {
		if sp.name != "identity" {
			pairs = append(pairs, sp.name+"="+serviceSecret(sp.name))
		}
	}
	return strings.Join(pairs, ",")
}

// svcSpec is one service of the stack.
type svcSpec struct {
	name       string
	grpc, admi int
}

var specs = []svcSpec{
	{"identity", 50051, 9051}, {"catalog", 50052, 9052}, {"orders", 50053, 9053},
	{"subscriptions", 50054, 9054}, {"keys", 50055, 9055}, {"delegatedadmin", 50056, 9056},
}

// fakeClocked are the services that run on the stack's fake clock, all from the same instant.
var fakeClocked = []string{"orders", "subscriptions", "keys"}

func isFakeClocked(name string) bool { return slices.Contains(fakeClocked, name) }

// Stack is a running suite; Conn returns a client connection to a service.
type Stack struct {
	// OperatorSecret is the secret of the operator credential svc_operator (IssueServiceToken).
	OperatorSecret string

	image      func(name string) string
	net        *testcontainers.DockerNetwork
	pg         *postgres.PostgresContainer
	redis      *tcredis.RedisContainer // the catalog's cache (infra_test.go stops and starts it)
	clockStart time.Time               // the instant every fake clock started at (PARTNERHUB_<SVC>_FAKE_CLOCK_START)

	clockMu    sync.Mutex                            // serialises clock moves and Kill / Stop / Start (clock_test.go)
	mu         sync.Mutex                            // guards the fields below
	conns      map[string]*grpc.ClientConn           // one per service for the whole run: follows restarts
	resolvers  map[string]*manual.Resolver           // behind conns: point them at a restarted container
	services   map[string]testcontainers.Container   // the partnerhub services by name (current container)
	retired    map[string][]testcontainers.Container // earlier containers of a service, oldest first
	down       map[string]bool                       // killed or stopped, not started again yet
	custom     map[string]bool                       // running with StartWithEnv's settings, not the stack's
	now        time.Time                             // the fake clocks' time as the stack last set it
	containers []testcontainers.Container
}

// Conn returns the connection to the named service. It is the same connection for the whole run:
// after Start replaces a killed or stopped container it talks to the new one (whose mapped host
// port may differ), so clients made from it before a restart keep working.
func (s *Stack) Conn(name string) *grpc.ClientConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[name]
}

// Logs returns everything the named service has logged so far: the output of each container it
// ran in (Start replaces a killed or stopped one), oldest first.
func (s *Stack) Logs(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	c, ok := s.services[name]
	all := append(slices.Clone(s.retired[name]), c)
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("no service %q", name)
	}
	var out strings.Builder
	for _, c := range all {
		r, err := c.Logs(ctx)
		if err != nil {
			return out.String(), err
		}
		_, err = io.Copy(&out, r)
		r.Close()
		if err != nil {
			return out.String(), err
		}
	}
	return out.String(), nil
}

// SQL runs a statement in one of the stack's PostgreSQL databases (a service's, e.g.
// "subscriptions") with psql inside the database container, and returns psql's output. For
// fixtures no API can create (a subscription bought outside partnerhub); never to peek at what
// a test should read through the API.
func (s *Stack) SQL(ctx context.Context, db, statement string) (string, error) {
	code, r, err := s.pg.Exec(ctx, []string{"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"postgresql://postgres:postgres@127.0.0.1:5432/" + db, "-c", statement}, tcexec.Multiplexed())
	if err != nil {
		return "", err
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		return string(out), fmt.Errorf("psql exited %d", code)
	}
	return string(out), nil
}

var stack *Stack

func TestMain(m *testing.M) {
	// testcontainers' reaper image cannot be pulled without a registry, and inside a container
	// (/.dockerenv) it would dial an unreachable gateway: these defaults make a bare machine work.
	setDefault("TESTCONTAINERS_RYUK_DISABLED", "true")
	setDefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s, err := startStack(ctx)
	cancel()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start the stack: %v\n", err)
	} else {
		stack = s
		code = m.Run()
	}
	if s != nil {
		s.stop()
	}
	os.Exit(code)
}

func setDefault(k, v string) {
	if _, ok := os.LookupEnv(k); !ok {
		_ = os.Setenv(k, v) // fails only for an invalid name; ours are constants
	}
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func startStack(ctx context.Context) (*Stack, error) {
	nw, err := network.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	repo, tag := env("PARTNERHUB_IMAGE_REPO", "partnerhub/"), env("PARTNERHUB_IMAGE_TAG", "dev")
	// One instant for every fake clock, so orders, subscriptions and keys agree from the start.
	start := time.Now().UTC().Truncate(time.Second)
	s := &Stack{OperatorSecret: operatorSecret, net: nw, clockStart: start, now: start,
		image: func(name string) string { return repo + name + ":" + tag },
		conns: map[string]*grpc.ClientConn{}, resolvers: map[string]*manual.Resolver{},
		services: map[string]testcontainers.Container{}, retired: map[string][]testcontainers.Container{},
		down: map[string]bool{}, custom: map[string]bool{}}
	initSQL, err := filepath.Abs("../deploy/docker/postgres-init/01-databases.sql")
	if err != nil {
		return s, err
	}
	var g errgroup.Group
	g.Go(func() error {
		pg, err := postgres.Run(ctx, env("PARTNERHUB_TEST_POSTGRES_IMAGE", "postgres:16-alpine"),
			postgres.WithUsername("postgres"), postgres.WithPassword("postgres"),
			postgres.WithInitScripts(initSQL), postgres.BasicWaitStrategies(),
			network.WithNetwork([]string{"postgres"}, nw))
		if pg != nil {
			s.pg = pg
		}
		return err
	})
	var redisC *tcredis.RedisContainer
	g.Go(func() error {
		var err error
		redisC, err = tcredis.Run(ctx, env("PARTNERHUB_TEST_REDIS_IMAGE", "redis:7-alpine"),
			network.WithNetwork([]string{"redis"}, nw))
		return err
	})
	err = g.Wait()
	if s.pg != nil {
		s.containers = append(s.containers, s.pg)
	}
	if redisC != nil {
		s.redis = redisC
		s.containers = append(s.containers, redisC)
	}
	if err != nil {
		return s, err
	}

	started := make([]testcontainers.Container, len(specs))
	for i, sp := range specs {
		g.Go(func() error {
			c, err := startService(ctx, nw, s.image(sp.name), sp, start)
			started[i] = c
			return err
		})
	}
	err = g.Wait()
	for i, c := range started {
		if c == nil {
			continue
		}
		s.containers = append(s.containers, c)
		s.services[specs[i].name] = c
		host, perr := c.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", specs[i].grpc), "")
		if perr != nil {
			return s, perr
		}
		// A manual resolver behind each connection, so that Start can point it at a new container.
		r := manual.NewBuilderWithScheme("e2e-" + specs[i].name)
		r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: host}}})
		conn, cerr := grpc.NewClient(r.Scheme()+":///"+specs[i].name, grpc.WithResolvers(r),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if cerr != nil {
			return s, cerr
		}
		s.conns[specs[i].name], s.resolvers[specs[i].name] = conn, r
	}
	return s, err
}

// startService starts one service container; a fake-clocked one starts its clock at clockAt.
// overrides, if given, replace or add environment settings (a fault test pointing orders at a
// proxy, Stack.StartWithEnv).
func startService(ctx context.Context, nw *testcontainers.DockerNetwork, image string, sp svcSpec, clockAt time.Time, overrides ...map[string]string) (testcontainers.Container, error) {
	prefix := "PARTNERHUB_" + strings.ToUpper(sp.name) + "_"
	e := map[string]string{
		prefix + "DATABASE_URL": fmt.Sprintf("postgres://%[1]s:%[1]s@postgres:5432/%[1]s?sslmode=disable", sp.name),
		prefix + "LOG_LEVEL":    "info",
	}
	if isFakeClocked(sp.name) {
		// Every fake-clocked service starts at the stack's clock: the same instant at stack start,
		// the stack's current fake time when Start replaces a killed or stopped container.
		e[prefix+"FAKE_CLOCK"] = "true"
		e[prefix+"FAKE_CLOCK_START"] = clockAt.UTC().Format(time.RFC3339Nano)
	}
	if sp.name == "identity" {
		e[prefix+"DEMO"] = "true"
		e[prefix+"DEMO_CLIENT_SECRET"] = demoSecret
		e[prefix+"SERVICE_CREDENTIALS"] = serviceCredentials()
		e[prefix+"DELEGATEDADMIN_ADDR"] = "delegatedadmin:50056"
	} else {
		e[prefix+"IDENTITY_ADDR"] = "identity:50051"
		e[prefix+"SERVICE_SECRET"] = serviceSecret(sp.name)
	}
	if sp.name == "catalog" {
		e[prefix+"REDIS_ADDR"] = "redis:6379"
		e[prefix+"SEED"] = "true" // the seed catalog, imported once identity answers
	}
	if sp.name == "keys" {
		// Debug logging, so that the test that no key reaches a log (KD-8) reads everything.
		e[prefix+"LOG_LEVEL"] = "debug"
		// Test keys only: 32 bytes each, base64.
		e[prefix+"SEALING_KEYS"] = "e2e1:ZTJlLXNlYWxpbmcta2V5LTAxMjM0NTY3ODlhYmNkZWY"
		e[prefix+"LINK_KEYS"] = "e2e1:ZTJlLWxpbmstc2lnbmluZy1rZXktMDEyMzQ1Njc4OWE"
		e[prefix+"LOOKUP_KEY"] = "ZTJlLWxvb2t1cC1rZXktMDEyMzQ1Njc4OWFiY2RlZmdo"
	}
	if sp.name == "orders" {
		// The order saga's peers; a short lease, so that after Kill and Start the new process
		// (a new lease owner) resumes the killed one's sagas within seconds, and quick polling.
		e[prefix+"CATALOG_ADDR"] = "catalog:50052"
		e[prefix+"SUBSCRIPTIONS_ADDR"] = "subscriptions:50054"
		e[prefix+"KEYS_ADDR"] = "keys:50055"
		e[prefix+"DELEGATEDADMIN_ADDR"] = "delegatedadmin:50056"
		e[prefix+"SAGA_LEASE"] = "5s"
		e[prefix+"RECOVERY_INTERVAL"] = "200ms"
		e[prefix+"WATCH_POLL"] = "200ms"
	}
	if sp.name == "subscriptions" {
		// The lifecycle engine sweeps often so each clock move shows within a fraction of a second.
		e[prefix+"CATALOG_ADDR"] = "catalog:50052" // transfers ask for equivalent offers (CA-9)
		e[prefix+"LIFECYCLE_INTERVAL"] = "200ms"
		e[prefix+"WATCH_POLL"] = "200ms"
		// A small tenant maximum (SU-13; the default is 300), so that the transfer scenario reaches
		// it with a handful of subscriptions (e2eTenantLimit, scenarios_transfer_test.go). Every
		// other test stays far below it with customers of its own.
		e[prefix+"TENANT_LIMIT"] = strconv.Itoa(e2eTenantLimit)
	}
	for _, o := range overrides {
		maps.Copy(e, o)
	}
	grpcPort, adminPort := fmt.Sprintf("%d/tcp", sp.grpc), fmt.Sprintf("%d/tcp", sp.admi)
	return testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          image,
			Env:            e,
			ExposedPorts:   []string{grpcPort, adminPort},
			Networks:       []string{nw.Name},
			NetworkAliases: map[string][]string{nw.Name: {sp.name}},
			WaitingFor: wait.ForHTTP("/healthz").WithPort(adminPort).
				WithStartupTimeout(90 * time.Second),
		},
		Started: true,
	})
}

func (s *Stack) stop() {
	for _, c := range s.conns {
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := len(s.containers) - 1; i >= 0; i-- {
		_ = s.containers[i].Terminate(ctx)
	}
	if s.net != nil {
		_ = s.net.Remove(ctx)
	}
}
