package server_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	testingv1 "github.com/partnerhub/partnerhub/gen/partnerhub/testing/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/server"
)

// secret appears in panics and causes; it must never reach a client.
const secret = "hunter2"

// catalog is a small CatalogService: each method shows one behaviour of the server.
type catalog struct {
	catalogv1.UnimplementedCatalogServiceServer
	entered chan struct{} // GetPrice: closed when the call is in the handler
	release chan struct{} // GetPrice: the handler returns when this is closed
}

// GetSku answers a domain error with reason and metadata.
func (c *catalog) GetSku(_ context.Context, req *catalogv1.GetSkuRequest) (*catalogv1.GetSkuResponse, error) {
	return nil, errs.NotFoundf("sku", req.GetSkuId())
}

// ListProducts panics.
func (c *catalog) ListProducts(context.Context, *catalogv1.ListProductsRequest) (*catalogv1.ListProductsResponse, error) {
	panic("boom: db password " + secret)
}

// ListSkus fails with an unexpected error.
func (c *catalog) ListSkus(context.Context, *catalogv1.ListSkusRequest) (*catalogv1.ListSkusResponse, error) {
	return nil, fmt.Errorf("query skus on postgres://partnerhub:%s@db: connection reset", secret)
}

// CheckAvailability refuses bad input with field violations.
func (c *catalog) CheckAvailability(context.Context, *catalogv1.CheckAvailabilityRequest) (*catalogv1.CheckAvailabilityResponse, error) {
	var v errs.Violations
	v.Add("sku_id", "required")
	v.Add("country_code", "must be ISO 3166-1 alpha-2")
	return nil, v.Err()
}

// GetProduct echoes who called and the request ID, as the handler sees them.
func (c *catalog) GetProduct(ctx context.Context, req *catalogv1.GetProductRequest) (*catalogv1.GetProductResponse, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetProductResponse{Product: &catalogv1.Product{
		ProductId: req.GetProductId(), DisplayName: p.Effective().Subject, Description: server.RequestID(ctx)}}, nil
}

