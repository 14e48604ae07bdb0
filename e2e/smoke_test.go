package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
)

// wantServices is what reflection must list on each server.
var wantServices = map[string][]string{
	"identity": {"partnerhub.identity.v1.CustomerService", "partnerhub.identity.v1.PartnerService",
		"partnerhub.identity.v1.RelationshipService", "partnerhub.identity.v1.TokenService", "partnerhub.identity.v1.UserService"},
	"catalog": {"partnerhub.catalog.v1.CatalogAdminService", "partnerhub.catalog.v1.CatalogService"},
	"orders": {"partnerhub.orders.v1.LedgerService", "partnerhub.orders.v1.OrderService",
		"partnerhub.orders.v1.RedemptionService", "partnerhub.orders.v1.SupportRequestService"},
	"subscriptions": {"partnerhub.subscriptions.v1.EventService", "partnerhub.subscriptions.v1.ProvisioningService",
		"partnerhub.subscriptions.v1.SubscriptionService", "partnerhub.subscriptions.v1.TransferService"},
	"keys":           {"partnerhub.keys.v1.ActivityLogService", "partnerhub.keys.v1.EntitlementService", "partnerhub.keys.v1.ProductKeyService"},
	"delegatedadmin": {"partnerhub.delegatedadmin.v1.DelegatedAdminService"},
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// demoToken gets a token for the demo Admin agent from identity, the real way.
func demoToken(t *testing.T) string {
	t.Helper()
	return signIn(ctxT(t), t, "demo-admin", demoSecret)
}

// signIn exchanges an API credential for a user token at identity.
func signIn(ctx context.Context, t *testing.T, clientID, secret string) string {
	t.Helper()
	resp, err := identityv1.NewTokenServiceClient(stack.Conn("identity")).IssueToken(ctx,
		&identityv1.IssueTokenRequest{ClientId: clientID, ClientSecret: secret})
	if err != nil {
		t.Fatalf("IssueToken %s: %v", clientID, err)
	}
	return resp.GetAccessToken().GetToken()
}

// operatorToken is a SERVICE token of the operator credential (svc_operator), for operator RPCs
// such as CreatePartner and the catalog's admin writes.
func operatorToken(ctx context.Context, t *testing.T) string {
	t.Helper()
	resp, err := identityv1.NewTokenServiceClient(stack.Conn("identity")).IssueServiceToken(ctx,
		&identityv1.IssueServiceTokenRequest{ClientId: "svc_operator", ClientSecret: operatorSecret})
	if err != nil {
		t.Fatalf("IssueServiceToken svc_operator: %v", err)
	}
	return resp.GetAccessToken().GetToken()
}

// calls is one authenticated call per service, each allowed to a partner Admin agent by the
// RPC's access rule; behind authentication the foundation answers UNIMPLEMENTED where the
// context's issue has not landed yet.
func calls() map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"identity": func(ctx context.Context) error {
			_, err := identityv1.NewPartnerServiceClient(stack.Conn("identity")).GetPartner(ctx,
				&identityv1.GetPartnerRequest{PartnerId: "00000000-0000-4000-8000-00000000d001"})
			return err
		},
		"catalog": func(ctx context.Context) error {
			_, err := catalogv1.NewCatalogServiceClient(stack.Conn("catalog")).ListProducts(ctx, &catalogv1.ListProductsRequest{})
			return err
		},
		"orders": func(ctx context.Context) error {
			_, err := ordersv1.NewOrderServiceClient(stack.Conn("orders")).ListOrders(ctx, &ordersv1.ListOrdersRequest{})
			return err
		},
		"subscriptions": func(ctx context.Context) error {
			_, err := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions")).ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{})
			return err
		},
		"keys": func(ctx context.Context) error {
			_, err := keysv1.NewEntitlementServiceClient(stack.Conn("keys")).ListSoftware(ctx, &keysv1.ListSoftwareRequest{})
			return err
		},
		"delegatedadmin": func(ctx context.Context) error {
			_, err := delegatedadminv1.NewDelegatedAdminServiceClient(stack.Conn("delegatedadmin")).ListRelationships(ctx, &delegatedadminv1.ListRelationshipsRequest{})
			return err
		},
	}
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func TestSmoke_EveryServiceHealthy(t *testing.T) {
	for _, sp := range specs {
		resp, err := healthpb.NewHealthClient(stack.Conn(sp.name)).Check(ctxT(t), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s health = %v, %v; want SERVING", sp.name, resp.GetStatus(), err)
		}
	}
}

