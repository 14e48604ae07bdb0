package auth_test

import (
	"context"
	"testing"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

var (
	adminAgent   = auth.Principal{Subject: "u-admin", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	billingAgent = auth.Principal{Subject: "u-bill", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.BillingAgent}}
	customer     = auth.Principal{Subject: "c-1", OrgID: "t-1", OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
)

func service(obo *auth.Principal) auth.Principal {
	return auth.Principal{Subject: "orders", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: obo}
}

func TestPrincipal_IsServiceAndEffective(t *testing.T) {
	// A user token that carries an obo principal (it cannot: identity never signs one, but a
	// Principal value could) must not gain that principal's rights.
	userWithObo := billingAgent
	userWithObo.OnBehalfOf = &adminAgent
	// A service org without the SERVICE role is not a service.
	roleless := auth.Principal{Subject: "x", OrgID: "partnerhub", OrgKind: auth.OrgService, OnBehalfOf: &adminAgent}

	tests := []struct {
		name          string
		p             auth.Principal
		isService     bool
		effectiveSubj string
	}{
		{"user", adminAgent, false, "u-admin"},
		{"service on behalf of", service(&billingAgent), true, "u-bill"},
		{"service alone", service(nil), true, "orders"},
		{"user with obo ignored", userWithObo, false, "u-bill"},
		{"service org without SERVICE role", roleless, false, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.IsService(); got != tt.isService {
				t.Errorf("IsService = %v, want %v", got, tt.isService)
			}
			if got := tt.p.Effective().Subject; got != tt.effectiveSubj {
				t.Errorf("Effective().Subject = %q, want %q", got, tt.effectiveSubj)
			}
		})
	}
}

func TestPrincipal_RequireRole(t *testing.T) {
	tests := []struct {
		name  string
		p     auth.Principal
		roles []auth.Role
		ok    bool
	}{
		{"holds the role", adminAgent, []auth.Role{auth.AdminAgent}, true},
		{"holds one of the roles", customer, []auth.Role{auth.AdminAgent, auth.CustomerGlobalAdmin}, true},
		{"lacks the role", billingAgent, []auth.Role{auth.AdminAgent, auth.CustomerGlobalAdmin}, false},
		{"service acts with the rights of its principal", service(&adminAgent), []auth.Role{auth.AdminAgent}, true},
		{"service for a billing agent is refused admin", service(&billingAgent), []auth.Role{auth.AdminAgent}, false},
		{"service alone has SERVICE", service(nil), []auth.Role{auth.Service}, true},
		{"service alone lacks user roles", service(nil), []auth.Role{auth.AdminAgent}, false},
		{"service on behalf of lacks SERVICE itself", service(&adminAgent), []auth.Role{auth.Service}, false},
		{"no roles held", auth.Principal{Subject: "u"}, []auth.Role{auth.CustomerUser}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.RequireRole(tt.roles...)
			if tt.ok {
				if err != nil {
					t.Fatalf("RequireRole = %v, want nil", err)
				}
				return
			}
			assertErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
			e, _ := errs.As(err)
			want := ""
			for i, r := range tt.roles {
				if i > 0 {
					want += ","
				}
				want += string(r)
			}
			if got := e.Metadata["required_roles"]; got != want {
				t.Errorf("required_roles = %q, want %q", got, want)
			}
		})
	}
}

func TestPrincipal_RequireOrg(t *testing.T) {
	tests := []struct {
		name string
		p    auth.Principal
		org  string
		ok   bool
	}{
		{"own org", adminAgent, "p-1", true},
		{"other org", adminAgent, "p-2", false},
		{"service for own org", service(&customer), "t-1", true},
		{"service for other org", service(&customer), "t-2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.RequireOrg(tt.org)
			if tt.ok && err != nil {
				t.Fatalf("RequireOrg = %v", err)
			}
			if !tt.ok {
				assertErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
			}
		})
	}
}

func TestPrincipal_Context(t *testing.T) {
	ctx := context.Background()
	if _, ok := auth.FromContext(ctx); ok {
		t.Error("FromContext on a bare context: ok")
	}
	_, err := auth.MustFromContext(ctx)
	assertErr(t, err, errs.Unauthenticated, errs.ReasonTokenMissing)

	ctx = auth.WithPrincipal(ctx, adminAgent)
	got, err := auth.MustFromContext(ctx)
	if err != nil || got.Subject != adminAgent.Subject {
		t.Errorf("MustFromContext = %+v, %v", got, err)
	}
}

// Role and OrgKind names are the contract enums' names without prefix, both ways.
func TestRolesMatchContract(t *testing.T) {
	roles := []auth.Role{auth.AdminAgent, auth.SalesAgent, auth.BillingAgent, auth.AccountAdmin,
		auth.GlobalAdmin, auth.ReferralAdmin, auth.MarketingContentAdmin, auth.HelpdeskAgent,
		auth.CustomerGlobalAdmin, auth.CustomerUser, auth.Service}
	for _, r := range roles {
		pr := auth.ProtoRole(r)
		if pr == commonv1.Role_ROLE_UNSPECIFIED {
			t.Errorf("role %s is not a commonv1.Role", r)
		}
		if back := auth.RoleOf(pr); back != r {
			t.Errorf("RoleOf(ProtoRole(%s)) = %s", r, back)
		}
	}
	// Every contract role has a Go constant.
	if n := len(commonv1.Role_value) - 1; n != len(roles) {
		t.Errorf("contract has %d roles, pkg/auth declares %d", n, len(roles))
	}
	if auth.ProtoRole("NO_SUCH_ROLE") != commonv1.Role_ROLE_UNSPECIFIED {
		t.Error("unknown role is not UNSPECIFIED")
	}
	kinds := map[auth.OrgKind]commonv1.OrgKind{
		auth.OrgPartner:  commonv1.OrgKind_ORG_KIND_PARTNER,
		auth.OrgCustomer: commonv1.OrgKind_ORG_KIND_CUSTOMER,
		auth.OrgService:  commonv1.OrgKind_ORG_KIND_SERVICE,
		"ALIEN":          commonv1.OrgKind_ORG_KIND_UNSPECIFIED,
	}
	for k, want := range kinds {
		if got := auth.ProtoOrgKind(k); got != want {
			t.Errorf("ProtoOrgKind(%s) = %v, want %v", k, got, want)
		}
	}
}
