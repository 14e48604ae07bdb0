package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the authorization matrix in README.md from the test table")

// caller is one column of the authorization matrix: who calls.
type caller int

const (
	adminAgent caller = iota
	salesAgent
	billingAgent
	otherAdminAgent
	customerGlobalAdmin
	customerUser
	serviceToken
	noToken
	callerCount
)

func (c caller) String() string {
	return [...]string{"Admin agent", "Sales agent", "Billing agent", "other partner's Admin agent",
		"customer Global admin", "customer user", "service token", "no token"}[c]
}

// The outcomes a cell can have, by gRPC code. "hidden" is NOT_FOUND: to a caller outside the
// tenancy a resource looks exactly like one that does not exist (ID-8).
var outcomeOf = map[codes.Code]string{
	codes.OK: "ok", codes.PermissionDenied: "denied", codes.NotFound: "hidden", codes.Unauthenticated: "no token",
	codes.FailedPrecondition: "refused", codes.InvalidArgument: "invalid",
}

// matrixFixture is the world every matrix row runs in: partner A (Germany) whose Admin, Sales and
// Billing agents call, partner B whose Admin agent calls, and customer C of partner A (Germany)
// whose Global admin and plain user call.
type matrixFixture struct {
	s    *tenancySuite
	a, b org
	c    org
	// c2 is another customer of partner A that approved A's delegated-admin offer granting User
	// administrator: A's Admin agent may manage its users (DA-6).
	c2    org
	token [callerCount]string
	// saga is a service token of the operator credential acting on behalf of partner A's Admin
	// agent, as the order saga calls ProvisioningService; sub is a subscription of customer C it
	// provisioned with partner A as partner of record.
	saga string
	sub  string
	// ent is an entitlement of customer C (partner A) with one MAK key, keyID, and one download
	// variant "iso", issued by the saga; link is a download link to it; card is a key card
	// partner A minted (A is in the Open program).
	ent, keyID, link, card string
	// order is a COMPLETED order of partner A for customer C (5 seats of Microsoft 365 Business
	// Standard, monthly), placed by A's Admin agent; redemption is a COMPLETED redemption of one
	// of A's Open key cards for customer C, by A's Admin agent. Customer C has approved A's
	// delegated-admin offer granting Service support administrator, so A may open support
	// requests for it (DA-4).
	order, redemption string
}

func newMatrixFixture(ctx context.Context, t *testing.T, s *tenancySuite) *matrixFixture {
	f := &matrixFixture{s: s}
	f.a = s.newPartner(ctx, t, "Partner A GmbH", "DE", identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT,
		identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN, identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN)
	f.b = s.newPartner(ctx, t, "Partner B GmbH", "DE")
	aDomain := "a-" + rid()[:8] + ".example"
	agent := s.newUser(ctx, t, f.a, aDomain, commonv1.Role_ROLE_ADMIN_AGENT)
	f.token[adminAgent] = agent.token
	f.token[salesAgent] = s.newUser(ctx, t, f.a, aDomain, commonv1.Role_ROLE_SALES_AGENT).token
	f.token[billingAgent] = s.newUser(ctx, t, f.a, aDomain, commonv1.Role_ROLE_BILLING_AGENT).token
	f.token[otherAdminAgent] = s.newUser(ctx, t, f.b, "b-"+rid()[:8]+".example", commonv1.Role_ROLE_ADMIN_AGENT).token
	f.c = s.newCustomer(ctx, t, f.token[adminAgent], "Customer C AG", "DE")
	f.token[customerGlobalAdmin] = f.c.adminToken
	f.token[customerUser] = s.newUser(ctx, t, f.c, "", commonv1.Role_ROLE_CUSTOMER_USER).token
	f.token[serviceToken] = s.operator
	f.c2 = s.newCustomer(ctx, t, f.token[adminAgent], "Customer C2 AG", "DE")
	offer, err := s.delegated().CreateRelationship(as(ctx, f.token[adminAgent]), &delegatedadminv1.CreateRelationshipRequest{
		RequestId: rid(), CustomerId: f.c2.id, DurationDays: 365,
		Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR}})
	if err != nil {
		t.Fatalf("CreateRelationship for C2: %v", err)
	}
	if _, err := s.delegated().ApproveRelationship(as(ctx, f.c2.adminToken), &delegatedadminv1.ApproveRelationshipRequest{
		RequestId: rid(), RelationshipId: offer.GetRelationship().GetRelationshipId()}); err != nil {
		t.Fatalf("ApproveRelationship for C2: %v", err)
	}
	saga, err := s.tokens().IssueServiceToken(ctx, &identityv1.IssueServiceTokenRequest{ClientId: "svc_operator", ClientSecret: s.opSecret,
		OnBehalfOf: &identityv1.Principal{Subject: agent.userID, OrgId: f.a.id, OrgKind: commonv1.OrgKind_ORG_KIND_PARTNER,
			Roles: []commonv1.Role{commonv1.Role_ROLE_ADMIN_AGENT}},
		Lifetime: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatalf("IssueServiceToken on behalf of A's Admin agent: %v", err)
	}
	f.saga = saga.GetAccessToken().GetToken()
	f.sub = f.subscription(ctx, t)
	f.keysFixture(ctx, t)
	f.ordersFixture(ctx, t)
	return f
}

// ordersFixture places f.order and redeems f.redemption (as A's Admin agent), and has customer C
// approve A's delegated-admin offer granting Service support administrator.
func (f *matrixFixture) ordersFixture(ctx context.Context, t *testing.T) {
	f.order = f.completedOrder(ctx, t)
	f.redemption = f.redeem(ctx, t, f.token[adminAgent], f.key(ctx, t))
	offer, err := f.s.delegated().CreateRelationship(as(ctx, f.token[adminAgent]), &delegatedadminv1.CreateRelationshipRequest{
		RequestId: rid(), CustomerId: f.c.id, DurationDays: 365,
		Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_SERVICE_SUPPORT_ADMINISTRATOR}})
	if err != nil {
		t.Fatalf("CreateRelationship (support) for C: %v", err)
	}
	if _, err := f.s.delegated().ApproveRelationship(as(ctx, f.c.adminToken), &delegatedadminv1.ApproveRelationshipRequest{
		RequestId: rid(), RelationshipId: offer.GetRelationship().GetRelationshipId()}); err != nil {
		t.Fatalf("ApproveRelationship (support) for C: %v", err)
	}
}

// orderLines is an order of customer C: 5 seats of the seed's Microsoft 365 Business Standard,
// monthly (an online service with a 7-day cancellation window, SU-10).
func (f *matrixFixture) orderLines() []*ordersv1.OrderLineInput {
	autorenew := true
	return []*ordersv1.OrderLineInput{{SkuId: suiteSeedSku, Quantity: 5, Term: catalogv1.Term_TERM_P1M,
		BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_MONTHLY, Autorenew: &autorenew}}
}

