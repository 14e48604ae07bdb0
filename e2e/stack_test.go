// Package e2e runs the whole suite in containers: PostgreSQL, Redis and the six service images on
// one Docker network, the services configured for PostgreSQL (and catalog for Redis), and drives
// them over their public gRPC APIs like a client would. subscriptions alone runs on a fake clock
// (--fake-clock) that tests move with partnerhub.testing.v1.ClockService; tokens live on wall time.
//
// Images: partnerhub/<svc>:dev (`make images`; PARTNERHUB_IMAGE_REPO / PARTNERHUB_IMAGE_TAG
// override), PARTNERHUB_TEST_POSTGRES_IMAGE (postgres:16-alpine) and PARTNERHUB_TEST_REDIS_IMAGE
// (redis:7-alpine). `make test` builds or finds them and sets the variables.
package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
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

// Stack is a running suite; Conn returns a client connection to a service.
type Stack struct {
	// OperatorSecret is the secret of the operator credential svc_operator (IssueServiceToken).
	OperatorSecret string

	conns      map[string]*grpc.ClientConn
	services   map[string]testcontainers.Container // the partnerhub services by name
	containers []testcontainers.Container
	net        *testcontainers.DockerNetwork
}

// Conn returns the connection to the named service.
func (s *Stack) Conn(name string) *grpc.ClientConn { return s.conns[name] }

// Logs returns everything the named service's container has logged so far.
func (s *Stack) Logs(ctx context.Context, name string) (string, error) {
	c, ok := s.services[name]
	if !ok {
		return "", fmt.Errorf("no service %q", name)
	}
	r, err := c.Logs(ctx)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
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
		os.Setenv(k, v)
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
	s := &Stack{OperatorSecret: operatorSecret, net: nw, conns: map[string]*grpc.ClientConn{},
		services: map[string]testcontainers.Container{}}
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
			s.containers = append(s.containers, pg)
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
	if redisC != nil {
		s.containers = append(s.containers, redisC)
	}
	if err != nil {
		return s, err
	}

	repo, tag := env("PARTNERHUB_IMAGE_REPO", "partnerhub/"), env("PARTNERHUB_IMAGE_TAG", "dev")
	started := make([]testcontainers.Container, len(specs))
	for i, sp := range specs {
		g.Go(func() error {
			c, err := startService(ctx, nw, repo+sp.name+":"+tag, sp)
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
		conn, cerr := grpc.NewClient(host, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if cerr != nil {
			return s, cerr
		}
		s.conns[specs[i].name] = conn
	}
	return s, err
}

func startService(ctx context.Context, nw *testcontainers.DockerNetwork, image string, sp svcSpec) (testcontainers.Container, error) {
	prefix := "PARTNERHUB_" + strings.ToUpper(sp.name) + "_"
	e := map[string]string{
		prefix + "DATABASE_URL": fmt.Sprintf("postgres://%[1]s:%[1]s@postgres:5432/%[1]s?sslmode=disable", sp.name),
		prefix + "LOG_LEVEL":    "info",
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
	if sp.name == "subscriptions" {
		// The lifecycle test (SU-2, SU-3) moves this service's own fake clock over 120 days
		// (ClockService); the engine sweeps often so each move shows within a fraction of a second.
		e[prefix+"FAKE_CLOCK"] = "true"
		e[prefix+"CATALOG_ADDR"] = "catalog:50052" // transfers ask for equivalent offers (CA-9)
		e[prefix+"LIFECYCLE_INTERVAL"] = "200ms"
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