// GetPrice waits for the test, for graceful stop.
func (c *catalog) GetPrice(context.Context, *catalogv1.GetPriceRequest) (*catalogv1.GetPriceResponse, error) {
	close(c.entered)
	<-c.release
	return &catalogv1.GetPriceResponse{AzureHybridBenefitMaxSavingPercent: 40}, nil
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// keys: "k1" is published; forger signs with another key under the same ID.
type keys struct{ published, forger, unknown auth.SigningKey }

func newKeys(t *testing.T) keys {
	t.Helper()
	gen := func(id string) auth.SigningKey {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		return auth.SigningKey{ID: id, Private: priv}
	}
	return keys{gen("k1"), gen("k1"), gen("k9")}
}

type testServer struct {
	srv     *server.Server
	conn    *grpc.ClientConn
	keys    keys
	logs    *observer.ObservedLogs
	catalog *catalog
	ready   atomic.Pointer[error] // what Config.Ready answers
	cancel  context.CancelFunc
	done    chan error // Run's result
}

// start runs a real server on 127.0.0.1:0 (admin too) with the ClockService, a CatalogService,
// and, unimplemented, CatalogAdminService, EntitlementService and EventService; and dials it.
func start(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{keys: newKeys(t), catalog: &catalog{entered: make(chan struct{}), release: make(chan struct{})}}
	core, logs := observer.New(zap.InfoLevel)
	ts.logs = logs
	verifier := auth.NewVerifier(auth.StaticKeys{"k1": ts.keys.published.Private.Public().(ed25519.PublicKey)}, time.Now)
	srv, err := server.New(server.Config{
		Name:      "servertest",
		GRPCAddr:  "127.0.0.1:0",
		AdminAddr: "127.0.0.1:0",
		Logger:    zap.New(core),
		Verifier:  verifier,
		Register: func(gs *grpc.Server) {
			testingv1.RegisterClockServiceServer(gs, clock.NewService(clock.NewFake(t0)))
			catalogv1.RegisterCatalogServiceServer(gs, ts.catalog)
			catalogv1.RegisterCatalogAdminServiceServer(gs, catalogv1.UnimplementedCatalogAdminServiceServer{})
			keysv1.RegisterEntitlementServiceServer(gs, keysv1.UnimplementedEntitlementServiceServer{})
			subscriptionsv1.RegisterEventServiceServer(gs, subscriptionsv1.UnimplementedEventServiceServer{})
		},
		Ready: func(context.Context) error {
			if p := ts.ready.Load(); p != nil {
				return *p
			}
			return nil
		},
		StopTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	ts.done = make(chan error, 1)
	go func() { ts.done <- srv.Run(ctx) }()

	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ts.conn = conn
	t.Cleanup(func() {
		conn.Close()
		cancel()
		select {
		case <-ts.catalog.release:
		default:
			close(ts.catalog.release)
		}
		if err := <-ts.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ts
}

// ctx returns a call context with a bearer token for p (none when p is nil).
func (ts *testServer) ctx(t *testing.T, p *auth.Principal) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if p == nil {
		return ctx
	}
	return withToken(ctx, token(t, ts.keys.published, *p, time.Now(), 15*time.Minute))
}

func token(t *testing.T, k auth.SigningKey, p auth.Principal, now time.Time, ttl time.Duration) string {
	t.Helper()
	tok, err := auth.Sign(k, p, now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

var (
	adminAgent   = auth.Principal{Subject: "u-admin", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	billingAgent = auth.Principal{Subject: "u-bill", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.BillingAgent}}
	customerGA   = auth.Principal{Subject: "c-ga", OrgID: "t-1", OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
	customerUser = auth.Principal{Subject: "c-user", OrgID: "t-1", OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerUser}}
)

func serviceFor(obo *auth.Principal) *auth.Principal {
	return &auth.Principal{Subject: "orders", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: obo}
}

// rpc is one call of the suite, returning its error.
type rpc struct {
	name string
	call func(context.Context, *grpc.ClientConn) error
}

var (
	getSku = rpc{"CatalogService/GetSku", func(ctx context.Context, c *grpc.ClientConn) error {
		_, err := catalogv1.NewCatalogServiceClient(c).GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: "CFQ7TTC0LH18:0001"})
		return err
	}}
	getProduct = rpc{"CatalogService/GetProduct", func(ctx context.Context, c *grpc.ClientConn) error {
		_, err := catalogv1.NewCatalogServiceClient(c).GetProduct(ctx, &catalogv1.GetProductRequest{ProductId: "CFQ7TTC0LH18"})
		return err
	}}
	revealKey = rpc{"EntitlementService/RevealKey", func(ctx context.Context, c *grpc.ClientConn) error {
		_, err := keysv1.NewEntitlementServiceClient(c).RevealKey(ctx, &keysv1.RevealKeyRequest{KeyId: "key-1"})
		return err
	}}
	importCatalog = rpc{"CatalogAdminService/ImportCatalog", func(ctx context.Context, c *grpc.ClientConn) error {
		_, err := catalogv1.NewCatalogAdminServiceClient(c).ImportCatalog(ctx, &catalogv1.ImportCatalogRequest{})
		return err
	}}
	watchEvents = rpc{"EventService/WatchEvents (server stream)", func(ctx context.Context, c *grpc.ClientConn) error {
		s, err := subscriptionsv1.NewEventServiceClient(c).WatchEvents(ctx, &subscriptionsv1.WatchEventsRequest{})
		if err != nil {
			return err
		}
		_, err = s.Recv()
		return err
	}}
)

// assertStatus checks code, and the ErrorInfo reason (domain partnerhub.dev) when reason is set.
func assertStatus(t *testing.T, err error, code codes.Code, reason errs.Reason) *errdetails.ErrorInfo {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("err = %v, not a status", err)
	}
	if st.Code() != code {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), code)
	}
	var ei *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if e, ok := d.(*errdetails.ErrorInfo); ok {
			ei = e
		}
	}
	if reason == "" {
		return ei
	}
	if ei == nil {
		t.Fatalf("no ErrorInfo in %v", st.Proto())
	}
	if ei.GetReason() != string(reason) || ei.GetDomain() != errs.Domain {
		t.Fatalf("ErrorInfo = %s/%s, want %s/%s", ei.GetDomain(), ei.GetReason(), errs.Domain, reason)
	}
	return ei
}

