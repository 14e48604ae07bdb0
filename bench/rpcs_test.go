package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/services/catalog"
	"github.com/partnerhub/partnerhub/services/delegatedadmin"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/keys"
	"github.com/partnerhub/partnerhub/services/orders"
	"github.com/partnerhub/partnerhub/services/subscriptions"
)

// The suite's RPCs measured against the ceiling (issue 8): on each server an empty RPC — the
// gRPC health check, served through the same interceptor chain as every other RPC but the access
// log — is the most that server answers on this machine, and every other figure of the same
// server is a fraction of it, taken in the same run. All against the whole suite in this process
// (orders_stack_test.go), 32 concurrent clients on one connection per service, unless said.
//
// PARTNERHUB_BENCH_SHORT=1 shrinks every phase to a harness check (CI runs it so): the figures
// then mean nothing.

// short reports whether the benchmarks run as a harness check (PARTNERHUB_BENCH_SHORT=1).
func short() bool { return os.Getenv("PARTNERHUB_BENCH_SHORT") == "1" }

// pick returns long, or short in a harness check.
func pick[T any](long, shortValue T) T {
	if short() {
		return shortValue
	}
	return long
}

// rpcPhase is the length of one measured phase of the RPC benchmarks (PARTNERHUB_BENCH_RPC_PHASE).
func rpcPhase(b *testing.B) time.Duration {
	return envDuration(b, "PARTNERHUB_BENCH_RPC_PHASE", pick(400*time.Millisecond, 50*time.Millisecond))
}

// rpcRounds is how many rounds of alternating phases a comparison runs (PARTNERHUB_BENCH_RPC_ROUNDS).
func rpcRounds(b *testing.B) int { return envInt(b, "PARTNERHUB_BENCH_RPC_ROUNDS", pick(10, 2)) }

