package catalog

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func bind(t *testing.T, args ...string) *Config {
	t.Helper()
	l := config.New(Name).WithEnv(func(string) (string, bool) { return "", false })
	c := Bind(l)
	if err := l.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBind_Defaults(t *testing.T) {
	c := bind(t)
	if c.Seed || c.CacheTTL != time.Minute || c.RedisAddr != "" || c.GRPCAddr != ":50052" {
		t.Errorf("defaults %+v", c)
	}
	if c := bind(t, "--seed", "--cache-ttl", "30s", "--redis-addr", "redis:6379"); !c.Seed || c.CacheTTL != 30*time.Second || c.RedisAddr != "redis:6379" {
		t.Errorf("flags %+v", c)
	}
}

// A bad setting fails at start with a one-line message naming it (DESIGN.md).
func TestRun_BadCacheTTL(t *testing.T) {
	err := Run(context.Background(), *bind(t, "--cache-ttl", "10ms"))
	if err == nil || !strings.Contains(err.Error(), "cache-ttl") {
		t.Errorf("Run: %v", err)
	}
}

// fakeIdentity is identity as catalog meets it at start: signing keys, service tokens, markets
// and partners.
type fakeIdentity struct {
	identityv1.UnimplementedTokenServiceServer
	identityv1.UnimplementedCustomerServiceServer
	identityv1.UnimplementedPartnerServiceServer
	identityv1.UnimplementedRelationshipServiceServer
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func (f *fakeIdentity) sign(t *testing.T, p auth.Principal) string {
	t.Helper()
	tok, err := auth.Sign(auth.SigningKey{ID: "k1", Private: f.priv}, p, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fakeIdentity) GetSigningKeys(context.Context, *identityv1.GetSigningKeysRequest) (*identityv1.GetSigningKeysResponse, error) {
	return &identityv1.GetSigningKeysResponse{Keys: []*identityv1.SigningKey{{KeyId: "k1", Algorithm: "EdDSA", PublicKey: f.pub}}}, nil
}

func (f *fakeIdentity) IssueServiceToken(_ context.Context, req *identityv1.IssueServiceTokenRequest) (*identityv1.IssueServiceTokenResponse, error) {
	tok, err := auth.Sign(auth.SigningKey{ID: "k1", Private: f.priv}, auth.Principal{Subject: req.GetClientId(), OrgID: "catalog",
		OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}, time.Now(), time.Hour)
	if err != nil {
		return nil, err
	}
	return &identityv1.IssueServiceTokenResponse{AccessToken: &identityv1.AccessToken{Token: tok,
		ExpireTime: timestamppb.New(time.Now().Add(time.Hour))}}, nil
}

func (f *fakeIdentity) ListMarkets(context.Context, *identityv1.ListMarketsRequest) (*identityv1.ListMarketsResponse, error) {
	var ms []*identityv1.Market
	for c, cur := range map[string]string{"AT": "EUR", "AU": "AUD", "BR": "BRL", "DE": "EUR", "GB": "GBP", "JP": "JPY", "US": "USD", "CN": "CNY"} {
		ms = append(ms, &identityv1.Market{CountryCode: c, CurrencyCode: cur})
	}
	return &identityv1.ListMarketsResponse{Markets: ms}, nil
}

func (f *fakeIdentity) GetPartner(_ context.Context, req *identityv1.GetPartnerRequest) (*identityv1.GetPartnerResponse, error) {
	return &identityv1.GetPartnerResponse{Partner: &identityv1.Partner{PartnerId: req.GetPartnerId(),
		Enrolments: []*identityv1.ProgramEnrolment{{Program: identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT}}}}, nil
}

func startIdentity(t *testing.T) (*fakeIdentity, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIdentity{pub: pub, priv: priv}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	identityv1.RegisterTokenServiceServer(gs, f)
	identityv1.RegisterCustomerServiceServer(gs, f)
	identityv1.RegisterPartnerServiceServer(gs, f)
	identityv1.RegisterRelationshipServiceServer(gs, f)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return f, lis.Addr().String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Run wires everything: on first start with --seed it imports the seed catalog (in the
// background, once identity answers), serves both catalog services behind the server stack, counts
// store reads on /metrics, and stops cleanly.
func TestRun_SeedsServesAndStops(t *testing.T) {
	idp, idAddr := startIdentity(t)
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	c := bind(t, "--grpc-addr", grpcAddr, "--admin-addr", adminAddr, "--log-level", "error",
		"--database-url", "sqlite:"+filepath.Join(t.TempDir(), "catalog.db"), "--identity-addr", idAddr,
		"--service-secret", "catalog-secret-0123456789", "--seed")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = Run(ctx, *c) })
	defer func() {
		cancel()
		wg.Wait()
		if runErr != nil {
			t.Errorf("Run: %v", runErr)
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); svc.Probe(ctx, grpcAddr, time.Second) != nil; {
		if time.Now().After(deadline) {
			t.Fatal("catalog not serving after 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := svc.Dial(grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := catalogv1.NewCatalogServiceClient(conn)
	user := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+idp.sign(t,
		auth.Principal{Subject: "u1", OrgID: uuid.NewString(), OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}))

	var sku *catalogv1.GetSkuResponse
	for deadline := time.Now().Add(20 * time.Second); ; {
		if sku, err = client.GetSku(user, &catalogv1.GetSkuRequest{SkuId: "CFQ7TTC0LH18:0001"}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the seed catalog was not imported: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sku.GetSku().GetProductKind() != catalogv1.ProductKind_PRODUCT_KIND_ONLINE_SERVICE {
		t.Errorf("seed SKU %v", sku.GetSku())
	}
	price, err := client.GetPrice(user, &catalogv1.GetPriceRequest{SkuId: "CFQ7TTC0LH18:0001", CountryCode: "AU",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL})
	if err != nil || !price.GetPrice().GetTaxInclusive() || price.GetPrice().GetBillingPeriodPrice().GetCurrencyCode() != "AUD" {
		t.Errorf("GetPrice AU: %v %v", price, err)
	}
	offers, err := client.ListPurchasableOffers(user, &catalogv1.ListPurchasableOffersRequest{PageSize: 500,
		Market: &catalogv1.ListPurchasableOffersRequest_CountryCode{CountryCode: "DE"}})
	if err != nil || len(offers.GetOffers()) == 0 {
		t.Errorf("offers: %d %v", len(offers.GetOffers()), err)
	}

	// The read counter is on /metrics; warm GetSku calls do not move it.
	reads := func() float64 {
		resp, err := http.Get("http://" + adminAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sum float64
		found := false
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, StoreReadsMetric+"{") {
				found = true
				var v float64
				f := strings.Fields(line)
				if _, err := fmt.Sscan(f[len(f)-1], &v); err == nil {
					sum += v
				}
			}
		}
		if !found {
			t.Fatalf("%s is not on /metrics", StoreReadsMetric)
		}
		return sum
	}
	before := reads()
	for range 100 {
		if _, err := client.GetSku(user, &catalogv1.GetSkuRequest{SkuId: "CFQ7TTC0LH18:0001"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := reads() - before; n != 0 {
		t.Errorf("%v store reads for 100 warm GetSku", n)
	}
}
