package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/catalog"
	"github.com/partnerhub/partnerhub/services/delegatedadmin"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/keys"
	"github.com/partnerhub/partnerhub/services/orders"
	"github.com/partnerhub/partnerhub/services/subscriptions"
)

// tenancySuite runs all six services (identity, delegatedadmin, subscriptions, keys, catalog with
// its seed, and orders) in this process, on SQLite and a shared fake clock, wired to each other with
// real service credentials: the same code paths as the devstack and the containers, at in-process
// speed. Tests talk to it over gRPC with real tokens.
type tenancySuite struct {
	id, da   *grpc.ClientConn
	subs     *grpc.ClientConn
	keys     *grpc.ClientConn
	cat      *grpc.ClientConn
	ord      *grpc.ClientConn
	clock    *clock.Fake
	operator string // service token of the "operator" credential: SERVICE, no on_behalf_of
	opSecret string
}

const (
	suiteOperatorSecret = "suite-operator-secret-0123456789"
	suiteDASecret       = "suite-delegatedadmin-secret-0123"
	suiteSubsSecret     = "suite-subscriptions-secret-01234"
	suiteKeysSecret     = "suite-keys-secret-0123456789abcde"
	suiteCatalogSecret  = "suite-catalog-secret-0123456789ab"
	suiteOrdersSecret   = "suite-orders-secret-0123456789abc"
	// suiteKeyBytes is a keys service key setting's key: 32 bytes of base64.
	suiteKeyBytes = "c3VpdGUta2V5cy1rZXktMDEyMzQ1Njc4OWFiY2RlZmc"
)

var (
	suiteOnce sync.Once
	suiteInst *tenancySuite
	suiteErr  error
)

// theSuite starts the suite once per test binary; the services stop when the process ends.
func theSuite(t *testing.T) *tenancySuite {
	t.Helper()
	suiteOnce.Do(func() { suiteInst, suiteErr = startSuite() })
	if suiteErr != nil {
		t.Fatalf("tenancy suite: %v", suiteErr)
	}
	return suiteInst
}