// completedOrder places an order of partner A for customer C as A's Admin agent, follows it until
// it settles and returns its ID; it must complete.
func (f *matrixFixture) completedOrder(ctx context.Context, t *testing.T) string {
	agent := as(ctx, f.token[adminAgent])
	req := &ordersv1.PlaceOrderRequest{RequestId: rid(), CustomerId: f.c.id, Lines: f.orderLines()}
	resp, err := f.s.orders().PlaceOrder(agent, req)
	// Just after the suite started, orders may still wait for its peers (its first service token
	// from identity, a first connection): UNAVAILABLE then, and the same request again succeeds.
	for deadline := time.Now().Add(15 * time.Second); status.Code(err) == codes.Unavailable && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		resp, err = f.s.orders().PlaceOrder(agent, req)
	}
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	id := resp.GetOrder().GetOrderId()
	wctx, cancel := context.WithTimeout(agent, 30*time.Second)
	defer cancel()
	stream, err := f.s.orders().WatchOrder(wctx, &ordersv1.WatchOrderRequest{OrderId: id})
	if err != nil {
		t.Fatalf("WatchOrder %s: %v", id, err)
	}
	var last *ordersv1.Order
	for {
		snap, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WatchOrder %s: %v", id, err)
		}
		last = snap.GetOrder()
	}
	if last.GetState() != ordersv1.OrderState_ORDER_STATE_COMPLETED {
		t.Fatalf("order %s settled %v (failure %v); want COMPLETED", id, last.GetState(), last.GetFailure())
	}
	return id
}

// key mints one Open key card for partner A (as its Admin agent) and returns its whole key.
func (f *matrixFixture) key(ctx context.Context, t *testing.T) string {
	m, err := f.s.keyCards().MintKeyCards(as(ctx, f.token[adminAgent]), f.mintRequest())
	if err != nil {
		t.Fatalf("MintKeyCards: %v", err)
	}
	r, err := f.s.entitlements().RevealKey(as(ctx, f.token[adminAgent]), &keysv1.RevealKeyRequest{RequestId: rid(),
		KeyId: m.GetKeyCards()[0].GetKeyCardId()})
	if err != nil {
		t.Fatalf("RevealKey of a key card: %v", err)
	}
	return r.GetKey()
}

// redeem redeems key for customer C with token and returns the redemption's ID; the redemption
// must complete.
func (f *matrixFixture) redeem(ctx context.Context, t *testing.T, token, key string) string {
	r, err := f.redeemCall(as(ctx, token), key)
	if err != nil {
		t.Fatalf("RedeemProductKeys: %v", err)
	}
	return r
}

// redeemCall redeems key for customer C with ctx's token; a redemption that does not complete is
// an error (FAILED_PRECONDITION, so it shows in the matrix).
func (f *matrixFixture) redeemCall(ctx context.Context, key string) (string, error) {
	resp, err := f.s.redemptions().RedeemProductKeys(ctx, &ordersv1.RedeemProductKeysRequest{RequestId: rid(), ProductKeys: []string{key},
		Target: &ordersv1.RedeemProductKeysRequest_CustomerId{CustomerId: f.c.id}})
	if err != nil {
		return "", err
	}
	if r := resp.GetRedemption(); r.GetState() != ordersv1.RedemptionState_REDEMPTION_STATE_COMPLETED {
		return "", status.Errorf(codes.FailedPrecondition, "redemption %s is %v (failure %v), not COMPLETED",
			r.GetRedemptionId(), r.GetState(), r.GetFailure())
	}
	return resp.GetRedemption().GetRedemptionId(), nil
}

// keysFixture issues f.ent (as the saga), creates f.link and mints f.card (as A's Admin agent).
func (f *matrixFixture) keysFixture(ctx context.Context, t *testing.T) {
	e, err := f.s.entitlements().IssueEntitlements(as(ctx, f.saga), f.issueRequest())
	if err != nil {
		t.Fatalf("IssueEntitlements: %v", err)
	}
	f.ent, f.keyID = e.GetEntitlement().GetEntitlementId(), e.GetEntitlement().GetKeys()[0].GetKeyId()
	l, err := f.s.entitlements().CreateDownloadLink(as(ctx, f.token[adminAgent]), &keysv1.CreateDownloadLinkRequest{
		RequestId: rid(), EntitlementId: f.ent, VariantId: "iso"})
	if err != nil {
		t.Fatalf("CreateDownloadLink: %v", err)
	}
	f.link = l.GetLink().GetUrl()
	m, err := f.s.keyCards().MintKeyCards(as(ctx, f.token[adminAgent]), f.mintRequest())
	if err != nil {
		t.Fatalf("MintKeyCards: %v", err)
	}
	f.card = m.GetKeyCards()[0].GetKeyCardId()
}

// issueRequest is a software order line of customer C, partner A: one MAK key, one ISO.
func (f *matrixFixture) issueRequest() *keysv1.IssueEntitlementsRequest {
	return &keysv1.IssueEntitlementsRequest{RequestId: rid(), OrderId: rid(), OrderLineId: rid(), CustomerId: f.c.id,
		PartnerId: f.a.id, SkuId: "DG7GMGF0D7FV:0002", ProductId: "DG7GMGF0D7FV", ProductName: "Matrix Server 2022",
		Quantity: 4, KeyType: keysv1.KeyType_KEY_TYPE_MAK, KeyCount: 1,
		DownloadVariants: []*keysv1.DownloadVariant{{VariantId: "iso", Version: "2022", Language: "en-US", FileType: "ISO",
			FileName: "matrix.iso"}}}
}

// mintRequest mints one Open key card for partner A.
func (f *matrixFixture) mintRequest() *keysv1.MintKeyCardsRequest {
	return &keysv1.MintKeyCardsRequest{RequestId: rid(), PartnerId: f.a.id, SkuId: "CFQ7TTC0LDPB:0001", Seats: 5,
		TermDuration: "P1Y", Count: 1}
}

// subscription provisions a new ACTIVE subscription of customer C with partner A as partner of
// record, as the order saga does (a service token acting for A's Admin agent), and returns its ID.
func (f *matrixFixture) subscription(ctx context.Context, t *testing.T) string {
	resp, err := f.s.provisioning().ProvisionSubscription(as(ctx, f.saga), f.provisionRequest())
	if err != nil {
		t.Fatalf("ProvisionSubscription: %v", err)
	}
	return resp.GetSubscription().GetSubscriptionId()
}

// provisionRequest is a valid order line of 5 seats of a monthly online service for customer C,
// partner A.
func (f *matrixFixture) provisionRequest() *subscriptionsv1.ProvisionSubscriptionRequest {
	return &subscriptionsv1.ProvisionSubscriptionRequest{RequestId: rid(), OrderId: rid(), OrderLineId: rid(),
		CustomerId: f.c.id, PartnerId: f.a.id, SkuId: "CFQ7TTC0LH18:0001", ProductId: "CFQ7TTC0LH18",
		DisplayName: "Matrix 365 Business", ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_ONLINE_SERVICE,
		Channel: subscriptionsv1.Channel_CHANNEL_CSP, Quantity: 5, MaxQuantity: 300,
		BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_MONTHLY, TermDuration: "P1M",
		UnitPrice:              &commonv1.Money{AmountMinor: 1250, CurrencyCode: "EUR"},
		CancellationPolicy:     subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_PRORATED_REFUND_WINDOW,
		CancellationWindowDays: 7, AutoRenew: true}
}

// Fresh targets: rows that change or consume something get their own, so rows do not depend on
// each other's order.

func (f *matrixFixture) partnerUser(ctx context.Context, t *testing.T) actor {
	return f.s.newUser(ctx, t, f.a, "a-"+rid()[:8]+".example", commonv1.Role_ROLE_SALES_AGENT)
}

func (f *matrixFixture) customerUser(ctx context.Context, t *testing.T) actor {
	return f.s.newUser(ctx, t, f.c, "", commonv1.Role_ROLE_CUSTOMER_USER)
}