// Acceptance 5: no token → UNAUTHENTICATED.
func TestAuth_NoToken_Unauthenticated(t *testing.T) {
	ts := start(t)
	for _, r := range []rpc{getSku, getProduct, revealKey, importCatalog, watchEvents} {
		t.Run(r.name, func(t *testing.T) {
			err := r.call(ts.ctx(t, nil), ts.conn)
			assertStatus(t, err, codes.Unauthenticated, errs.ReasonTokenMissing)
			// The app layer of a calling service sees the same through errs.FromError.
			if !errs.HasReason(errs.FromError(err), errs.ReasonTokenMissing) {
				t.Errorf("FromError lost the reason: %v", errs.FromError(err))
			}
		})
	}
}

// Acceptance 5: forged token → UNAUTHENTICATED.
func TestAuth_ForgedToken_Unauthenticated(t *testing.T) {
	ts := start(t)
	now := time.Now()
	tests := []struct {
		name   string
		authz  string // the whole authorization header
		reason errs.Reason
	}{
		{"signed by a key identity never published (same kid)", "Bearer " + token(t, ts.keys.forger, adminAgent, now, time.Hour), errs.ReasonTokenInvalid},
		{"signed by an unknown kid", "Bearer " + token(t, ts.keys.unknown, adminAgent, now, time.Hour), errs.ReasonTokenInvalid},
		{"tampered roles", "Bearer " + tamperRoles(t, token(t, ts.keys.published, billingAgent, now, time.Hour)), errs.ReasonTokenInvalid},
		{"not a JWT", "Bearer not-a-token", errs.ReasonTokenInvalid},
		{"not bearer", "Basic dXNlcjpwYXNz", errs.ReasonTokenInvalid},
		{"expired", "Bearer " + token(t, ts.keys.published, adminAgent, now.Add(-2*time.Hour), time.Hour), errs.ReasonTokenExpired},
	}
	for _, tt := range tests {
		for _, r := range []rpc{getProduct, revealKey, watchEvents} {
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				ctx := metadata.AppendToOutgoingContext(ts.ctx(t, nil), "authorization", tt.authz)
				err := r.call(ctx, ts.conn)
				assertStatus(t, err, codes.Unauthenticated, tt.reason)
			})
		}
	}
}

// tamperRoles rewrites the payload of a signed token to claim ADMIN_AGENT.
func tamperRoles(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	body := `{"iss":"partnerhub-identity","aud":["partnerhub"],"sub":"u-bill","org_id":"p-1","org_kind":"PARTNER","roles":["ADMIN_AGENT"],"exp":` +
		fmt.Sprint(time.Now().Add(time.Hour).Unix()) + `}`
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(body))
	return strings.Join(parts, ".")
}

// Acceptance 5: missing role → PERMISSION_DENIED with its reason.
func TestAuth_MissingRole_PermissionDenied(t *testing.T) {
	ts := start(t)
	tests := []struct {
		name     string
		r        rpc
		p        *auth.Principal
		reason   errs.Reason
		required string // metadata required_roles, when the reason is ROLE_REQUIRED
	}{
		{"billing agent reveals a key", revealKey, &billingAgent, errs.ReasonRoleRequired, "ADMIN_AGENT,CUSTOMER_GLOBAL_ADMIN"},
		{"customer user reveals a key", revealKey, &customerUser, errs.ReasonRoleRequired, "ADMIN_AGENT,CUSTOMER_GLOBAL_ADMIN"},
		{"service on behalf of a billing agent reveals a key", revealKey, serviceFor(&billingAgent), errs.ReasonRoleRequired, "ADMIN_AGENT,CUSTOMER_GLOBAL_ADMIN"},
		{"service alone reveals a key", revealKey, serviceFor(nil), errs.ReasonRoleRequired, "ADMIN_AGENT,CUSTOMER_GLOBAL_ADMIN"},
		{"customer user watches events", watchEvents, &customerUser, errs.ReasonRoleRequired,
			"SERVICE,ADMIN_AGENT,SALES_AGENT,BILLING_AGENT,ACCOUNT_ADMIN,GLOBAL_ADMIN,CUSTOMER_GLOBAL_ADMIN"},
		{"admin agent imports the catalog (service only)", importCatalog, &adminAgent, errs.ReasonServiceTokenRequired, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.call(ts.ctx(t, tt.p), ts.conn)
			ei := assertStatus(t, err, codes.PermissionDenied, tt.reason)
			if tt.required != "" && ei.GetMetadata()["required_roles"] != tt.required {
				t.Errorf("required_roles = %q, want %q", ei.GetMetadata()["required_roles"], tt.required)
			}
		})
	}
}