func startSuite() (*tenancySuite, error) {
	addrs, err := freeAddrs(6)
	if err != nil {
		return nil, err
	}
	// The catalog imports its seed (services/catalog/seed) once identity answers with the
	// markets, as in the devstack; orders and the transfers of subscriptions ask it about offers.
	idAddr, daAddr, subsAddr, catAddr, keysAddr, ordAddr := addrs[0], addrs[1], addrs[2], addrs[3], addrs[4], addrs[5]
	fake := clock.NewFake(time.Now().UTC().Truncate(time.Second))

	idCfg := identity.Bind(config.New(identity.Name).WithEnv(noEnv))
	idCfg.GRPCAddr, idCfg.AdminAddr, idCfg.Clock = idAddr, "", fake
	idCfg.DatabaseURL = "sqlite::memory:"
	idCfg.LogLevel = "error"
	idCfg.ServiceCredentials = "operator=" + suiteOperatorSecret + ",delegatedadmin=" + suiteDASecret +
		",subscriptions=" + suiteSubsSecret + ",keys=" + suiteKeysSecret +
		",catalog=" + suiteCatalogSecret + ",orders=" + suiteOrdersSecret
	idCfg.DelegatedAdminAddr = daAddr

	daCfg := delegatedadmin.Bind(config.New(delegatedadmin.Name).WithEnv(noEnv))
	daCfg.GRPCAddr, daCfg.AdminAddr, daCfg.Clock = daAddr, "", fake
	daCfg.DatabaseURL = "sqlite::memory:"
	daCfg.LogLevel = "error"
	daCfg.IdentityAddr = idAddr
	daCfg.ServiceSecret = suiteDASecret

	subsCfg := subscriptions.Bind(config.New(subscriptions.Name).WithEnv(noEnv))
	subsCfg.GRPCAddr, subsCfg.AdminAddr, subsCfg.Clock = subsAddr, "", fake
	subsCfg.DatabaseURL = "sqlite::memory:"
	subsCfg.LogLevel = "error"
	subsCfg.IdentityAddr = idAddr
	subsCfg.ServiceSecret = suiteSubsSecret
	subsCfg.CatalogAddr = catAddr

	keysCfg := keys.Bind(config.New(keys.Name).WithEnv(noEnv))
	keysCfg.GRPCAddr, keysCfg.AdminAddr, keysCfg.Clock = keysAddr, "", fake
	keysCfg.DatabaseURL = "sqlite::memory:"
	keysCfg.LogLevel = "error"
	keysCfg.IdentityAddr = idAddr
	keysCfg.ServiceSecret = suiteKeysSecret
	keysCfg.SealingKeys, keysCfg.LinkKeys, keysCfg.LookupKey = "s1:"+suiteKeyBytes, "l1:"+suiteKeyBytes, suiteKeyBytes

	catCfg := catalog.Bind(config.New(catalog.Name).WithEnv(noEnv))
	catCfg.GRPCAddr, catCfg.AdminAddr, catCfg.Clock = catAddr, "", fake
	catCfg.DatabaseURL = "sqlite::memory:"
	catCfg.LogLevel = "error"
	catCfg.IdentityAddr = idAddr
	catCfg.ServiceSecret = suiteCatalogSecret
	catCfg.Seed = true // the seed catalog, as in the devstack (members.go)

	ordCfg := orders.Bind(config.New(orders.Name).WithEnv(noEnv))
	ordCfg.GRPCAddr, ordCfg.AdminAddr, ordCfg.Clock = ordAddr, "", fake
	ordCfg.DatabaseURL = "sqlite::memory:"
	ordCfg.LogLevel = "error"
	ordCfg.IdentityAddr = idAddr
	ordCfg.ServiceSecret = suiteOrdersSecret
	ordCfg.CatalogAddr, ordCfg.SubscriptionsAddr, ordCfg.KeysAddr, ordCfg.DelegatedAdminAddr = catAddr, subsAddr, keysAddr, daAddr

	ctx := context.Background()
	errc := make(chan error, 6)
	go func() { errc <- fmt.Errorf("identity stopped: %w", identity.Run(ctx, *idCfg)) }()
	go func() { errc <- fmt.Errorf("delegatedadmin stopped: %w", delegatedadmin.Run(ctx, *daCfg)) }()
	go func() { errc <- fmt.Errorf("subscriptions stopped: %w", subscriptions.Run(ctx, *subsCfg)) }()
	go func() { errc <- fmt.Errorf("keys stopped: %w", keys.Run(ctx, *keysCfg)) }()
	go func() { errc <- fmt.Errorf("catalog stopped: %w", catalog.Run(ctx, *catCfg)) }()
	go func() { errc <- fmt.Errorf("orders stopped: %w", orders.Run(ctx, *ordCfg)) }()
	for _, addr := range []string{idAddr, daAddr, subsAddr, keysAddr, catAddr, ordAddr} {
		deadline := time.Now().Add(30 * time.Second)
		for svc.Probe(ctx, addr, time.Second) != nil {
			select {
			case err := <-errc:
				return nil, err
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s not healthy after 30 s", addr)
			}
		}
	}
	s := &tenancySuite{clock: fake, opSecret: suiteOperatorSecret}
	if s.id, err = svc.Dial(idAddr); err != nil {
		return nil, err
	}
	if s.da, err = svc.Dial(daAddr); err != nil {
		return nil, err
	}
	if s.subs, err = svc.Dial(subsAddr); err != nil {
		return nil, err
	}
	if s.keys, err = svc.Dial(keysAddr); err != nil {
		return nil, err
	}
	if s.cat, err = svc.Dial(catAddr); err != nil {
		return nil, err
	}
	if s.ord, err = svc.Dial(ordAddr); err != nil {
		return nil, err
	}
	resp, err := s.tokens().IssueServiceToken(ctx, &identityv1.IssueServiceTokenRequest{
		ClientId: "svc_operator", ClientSecret: suiteOperatorSecret})
	if err != nil {
		return nil, fmt.Errorf("operator token: %w", err)
	}
	s.operator = resp.GetAccessToken().GetToken()
	// The seed import runs in the background once identity answers (and retries a second later
	// if it did not yet): wait for it, so that no order is reviewed against an empty catalog.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := catalogv1.NewCatalogServiceClient(s.cat).GetSku(as(ctx, s.operator), &catalogv1.GetSkuRequest{SkuId: suiteSeedSku})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("catalog seed not imported after 30 s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, nil
}

