package domain

import (
	"strings"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// The access rules of the keys service (DOMAIN.md "Actors and roles", KD-3, KD-6). They look at
// the effective principal (auth.Principal.Effective): a partnerhub service acting on behalf of a
// user has that user's rights, and a service acting for nobody has none. A role counts only in the
// kind of organisation it belongs to: a partner principal holding CUSTOMER_GLOBAL_ADMIN, or a
// customer principal holding ADMIN_AGENT, is refused.

// KeyRevealRoles are the roles that may get software keys and download links (KD-3, the role
// table's rows "get software keys and download links": partner side Admin agent only, customer
// side the customer's Global admin only).
func KeyRevealRoles() []auth.Role { return []auth.Role{auth.AdminAgent, auth.CustomerGlobalAdmin} }

// ActivityReaderRoles are the roles that may read the key and download activity log (KD-6: "by
// the roles in the table above", the role table's row "read the key/download activity log":
// Global admin, Account admin, Referral admin, Marketing content admin). They are partner roles:
// the table names the customer's Global admin "customer Global admin" where it means it, and it
// does not here. The Admin agent, who may reveal keys, may not read the log.
func ActivityReaderRoles() []auth.Role {
	return []auth.Role{auth.GlobalAdmin, auth.AccountAdmin, auth.ReferralAdmin, auth.MarketingContentAdmin}
}

// CanRevealKey decides whether p may get a whole software key or a download link of an
// entitlement of customer customerID (KD-3, KD-8):
//   - a partner's Admin agent, when partnerServesCustomer: the caller's partner has an accepted
//     reseller relationship with the customer (ID-4; the caller looks it up);
//   - the customer's own Global admin (customerID is the caller's tenant; ID-8);
//   - nobody else.
//
// Refusals: PERMISSION_DENIED / ROLE_REQUIRED (metadata required_roles) for any other role or
// organisation kind; PERMISSION_DENIED / TENANT_MISMATCH for another customer's Global admin;
// FAILED_PRECONDITION / RELATIONSHIP_REQUIRED (metadata customer_id) for an Admin agent whose
// partner does not serve the customer — the kind the contract gives that reason everywhere,
// because the partner can fix it by getting the relationship accepted. partnerServesCustomer is
// ignored for customer callers.
func CanRevealKey(p auth.Principal, customerID string, partnerServesCustomer bool) error {
	e := p.Effective()
	switch {
	case e.OrgKind == auth.OrgPartner && e.HasRole(auth.AdminAgent):
		if !partnerServesCustomer {
			return errs.New(errs.FailedPrecondition, ReasonRelationshipRequired,
				"the partner has no accepted reseller relationship with the customer").With("customer_id", customerID)
		}
		return nil
	case e.OrgKind == auth.OrgCustomer && e.HasRole(auth.CustomerGlobalAdmin):
		if e.OrgID == "" || e.OrgID != customerID {
			return tenantMismatch()
		}
		return nil
	}
	return roleRequired(KeyRevealRoles())
}

// CanRevealKeyCard decides whether p may get the whole key of an Open key card owned by partner
// ownerPartnerID (KD-1, KD-3): only an Admin agent of that partner. Refusals: PERMISSION_DENIED /
// ROLE_REQUIRED for any other role or organisation kind (customers never reveal key cards),
// PERMISSION_DENIED / TENANT_MISMATCH for another partner's Admin agent (ID-8).
func CanRevealKeyCard(p auth.Principal, ownerPartnerID string) error {
	e := p.Effective()
	if e.OrgKind != auth.OrgPartner || !e.HasRole(auth.AdminAgent) {
		return roleRequired([]auth.Role{auth.AdminAgent})
	}
	if e.OrgID == "" || e.OrgID != ownerPartnerID {
		return tenantMismatch()
	}
	return nil
}

// CanReadActivity decides whether p may read the key and download activity log (KD-6): a partner
// user holding one of ActivityReaderRoles. Everybody else — Admin, Sales, Billing and Helpdesk
// agents, every customer user including the customer's Global admin, and services acting for
// nobody — gets PERMISSION_DENIED / ROLE_REQUIRED (metadata required_roles). Which records a
// permitted reader sees (its own partner's and its customers', ID-8) is the query's business.
func CanReadActivity(p auth.Principal) error {
	e := p.Effective()
	if e.OrgKind == auth.OrgPartner && e.HasRole(ActivityReaderRoles()...) {
		return nil
	}
	return roleRequired(ActivityReaderRoles())
}

func roleRequired(roles []auth.Role) error {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
		"the caller needs one of the roles %s", strings.Join(names, ", ")).
		With("required_roles", strings.Join(names, ","))
}

func tenantMismatch() error {
	return errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
		"the caller's organisation may not act on this resource")
}