// Acceptance 5 (the other side): the right role passes authentication and reaches the handler,
// which answers (UNIMPLEMENTED for the services registered unimplemented).
func TestAuth_RightRole_ReachesHandler(t *testing.T) {
	ts := start(t)
	tests := []struct {
		name string
		r    rpc
		p    *auth.Principal
		code codes.Code
	}{
		{"admin agent reveals a key", revealKey, &adminAgent, codes.Unimplemented},
		{"customer global admin reveals a key", revealKey, &customerGA, codes.Unimplemented},
		{"service on behalf of an admin agent reveals a key", revealKey, serviceFor(&adminAgent), codes.Unimplemented},
		{"service imports the catalog", importCatalog, serviceFor(nil), codes.Unimplemented},
		{"billing agent watches events", watchEvents, &billingAgent, codes.Unimplemented},
		{"customer user reads a product", getProduct, &customerUser, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.call(ts.ctx(t, tt.p), ts.conn)
			if tt.code == codes.OK {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				return
			}
			assertStatus(t, err, tt.code, "")
		})
	}
}

func TestHandler_SeesPrincipalAndRequestID(t *testing.T) {
	ts := start(t)
	client := catalogv1.NewCatalogServiceClient(ts.conn)
	tests := []struct {
		name      string
		p         *auth.Principal
		requestID string // sent; "" lets the server make one
		subject   string // the effective principal the handler sees
	}{
		{"user, request ID sent", &customerUser, "req-42", "c-user"},
		{"service acting for an admin, request ID generated", serviceFor(&adminAgent), "", "u-admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ts.ctx(t, tt.p)
			if tt.requestID != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, tt.requestID)
			}
			var header metadata.MD
			resp, err := client.GetProduct(ctx, &catalogv1.GetProductRequest{ProductId: "P1"}, grpc.Header(&header))
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetProduct().GetDisplayName(); got != tt.subject {
				t.Errorf("handler saw principal %q, want %q", got, tt.subject)
			}
			echoed := header.Get(server.RequestIDHeader)
			if len(echoed) != 1 || echoed[0] == "" || echoed[0] != resp.GetProduct().GetDescription() {
				t.Errorf("x-request-id header %v, handler saw %q", echoed, resp.GetProduct().GetDescription())
			}
			if tt.requestID != "" && echoed[0] != tt.requestID {
				t.Errorf("request ID = %q, want the one sent %q", echoed[0], tt.requestID)
			}
		})
	}
}

// Health and reflection need no token (and neither does a public RPC).
func TestPublic_HealthReflectionWithoutToken(t *testing.T) {
	ts := start(t)
	ctx := ts.ctx(t, nil)

	for _, svc := range []string{"", "partnerhub.catalog.v1.CatalogService", "partnerhub.keys.v1.EntitlementService"} {
		resp, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health Check(%q): %v", svc, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health Check(%q) = %v, want SERVING", svc, resp.GetStatus())
		}
	}

	stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection list: %v", err)
	}
	_ = stream.CloseSend()
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"grpc.health.v1.Health", "partnerhub.testing.v1.ClockService",
		"partnerhub.catalog.v1.CatalogService", "partnerhub.catalog.v1.CatalogAdminService",
		"partnerhub.keys.v1.EntitlementService", "partnerhub.subscriptions.v1.EventService"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}

	got, err := testingv1.NewClockServiceClient(ts.conn).GetTime(ctx, &testingv1.GetTimeRequest{})
	if err != nil || !got.GetNow().AsTime().Equal(t0) {
		t.Errorf("public ClockService.GetTime = %v, %v", got, err)
	}
}

