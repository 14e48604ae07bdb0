package domain

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

const (
	partnerA  = "partner-a"
	partnerB  = "partner-b"
	customerX = "customer-x"
	customerY = "customer-y"
)

// partnerRoles and customerRoles are every role of DOMAIN.md "Actors and roles" (ID-R).
func partnerRoles() []auth.Role {
	return []auth.Role{auth.AdminAgent, auth.SalesAgent, auth.BillingAgent, auth.AccountAdmin,
		auth.GlobalAdmin, auth.ReferralAdmin, auth.MarketingContentAdmin, auth.HelpdeskAgent}
}

func customerRoles() []auth.Role { return []auth.Role{auth.CustomerGlobalAdmin, auth.CustomerUser} }

func allRoles() []auth.Role { return append(append(partnerRoles(), customerRoles()...), auth.Service) }

func partnerUser(org string, roles ...auth.Role) auth.Principal {
	return auth.Principal{Subject: "u-" + org, OrgID: org, OrgKind: auth.OrgPartner, Roles: roles}
}

func customerUser(org string, roles ...auth.Role) auth.Principal {
	return auth.Principal{Subject: "u-" + org, OrgID: org, OrgKind: auth.OrgCustomer, Roles: roles}
}

// service is a partnerhub service token, acting for onBehalfOf (nil: for nobody).
func service(onBehalfOf *auth.Principal) auth.Principal {
	return auth.Principal{Subject: "orders", OrgID: "orders", OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}, OnBehalfOf: onBehalfOf}
}

func ptr(p auth.Principal) *auth.Principal { return &p }

// wantAccess checks that err is nil, or a refusal with the given kind and reason.
func wantAccess(t *testing.T, what string, err error, kind errs.Kind, reason errs.Reason) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Errorf("%s: refused with %v, want allowed", what, err)
		}
		return
	}
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Errorf("%s: %v, want %v / %s", what, err, kind, reason)
	}
}

// KD-3, role table "get software keys and download links": partner side the Admin agent only,
// for a customer it serves; customer side the customer's own Global admin only. Every role of the
// table is tried on both sides.
func TestCanRevealKey_KD3_RoleTable(t *testing.T) {
	for _, role := range allRoles() {
		for _, serves := range []bool{true, false} {
			// As a partner user.
			p := partnerUser(partnerA, role)
			var kind errs.Kind
			var reason errs.Reason
			switch {
			case role == auth.AdminAgent && serves:
			case role == auth.AdminAgent:
				kind, reason = errs.FailedPrecondition, ReasonRelationshipRequired
			default:
				kind, reason = errs.PermissionDenied, errs.ReasonRoleRequired
			}
			wantAccess(t, "partner "+string(role), CanRevealKey(p, customerX, serves), kind, reason)
			// The same user through a service acting on its behalf.
			wantAccess(t, "service for partner "+string(role), CanRevealKey(service(ptr(p)), customerX, serves), kind, reason)

			// As a user of customer X, for customer X's key (serves is irrelevant).
			c := customerUser(customerX, role)
			kind, reason = errs.PermissionDenied, errs.ReasonRoleRequired
			if role == auth.CustomerGlobalAdmin {
				kind, reason = errs.Unknown, ""
			}
			wantAccess(t, "customer "+string(role), CanRevealKey(c, customerX, serves), kind, reason)
			wantAccess(t, "service for customer "+string(role), CanRevealKey(service(ptr(c)), customerX, serves), kind, reason)
		}
	}
}

// KD-3, ID-8: the edges of CanRevealKey.
func TestCanRevealKey_KD3_Edges(t *testing.T) {
	admin := partnerUser(partnerA, auth.AdminAgent)
	for _, tt := range []struct {
		name   string
		p      auth.Principal
		cust   string
		serves bool
		kind   errs.Kind
		reason errs.Reason
	}{
		{"admin agent with other roles too", partnerUser(partnerA, auth.SalesAgent, auth.AdminAgent), customerX, true, 0, ""},
		{"customer global admin of another tenant", customerUser(customerY, auth.CustomerGlobalAdmin), customerX, true,
			errs.PermissionDenied, errs.ReasonTenantMismatch},
		{"customer global admin without a tenant", customerUser("", auth.CustomerGlobalAdmin), "", true,
			errs.PermissionDenied, errs.ReasonTenantMismatch},
		{"partner holding the customer role", partnerUser(partnerA, auth.CustomerGlobalAdmin), partnerA, true,
			errs.PermissionDenied, errs.ReasonRoleRequired},
		{"customer holding the partner role", customerUser(customerX, auth.AdminAgent), customerX, true,
			errs.PermissionDenied, errs.ReasonRoleRequired},
		{"service acting for nobody", service(nil), customerX, true, errs.PermissionDenied, errs.ReasonRoleRequired},
		{"service acting for an admin agent", service(&admin), customerX, true, 0, ""},
		{"service acting for an admin agent without relationship", service(&admin), customerX, false,
			errs.FailedPrecondition, ReasonRelationshipRequired},
		{"no roles", partnerUser(partnerA), customerX, true, errs.PermissionDenied, errs.ReasonRoleRequired},
		{"zero principal", auth.Principal{}, customerX, true, errs.PermissionDenied, errs.ReasonRoleRequired},
		{"service org kind with admin role", auth.Principal{OrgID: partnerA, OrgKind: auth.OrgService,
			Roles: []auth.Role{auth.AdminAgent}}, customerX, true, errs.PermissionDenied, errs.ReasonRoleRequired},
	} {
		wantAccess(t, tt.name, CanRevealKey(tt.p, tt.cust, tt.serves), tt.kind, tt.reason)
	}
	err := CanRevealKey(admin, customerX, false)
	wantErr(t, err, errs.FailedPrecondition, ReasonRelationshipRequired, map[string]string{"customer_id": customerX})
	err = CanRevealKey(partnerUser(partnerA, auth.SalesAgent), customerX, true)
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired,
		map[string]string{"required_roles": "ADMIN_AGENT,CUSTOMER_GLOBAL_ADMIN"})
}