func (f *matrixFixture) credentialOf(ctx context.Context, t *testing.T, u actor) *identityv1.ApiCredential {
	resp, err := f.s.users().CreateApiCredential(as(ctx, f.a.adminToken), &identityv1.CreateApiCredentialRequest{RequestId: rid(), UserId: u.userID})
	if err != nil {
		t.Fatalf("CreateApiCredential: %v", err)
	}
	return resp.GetCredential()
}

func (f *matrixFixture) invitation(ctx context.Context, t *testing.T) *identityv1.RelationshipInvitation {
	resp, err := f.s.relationships().CreateRelationshipInvitation(as(ctx, f.token[adminAgent]), &identityv1.CreateRelationshipInvitationRequest{RequestId: rid()})
	if err != nil {
		t.Fatalf("CreateRelationshipInvitation: %v", err)
	}
	return resp.GetInvitation()
}

func (f *matrixFixture) offer(ctx context.Context, t *testing.T) *delegatedadminv1.DelegatedAdminRelationship {
	resp, err := f.s.delegated().CreateRelationship(as(ctx, f.token[adminAgent]), &delegatedadminv1.CreateRelationshipRequest{
		RequestId: rid(), CustomerId: f.c.id, Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR},
		DurationDays: 90, Message: "matrix"})
	if err != nil {
		t.Fatalf("CreateRelationship: %v", err)
	}
	return resp.GetRelationship()
}

// resellerRelationship returns the ID of A's active relationship with C.
func (f *matrixFixture) resellerRelationship(ctx context.Context, t *testing.T) string {
	resp, err := f.s.relationships().CheckRelationship(as(ctx, f.s.operator), &identityv1.CheckRelationshipRequest{PartnerId: f.a.id, CustomerId: f.c.id})
	if err != nil || !resp.GetActive() {
		t.Fatalf("A and C are not related: %v %v", resp, err)
	}
	return resp.GetRelationshipId()
}

// matrixRow is one RPC (or one target of an RPC) and who may call it. call makes the call with
// ctx (which carries the caller's token); anything it prepares first goes through bg (no token).
type matrixRow struct {
	method string // full name, e.g. partnerhub.identity.v1.PartnerService/GetPartner
	target string // what the call is about, for the table
	want   string // one outcome per caller, in caller order, separated by " | "
	call   func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error
	// after runs when the call succeeded, to put the world back (e.g. a removed relationship).
	after func(ctx context.Context, t *testing.T, f *matrixFixture)
}

const (
	svcPartners      = "partnerhub.identity.v1.PartnerService/"
	svcUsers         = "partnerhub.identity.v1.UserService/"
	svcTokens        = "partnerhub.identity.v1.TokenService/"
	svcCustomers     = "partnerhub.identity.v1.CustomerService/"
	svcRelationships = "partnerhub.identity.v1.RelationshipService/"
	svcDelegated     = "partnerhub.delegatedadmin.v1.DelegatedAdminService/"
	svcSubs          = "partnerhub.subscriptions.v1.SubscriptionService/"
	svcProvisioning  = "partnerhub.subscriptions.v1.ProvisioningService/"
	svcTransfers     = "partnerhub.subscriptions.v1.TransferService/"
	svcEvents        = "partnerhub.subscriptions.v1.EventService/"
	svcEntitlements  = "partnerhub.keys.v1.EntitlementService/"
	svcKeyCards      = "partnerhub.keys.v1.ProductKeyService/"
	svcActivity      = "partnerhub.keys.v1.ActivityLogService/"
	svcOrders        = "partnerhub.orders.v1.OrderService/"
	svcRedemption    = "partnerhub.orders.v1.RedemptionService/"
	svcLedger        = "partnerhub.orders.v1.LedgerService/"
	svcSupport       = "partnerhub.orders.v1.SupportRequestService/"
)