func TestHandlerPanic_InternalLeaksNothing_ServerKeepsServing(t *testing.T) {
	ts := start(t)
	client := catalogv1.NewCatalogServiceClient(ts.conn)
	for range 2 { // and again: the server survived the first
		_, err := client.ListProducts(ts.ctx(t, &customerUser), &catalogv1.ListProductsRequest{})
		assertStatus(t, err, codes.Internal, errs.ReasonInternal)
		st, _ := status.FromError(err)
		if st.Message() != "internal error" || strings.Contains(fmt.Sprint(st.Proto()), secret) ||
			strings.Contains(fmt.Sprint(st.Proto()), "boom") {
			t.Errorf("panic leaks to the client: %v", st.Proto())
		}
	}
	if _, err := client.GetProduct(ts.ctx(t, &customerUser), &catalogv1.GetProductRequest{ProductId: "P1"}); err != nil {
		t.Errorf("after a panic: %v", err)
	}
	// The panic is logged server-side, with its value and a request ID.
	logged := ts.logs.FilterMessage("panic in handler").All()
	if len(logged) != 2 || !strings.Contains(fmt.Sprint(logged[0].ContextMap()["panic"]), secret) ||
		logged[0].ContextMap()["request_id"] == "" {
		t.Errorf("panic log entries = %v", logged)
	}
}

func TestHandlerUnexpectedError_InternalLeaksNothing(t *testing.T) {
	ts := start(t)
	_, err := catalogv1.NewCatalogServiceClient(ts.conn).ListSkus(ts.ctx(t, &customerUser), &catalogv1.ListSkusRequest{})
	assertStatus(t, err, codes.Internal, errs.ReasonInternal)
	if st, _ := status.FromError(err); st.Message() != "internal error" || strings.Contains(fmt.Sprint(st.Proto()), secret) {
		t.Errorf("cause leaks to the client: %v", st.Proto())
	}
	logged := ts.logs.FilterMessage("unexpected error").All()
	if len(logged) != 1 || !strings.Contains(fmt.Sprint(logged[0].ContextMap()["error"]), secret) ||
		logged[0].ContextMap()["method"] != "/partnerhub.catalog.v1.CatalogService/ListSkus" {
		t.Errorf("the cause is not logged server-side: %v", logged)
	}
}