func TestSmoke_ReflectionListsEveryService(t *testing.T) {
	for _, sp := range specs {
		stream, err := reflectionpb.NewServerReflectionClient(stack.Conn(sp.name)).ServerReflectionInfo(ctxT(t))
		if err != nil {
			t.Fatalf("%s reflection: %v", sp.name, err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatalf("%s reflection send: %v", sp.name, err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("%s reflection recv: %v", sp.name, err)
		}
		var got []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			got = append(got, s.GetName())
		}
		for _, want := range append(wantServices[sp.name], "grpc.health.v1.Health") {
			if !slices.Contains(got, want) {
				t.Errorf("%s reflection lists %v; missing %s", sp.name, got, want)
			}
		}
	}
}

func TestSmoke_TokenFromIdentityAcceptedEverywhere(t *testing.T) {
	token := demoToken(t)
	for name, call := range calls() {
		err := call(withToken(ctxT(t), token))
		switch c := status.Code(err); c {
		case codes.Unauthenticated, codes.PermissionDenied, codes.Unavailable, codes.Internal:
			t.Errorf("%s with identity's token: %v; want the call past authentication", name, err)
		}
	}
}

func TestSmoke_NoToken_Unauthenticated(t *testing.T) {
	for name, call := range calls() {
		err := call(ctxT(t))
		if status.Code(err) != codes.Unauthenticated || reasonOf(err) != "TOKEN_MISSING" {
			t.Errorf("%s without a token: %v; want UNAUTHENTICATED / TOKEN_MISSING", name, err)
		}
	}
}

func TestSmoke_ForgedToken_Unauthenticated(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	p := auth.Principal{Subject: "00000000-0000-4000-8000-00000000d002", OrgID: "00000000-0000-4000-8000-00000000d001",
		OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent, auth.BillingAgent, auth.AccountAdmin}}
	// Same claims a real token carries, signed by a key identity never published — once under an
	// unknown key ID and once claiming the ID of identity's real key.
	for _, kid := range []string{"forged-key", mustKid(t)} {
		forged, err := auth.Sign(auth.SigningKey{ID: kid, Private: priv}, p, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for name, call := range calls() {
			err := call(withToken(ctxT(t), forged))
			if status.Code(err) != codes.Unauthenticated || reasonOf(err) != "TOKEN_INVALID" {
				t.Errorf("%s with a forged token (kid %s): %v; want UNAUTHENTICATED / TOKEN_INVALID", name, kid, err)
			}
		}
	}
}

func mustKid(t *testing.T) string {
	resp, err := identityv1.NewTokenServiceClient(stack.Conn("identity")).GetSigningKeys(ctxT(t), &identityv1.GetSigningKeysRequest{})
	if err != nil || len(resp.GetKeys()) == 0 {
		t.Fatalf("GetSigningKeys: %v (%d keys)", err, len(resp.GetKeys()))
	}
	return resp.GetKeys()[0].GetKeyId()
}

func TestSmoke_MissingRole_PermissionDenied(t *testing.T) {
	// The demo user is an Admin agent (and Sales agent): invoices are for Billing agents and
	// Account admins only (DOMAIN.md role table).
	ctx := withToken(ctxT(t), demoToken(t))
	_, err := ordersv1.NewLedgerServiceClient(stack.Conn("orders")).GetInvoicePreview(ctx, &ordersv1.GetInvoicePreviewRequest{})
	if status.Code(err) != codes.PermissionDenied || reasonOf(err) != "ROLE_REQUIRED" {
		t.Errorf("GetInvoicePreview as Admin agent: %v; want PERMISSION_DENIED / ROLE_REQUIRED", err)
	}
}
