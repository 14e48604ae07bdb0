package e2e

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
)

// A partner invites a customer it does not serve yet, the customer's Global admin accepts, and
// the partner is then allowed what it was refused before (ID-4, ID-8): seeing the customer, and
// offering delegated administration (DA-1, DA-6) — which, once the customer approves, lets its
// Admin agent manage the tenant's users. Every step crosses the containers: identity asks
// delegatedadmin for the USER_ADMINISTRATOR grant, delegatedadmin asks identity for the reseller
// relationship, each with its own service credential.
func TestE2E_InviteAcceptThenAllowed_ID4_DA6(t *testing.T) {
	ctx := ctxT(t)
	id := stack.Conn("identity")
	partners := identityv1.NewPartnerServiceClient(id)
	users := identityv1.NewUserServiceClient(id)
	customers := identityv1.NewCustomerServiceClient(id)
	rels := identityv1.NewRelationshipServiceClient(id)
	da := delegatedadminv1.NewDelegatedAdminServiceClient(stack.Conn("delegatedadmin"))

	// The operator onboards partner P; P's Global admin adds an Admin agent.
	op := operatorToken(ctx, t)
	suffix := uuid.NewString()[:8]
	p, err := partners.CreatePartner(withToken(ctx, op), &identityv1.CreatePartnerRequest{
		RequestId: uuid.NewString(), LegalName: "Northwind Cloud GmbH", CountryCode: "DE",
		Programs: []identityv1.PartnerProgram{identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT, identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN},
		Admin:    &identityv1.InitialAdmin{UserName: "admin@northwind-" + suffix + ".example", DisplayName: "Northwind admin", Email: "admin@northwind.example"},
	})
	if err != nil {
		t.Fatalf("CreatePartner: %v", err)
	}
	pAdmin := signIn(ctx, t, p.GetAdminCredential().GetClientId(), p.GetAdminClientSecret())
	agentUser, err := users.CreateUser(withToken(ctx, pAdmin), &identityv1.CreateUserRequest{RequestId: uuid.NewString(),
		UserName: "agent@northwind-" + suffix + ".example", DisplayName: "Agent", Email: "agent@northwind.example",
		Roles: []commonv1.Role{commonv1.Role_ROLE_ADMIN_AGENT}})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	agentCred, err := users.CreateApiCredential(withToken(ctx, pAdmin), &identityv1.CreateApiCredentialRequest{RequestId: uuid.NewString(), UserId: agentUser.GetUser().GetUserId()})
	if err != nil {
		t.Fatalf("CreateApiCredential: %v", err)
	}
	agent := withToken(ctx, signIn(ctx, t, agentCred.GetCredential().GetClientId(), agentCred.GetClientSecret()))

	// The demo partner's customer C, in Germany too.
	c, err := customers.CreateCustomer(withToken(ctx, demoToken(t)), &identityv1.CreateCustomerRequest{
		RequestId: uuid.NewString(), OrganisationName: "Tailspin Toys AG", CountryCode: "DE", DomainPrefix: "tailspin" + suffix[:6],
		Admin: &identityv1.InitialAdmin{DisplayName: "Tailspin admin", Email: "it@tailspin.example"},
	})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	cID := c.GetCustomer().GetCustomerId()
	cAdmin := withToken(ctx, signIn(ctx, t, c.GetAdminCredential().GetClientId(), c.GetAdminClientSecret()))

	// Before: P sees nothing of C and may offer it nothing.
	if _, err := customers.GetCustomer(agent, &identityv1.GetCustomerRequest{CustomerId: cID}); status.Code(err) != codes.NotFound {
		t.Fatalf("before: GetCustomer = %v, want NOT_FOUND (ID-8)", err)
	}
	offer := &delegatedadminv1.CreateRelationshipRequest{CustomerId: cID, DurationDays: 180, Message: "Northwind will run your users",
		Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR}}
	offer.RequestId = uuid.NewString()
	if _, err := da.CreateRelationship(agent, offer); status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "RELATIONSHIP_REQUIRED" {
		t.Fatalf("before: CreateRelationship = %v, want FAILED_PRECONDITION RELATIONSHIP_REQUIRED (ID-4)", err)
	}

	// P invites; C's Global admin previews the invitation by its code and accepts it.
	inv, err := rels.CreateRelationshipInvitation(agent, &identityv1.CreateRelationshipInvitationRequest{RequestId: uuid.NewString(), Message: "Let us be your partner"})
	if err != nil {
		t.Fatalf("CreateRelationshipInvitation: %v", err)
	}
	code := inv.GetInvitation().GetCode()
	preview, err := rels.GetRelationshipInvitation(cAdmin, &identityv1.GetRelationshipInvitationRequest{
		Invitation: &identityv1.GetRelationshipInvitationRequest_Code{Code: code}})
	if err != nil || preview.GetInvitation().GetPartnerLegalName() != "Northwind Cloud GmbH" {
		t.Fatalf("preview: %v, %v", preview, err)
	}
	if _, err := rels.AcceptRelationshipInvitation(cAdmin, &identityv1.AcceptRelationshipInvitationRequest{RequestId: uuid.NewString(), Code: code}); err != nil {
		t.Fatalf("AcceptRelationshipInvitation: %v", err)
	}

	// After: P sees C, and may offer delegated administration.
	if got, err := customers.GetCustomer(agent, &identityv1.GetCustomerRequest{CustomerId: cID}); err != nil || got.GetCustomer().GetOrganisationName() != "Tailspin Toys AG" {
		t.Fatalf("after: GetCustomer = %v, %v", got, err)
	}
	newUser := &identityv1.CreateUserRequest{OrgId: cID, UserName: "jane@" + c.GetCustomer().GetDefaultDomain(), DisplayName: "Jane",
		Email: "jane@tailspin.example", Roles: []commonv1.Role{commonv1.Role_ROLE_CUSTOMER_USER}}
	newUser.RequestId = uuid.NewString()
	if _, err := users.CreateUser(agent, newUser); status.Code(err) != codes.PermissionDenied || reasonOf(err) != "DELEGATED_ADMIN_REQUIRED" {
		t.Fatalf("before approval: CreateUser in the tenant = %v, want PERMISSION_DENIED DELEGATED_ADMIN_REQUIRED (DA-6)", err)
	}
	offer.RequestId = uuid.NewString()
	created, err := da.CreateRelationship(agent, offer)
	if err != nil {
		t.Fatalf("after: CreateRelationship: %v", err)
	}
	if _, err := da.ApproveRelationship(cAdmin, &delegatedadminv1.ApproveRelationshipRequest{RequestId: uuid.NewString(),
		RelationshipId: created.GetRelationship().GetRelationshipId()}); err != nil {
		t.Fatalf("ApproveRelationship: %v", err)
	}
	check, err := da.CheckAccess(agent, &delegatedadminv1.CheckAccessRequest{PartnerId: p.GetPartner().GetPartnerId(), CustomerId: cID,
		Role: delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR})
	if err != nil || !check.GetAllowed() {
		t.Fatalf("CheckAccess = %v, %v; want allowed", check, err)
	}
	// identity may still hold the denial it cached before the approval, for at most the
	// cache_ttl delegatedadmin gave it (a denial is cached briefly, DA-6); then it allows.
	newUser.RequestId = uuid.NewString()
	deadline := time.Now().Add(45 * time.Second)
	for {
		_, err := users.CreateUser(agent, newUser)
		if err == nil {
			break
		}
		if reasonOf(err) != "DELEGATED_ADMIN_REQUIRED" || time.Now().After(deadline) {
			t.Fatalf("after approval: CreateUser in the tenant = %v, want OK (DA-6)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