func TestHandlerErrsError_ArrivesAsCodeAndErrorInfo(t *testing.T) {
	ts := start(t)
	client := catalogv1.NewCatalogServiceClient(ts.conn)

	_, err := client.GetSku(ts.ctx(t, &customerUser), &catalogv1.GetSkuRequest{SkuId: "CFQ7TTC0LH18:0009"})
	ei := assertStatus(t, err, codes.NotFound, errs.ReasonResourceNotFound)
	if md := ei.GetMetadata(); md["resource"] != "sku" || md["id"] != "CFQ7TTC0LH18:0009" {
		t.Errorf("metadata = %v", md)
	}
	back, ok := errs.As(errs.FromError(err))
	if !ok || back.Kind != errs.NotFound || !errors.Is(back, errs.NotFoundf("sku", "")) {
		t.Errorf("FromError = %v", back)
	}

	_, err = client.CheckAvailability(ts.ctx(t, &customerUser), &catalogv1.CheckAvailabilityRequest{})
	assertStatus(t, err, codes.InvalidArgument, errs.ReasonInvalidRequest)
	st, _ := status.FromError(err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if !slices.Equal(fields, []string{"sku_id", "country_code"}) {
		t.Errorf("BadRequest fields = %v", fields)
	}

	// A public RPC's domain error too: the fake clock refuses to move backwards.
	_, err = testingv1.NewClockServiceClient(ts.conn).SetTime(ts.ctx(t, nil),
		&testingv1.SetTimeRequest{Time: timestamppb.New(t0.Add(-time.Hour))})
	ei = assertStatus(t, err, codes.FailedPrecondition, errs.ReasonClockBackwards)
	if ei.GetMetadata()["now"] != t0.Format(time.RFC3339Nano) {
		t.Errorf("CLOCK_BACKWARDS metadata = %v", ei.GetMetadata())
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAdmin_HealthzAndMetrics(t *testing.T) {
	ts := start(t)
	base := "http://" + ts.srv.AdminAddr()

	// Run sets SERVING before it serves; make sure it did before reading /healthz.
	if _, err := healthpb.NewHealthClient(ts.conn).Check(ts.ctx(t, nil), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	down := errors.New("database is locked")
	ts.ready.Store(&down)
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database is locked") {
		t.Errorf("/healthz with a failing dependency = %d %q, want 503", code, body)
	}
	ts.ready.Store(nil)

	_ = getSku.call(ts.ctx(t, nil), ts.conn) // one UNAUTHENTICATED call to count
	code, body := httpGet(t, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, "grpc_server_handled_total") {
		t.Fatalf("/metrics = %d, lacks grpc_server_handled_total", code)
	}
	counted := false
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "grpc_server_handled_total{") && strings.Contains(line, `grpc_code="Unauthenticated"`) &&
			strings.Contains(line, `grpc_method="GetSku"`) && strings.HasSuffix(line, " 1") {
			counted = true
		}
	}
	if !counted {
		t.Error("/metrics does not count the UNAUTHENTICATED GetSku call")
	}
	for _, want := range []string{"grpc_server_handling_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// registerNoRuleContract registers a contract whose service declares no access rule, as a new
// RPC would look if its author forgot the option. Every generated partnerhub service has rules
// (pkg/auth's TestPolicyFromContracts_EveryMethodHasARule), so the test makes its own.
func registerNoRuleContract(t *testing.T) grpc.ServiceDesc {
	t.Helper()
	const file = "partnerhub/servertest/v1/norule.proto"
	if _, err := protoregistry.GlobalFiles.FindFileByPath(file); err != nil {
		fdp := &descriptorpb.FileDescriptorProto{
			Name: proto.String(file), Package: proto.String("partnerhub.servertest.v1"), Syntax: proto.String("proto3"),
			MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Empty")}},
			Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("NoRuleService"),
				Method: []*descriptorpb.MethodDescriptorProto{{Name: proto.String("Expose"),
					InputType: proto.String(".partnerhub.servertest.v1.Empty"), OutputType: proto.String(".partnerhub.servertest.v1.Empty")}}}},
		}
		fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
		if err != nil {
			t.Fatal(err)
		}
		if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
			t.Fatal(err)
		}
	}
	return serviceDesc("partnerhub.servertest.v1.NoRuleService", "Expose")
}

func serviceDesc(name, method string) grpc.ServiceDesc {
	return grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: method,
			Handler: func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
				return nil, errors.New("must never be served")
			}}},
	}
}

