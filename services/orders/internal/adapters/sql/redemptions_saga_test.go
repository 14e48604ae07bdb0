package sql_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// rdPeers are peers that always succeed and count every call per request ID, so a test can tell
// that no step was called twice.
type rdPeers struct {
	mu    sync.Mutex
	calls map[string]int
	n     int
}

func (p *rdPeers) call(requestID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[requestID]++
	p.n++
	return p.n
}

func (p *rdPeers) Validate(_ context.Context, keys []string) ([]domain.KeyVerdict, error) {
	out := make([]domain.KeyVerdict, len(keys))
	for i := range keys {
		out[i] = domain.KeyVerdict{Index: i, Masked: "*****", Status: domain.KeyValid, SkuID: "SKU:0001", Seats: 1, Term: domain.TermP1Y}
	}
	return out, nil
}

func (p *rdPeers) Reserve(_ context.Context, requestID, _ string, _ []string, _ time.Duration) (redeem.Reservation, error) {
	return redeem.Reservation{ID: fmt.Sprintf("res-%d", p.call(requestID))}, nil
}
func (p *rdPeers) Confirm(_ context.Context, requestID, _, _, _ string) error {
	p.call(requestID)
	return nil
}
func (p *rdPeers) Release(_ context.Context, requestID, _ string) error {
	p.call(requestID)
	return nil
}
func (p *rdPeers) CountrySupported(context.Context, string) (bool, error)  { return true, nil }
func (p *rdPeers) DomainAvailable(context.Context, string) (bool, error)   { return true, nil }
func (p *rdPeers) InOpenProgram(context.Context, string) (bool, error)     { return true, nil }
func (p *rdPeers) CustomerCountry(context.Context, string) (string, error) { return "DE", nil }
func (p *rdPeers) CreateTenant(_ context.Context, requestID string, _ domain.NewTenant) (redeem.CreatedTenant, error) {
	n := p.call(requestID)
	return redeem.CreatedTenant{CustomerID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), AdminUserID: "admin"}, nil
}
func (p *rdPeers) CheckCustomer(_ context.Context, _, _ string) (app.CustomerCheck, error) {
	return app.CustomerCheck{Exists: true, CountryCode: "DE", RelationshipActive: true}, nil
}
func (p *rdPeers) Offer(_ context.Context, sku, _ string, _ domain.Term, _ domain.BillingPlan) (app.Offer, error) {
	return app.Offer{SkuID: sku, ProductID: "SKU", DisplayName: "Office 365 E3", Kind: domain.KindOnlineService, MaxQuantity: 300}, nil
}
func (p *rdPeers) Subscription(_ context.Context, id string) (domain.SubscriptionFacts, error) {
	return domain.SubscriptionFacts{}, fmt.Errorf("no subscription %s", id)
}
func (p *rdPeers) Provision(_ context.Context, requestID string, in redeem.ProvisionInput) (redeem.Provisioned, error) {
	n := p.call(requestID)
	return redeem.Provisioned{SubscriptionID: fmt.Sprintf("sub-%d", n), Quantity: in.Seats}, nil
}
func (p *rdPeers) Renew(_ context.Context, requestID string, _ redeem.RenewInput) (redeem.Provisioned, error) {
	p.call(requestID)
	return redeem.Provisioned{}, nil
}
func (p *rdPeers) Compensate(_ context.Context, requestID, _, _ string) error {
	p.call(requestID)
	return nil
}

// KD-2, ID-2, OR-7: redemptions left in flight are finished by several replicas' recovery loops
// racing on one database (both engines): every saga completes, and no step is called twice.
func TestRedemptionSaga_ReplicasRecover_OR7(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		peers := &rdPeers{calls: map[string]int{}}
		service := func(owner string, wait time.Duration) *redeem.Service {
			return redeem.New(s, redeem.Peers{Keys: peers, Tenants: peers, Identity: peers, Catalog: peers, Subscriptions: peers},
				redeem.Options{Clock: clock.NewFake(t0), Owner: owner, Wait: wait, Poll: time.Millisecond,
					OnError: func(_ context.Context, err error) { t.Logf("%s: %v", owner, err) }})
		}
		agent := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "u1", OrgID: "p1",
			OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}})
		target := domain.RedemptionTarget{Kind: domain.RedeemNewTenant, NewTenant: &domain.NewTenant{OrganisationName: "Contoso",
			CountryCode: "DE", DefaultDomain: "contoso.onmicrosoft.com", Admin: domain.TenantAdmin{GivenName: "Anna",
				FamilyName: "Admin", ContactEmail: "anna@contoso.example"}}}
		// The first replica stops waiting at once: its redemptions are left PROCESSING.
		a := service("replica-a", time.Nanosecond)
		var ids []string
		for i := range 4 {
			r, err := a.Redeem(agent, fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i), []string{fmt.Sprintf("KEY-%d", i)}, target, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.State != domain.RedemptionProcessing {
				t.Fatalf("state %s; want PROCESSING", r.State)
			}
			ids = append(ids, r.ID)
		}
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := service(fmt.Sprintf("replica-%d", i), time.Second).Recover(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		// A last round picks up whatever a conflict left over.
		if _, err := service("replica-z", time.Second).Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			r, err := s.Redemption(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if r.State != domain.RedemptionCompleted || !r.TenantCreated || len(r.Outcomes) != 1 || r.Outcomes[0].SubscriptionID == "" {
				t.Errorf("redemption %s: %+v", id, r)
			}
			rec := redemptionSaga(t, s, id)
			if rec.ProductKeys != nil || rec.LeaseOwner != "" {
				t.Errorf("saga %s keeps keys or lease: %+v", id, rec)
			}
		}
		for req, n := range peers.calls {
			if n != 1 {
				t.Errorf("request %s made %d times", req, n)
			}
		}
		if len(peers.calls) != 4*4 { // reserve, tenant, provision, confirm
			t.Errorf("%d distinct requests; want 16", len(peers.calls))
		}
	})
}