// healthCheck is the empty RPC of a server: the ceiling.
func healthCheck(c healthpb.HealthClient) callFunc {
	return func(ctx context.Context, _ int) error {
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
}

// comparison is an RPC measured in alternating phases with its server's empty RPC.
type comparison struct {
	ceiling, rpc phaseResult
}

// compare runs rounds of two phases, the ceiling and the RPC, alternating which goes first so
// that drift and GC cycles hit both alike.
func compare(ctx context.Context, b *testing.B, workers, rounds int, phase time.Duration, ceiling, rpc callFunc) comparison {
	b.Helper()
	for _, f := range []callFunc{ceiling, rpc} { // warm, unmeasured
		if _, err := runPhase(ctx, workers, phase/2, f); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}
	var c comparison
	for r := range rounds {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, k := range order {
			res, err := runPhase(ctx, workers, phase, []callFunc{ceiling, rpc}[k])
			if err != nil {
				b.Fatalf("measured phase: %v", err)
			}
			[]*phaseResult{&c.ceiling, &c.rpc}[k].add(res)
		}
	}
	return c
}

// report publishes a comparison under a prefix: ops/s, p50 and p99 of the RPC and the ceiling,
// and their ratio.
func (c comparison) report(b *testing.B, prefix string) {
	b.ReportMetric(c.rpc.opsPerSec(), prefix+"-ops/s")
	b.ReportMetric(us(c.rpc.quantile(0.50)), prefix+"-p50-µs")
	b.ReportMetric(us(c.rpc.quantile(0.99)), prefix+"-p99-µs")
	b.ReportMetric(c.ceiling.opsPerSec(), prefix+"-ceiling-ops/s")
	b.ReportMetric(c.rpc.opsPerSec()/c.ceiling.opsPerSec(), prefix+"-ratio")
	b.Logf("%s: %.0f ops/s (p50 %s, p99 %s) against its server's empty RPC %.0f ops/s (p50 %s, p99 %s): ratio %.2f",
		prefix, c.rpc.opsPerSec(), round(c.rpc.quantile(0.50)), round(c.rpc.quantile(0.99)),
		c.ceiling.opsPerSec(), round(c.ceiling.quantile(0.50)), round(c.ceiling.quantile(0.99)), c.rpc.opsPerSec()/c.ceiling.opsPerSec())
}

// BenchmarkCeiling is the empty RPC (grpc.health.v1.Health/Check) on each of the six servers, one
// after the other: the most a server answers on this machine with 32 clients.
func BenchmarkCeiling(b *testing.B) {
	st := startSuite(b, suiteSQLite)
	ctx := context.Background()
	phase := rpcPhase(b) * time.Duration(rpcRounds(b))
	b.ResetTimer()
	for _, name := range suiteServices {
		f := healthCheck(healthpb.NewHealthClient(st.conn(name)))
		if _, err := runPhase(ctx, 32, phase/4, f); err != nil { // warm
			b.Fatalf("%s: %v", name, err)
		}
		res, err := runPhase(ctx, 32, phase, f)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		b.ReportMetric(res.opsPerSec(), name+"-ops/s")
		b.ReportMetric(us(res.quantile(0.50)), name+"-p50-µs")
		b.ReportMetric(us(res.quantile(0.99)), name+"-p99-µs")
		b.Logf("%s: empty RPC %.0f ops/s, p50 %s, p99 %s", name, res.opsPerSec(), round(res.quantile(0.50)), round(res.quantile(0.99)))
	}
	b.ReportMetric(0, "ns/op")
}

// suiteServices are the six services in the order the tables list them.
var suiteServices = []string{identity.Name, catalog.Name, orders.Name, subscriptions.Name, keys.Name, delegatedadmin.Name}

// BenchmarkAccessChecks is the two checks every tenant-scoped call depends on, asked over gRPC
// as a partner's own check (the demo partner's Admin agent), warm (each server has answered the
// same question before): delegatedadmin's CheckAccess for a customer whose Global admin approved
// a User administrator relationship (DA-6: allowed), and identity's CheckRelationship for the
// same customer (ID-4: active). Each against its own server's empty RPC.
func BenchmarkAccessChecks(b *testing.B) {
	st := startSuite(b, suiteSQLite)
	ctx := st.partnerCtx(context.Background())
	customerID, partnerID := approvedCustomer(b, st)

	da := delegatedadminv1.NewDelegatedAdminServiceClient(st.conn(delegatedadmin.Name))
	checkAccess := func(ctx context.Context, _ int) error {
		resp, err := da.CheckAccess(ctx, &delegatedadminv1.CheckAccessRequest{PartnerId: partnerID, CustomerId: customerID,
			Role: delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR})
		if err == nil && !resp.GetAllowed() {
			err = fmt.Errorf("CheckAccess denied: %s", resp.GetDenialReason())
		}
		return err
	}
	rels := identityv1.NewRelationshipServiceClient(st.conn(identity.Name))
	checkRelationship := func(ctx context.Context, _ int) error {
		resp, err := rels.CheckRelationship(ctx, &identityv1.CheckRelationshipRequest{PartnerId: partnerID, CustomerId: customerID})
		if err == nil && !resp.GetActive() {
			err = fmt.Errorf("CheckRelationship not active: %s", resp.GetDenialReason())
		}
		return err
	}
	b.ResetTimer()
	compare(ctx, b, 32, rpcRounds(b), rpcPhase(b), healthCheck(healthpb.NewHealthClient(st.conn(delegatedadmin.Name))), checkAccess).
		report(b, "checkaccess")
	compare(ctx, b, 32, rpcRounds(b), rpcPhase(b), healthCheck(healthpb.NewHealthClient(st.conn(identity.Name))), checkRelationship).
		report(b, "checkrelationship")
	b.ReportMetric(0, "ns/op")
}

// approvedCustomer creates a customer of the demo partner whose Global admin approved a User
// administrator relationship, and returns it with the partner's ID.
func approvedCustomer(b *testing.B, st *suite) (customerID, partnerID string) {
	b.Helper()
	ctx := st.partnerCtx(context.Background())
	tag := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	c, err := identityv1.NewCustomerServiceClient(st.conn(identity.Name)).CreateCustomer(ctx, &identityv1.CreateCustomerRequest{
		RequestId: uuid.NewString(), OrganisationName: "Bench Access " + tag, CountryCode: "DE", DomainPrefix: "access" + tag,
		Admin: &identityv1.InitialAdmin{DisplayName: "Bench IT", Email: "it@access-" + tag + ".example"}})
	if err != nil {
		b.Fatalf("CreateCustomer: %v", err)
	}
	tok, err := identityv1.NewTokenServiceClient(st.conn(identity.Name)).IssueToken(context.Background(), &identityv1.IssueTokenRequest{
		ClientId: c.GetAdminCredential().GetClientId(), ClientSecret: c.GetAdminClientSecret()})
	if err != nil {
		b.Fatalf("the customer admin's token: %v", err)
	}
	da := delegatedadminv1.NewDelegatedAdminServiceClient(st.conn(delegatedadmin.Name))
	rel, err := da.CreateRelationship(ctx, &delegatedadminv1.CreateRelationshipRequest{RequestId: uuid.NewString(),
		CustomerId: c.GetCustomer().GetCustomerId(), DurationDays: 180, Message: "bench",
		Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR}})
	if err != nil {
		b.Fatalf("CreateRelationship: %v", err)
	}
	if _, err := da.ApproveRelationship(withBearer(tok.GetAccessToken().GetToken()), &delegatedadminv1.ApproveRelationshipRequest{
		RequestId: uuid.NewString(), RelationshipId: rel.GetRelationship().GetRelationshipId()}); err != nil {
		b.Fatalf("ApproveRelationship: %v", err)
	}
	return c.GetCustomer().GetCustomerId(), c.GetRelationship().GetPartnerId()
}

// BenchmarkListSubscriptions lists the subscriptions of a customer with 300 of them (the tenant
// maximum, SU-13; placed as 300 orders), a page of 100 at a time, cycling through the three
// pages, against subscriptions' empty RPC; on both engines.
func BenchmarkListSubscriptions(b *testing.B) {
	b.Run("db=sqlite", func(b *testing.B) { benchListSubscriptions(b, suiteSQLite) })
	b.Run("db=postgres+redis", func(b *testing.B) { benchListSubscriptions(b, suitePostgres) })
}