func TestNew_Refuses(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.Addr().String()
	verifier := auth.NewVerifier(auth.StaticKeys{}, time.Now)
	noRule := registerNoRuleContract(t)
	ghost := serviceDesc("partnerhub.servertest.v1.GhostService", "Haunt")

	tests := []struct {
		name    string
		cfg     server.Config
		wantErr []string
	}{
		{"a service without access rules", server.Config{Name: "x", GRPCAddr: "127.0.0.1:0", Verifier: verifier,
			Register: func(gs *grpc.Server) { gs.RegisterService(&noRule, struct{}{}) }},
			[]string{"/partnerhub.servertest.v1.NoRuleService/Expose", "partnerhub.common.v1.access"}},
		{"a service without a contract", server.Config{Name: "x", GRPCAddr: "127.0.0.1:0", Verifier: verifier,
			Register: func(gs *grpc.Server) { gs.RegisterService(&ghost, struct{}{}) }},
			[]string{"partnerhub.servertest.v1.GhostService"}},
		{"gRPC port in use", server.Config{Name: "catalog", GRPCAddr: busy, Verifier: verifier},
			[]string{"catalog", "gRPC", busy}},
		{"admin port in use", server.Config{Name: "catalog", GRPCAddr: "127.0.0.1:0", AdminAddr: busy, Verifier: verifier},
			[]string{"catalog", "admin", busy}},
		{"no verifier", server.Config{Name: "x", GRPCAddr: "127.0.0.1:0"}, []string{"Verifier"}},
		{"bad address", server.Config{Name: "x", GRPCAddr: "127.0.0.1:notaport", Verifier: verifier}, []string{"127.0.0.1:notaport"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := server.New(tt.cfg)
			if err == nil {
				stopNow(t, srv)
				t.Fatal("New succeeded")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// stopNow runs and stops a server that a test built but does not use, releasing its ports.
func stopNow(t *testing.T, srv *server.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Run(ctx); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRun_GracefulStop(t *testing.T) {
	ts := start(t)
	client := catalogv1.NewCatalogServiceClient(ts.conn)
	type result struct {
		resp *catalogv1.GetPriceResponse
		err  error
	}
	inFlight := make(chan result, 1)
	ctx := ts.ctx(t, &customerUser)
	go func() {
		resp, err := client.GetPrice(ctx, &catalogv1.GetPriceRequest{SkuId: "S"})
		inFlight <- result{resp, err}
	}()
	<-ts.catalog.entered

	ts.cancel() // stop: the call in flight may finish
	close(ts.catalog.release)
	r := <-inFlight
	if r.err != nil || r.resp.GetAzureHybridBenefitMaxSavingPercent() != 40 {
		t.Errorf("in-flight call during graceful stop = %v, %v", r.resp, r.err)
	}
	if err := <-ts.done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	ts.done <- nil // for the cleanup

	// Stopped: a new call is refused, the admin port is closed.
	if err := probeHealth(t, ts.srv.GRPCAddr()); status.Code(err) != codes.Unavailable {
		t.Errorf("health after stop = %v, want UNAVAILABLE", err)
	}
	if resp, err := http.Get("http://" + ts.srv.AdminAddr() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("admin port still answers after stop: %s", resp.Status)
	}
}

func probeHealth(t *testing.T, addr string) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// Every call but health checks leaves one access-log line when it finishes, with its method, code,
// duration and request ID, at INFO for a refused request and at the level of the code otherwise.
func TestAccessLog_OneLinePerCall(t *testing.T) {
	ts := start(t)
	client := catalogv1.NewCatalogServiceClient(ts.conn)
	ctx := metadata.AppendToOutgoingContext(ts.ctx(t, &customerUser), server.RequestIDHeader, "req-log-1")
	if _, err := client.GetProduct(ctx, &catalogv1.GetProductRequest{ProductId: "P1"}); err != nil {
		t.Fatal(err)
	}
	_, err := client.GetProduct(ts.ctx(t, nil), &catalogv1.GetProductRequest{ProductId: "P1"})
	assertStatus(t, err, codes.Unauthenticated, "")
	if err := probeHealth(t, ts.srv.GRPCAddr()); err != nil {
		t.Fatal(err)
	}

	lines := ts.logs.FilterMessage("finished call").All()
	if len(lines) != 2 {
		t.Fatalf("%d access-log lines, want 2 (health checks are not logged): %v", len(lines), lines)
	}
	for i, want := range []struct{ code, requestID string }{{"OK", "req-log-1"}, {"Unauthenticated", ""}} {
		got := lines[i].ContextMap()
		if lines[i].Level != zap.InfoLevel || got["grpc.method"] != "GetProduct" || got["grpc.code"] != want.code {
			t.Errorf("line %d = %v %v, want INFO GetProduct %s", i, lines[i].Level, got, want.code)
		}
		if _, ok := got["grpc.time_ms"]; !ok {
			t.Errorf("line %d has no grpc.time_ms: %v", i, got)
		}
		if want.requestID != "" && got["request_id"] != want.requestID {
			t.Errorf("line %d request_id = %v, want %s", i, got["request_id"], want.requestID)
		}
	}
}

// Below the logger's level the access log costs no entry: a service at "warn" logs no successful
// call.
func TestAccessLog_BelowLevelNothing(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	srv, err := server.New(server.Config{
		Name: "servertest", GRPCAddr: "127.0.0.1:0", Logger: zap.New(core),
		Verifier: auth.NewVerifier(auth.StaticKeys{}, time.Now),
		Register: func(gs *grpc.Server) {
			testingv1.RegisterClockServiceServer(gs, clock.NewService(clock.NewFake(t0)))
		},
		StopTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := testingv1.NewClockServiceClient(conn).GetTime(ctx, &testingv1.GetTimeRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := logs.Len(); n != 0 {
		t.Errorf("%d lines logged at warn level for a successful call: %v", n, logs.All())
	}
}