// KD-1, KD-3: an Open key card's key goes to an Admin agent of the owning partner only.
func TestCanRevealKeyCard_KD3(t *testing.T) {
	for _, role := range allRoles() {
		kind, reason := errs.PermissionDenied, errs.ReasonRoleRequired
		if role == auth.AdminAgent {
			kind, reason = errs.Unknown, ""
		}
		wantAccess(t, "partner "+string(role), CanRevealKeyCard(partnerUser(partnerA, role), partnerA), kind, reason)
		wantAccess(t, "customer "+string(role), CanRevealKeyCard(customerUser(partnerA, role), partnerA),
			errs.PermissionDenied, errs.ReasonRoleRequired)
	}
	wantAccess(t, "other partner's admin agent", CanRevealKeyCard(partnerUser(partnerB, auth.AdminAgent), partnerA),
		errs.PermissionDenied, errs.ReasonTenantMismatch)
	wantAccess(t, "service for the owner's admin agent",
		CanRevealKeyCard(service(ptr(partnerUser(partnerA, auth.AdminAgent))), partnerA), 0, "")
	wantAccess(t, "service for nobody", CanRevealKeyCard(service(nil), partnerA), errs.PermissionDenied, errs.ReasonRoleRequired)
}

// KD-6, role table "read the key/download activity log": Global admin, Account admin, Referral
// admin, Marketing content admin — partner roles. Every other role of the table is refused,
// notably the Admin agent (who may reveal keys) and the customer's Global admin.
func TestCanReadActivity_KD6_RoleTable(t *testing.T) {
	allowed := map[auth.Role]bool{auth.GlobalAdmin: true, auth.AccountAdmin: true, auth.ReferralAdmin: true,
		auth.MarketingContentAdmin: true}
	for _, role := range allRoles() {
		kind, reason := errs.PermissionDenied, errs.ReasonRoleRequired
		if allowed[role] {
			kind, reason = errs.Unknown, ""
		}
		p := partnerUser(partnerA, role)
		wantAccess(t, "partner "+string(role), CanReadActivity(p), kind, reason)
		wantAccess(t, "service for partner "+string(role), CanReadActivity(service(ptr(p))), kind, reason)
		wantAccess(t, "customer "+string(role), CanReadActivity(customerUser(customerX, role)),
			errs.PermissionDenied, errs.ReasonRoleRequired)
	}
	wantAccess(t, "service for nobody", CanReadActivity(service(nil)), errs.PermissionDenied, errs.ReasonRoleRequired)
	wantAccess(t, "admin agent and referral admin", CanReadActivity(partnerUser(partnerA, auth.AdminAgent, auth.ReferralAdmin)), 0, "")
	wantErr(t, CanReadActivity(partnerUser(partnerA, auth.AdminAgent)), errs.PermissionDenied, errs.ReasonRoleRequired,
		map[string]string{"required_roles": "GLOBAL_ADMIN,ACCOUNT_ADMIN,REFERRAL_ADMIN,MARKETING_CONTENT_ADMIN"})
}

// The role lists agree with the access rules the contract declares (and the server enforces as a
// coarse gate): ListActivity's roles are exactly ActivityReaderRoles, and RevealKey's roles are
// exactly KeyRevealRoles.
func TestRoles_MatchContract(t *testing.T) {
	contractRoles := func(method interface{ Options() proto.Message }) []auth.Role {
		rule, _ := proto.GetExtension(method.Options(), commonv1.E_Access).(*commonv1.AccessRule)
		var roles []auth.Role
		for _, r := range rule.GetRoles() {
			roles = append(roles, auth.RoleOf(r))
		}
		slices.Sort(roles)
		return roles
	}
	sorted := func(r []auth.Role) []auth.Role { slices.Sort(r); return r }

	list := keysv1.File_partnerhub_keys_v1_activity_log_service_proto.Services().
		ByName("ActivityLogService").Methods().ByName("ListActivity")
	if got, want := contractRoles(list), sorted(ActivityReaderRoles()); !slices.Equal(got, want) {
		t.Errorf("ListActivity roles in the contract %v, here %v", got, want)
	}
	reveal := keysv1.File_partnerhub_keys_v1_entitlement_service_proto.Services().
		ByName("EntitlementService").Methods().ByName("RevealKey")
	if got, want := contractRoles(reveal), sorted(KeyRevealRoles()); !slices.Equal(got, want) {
		t.Errorf("RevealKey roles in the contract %v, here %v", got, want)
	}
}