// suiteSeedSku is a SKU of the seed catalog: Microsoft 365 Business Standard, an online service
// sold monthly in Germany.
const suiteSeedSku = "CFQ7TTC0LDPB:0001"

func (s *tenancySuite) tokens() identityv1.TokenServiceClient {
	return identityv1.NewTokenServiceClient(s.id)
}
func (s *tenancySuite) partners() identityv1.PartnerServiceClient {
	return identityv1.NewPartnerServiceClient(s.id)
}
func (s *tenancySuite) users() identityv1.UserServiceClient {
	return identityv1.NewUserServiceClient(s.id)
}
func (s *tenancySuite) customers() identityv1.CustomerServiceClient {
	return identityv1.NewCustomerServiceClient(s.id)
}
func (s *tenancySuite) relationships() identityv1.RelationshipServiceClient {
	return identityv1.NewRelationshipServiceClient(s.id)
}
func (s *tenancySuite) delegated() delegatedadminv1.DelegatedAdminServiceClient {
	return delegatedadminv1.NewDelegatedAdminServiceClient(s.da)
}
func (s *tenancySuite) entitlements() keysv1.EntitlementServiceClient {
	return keysv1.NewEntitlementServiceClient(s.keys)
}
func (s *tenancySuite) keyCards() keysv1.ProductKeyServiceClient {
	return keysv1.NewProductKeyServiceClient(s.keys)
}
func (s *tenancySuite) activity() keysv1.ActivityLogServiceClient {
	return keysv1.NewActivityLogServiceClient(s.keys)
}
func (s *tenancySuite) subscriptions() subscriptionsv1.SubscriptionServiceClient {
	return subscriptionsv1.NewSubscriptionServiceClient(s.subs)
}
func (s *tenancySuite) provisioning() subscriptionsv1.ProvisioningServiceClient {
	return subscriptionsv1.NewProvisioningServiceClient(s.subs)
}
func (s *tenancySuite) transfers() subscriptionsv1.TransferServiceClient {
	return subscriptionsv1.NewTransferServiceClient(s.subs)
}
func (s *tenancySuite) events() subscriptionsv1.EventServiceClient {
	return subscriptionsv1.NewEventServiceClient(s.subs)
}
func (s *tenancySuite) orders() ordersv1.OrderServiceClient {
	return ordersv1.NewOrderServiceClient(s.ord)
}
func (s *tenancySuite) redemptions() ordersv1.RedemptionServiceClient {
	return ordersv1.NewRedemptionServiceClient(s.ord)
}
func (s *tenancySuite) ledger() ordersv1.LedgerServiceClient {
	return ordersv1.NewLedgerServiceClient(s.ord)
}
func (s *tenancySuite) support() ordersv1.SupportRequestServiceClient {
	return ordersv1.NewSupportRequestServiceClient(s.ord)
}