// matrixRows is the authorization matrix: the documentation of who may do what (DOMAIN.md role
// table, ID-8, DA-6). Columns: Admin agent | Sales agent | Billing agent | other partner's Admin
// agent | customer Global admin | customer user | service token | no token.
func matrixRows() []matrixRow {
	return []matrixRow{
		// --- identity: partners (operators only, through a service token) ---
		{svcPartners + "CreatePartner", "", "denied | denied | denied | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.partners().CreatePartner(ctx, &identityv1.CreatePartnerRequest{RequestId: rid(), LegalName: "New Partner Ltd", CountryCode: "GB",
					Programs: []identityv1.PartnerProgram{identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT},
					Admin:    &identityv1.InitialAdmin{UserName: "admin@" + rid()[:8] + ".example", DisplayName: "Admin", Email: "admin@new.example"}})
				return err
			}, nil},
		{svcPartners + "GetPartner", "partner A", "ok | ok | ok | hidden | hidden | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.partners().GetPartner(ctx, &identityv1.GetPartnerRequest{PartnerId: f.a.id})
				return err
			}, nil},
		{svcPartners + "ListPartners", "", "denied | denied | denied | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.partners().ListPartners(ctx, &identityv1.ListPartnersRequest{})
				return err
			}, nil},
		{svcPartners + "UpdatePartnerPrograms", "partner A (its programs as they are)", "denied | denied | denied | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.partners().UpdatePartnerPrograms(ctx, &identityv1.UpdatePartnerProgramsRequest{RequestId: rid(), PartnerId: f.a.id,
					Programs: []identityv1.PartnerProgram{identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT,
						identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN, identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN}})
				return err
			}, nil},

		// --- identity: users and credentials ---
		{svcUsers + "CreateUser", "a user of partner A", "denied | denied | denied | hidden | hidden | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.users().CreateUser(ctx, &identityv1.CreateUserRequest{RequestId: rid(), OrgId: f.a.id, UserName: "n" + rid()[:8] + "@a.example",
					DisplayName: "New", Email: "new@a.example", Roles: []commonv1.Role{commonv1.Role_ROLE_SALES_AGENT}})
				return err
			}, nil},
		{svcUsers + "CreateUser", "a user of customer C", "denied | denied | denied | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.users().CreateUser(ctx, &identityv1.CreateUserRequest{RequestId: rid(), OrgId: f.c.id, UserName: "n" + rid()[:8] + "@" + f.c.domain,
					DisplayName: "New", Email: "new@c.example", Roles: []commonv1.Role{commonv1.Role_ROLE_CUSTOMER_USER}})
				return err
			}, nil},
		{svcUsers + "CreateUser", "a user of customer C2 (A holds delegated User administrator)", "ok | denied | denied | hidden | hidden | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.users().CreateUser(ctx, &identityv1.CreateUserRequest{RequestId: rid(), OrgId: f.c2.id, UserName: "n" + rid()[:8] + "@" + f.c2.domain,
					DisplayName: "New", Email: "new@c2.example", Roles: []commonv1.Role{commonv1.Role_ROLE_CUSTOMER_USER}})
				return err
			}, nil},
		{svcUsers + "GetUser", "a user of partner A", "ok | ok | ok | hidden | hidden | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.partnerUser(bg, t)
				_, err := f.s.users().GetUser(ctx, &identityv1.GetUserRequest{UserId: u.userID})
				return err
			}, nil},
		{svcUsers + "GetUser", "a user of customer C", "hidden | hidden | hidden | hidden | ok | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.customerUser(bg, t)
				_, err := f.s.users().GetUser(ctx, &identityv1.GetUserRequest{UserId: u.userID})
				return err
			}, nil},
		{svcUsers + "ListUsers", "partner A", "ok | ok | ok | hidden | hidden | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.users().ListUsers(ctx, &identityv1.ListUsersRequest{OrgId: f.a.id})
				return err
			}, nil},
		{svcUsers + "ListUsers", "customer C", "denied | hidden | hidden | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.users().ListUsers(ctx, &identityv1.ListUsersRequest{OrgId: f.c.id})
				return err
			}, nil},
		{svcUsers + "ListUsers", "customer C2 (A holds delegated User administrator)", "ok | hidden | hidden | hidden | hidden | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.users().ListUsers(ctx, &identityv1.ListUsersRequest{OrgId: f.c2.id})
				return err
			}, nil},
		{svcUsers + "UpdateUserRoles", "a user of partner A", "denied | denied | denied | hidden | hidden | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.partnerUser(bg, t)
				_, err := f.s.users().UpdateUserRoles(ctx, &identityv1.UpdateUserRolesRequest{RequestId: rid(), UserId: u.userID,
					Roles: []commonv1.Role{commonv1.Role_ROLE_SALES_AGENT, commonv1.Role_ROLE_BILLING_AGENT}})
				return err
			}, nil},
		{svcUsers + "UpdateUserRoles", "a user of customer C", "denied | denied | denied | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.customerUser(bg, t)
				_, err := f.s.users().UpdateUserRoles(ctx, &identityv1.UpdateUserRolesRequest{RequestId: rid(), UserId: u.userID,
					Roles: []commonv1.Role{commonv1.Role_ROLE_CUSTOMER_GLOBAL_ADMIN}})
				return err
			}, nil},
		{svcUsers + "DisableUser", "a user of partner A", "denied | denied | denied | hidden | hidden | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.partnerUser(bg, t)
				_, err := f.s.users().DisableUser(ctx, &identityv1.DisableUserRequest{RequestId: rid(), UserId: u.userID})
				return err
			}, nil},
		{svcUsers + "DisableUser", "a user of customer C", "denied | denied | denied | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.customerUser(bg, t)
				_, err := f.s.users().DisableUser(ctx, &identityv1.DisableUserRequest{RequestId: rid(), UserId: u.userID})
				return err
			}, nil},
		{svcUsers + "DisableUser", "a user of customer C2 (A holds delegated User administrator)", "ok | denied | denied | hidden | hidden | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.s.newUser(bg, t, f.c2, "", commonv1.Role_ROLE_CUSTOMER_USER)
				_, err := f.s.users().DisableUser(ctx, &identityv1.DisableUserRequest{RequestId: rid(), UserId: u.userID})
				return err
			}, nil},
		{svcUsers + "CreateApiCredential", "the caller itself", "ok | ok | ok | ok | ok | ok | invalid | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.users().CreateApiCredential(ctx, &identityv1.CreateApiCredentialRequest{RequestId: rid(), DisplayName: "mine"})
				return err
			}, nil},
		{svcUsers + "CreateApiCredential", "a user of partner A", "denied | denied | denied | hidden | hidden | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.partnerUser(bg, t)
				_, err := f.s.users().CreateApiCredential(ctx, &identityv1.CreateApiCredentialRequest{RequestId: rid(), UserId: u.userID})
				return err
			}, nil},
		{svcUsers + "ListApiCredentials", "a user of partner A", "denied | denied | denied | hidden | hidden | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				u := f.partnerUser(bg, t)
				_, err := f.s.users().ListApiCredentials(ctx, &identityv1.ListApiCredentialsRequest{UserId: u.userID})
				return err
			}, nil},
		{svcUsers + "RevokeApiCredential", "a credential of a user of partner A", "denied | denied | denied | hidden | hidden | hidden | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				cred := f.credentialOf(bg, t, f.partnerUser(bg, t))
				_, err := f.s.users().RevokeApiCredential(ctx, &identityv1.RevokeApiCredentialRequest{RequestId: rid(), CredentialId: cred.GetCredentialId()})
				return err
			}, nil},

		// --- identity: tokens (public: the credential authenticates) ---
		{svcTokens + "IssueToken", "with a valid credential", "ok | ok | ok | ok | ok | ok | ok | ok",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				resp, err := f.s.users().CreateApiCredential(as(bg, f.a.adminToken), &identityv1.CreateApiCredentialRequest{RequestId: rid()})
				if err != nil {
					t.Fatal(err)
				}
				_, err = f.s.tokens().IssueToken(ctx, &identityv1.IssueTokenRequest{ClientId: resp.GetCredential().GetClientId(), ClientSecret: resp.GetClientSecret()})
				return err
			}, nil},
		{svcTokens + "GetSigningKeys", "", "ok | ok | ok | ok | ok | ok | ok | ok",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.tokens().GetSigningKeys(ctx, &identityv1.GetSigningKeysRequest{})
				return err
			}, nil},
		{svcTokens + "IssueServiceToken", "with a service credential", "ok | ok | ok | ok | ok | ok | ok | ok",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.tokens().IssueServiceToken(ctx, &identityv1.IssueServiceTokenRequest{ClientId: "svc_operator", ClientSecret: f.s.opSecret})
				return err
			}, nil},

		// --- identity: customers ---
		{svcCustomers + "CreateCustomer", "", "ok | ok | denied | ok | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.customers().CreateCustomer(ctx, &identityv1.CreateCustomerRequest{RequestId: rid(), OrganisationName: "Fabrikam",
					CountryCode: "DE", DomainPrefix: "f" + strings.ReplaceAll(rid()[:8], "-", ""), Admin: &identityv1.InitialAdmin{DisplayName: "Admin", Email: "it@fabrikam.example"}})
				return err
			}, nil},
		{svcCustomers + "GetCustomer", "customer C", "ok | ok | ok | hidden | ok | ok | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.customers().GetCustomer(ctx, &identityv1.GetCustomerRequest{CustomerId: f.c.id})
				return err
			}, nil},
		{svcCustomers + "ListCustomers", "the caller's own", "ok | ok | ok | ok | ok | ok | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.customers().ListCustomers(ctx, &identityv1.ListCustomersRequest{})
				return err
			}, nil},
		{svcCustomers + "UpdateCustomer", "customer C", "ok | ok | denied | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				name := "Customer C AG"
				_, err := f.s.customers().UpdateCustomer(ctx, &identityv1.UpdateCustomerRequest{RequestId: rid(), CustomerId: f.c.id, OrganisationName: &name})
				return err
			}, nil},
		{svcCustomers + "CheckDomainAvailability", "", "ok | ok | denied | ok | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.customers().CheckDomainAvailability(ctx, &identityv1.CheckDomainAvailabilityRequest{DomainPrefix: "contoso"})
				return err
			}, nil},
		{svcCustomers + "ListMarkets", "", "ok | ok | ok | ok | ok | ok | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.customers().ListMarkets(ctx, &identityv1.ListMarketsRequest{})
				return err
			}, nil},

		// --- identity: reseller relationships (ID-4, ID-5) ---
		{svcRelationships + "CreateRelationshipInvitation", "", "ok | ok | denied | ok | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.relationships().CreateRelationshipInvitation(ctx, &identityv1.CreateRelationshipInvitationRequest{RequestId: rid(), Message: "Hello"})
				return err
			}, nil},
		{svcRelationships + "GetRelationshipInvitation", "partner A's, by ID", "ok | ok | ok | hidden | hidden | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				inv := f.invitation(bg, t)
				_, err := f.s.relationships().GetRelationshipInvitation(ctx, &identityv1.GetRelationshipInvitationRequest{
					Invitation: &identityv1.GetRelationshipInvitationRequest_InvitationId{InvitationId: inv.GetInvitationId()}})
				return err
			}, nil},
		{svcRelationships + "GetRelationshipInvitation", "partner A's, by code", "ok | ok | ok | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				inv := f.invitation(bg, t)
				_, err := f.s.relationships().GetRelationshipInvitation(ctx, &identityv1.GetRelationshipInvitationRequest{
					Invitation: &identityv1.GetRelationshipInvitationRequest_Code{Code: inv.GetCode()}})
				return err
			}, nil},
		{svcRelationships + "ListRelationshipInvitations", "the caller's partner's", "ok | ok | denied | ok | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				req := &identityv1.ListRelationshipInvitationsRequest{}
				if c == serviceToken {
					req.PartnerId = f.a.id
				}
				_, err := f.s.relationships().ListRelationshipInvitations(ctx, req)
				return err
			}, nil},
		{svcRelationships + "WithdrawRelationshipInvitation", "partner A's", "ok | ok | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				inv := f.invitation(bg, t)
				_, err := f.s.relationships().WithdrawRelationshipInvitation(ctx, &identityv1.WithdrawRelationshipInvitationRequest{RequestId: rid(), InvitationId: inv.GetInvitationId()})
				return err
			}, nil},
		{svcRelationships + "AcceptRelationshipInvitation", "a new partner's, for customer C", "denied | denied | denied | denied | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				d := f.s.newPartner(bg, t, "Partner D", "DE")
				inv, err := f.s.relationships().CreateRelationshipInvitation(as(bg, d.adminToken), &identityv1.CreateRelationshipInvitationRequest{RequestId: rid()})
				if err != nil {
					t.Fatal(err)
				}
				_, err = f.s.relationships().AcceptRelationshipInvitation(ctx, &identityv1.AcceptRelationshipInvitationRequest{RequestId: rid(), Code: inv.GetInvitation().GetCode()})
				return err
			}, nil},
		{svcRelationships + "ListRelationships", "customer C's", "ok | ok | ok | ok | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.relationships().ListRelationships(ctx, &identityv1.ListRelationshipsRequest{CustomerId: f.c.id})
				return err
			}, nil},
		{svcRelationships + "RemoveRelationship", "partner A – customer C", "ok | denied | denied | hidden | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.relationships().RemoveRelationship(ctx, &identityv1.RemoveRelationshipRequest{RequestId: rid(), RelationshipId: f.resellerRelationship(bg, t)})
				return err
			}, func(ctx context.Context, t *testing.T, f *matrixFixture) {
				f.s.invite(ctx, t, f.token[adminAgent], f.c) // A and C again, for the rows that follow
			}},
		{svcRelationships + "CheckRelationship", "partner A – customer C", "ok | ok | ok | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.relationships().CheckRelationship(ctx, &identityv1.CheckRelationshipRequest{PartnerId: f.a.id, CustomerId: f.c.id})
				return err
			}, nil},
		{svcRelationships + "MoveCustomer", "customer C from partner D to the caller", "ok | ok | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				d := f.s.newPartner(bg, t, "Partner D", "DE")
				f.s.invite(bg, t, d.adminToken, f.c)
				_, err := f.s.relationships().MoveCustomer(ctx, &identityv1.MoveCustomerRequest{RequestId: rid(), CustomerId: f.c.id, SourcePartnerId: d.id})
				return err
			}, nil},

		// --- delegated administration (DA-1..DA-6) ---
		{svcDelegated + "CreateRelationship", "for customer C", "ok | denied | denied | refused | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.delegated().CreateRelationship(ctx, &delegatedadminv1.CreateRelationshipRequest{RequestId: rid(), CustomerId: f.c.id,
					Roles: []delegatedadminv1.AdminRole{delegatedadminv1.AdminRole_ADMIN_ROLE_HELPDESK_ADMINISTRATOR}, DurationDays: 30})
				return err
			}, nil},
		{svcDelegated + "ApproveRelationship", "partner A's offer to customer C", "denied | denied | denied | denied | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.delegated().ApproveRelationship(ctx, &delegatedadminv1.ApproveRelationshipRequest{RequestId: rid(), RelationshipId: f.offer(bg, t).GetRelationshipId()})
				return err
			}, nil},
		{svcDelegated + "RejectRelationship", "partner A's offer to customer C", "denied | denied | denied | denied | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.delegated().RejectRelationship(ctx, &delegatedadminv1.RejectRelationshipRequest{RequestId: rid(), RelationshipId: f.offer(bg, t).GetRelationshipId()})
				return err
			}, nil},
		{svcDelegated + "TerminateRelationship", "partner A's offer to customer C", "ok | denied | denied | hidden | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.delegated().TerminateRelationship(ctx, &delegatedadminv1.TerminateRelationshipRequest{RequestId: rid(), RelationshipId: f.offer(bg, t).GetRelationshipId()})
				return err
			}, nil},
		{svcDelegated + "GetRelationship", "partner A's offer to customer C", "ok | ok | ok | hidden | ok | ok | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.delegated().GetRelationship(ctx, &delegatedadminv1.GetRelationshipRequest{RelationshipId: f.offer(bg, t).GetRelationshipId()})
				return err
			}, nil},
		{svcDelegated + "ListRelationships", "the caller's own", "ok | ok | ok | ok | ok | ok | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				req := &delegatedadminv1.ListRelationshipsRequest{}
				if c == serviceToken {
					req.CustomerId = f.c.id
				}
				_, err := f.s.delegated().ListRelationships(ctx, req)
				return err
			}, nil},
		{svcDelegated + "CheckAccess", "partner A in customer C", "ok | ok | ok | denied | ok | ok | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.delegated().CheckAccess(ctx, &delegatedadminv1.CheckAccessRequest{PartnerId: f.a.id, CustomerId: f.c.id,
					Role: delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR})
				return err
			}, nil},

		// --- subscriptions: reads and changes (SU-1..SU-16); the target is a subscription of
		// customer C with partner A as partner of record, provisioned by the order saga ---
		{svcSubs + "GetSubscription", "partner A's subscription of customer C", "ok | ok | ok | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: f.sub})
				return err
			}, nil},
		{svcSubs + "ListSubscriptions", "customer C's", "ok | ok | ok | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().ListSubscriptions(ctx, &subscriptionsv1.ListSubscriptionsRequest{CustomerId: f.c.id})
				return err
			}, nil},
		{svcSubs + "ChangeQuantity", "partner A's subscription of customer C (5 → 6 seats)", "ok | ok | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().ChangeQuantity(ctx, &subscriptionsv1.ChangeQuantityRequest{RequestId: rid(),
					SubscriptionId: f.subscription(bg, t), Quantity: 6})
				return err
			}, nil},
		{svcSubs + "PreviewQuantityChange", "partner A's subscription of customer C (5 → 6 seats)", "ok | ok | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().PreviewQuantityChange(ctx, &subscriptionsv1.PreviewQuantityChangeRequest{SubscriptionId: f.sub, Quantity: 6})
				return err
			}, nil},
		{svcSubs + "SetAutoRenew", "partner A's subscription of customer C (off)", "ok | ok | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().SetAutoRenew(ctx, &subscriptionsv1.SetAutoRenewRequest{RequestId: rid(),
					SubscriptionId: f.subscription(bg, t), AutoRenew: false})
				return err
			}, nil},
		{svcSubs + "SuspendSubscription", "partner A's subscription of customer C", "ok | ok | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().SuspendSubscription(ctx, &subscriptionsv1.SuspendSubscriptionRequest{RequestId: rid(),
					SubscriptionId: f.subscription(bg, t), Reason: "matrix"})
				return err
			}, nil},
		{svcSubs + "ReactivateSubscription", "partner A's suspended subscription of customer C", "ok | ok | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				id := f.subscription(bg, t)
				if _, err := f.s.subscriptions().SuspendSubscription(as(bg, f.token[adminAgent]), &subscriptionsv1.SuspendSubscriptionRequest{
					RequestId: rid(), SubscriptionId: id}); err != nil {
					t.Fatalf("SuspendSubscription: %v", err)
				}
				_, err := f.s.subscriptions().ReactivateSubscription(ctx, &subscriptionsv1.ReactivateSubscriptionRequest{RequestId: rid(), SubscriptionId: id})
				return err
			}, nil},
		{svcSubs + "PreviewCancellation", "partner A's subscription of customer C", "ok | ok | ok | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().PreviewCancellation(ctx, &subscriptionsv1.PreviewCancellationRequest{SubscriptionId: f.sub})
				return err
			}, nil},
		{svcSubs + "CancelSubscription", "partner A's subscription of customer C, in its window", "ok | denied | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().CancelSubscription(ctx, &subscriptionsv1.CancelSubscriptionRequest{RequestId: rid(),
					SubscriptionId: f.subscription(bg, t), Reason: "matrix"})
				return err
			}, nil},
		{svcSubs + "PreviewChannelConversion", "partner A's CSP subscription of customer C (only Web-Direct converts)", "refused | refused | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().PreviewChannelConversion(ctx, &subscriptionsv1.PreviewChannelConversionRequest{SubscriptionId: f.sub,
					TargetChannel: subscriptionsv1.Channel_CHANNEL_OPEN})
				return err
			}, nil},
		{svcSubs + "ConvertChannel", "partner A's CSP subscription of customer C (only Web-Direct converts)", "refused | refused | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.subscriptions().ConvertChannel(ctx, &subscriptionsv1.ConvertChannelRequest{RequestId: rid(), SubscriptionId: f.sub,
					TargetChannel: subscriptionsv1.Channel_CHANNEL_OPEN, KeyReservationId: rid(), AcknowledgePenalty: true})
				return err
			}, nil},

		// --- subscriptions: provisioning, for the sagas only (a service token acting on behalf of
		// a partner user; the operator's own-account token acts for no partner) ---
		{svcProvisioning + "ProvisionSubscription", "for customer C, partner A", "denied | denied | denied | denied | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.provisioning().ProvisionSubscription(ctx, f.provisionRequest())
				return err
			}, nil},
		{svcProvisioning + "RenewSubscription", "partner A's subscription of customer C", "denied | denied | denied | denied | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.provisioning().RenewSubscription(ctx, &subscriptionsv1.RenewSubscriptionRequest{RequestId: rid(), SubscriptionId: f.sub,
					OrderId: rid(), TermDuration: "P1M", UnitPrice: &commonv1.Money{AmountMinor: 1250, CurrencyCode: "EUR"}})
				return err
			}, nil},
		{svcProvisioning + "CompensateProvisioning", "a provisioning step for partner A", "denied | denied | denied | denied | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				req := f.provisionRequest()
				if _, err := f.s.provisioning().ProvisionSubscription(as(bg, f.saga), req); err != nil {
					t.Fatalf("ProvisionSubscription: %v", err)
				}
				_, err := f.s.provisioning().CompensateProvisioning(ctx, &subscriptionsv1.CompensateProvisioningRequest{RequestId: rid(),
					StepRequestId: req.GetRequestId(), Reason: "matrix"})
				return err
			}, nil},
		{svcProvisioning + "CheckTenantCapacity", "customer C's room for one more subscription (SU-13)", "denied | denied | denied | denied | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.provisioning().CheckTenantCapacity(ctx, &subscriptionsv1.CheckTenantCapacityRequest{
					CustomerId: f.c.id, Requested: 1})
				return err
			}, nil},

		// --- subscriptions: transfers (ID-5, SU-12..SU-14); the rows are refused before a transfer
		// asks the catalog about offers (the targets are unknown, or not customer C's direct
		// purchases) ---
		{svcTransfers + "CreateTransfer", "customer C's direct purchases, naming partner A's subscription", "invalid | invalid | denied | refused | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.transfers().CreateTransfer(ctx, &subscriptionsv1.CreateTransferRequest{RequestId: rid(), CustomerId: f.c.id,
					Items: []*subscriptionsv1.TransferItemSpec{{SubscriptionId: f.sub}}})
				return err
			}, nil},
		{svcTransfers + "GetTransfer", "an unknown transfer", "hidden | hidden | denied | hidden | hidden | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.transfers().GetTransfer(ctx, &subscriptionsv1.GetTransferRequest{TransferId: rid()})
				return err
			}, nil},
		{svcTransfers + "ListTransfers", "the caller's own", "ok | ok | denied | ok | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.transfers().ListTransfers(ctx, &subscriptionsv1.ListTransfersRequest{})
				return err
			}, nil},
		{svcTransfers + "AcceptTransfer", "an unknown transfer", "hidden | hidden | denied | hidden | hidden | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.transfers().AcceptTransfer(ctx, &subscriptionsv1.AcceptTransferRequest{RequestId: rid(), TransferId: rid()})
				return err
			}, nil},
		{svcTransfers + "CancelTransfer", "an unknown transfer", "hidden | hidden | denied | hidden | hidden | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.transfers().CancelTransfer(ctx, &subscriptionsv1.CancelTransferRequest{RequestId: rid(), TransferId: rid()})
				return err
			}, nil},

		// --- keys: entitlements (KD-3..KD-8, CA-8); the target is an entitlement of customer C
		// (partner A) with one MAK key, issued by the order saga ---
		{svcEntitlements + "IssueEntitlements", "for customer C, partner A", "denied | denied | denied | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().IssueEntitlements(ctx, f.issueRequest())
				return err
			}, nil},
		{svcEntitlements + "RevokeEntitlements", "an order without entitlements", "denied | denied | denied | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().RevokeEntitlements(ctx, &keysv1.RevokeEntitlementsRequest{RequestId: rid(), OrderId: rid()})
				return err
			}, nil},
		{svcEntitlements + "ListSoftware", "customer C's", "ok | denied | denied | refused | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().ListSoftware(ctx, &keysv1.ListSoftwareRequest{CustomerId: f.c.id})
				return err
			}, nil},
		{svcEntitlements + "GetDownloadOptions", "customer C's entitlement", "ok | denied | denied | hidden | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().GetDownloadOptions(ctx, &keysv1.GetDownloadOptionsRequest{EntitlementId: f.ent})
				return err
			}, nil},
		{svcEntitlements + "RevealKey", "customer C's MAK key", "ok | denied | denied | hidden | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().RevealKey(ctx, &keysv1.RevealKeyRequest{RequestId: rid(), KeyId: f.keyID})
				return err
			}, nil},
		{svcEntitlements + "CreateDownloadLink", "customer C's entitlement", "ok | denied | denied | hidden | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().CreateDownloadLink(ctx, &keysv1.CreateDownloadLinkRequest{RequestId: rid(),
					EntitlementId: f.ent, VariantId: "iso"})
				return err
			}, nil},
		{svcEntitlements + "ResolveDownloadLink", "a link to customer C's download (public)", "ok | ok | ok | ok | ok | ok | ok | ok",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().ResolveDownloadLink(ctx, &keysv1.ResolveDownloadLinkRequest{RequestId: rid(), Link: f.link})
				return err
			}, nil},

		// --- keys: Open key cards (KD-1, KD-2); partner A is in the Open program ---
		{svcKeyCards + "MintKeyCards", "one card for partner A", "ok | denied | denied | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.keyCards().MintKeyCards(ctx, f.mintRequest())
				return err
			}, nil},
		{svcKeyCards + "ListKeyCards", "the caller partner's", "ok | ok | denied | ok | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.keyCards().ListKeyCards(ctx, &keysv1.ListKeyCardsRequest{})
				return err
			}, nil},
		{svcKeyCards + "ValidateProductKeys", "a mistyped key (a verdict, not an error)", "ok | ok | denied | ok | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.keyCards().ValidateProductKeys(ctx, &keysv1.ValidateProductKeysRequest{ProductKeys: []string{"AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"}})
				return err
			}, nil},
		{svcKeyCards + "ReserveProductKeys", "a mistyped key", "denied | denied | denied | denied | denied | denied | invalid | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.keyCards().ReserveProductKeys(ctx, &keysv1.ReserveProductKeysRequest{RequestId: rid(), RedemptionId: rid(),
					ProductKeys: []string{"AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"}})
				return err
			}, nil},
		{svcKeyCards + "ConfirmRedemption", "an unknown reservation", "denied | denied | denied | denied | denied | denied | hidden | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.keyCards().ConfirmRedemption(ctx, &keysv1.ConfirmRedemptionRequest{RequestId: rid(), ReservationId: rid(),
					CustomerId: f.c.id, SubscriptionId: f.sub})
				return err
			}, nil},
		{svcKeyCards + "ReleaseReservation", "an unknown reservation", "denied | denied | denied | denied | denied | denied | hidden | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.keyCards().ReleaseReservation(ctx, &keysv1.ReleaseReservationRequest{RequestId: rid(), ReservationId: rid()})
				return err
			}, nil},
		{svcEntitlements + "RevealKey", "partner A's key card", "ok | denied | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.entitlements().RevealKey(ctx, &keysv1.RevealKeyRequest{RequestId: rid(), KeyId: f.card})
				return err
			}, nil},

		// --- keys: the activity log (KD-6: Global, Account, Referral and Marketing content admins,
		// none of whom is a column here) ---
		{svcActivity + "ListActivity", "the last day", "denied | denied | denied | denied | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				now := f.s.clock.Now()
				_, err := f.s.activity().ListActivity(ctx, &keysv1.ListActivityRequest{StartTime: timestamppb.New(now.Add(-24 * time.Hour)),
					EndTime: timestamppb.New(now.Add(time.Hour))})
				return err
			}, nil},

		// --- subscriptions: the events feed ---
		{svcEvents + "ListEvents", "the caller's own", "ok | ok | ok | ok | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.events().ListEvents(ctx, &subscriptionsv1.ListEventsRequest{})
				return err
			}, nil},
		{svcEvents + "WatchEvents", "the caller's own (stream)", "ok | ok | ok | ok | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				return watchOnce(ctx, f.s.events(), &subscriptionsv1.WatchEventsRequest{})
			}, nil},

		// --- orders: orders (OR-1..OR-7, ID-4, ID-8); the target is a COMPLETED order of partner A
		// for customer C (5 seats of Microsoft 365 Business Standard, monthly) ---
		{svcOrders + "ValidateOrder", "5 seats for customer C", "ok | ok | denied | ok | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.orders().ValidateOrder(ctx, &ordersv1.ValidateOrderRequest{CustomerId: f.c.id, Lines: f.orderLines()})
				return err
			}, nil},
		{svcOrders + "PlaceOrder", "5 seats for customer C", "ok | ok | denied | refused | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.orders().PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{RequestId: rid(), CustomerId: f.c.id, Lines: f.orderLines()})
				return err
			}, nil},
		{svcOrders + "GetOrder", "partner A's order for customer C", "ok | ok | ok | hidden | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.orders().GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: f.order})
				return err
			}, nil},
		{svcOrders + "WatchOrder", "partner A's order for customer C (stream; settled: one snapshot)", "ok | ok | ok | hidden | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				return watchOrderOnce(ctx, f.s.orders(), f.order)
			}, nil},
		{svcOrders + "ListOrders", "customer C's", "ok | ok | ok | denied | denied | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.orders().ListOrders(ctx, &ordersv1.ListOrdersRequest{CustomerId: f.c.id})
				return err
			}, nil},
		{svcOrders + "CancelOrder", "partner A's completed order for customer C, in its window", "ok | denied | denied | hidden | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.orders().CancelOrder(ctx, &ordersv1.CancelOrderRequest{RequestId: rid(), OrderId: f.completedOrder(bg, t), Reason: "matrix"})
				return err
			}, nil},

		// --- orders: Open key redemption (KD-1, KD-2, ID-1); the keys are partner A's key cards ---
		{svcRedemption + "ValidateProductKeys", "partner A's key card, for customer C", "ok | ok | denied | denied | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.redemptions().ValidateProductKeys(ctx, &ordersv1.ValidateProductKeysRequest{ProductKeys: []string{f.key(bg, t)},
					Target: &ordersv1.ValidateProductKeysRequest_CustomerId{CustomerId: f.c.id}})
				return err
			}, nil},
		{svcRedemption + "RedeemProductKeys", "partner A's key card, for customer C", "ok | ok | denied | denied | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.redeemCall(ctx, f.key(bg, t))
				return err
			}, nil},
		{svcRedemption + "GetRedemption", "partner A's redemption for customer C", "ok | ok | denied | hidden | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.redemptions().GetRedemption(ctx, &ordersv1.GetRedemptionRequest{RedemptionId: f.redemption})
				return err
			}, nil},

		// --- orders: the ledger (BI-1..BI-3; the partner's own, ID-8) ---
		{svcLedger + "ListLedgerEntries", "partner A's, of customer C", "denied | denied | ok | denied | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.ledger().ListLedgerEntries(ctx, &ordersv1.ListLedgerEntriesRequest{CustomerId: f.c.id})
				return err
			}, nil},
		{svcLedger + "GetInvoicePreview", "partner A's, this month", "denied | denied | ok | denied | denied | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.ledger().GetInvoicePreview(ctx, &ordersv1.GetInvoicePreviewRequest{InvoiceMonth: f.s.clock.Now().UTC().Format("2006-01")})
				return err
			}, nil},

		// --- orders: support requests (OR-6, DA-4); C approved A's delegated Service support
		// administrator ---
		{svcSupport + "CreateSupportRequest", "about partner A's order for customer C", "ok | denied | denied | denied | ok | denied | denied | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.support().CreateSupportRequest(ctx, &ordersv1.CreateSupportRequestRequest{RequestId: rid(),
					Customer:        &ordersv1.CreateSupportRequestRequest_CustomerId{CustomerId: f.c.id},
					Subject:         &ordersv1.CreateSupportRequestRequest_OrderId{OrderId: f.order},
					RefundReason:    ordersv1.RefundReason_REFUND_REASON_ACCIDENTAL_PURCHASE,
					AmountRequested: &commonv1.Money{AmountMinor: 7015, CurrencyCode: "EUR"},
					Contact:         &ordersv1.Contact{Name: "Jane Doe", Email: "jane@c.example"}, Title: "Ordered by mistake"})
				return err
			}, nil},
		{svcSupport + "ListSupportRequests", "customer C's", "ok | denied | denied | ok | ok | denied | ok | no token",
			func(bg, ctx context.Context, t *testing.T, f *matrixFixture, c caller) error {
				_, err := f.s.support().ListSupportRequests(ctx, &ordersv1.ListSupportRequestsRequest{CustomerId: f.c.id})
				return err
			}, nil},
	}
}

