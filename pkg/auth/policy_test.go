package auth_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	_ "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	_ "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	_ "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	_ "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	_ "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	_ "github.com/partnerhub/partnerhub/gen/partnerhub/testing/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// contractServices returns every partnerhub service in the generated code, by full name, with
// its methods, as grpc.Server.GetServiceInfo would list them once registered.
func contractServices(t *testing.T) map[string]grpc.ServiceInfo {
	t.Helper()
	out := map[string]grpc.ServiceInfo{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "partnerhub.") || strings.HasPrefix(string(fd.Package()), "partnerhub.authtest.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			info := grpc.ServiceInfo{}
			for j := range sd.Methods().Len() {
				m := sd.Methods().Get(j)
				info.Methods = append(info.Methods, grpc.MethodInfo{Name: string(m.Name()),
					IsClientStream: m.IsStreamingClient(), IsServerStream: m.IsStreamingServer()})
			}
			out[string(sd.FullName())] = info
		}
		return true
	})
	return out
}

func TestPolicyFromContracts_EveryMethodHasARule(t *testing.T) {
	services := contractServices(t)
	// Guard against a vacuous pass: every context's package contributes services.
	for _, pkg := range []string{"catalog", "delegatedadmin", "identity", "keys", "orders", "subscriptions", "testing"} {
		if !slices.ContainsFunc(mapsKeys(services), func(s string) bool { return strings.HasPrefix(s, "partnerhub."+pkg+".v1.") }) {
			t.Errorf("no service of partnerhub.%s.v1 found: is its gen package imported?", pkg)
		}
	}
	p, err := auth.PolicyFromContracts(services)
	if err != nil {
		t.Fatalf("PolicyFromContracts: %v", err)
	}
	n := 0
	for name, info := range services {
		for _, m := range info.Methods {
			n++
			full := "/" + name + "/" + m.Name
			r, ok := p[full]
			if !ok {
				t.Errorf("%s: no rule", full)
				continue
			}
			if r.Public && (r.ServiceOnly || len(r.Roles) > 0) {
				t.Errorf("%s: public rule also restricts callers: %+v", full, r)
			}
			for _, role := range r.Roles {
				if auth.ProtoRole(role) == commonv1.Role_ROLE_UNSPECIFIED {
					t.Errorf("%s: rule names role %q, not a contract role", full, role)
				}
			}
		}
	}
	if len(p) != n {
		t.Errorf("policy has %d rules for %d methods", len(p), n)
	}
	t.Logf("%d services, %d methods, all with access rules", len(services), n)
}

func mapsKeys(m map[string]grpc.ServiceInfo) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPolicyFromContracts_SpotChecks(t *testing.T) {
	p, err := auth.PolicyFromContracts(contractServices(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method string
		want   auth.Rule
	}{
		{"/partnerhub.keys.v1.EntitlementService/RevealKey",
			auth.Rule{Roles: []auth.Role{auth.AdminAgent, auth.CustomerGlobalAdmin}}},
		{"/partnerhub.identity.v1.TokenService/IssueToken", auth.Rule{Public: true}},
		{"/partnerhub.identity.v1.TokenService/GetSigningKeys", auth.Rule{Public: true}},
		{"/partnerhub.catalog.v1.CatalogService/GetSku", auth.Rule{}},
		{"/partnerhub.catalog.v1.CatalogAdminService/ImportCatalog", auth.Rule{ServiceOnly: true}},
		{"/partnerhub.testing.v1.ClockService/SetTime", auth.Rule{Public: true}},
		{"/partnerhub.subscriptions.v1.EventService/WatchEvents", auth.Rule{Roles: []auth.Role{auth.Service, auth.AdminAgent,
			auth.SalesAgent, auth.BillingAgent, auth.AccountAdmin, auth.GlobalAdmin, auth.CustomerGlobalAdmin}}},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got, ok := p[tt.method]
			if !ok {
				t.Fatal("no rule")
			}
			if got.Public != tt.want.Public || got.ServiceOnly != tt.want.ServiceOnly || !slices.Equal(got.Roles, tt.want.Roles) {
				t.Errorf("rule = %+v, want %+v", got, tt.want)
			}
		})
	}
	// The generated ServiceDesc and the descriptor agree on the method names.
	for _, m := range keysv1.EntitlementService_ServiceDesc.Methods {
		if _, ok := p["/partnerhub.keys.v1.EntitlementService/"+m.MethodName]; !ok {
			t.Errorf("EntitlementService/%s has no rule", m.MethodName)
		}
	}
}