// as returns ctx carrying token as the bearer token; "" sends none.
func as(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func rid() string { return uuid.NewString() }

// org is a partner or customer created through the API, with a signed-in admin.
type org struct {
	id         string
	adminToken string // GLOBAL_ADMIN+ACCOUNT_ADMIN of a partner; CUSTOMER_GLOBAL_ADMIN of a customer
	domain     string // a customer's default domain
}

// actor is a signed-in user.
type actor struct {
	userID, token string
}

// newPartner onboards a partner as the operator (PartnerService.CreatePartner).
func (s *tenancySuite) newPartner(ctx context.Context, t testing.TB, name, country string, programs ...identityv1.PartnerProgram) org {
	t.Helper()
	if len(programs) == 0 {
		programs = []identityv1.PartnerProgram{identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT, identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN}
	}
	local := "admin" + uuid.NewString()[:8]
	resp, err := s.partners().CreatePartner(as(ctx, s.operator), &identityv1.CreatePartnerRequest{
		RequestId: rid(), LegalName: name, CountryCode: country, Programs: programs,
		Admin: &identityv1.InitialAdmin{UserName: local + "@" + uuid.NewString()[:8] + ".example", DisplayName: name + " admin", Email: local + "@partner.example"},
	})
	if err != nil {
		t.Fatalf("CreatePartner %s: %v", name, err)
	}
	return org{id: resp.GetPartner().GetPartnerId(), adminToken: s.token(ctx, t, resp.GetAdminCredential().GetClientId(), resp.GetAdminClientSecret())}
}

// newCustomer creates a customer tenant as a partner user (the partner gets the relationship).
func (s *tenancySuite) newCustomer(ctx context.Context, t testing.TB, creatorToken, name, country string) org {
	t.Helper()
	prefix := "t" + uuid.NewString()[:8]
	resp, err := s.customers().CreateCustomer(as(ctx, creatorToken), &identityv1.CreateCustomerRequest{
		RequestId: rid(), OrganisationName: name, CountryCode: country, DomainPrefix: prefix,
		Admin: &identityv1.InitialAdmin{DisplayName: name + " admin", Email: "it@" + prefix + ".example"},
	})
	if err != nil {
		t.Fatalf("CreateCustomer %s: %v", name, err)
	}
	return org{id: resp.GetCustomer().GetCustomerId(), domain: resp.GetCustomer().GetDefaultDomain(),
		adminToken: s.token(ctx, t, resp.GetAdminCredential().GetClientId(), resp.GetAdminClientSecret())}
}

// newUser creates a user with roles in o (by o's admin), gives it a credential and signs it in.
func (s *tenancySuite) newUser(ctx context.Context, t testing.TB, o org, domain string, roles ...commonv1.Role) actor {
	t.Helper()
	local := "u" + uuid.NewString()[:8]
	if domain == "" {
		domain = o.domain
	}
	u, err := s.users().CreateUser(as(ctx, o.adminToken), &identityv1.CreateUserRequest{
		RequestId: rid(), OrgId: o.id, UserName: local + "@" + domain, DisplayName: local, Email: local + "@mail.example", Roles: roles,
	})
	if err != nil {
		t.Fatalf("CreateUser %v in %s: %v", roles, o.id, err)
	}
	c, err := s.users().CreateApiCredential(as(ctx, o.adminToken), &identityv1.CreateApiCredentialRequest{
		RequestId: rid(), UserId: u.GetUser().GetUserId(), DisplayName: "suite"})
	if err != nil {
		t.Fatalf("CreateApiCredential: %v", err)
	}
	return actor{userID: u.GetUser().GetUserId(), token: s.token(ctx, t, c.GetCredential().GetClientId(), c.GetClientSecret())}
}

func (s *tenancySuite) token(ctx context.Context, t testing.TB, clientID, secret string) string {
	t.Helper()
	resp, err := s.tokens().IssueToken(ctx, &identityv1.IssueTokenRequest{ClientId: clientID, ClientSecret: secret})
	if err != nil {
		t.Fatalf("IssueToken %s: %v", clientID, err)
	}
	return resp.GetAccessToken().GetToken()
}

// invite has partner p (by token) invite and customer c's Global admin accept: an ACTIVE reseller
// relationship (ID-4). It returns the relationship ID.
func (s *tenancySuite) invite(ctx context.Context, t testing.TB, partnerToken string, c org) string {
	t.Helper()
	inv, err := s.relationships().CreateRelationshipInvitation(as(ctx, partnerToken), &identityv1.CreateRelationshipInvitationRequest{RequestId: rid()})
	if err != nil {
		t.Fatalf("CreateRelationshipInvitation: %v", err)
	}
	acc, err := s.relationships().AcceptRelationshipInvitation(as(ctx, c.adminToken), &identityv1.AcceptRelationshipInvitationRequest{
		RequestId: rid(), Code: inv.GetInvitation().GetCode()})
	if err != nil {
		t.Fatalf("AcceptRelationshipInvitation: %v", err)
	}
	return acc.GetRelationship().GetRelationshipId()
}

// freeAddrs returns n free local addresses.
func freeAddrs(n int) ([]string, error) {
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() //nolint:revive,gocritic // every listener stays open until all n ports are taken, so they differ
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