const listSubscriptionsCount = 300 // SU-13's default tenant maximum

func benchListSubscriptions(b *testing.B, engine suiteEngine) {
	st := startSuite(b, engine)
	ctx := st.partnerCtx(context.Background())
	oc := &orderClient{st: st, orders: ordersv1.NewOrderServiceClient(st.conn(orders.Name)),
		customers: identityv1.NewCustomerServiceClient(st.conn(identity.Name))}
	customer := oc.newPool(b, ctx, 1).ids[0]
	n := pick(listSubscriptionsCount, 10) // whole pages only
	if _, err := oc.closedLoop(ctx, 16, time.Hour, &customerPool{ids: []string{customer}, limit: n}); err != nil {
		b.Fatalf("placing %d orders: %v%s", n, err, st.why())
	}
	subs := subscriptionsv1.NewSubscriptionServiceClient(st.conn(subscriptions.Name))
	pageSize := int32(pick(100, 5))
	// The page tokens of the three pages, read once; the benchmark cycles through them.
	var tokens []string
	for tok := ""; ; {
		tokens = append(tokens, tok)
		resp, err := subs.ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{CustomerId: customer, PageSize: pageSize, PageToken: tok})
		if err != nil {
			b.Fatalf("ListSubscriptions: %v", err)
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	if want := (n + int(pageSize) - 1) / int(pageSize); len(tokens) != want {
		b.Fatalf("%d subscriptions in pages of %d: %d pages, want %d", n, pageSize, len(tokens), want)
	}
	list := func(ctx context.Context, i int) error {
		resp, err := subs.ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{CustomerId: customer, PageSize: pageSize,
			PageToken: tokens[i%len(tokens)]})
		if err == nil && len(resp.GetSubscriptions()) != int(pageSize) {
			err = fmt.Errorf("a page of %d subscriptions, want %d", len(resp.GetSubscriptions()), pageSize)
		}
		return err
	}
	b.ResetTimer()
	c := compare(ctx, b, 32, rpcRounds(b), rpcPhase(b), healthCheck(healthpb.NewHealthClient(st.conn(subscriptions.Name))), list)
	c.report(b, "listsubscriptions")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOrdersScaling is PlaceOrder → COMPLETED throughput as the number of concurrent
// clients grows from 1 to 64 (a closed loop per step, as BenchmarkOrders' maximum), on both
// engines: where the suite saturates, and what the latency does past it.
func BenchmarkOrdersScaling(b *testing.B) {
	b.Run("db=sqlite", func(b *testing.B) { benchOrdersScaling(b, suiteSQLite) })
	b.Run("db=postgres+redis", func(b *testing.B) { benchOrdersScaling(b, suitePostgres) })
}

// scalingClients are the steps of BenchmarkOrdersScaling.
var scalingClients = []int{1, 2, 4, 8, 16, 32, 64}

func benchOrdersScaling(b *testing.B, engine suiteEngine) {
	phase := envDuration(b, "PARTNERHUB_BENCH_SCALING_PHASE", pick(3*time.Second, 300*time.Millisecond))
	steps := scalingClients
	if short() {
		steps = []int{1, 4}
	}
	st := startSuite(b, engine)
	oc := &orderClient{st: st, orders: ordersv1.NewOrderServiceClient(st.conn(orders.Name)),
		customers: identityv1.NewCustomerServiceClient(st.conn(identity.Name))}
	ctx := st.partnerCtx(context.Background())
	// Customers for every step, created before anything is measured: at most 600 orders/s.
	pool := oc.newPool(b, ctx, int(600*phase.Seconds())*len(steps))
	if _, err := oc.closedLoop(ctx, 8, phase/2, pool); err != nil { // warm
		b.Fatalf("warm-up: %v%s", err, st.why())
	}
	b.ResetTimer()
	var lines []string
	for _, clients := range steps {
		res, err := oc.closedLoop(ctx, clients, phase, pool)
		if err != nil {
			b.Fatalf("%d clients: %v%s", clients, err, st.why())
		}
		b.ReportMetric(res.completedPerSec(), fmt.Sprintf("c%d-orders/s", clients))
		b.ReportMetric(ms(res.total.quantile(0.50)), fmt.Sprintf("c%d-p50-ms", clients))
		b.ReportMetric(ms(res.total.quantile(0.99)), fmt.Sprintf("c%d-p99-ms", clients))
		lines = append(lines, fmt.Sprintf("%d clients: %.0f orders/s, → COMPLETED p50 %s p99 %s", clients, res.completedPerSec(),
			fmtMs(res.total.quantile(0.50)), fmtMs(res.total.quantile(0.99))))
	}
	b.ReportMetric(0, "ns/op")
	b.Logf("orders scaling, %s:\n%s", engine, strings.Join(lines, "\n"))
}

// withBearer is a context carrying a bearer token.
func withBearer(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}