// registerNoRuleFile registers (once per test binary) a contract whose service has one method
// with an access rule and two without.
func registerNoRuleFile(t *testing.T) {
	t.Helper()
	const name = "partnerhub/authtest/v1/norule.proto"
	if _, err := protoregistry.GlobalFiles.FindFileByPath(name); err == nil {
		return
	}
	withRule := &descriptorpb.MethodOptions{}
	proto.SetExtension(withRule, commonv1.E_Access, &commonv1.AccessRule{Public: true})
	method := func(n string, opts *descriptorpb.MethodOptions) *descriptorpb.MethodDescriptorProto {
		return &descriptorpb.MethodDescriptorProto{Name: proto.String(n), InputType: proto.String(".partnerhub.authtest.v1.Empty"),
			OutputType: proto.String(".partnerhub.authtest.v1.Empty"), Options: opts}
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String(name), Package: proto.String("partnerhub.authtest.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Empty")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("NoRuleService"),
			Method: []*descriptorpb.MethodDescriptorProto{method("Ruled", withRule), method("Bare", nil), method("Other", nil)}}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyFromContracts_Refuses(t *testing.T) {
	registerNoRuleFile(t)
	tests := []struct {
		name     string
		services []string
		wantErr  []string // substrings of the error; none: no error
	}{
		{"method without rule", []string{"partnerhub.authtest.v1.NoRuleService"},
			[]string{"/partnerhub.authtest.v1.NoRuleService/Bare", "/partnerhub.authtest.v1.NoRuleService/Other", "partnerhub.common.v1.access"}},
		{"service without descriptor", []string{"partnerhub.authtest.v1.Ghost"}, []string{"partnerhub.authtest.v1.Ghost", "no descriptor"}},
		{"not a service", []string{"partnerhub.authtest.v1.Empty"}, []string{"not a service"}},
		{"health and reflection are skipped", []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
			"grpc.reflection.v1alpha.ServerReflection"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			services := map[string]grpc.ServiceInfo{}
			for _, s := range tt.services {
				services[s] = grpc.ServiceInfo{}
			}
			p, err := auth.PolicyFromContracts(services)
			if tt.wantErr == nil {
				if err != nil || len(p) != 0 {
					t.Fatalf("PolicyFromContracts = %v, %v; want an empty policy", p, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("PolicyFromContracts = %v, want an error", p)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "/Ruled") {
				t.Errorf("error names a method that has a rule: %v", err)
			}
		})
	}
}

// methodStream makes grpc.Method(ctx) answer, as the server does for a call.
type methodStream struct{ method string }

func (m methodStream) Method() string             { return m.method }
func (methodStream) SetHeader(metadata.MD) error  { return nil }
func (methodStream) SendHeader(metadata.MD) error { return nil }
func (methodStream) SetTrailer(metadata.MD) error { return nil }
func callCtx(method string, authz ...string) context.Context {
	ctx := context.Background()
	if len(authz) > 0 {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", authz[0]))
	}
	return grpc.NewContextWithServerTransportStream(ctx, methodStream{method})
}

func TestAuthenticator_Authenticate(t *testing.T) {
	key := newKey(t, "k1")
	forger := newKey(t, "k1")
	now := t0.Add(time.Minute)
	v := auth.NewVerifier(auth.StaticKeys{"k1": pub(key)}, func() time.Time { return now })
	bearer := func(k auth.SigningKey, p auth.Principal) string { return "Bearer " + sign(t, k, p, t0, 15*time.Minute) }
	policy := auth.Policy{
		"/t.v1.S/Public":       {Public: true},
		"/t.v1.S/Any":          {},
		"/t.v1.S/Admin":        {Roles: []auth.Role{auth.AdminAgent, auth.CustomerGlobalAdmin}},
		"/t.v1.S/ServiceOnly":  {ServiceOnly: true},
		"/t.v1.S/ServiceAdmin": {ServiceOnly: true, Roles: []auth.Role{auth.AdminAgent}},
	}
	a := auth.NewAuthenticator(v, policy)

	tests := []struct {
		name    string
		method  string
		authz   []string // the authorization header, if sent
		kind    errs.Kind
		reason  errs.Reason
		subject string // of the principal put in the context; "" for none
	}{
		{"health needs no token", "/grpc.health.v1.Health/Check", nil, 0, "", ""},
		{"reflection needs no token", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", nil, 0, "", ""},
		{"public without token", "/t.v1.S/Public", nil, 0, "", ""},
		{"public with token learns the caller", "/t.v1.S/Public", []string{bearer(key, billingAgent)}, 0, "", "u-bill"},
		{"public with a bad token still passes", "/t.v1.S/Public", []string{bearer(forger, billingAgent)}, 0, "", ""},
		{"no token", "/t.v1.S/Any", nil, errs.Unauthenticated, errs.ReasonTokenMissing, ""},
		{"empty header", "/t.v1.S/Any", []string{""}, errs.Unauthenticated, errs.ReasonTokenMissing, ""},
		{"not bearer", "/t.v1.S/Any", []string{"Basic dXNlcjpwYXNz"}, errs.Unauthenticated, errs.ReasonTokenInvalid, ""},
		{"bearer without token", "/t.v1.S/Any", []string{"Bearer "}, errs.Unauthenticated, errs.ReasonTokenInvalid, ""},
		{"forged token", "/t.v1.S/Any", []string{bearer(forger, adminAgent)}, errs.Unauthenticated, errs.ReasonTokenInvalid, ""},
		{"any authenticated caller", "/t.v1.S/Any", []string{bearer(key, billingAgent)}, 0, "", "u-bill"},
		{"lower-case scheme", "/t.v1.S/Any", []string{strings.Replace(bearer(key, billingAgent), "Bearer", "bearer", 1)}, 0, "", "u-bill"},
		{"role required", "/t.v1.S/Admin", []string{bearer(key, billingAgent)}, errs.PermissionDenied, errs.ReasonRoleRequired, ""},
		{"role held", "/t.v1.S/Admin", []string{bearer(key, adminAgent)}, 0, "", "u-admin"},
		{"other role of the rule", "/t.v1.S/Admin", []string{bearer(key, customer)}, 0, "", "c-1"},
		{"service on behalf of an admin", "/t.v1.S/Admin", []string{bearer(key, service(&adminAgent))}, 0, "", "orders"},
		{"service on behalf of a billing agent", "/t.v1.S/Admin", []string{bearer(key, service(&billingAgent))}, errs.PermissionDenied, errs.ReasonRoleRequired, ""},
		{"service-only refuses a user", "/t.v1.S/ServiceOnly", []string{bearer(key, adminAgent)}, errs.PermissionDenied, errs.ReasonServiceTokenRequired, ""},
		{"service-only accepts a service", "/t.v1.S/ServiceOnly", []string{bearer(key, service(nil))}, 0, "", "orders"},
		{"service-only with roles checks the obo principal", "/t.v1.S/ServiceAdmin", []string{bearer(key, service(&billingAgent))}, errs.PermissionDenied, errs.ReasonRoleRequired, ""},
		{"service-only with roles passes", "/t.v1.S/ServiceAdmin", []string{bearer(key, service(&adminAgent))}, 0, "", "orders"},
		{"method without rule is denied", "/t.v1.S/Unknown", []string{bearer(key, adminAgent)}, errs.PermissionDenied, errs.ReasonRoleRequired, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, err := a.Authenticate(callCtx(tt.method, tt.authz...))
			if tt.kind != 0 {
				assertErr(t, err, tt.kind, tt.reason)
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			p, ok := auth.FromContext(ctx)
			if tt.subject == "" && ok {
				t.Errorf("principal %+v in context, want none", p)
			}
			if tt.subject != "" && (!ok || p.Subject != tt.subject) {
				t.Errorf("principal = %+v (%v), want subject %q", p, ok, tt.subject)
			}
		})
	}
}