// watchOnce opens a WatchEvents stream for a moment: a first event, or the stream still open when
// the short deadline passes (nothing visible yet), is success; a refusal comes as the stream's error.
func watchOnce(ctx context.Context, c subscriptionsv1.EventServiceClient, req *subscriptionsv1.WatchEventsRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	stream, err := c.WatchEvents(ctx, req)
	if err != nil {
		return err
	}
	if _, err := stream.Recv(); err != nil && status.Code(err) != codes.DeadlineExceeded {
		return err
	}
	return nil
}

// defect is a cell whose outcome today differs from what the contract (and DOMAIN.md) says: the
// row keeps the contract's outcome, the test accepts got instead and logs it, and fails once the
// cell behaves as the contract says (then remove the entry). The README shows both.
type defect struct {
	got string // today's outcome
	why string // what is wrong
}

func defectKey(r matrixRow, c caller) string {
	return r.method + " (" + r.target + ") as " + c.String()
}

// knownDefects are the cells that do not behave as their contract says, by defectKey.
var knownDefects = map[string]defect{
	svcRedemption + "RedeemProductKeys (partner A's key card, for customer C) as customer Global admin": {"refused",
		"the call answers OK but the redemption always ends FAILED: subscriptions refuses its create_subscription step " +
			"(SERVICE_TOKEN_REQUIRED: the saga acts for the customer, not a partner user); the row counts a redemption " +
			"that does not complete as refused"},
}

// watchOrderOnce follows an order: the stream of a settled order ends after one snapshot; a
// refusal comes as the stream's error.
func watchOrderOnce(ctx context.Context, c ordersv1.OrderServiceClient, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stream, err := c.WatchOrder(ctx, &ordersv1.WatchOrderRequest{OrderId: id})
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// TestAuthorizationMatrix calls every RPC of identity, delegatedadmin, subscriptions, keys and orders as each kind of caller
// and checks the outcome against the matrix (DOMAIN.md role table, ID-8, DA-6). The matrix is
// also the README's "Who may do what" table; -update-readme rewrites it from here.
func TestAuthorizationMatrix(t *testing.T) {
	s := theSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newMatrixFixture(ctx, t, s)
	rows := matrixRows()
	seenDefects := map[string]bool{}

	for _, r := range rows {
		want := strings.Split(r.want, " | ")
		if len(want) != int(callerCount) {
			t.Fatalf("%s (%s): %d outcomes, want %d", r.method, r.target, len(want), callerCount)
		}
		for c := range callerCount {
			cctx := as(ctx, f.token[c])
			err := r.call(ctx, cctx, t, f, c)
			got, ok := outcomeOf[status.Code(err)]
			if !ok {
				got = status.Code(err).String()
			}
			d, known := knownDefects[defectKey(r, c)]
			switch {
			case got == want[c] && known:
				t.Errorf("%s (%s) as %s: %s as the contract says: the known defect is fixed, remove it from knownDefects", r.method, r.target, c, got)
			case got == want[c]:
			case known && got == d.got:
				t.Logf("%s (%s) as %s: %s (%v), want %s: known defect (%s)", r.method, r.target, c, got, err, want[c], d.why)
			default:
				t.Errorf("%s (%s) as %s: %s (%v), want %s", r.method, r.target, c, got, err, want[c])
			}
			seenDefects[defectKey(r, c)] = true
			if err == nil && r.after != nil {
				r.after(ctx, t, f)
			}
		}
	}

	for k := range knownDefects {
		if !seenDefects[k] {
			t.Errorf("knownDefects names %q, which is no cell of the matrix", k)
		}
	}

	t.Run("every RPC is in the matrix", func(t *testing.T) {
		covered := map[string]bool{}
		for _, r := range rows {
			covered[r.method] = true
		}
		for _, m := range contractMethods(t, "partnerhub.identity.v1", "partnerhub.delegatedadmin.v1", "partnerhub.subscriptions.v1",
			"partnerhub.keys.v1", "partnerhub.orders.v1") {
			if !covered[m] {
				t.Errorf("%s has no row in the authorization matrix", m)
			}
		}
	})

	t.Run("README shows the matrix", func(t *testing.T) {
		const readme = "../../README.md"
		b, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		start, end := strings.Index(text, matrixStart), strings.Index(text, matrixEnd)
		if start < 0 || end < start {
			t.Fatalf("README.md has no %s … %s section", matrixStart, matrixEnd)
		}
		table := renderMatrix(rows)
		current := text[start+len(matrixStart) : end]
		if current == table {
			return
		}
		if !*updateReadme {
			t.Fatalf("README.md's authorization matrix differs from the test table; run: go test ./deploy/devstack -run TestAuthorizationMatrix -update-readme")
		}
		if err := os.WriteFile(readme, []byte(text[:start+len(matrixStart)]+table+text[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
	})
}

const (
	matrixStart = "<!-- authz-matrix:start (generated by TestAuthorizationMatrix -update-readme) -->\n"
	matrixEnd   = "<!-- authz-matrix:end -->"
)

// renderMatrix writes the matrix as a Markdown table.
func renderMatrix(rows []matrixRow) string {
	var b strings.Builder
	b.WriteString("| RPC | target |")
	for c := range callerCount {
		fmt.Fprintf(&b, " %s |", c)
	}
	b.WriteString("\n|---|---|")
	for range callerCount {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	var notes []string
	for _, r := range rows {
		full, name, _ := strings.Cut(r.method, "/")
		svc := full[strings.LastIndex(full, ".")+1:]
		target := r.target
		if target == "" {
			target = "—"
		}
		want := strings.Split(r.want, " | ")
		for c := range want {
			if d, ok := knownDefects[defectKey(r, caller(c))]; ok {
				notes = append(notes, fmt.Sprintf("%s.%s (%s) as %s: %s", svc, name, target, caller(c), d.why))
				want[c] += fmt.Sprintf(" (today: %s [%d])", d.got, len(notes))
			}
		}
		fmt.Fprintf(&b, "| %s.%s | %s | %s |\n", svc, name, target, strings.Join(want, " | "))
	}
	if len(notes) > 0 {
		b.WriteString("\nKnown defects: cells whose outcome today is not the contract's, shown as \"contract (today: outcome [n])\":\n\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "%d. %s.\n", i+1, n)
		}
	}
	return b.String()
}

// contractMethods lists every RPC of the packages' services as "package.Service/Method".
func contractMethods(t *testing.T, packages ...string) []string {
	var out []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !slices.Contains(packages, string(fd.Package())) {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				out = append(out, string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatal("no contract methods registered")
	}
	// Make sure both packages' descriptors are linked in.
	_ = identityv1.File_partnerhub_identity_v1_token_service_proto
	_ = delegatedadminv1.File_partnerhub_delegatedadmin_v1_delegated_admin_service_proto
	_ = subscriptionsv1.File_partnerhub_subscriptions_v1_subscription_service_proto
	_ = ordersv1.File_partnerhub_orders_v1_order_service_proto
	return out
}
