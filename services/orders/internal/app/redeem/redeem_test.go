package redeem_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

const (
	partnerID  = "11111111-1111-4111-8111-111111111111"
	customerID = "22222222-2222-4222-8222-222222222222"
	requestID  = "33333333-3333-4333-8333-333333333333"
	keyA       = "AAAAA-AAAAA-AAAAA-AAAAA-AAAA1"
	keyB       = "BBBBB-BBBBB-BBBBB-BBBBB-BBBB2"
	skuE3      = "CFQ7TTC0LF8R:0001"
)

var today = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// wall is a settable process clock for leases and backoff.
type wall struct {
	mu sync.Mutex
	t  time.Time
}

func (w *wall) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *wall) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t = w.t.Add(d)
}

type fixture struct {
	t       *testing.T
	store   *memStore
	fx      *effects
	keys    *fakeKeys
	tenants *fakeTenants
	subs    *fakeSubs
	wall    *wall
	peers   redeem.Peers
	errs    []error
	mu      sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, store: newMemStore(), fx: &effects{}, wall: &wall{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}}
	f.keys = newFakeKeys(f.fx)
	f.keys.mint(keyA, skuE3, 5)
	f.keys.mint(keyB, skuE3, 5)
	f.tenants = newFakeTenants(f.fx)
	f.subs = newFakeSubs(f.fx, func() time.Time { return today })
	f.peers = redeem.Peers{Keys: f.keys, Tenants: f.tenants, Identity: fakeIdentity{related: map[string]bool{partnerID: true}},
		Catalog: fakeCatalog{}, Subscriptions: f.subs}
	return f
}

// service is one replica.
func (f *fixture) service(owner string, tune func(*redeem.Options)) *redeem.Service {
	o := redeem.Options{Clock: clock.NewFake(today), Wall: f.wall.now, Owner: owner, Lease: 30 * time.Second,
		Wait: 2 * time.Second, Retry: domain.RetryPolicy{Base: time.Millisecond, Max: 5 * time.Millisecond, MaxAttempts: 3},
		OnError: func(_ context.Context, err error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.errs = append(f.errs, err)
		}}
	if tune != nil {
		tune(&o)
	}
	return redeem.New(f.store, f.peers, o)
}

func agent() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "user-1", OrgID: partnerID,
		OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}})
}

func newTenant() domain.RedemptionTarget {
	return domain.RedemptionTarget{Kind: domain.RedeemNewTenant, NewTenant: &domain.NewTenant{OrganisationName: "Contoso GmbH",
		CountryCode: "DE", DefaultDomain: "contoso.onmicrosoft.com", Admin: domain.TenantAdmin{GivenName: "Anna",
			FamilyName: "Admin", UserName: "anna@contoso.onmicrosoft.com", ContactEmail: "anna@contoso.example"}}}
}

func (f *fixture) existing(id string, end time.Time, state domain.SubscriptionState, qty int32) {
	f.subs.subs[id] = domain.SubscriptionFacts{ID: id, CustomerID: customerID, PartnerID: partnerID, SkuID: skuE3,
		State: state, Quantity: qty, MaxQuantity: 300, Term: domain.TermP1Y, TermStart: end.AddDate(-1, 0, 0), TermEnd: end}
}

func mustRedeem(t *testing.T, s *redeem.Service, target domain.RedemptionTarget, keys ...string) domain.Redemption {
	t.Helper()
	r, err := s.Redeem(agent(), requestID, keys, target, "")
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	return r
}

// KD-2, ID-2: keys redeemed for a new tenant create it with its admin, then one subscription in
// it whose seats include the admin's license; the keys are confirmed for that subscription and
// not kept (KD-8).
func TestRedeem_NewTenantAdminLicensed_KD2_ID2(t *testing.T) {
	f := newFixture(t)
	s := f.service("a", nil)
	r := mustRedeem(t, s, newTenant(), keyA, keyB)
	if r.State != domain.RedemptionCompleted || !r.TenantCreated || r.CustomerID == "" || r.AdminUserID == "" {
		t.Fatalf("redemption %+v", r)
	}
	if got := f.tenants.created[r.CustomerID]; got.DefaultDomain != "contoso.onmicrosoft.com" || got.Admin.GivenName != "Anna" || got.CountryCode != "DE" {
		t.Errorf("tenant created %+v", got)
	}
	if len(r.Outcomes) != 1 {
		t.Fatalf("outcomes %+v", r.Outcomes)
	}
	o := r.Outcomes[0]
	sub := f.subs.subs[o.SubscriptionID]
	if sub.CustomerID != r.CustomerID || sub.Quantity != 10 || o.TotalQuantity != 10 || !o.AdminLicensed ||
		!o.TermStart.Equal(day(2026, 3, 10)) || !o.TermEnd.Equal(day(2027, 3, 10)) {
		t.Errorf("outcome %+v, subscription %+v", o, sub)
	}
	// ID-2: the admin's license is assigned by subscriptions, not only reported.
	if got := f.subs.licensed[o.SubscriptionID]; !slices.Equal(got, []string{r.AdminUserID}) {
		t.Errorf("licensed users of the new subscription %v, want the admin %s", got, r.AdminUserID)
	}
	if f.fx.n("tenant") != 1 || f.fx.n("reserve") != 1 || f.fx.n("create_subscription") != 1 || f.fx.n("confirm") != 1 {
		t.Errorf("effects %v", f.fx.log)
	}
	for res, c := range f.keys.conf {
		if c != [2]string{r.CustomerID, o.SubscriptionID} {
			t.Errorf("reservation %s confirmed for %v", res, c)
		}
	}
	if rec := f.store.saga(r.ID); rec.ProductKeys != nil || rec.LeaseOwner != "" {
		t.Errorf("saga after the end keeps keys %v / lease %q", rec.ProductKeys, rec.LeaseOwner)
	}
	// OR-7: the same request again returns the same redemption and does nothing.
	again := mustRedeem(t, s, newTenant(), keyA, keyB)
	if again.ID != r.ID || f.fx.n("tenant") != 1 {
		t.Errorf("retry %s; effects %v", again.ID, f.fx.log)
	}
	// Another request under the same ID is REQUEST_ID_REUSED.
	if _, err := s.Redeem(agent(), requestID, []string{keyA}, newTenant(), ""); !errs.HasReason(err, errs.ReasonRequestIDReused) {
		t.Errorf("reused ID: %v", err)
	}
}

// SU-4: renewed before the end date, the new term starts on the redemption day and the days left
// are forfeited.
func TestRedeem_RenewalBeforeEndDate_SU4(t *testing.T) {
	f := newFixture(t)
	f.existing("sub-1", day(2026, 3, 30), domain.SubscriptionActive, 10)
	r := mustRedeem(t, f.service("a", nil), domain.RedemptionTarget{Kind: domain.RedeemRenewal, SubscriptionID: "sub-1"}, keyA, keyB)
	if r.State != domain.RedemptionCompleted || r.Kind != domain.RedeemRenewal || len(r.Outcomes) != 1 {
		t.Fatalf("redemption %+v", r)
	}
	o := r.Outcomes[0]
	if o.SubscriptionID != "sub-1" || o.DaysForfeited != 20 || !o.TermStart.Equal(day(2026, 3, 10)) ||
		!o.TermEnd.Equal(day(2027, 3, 10)) || o.TotalQuantity != 10 {
		t.Errorf("outcome %+v", o)
	}
	if f.fx.n("renew") != 1 || f.fx.n("confirm") != 1 {
		t.Errorf("effects %v", f.fx.log)
	}
}

// SU-4: renewed after the end date, in the 30-day grace, the new term starts at the old end date.
func TestRedeem_RenewalAfterEndDate_SU4(t *testing.T) {
	f := newFixture(t)
	f.existing("sub-1", day(2026, 2, 28), domain.SubscriptionExpired, 10)
	r := mustRedeem(t, f.service("a", nil), domain.RedemptionTarget{Kind: domain.RedeemRenewal, SubscriptionID: "sub-1"}, keyA)
	o := r.Outcomes[0]
	if r.State != domain.RedemptionCompleted || o.DaysForfeited != 0 || !o.TermStart.Equal(day(2026, 2, 28)) ||
		!o.TermEnd.Equal(day(2027, 2, 28)) || o.TotalQuantity != 5 {
		t.Errorf("redemption %+v outcome %+v", r, o)
	}
}

// SU-4: before the window opens nothing is done: RENEWAL_WINDOW_NOT_OPEN with opens_at.
func TestRedeem_RenewalWindowNotOpen_SU4(t *testing.T) {
	f := newFixture(t)
	f.existing("sub-1", day(2026, 6, 1), domain.SubscriptionActive, 10)
	_, err := f.service("a", nil).Redeem(agent(), requestID, []string{keyA}, domain.RedemptionTarget{Kind: domain.RedeemRenewal, SubscriptionID: "sub-1"}, "")
	if e, ok := errs.As(err); !ok || e.Reason != domain.ReasonRenewalWindowNotOpen || e.Metadata["opens_at"] != "2026-05-02T00:00:00Z" {
		t.Errorf("err %v", err)
	}
	if len(f.fx.log) != 0 || len(f.store.rows) != 0 {
		t.Errorf("effects %v, rows %d", f.fx.log, len(f.store.rows))
	}
}

// KD-1, SU-6: keys add their seats to a subscription, co-terminated.
func TestRedeem_AddSeats_SU6(t *testing.T) {
	f := newFixture(t)
	f.existing("sub-1", day(2026, 3, 10).AddDate(0, 0, 100), domain.SubscriptionActive, 10)
	r := mustRedeem(t, f.service("a", nil), domain.RedemptionTarget{Kind: domain.RedeemAddSeats, SubscriptionID: "sub-1"}, keyA, keyB)
	o := r.Outcomes[0]
	if r.State != domain.RedemptionCompleted || o.SubscriptionID != "sub-1" || o.Seats != 10 || o.TotalQuantity != 20 ||
		!o.TermEnd.Equal(day(2026, 3, 10).AddDate(0, 0, 233)) {
		t.Errorf("redemption %+v outcome %+v", r, o)
	}
	if f.subs.subs["sub-1"].Quantity != 20 || f.fx.n("add_seats") != 1 {
		t.Errorf("subscription %+v effects %v", f.subs.subs["sub-1"], f.fx.log)
	}
	if o.AdminLicensed {
		t.Errorf("adding seats licensed an admin: %+v", o)
	}
}

// KD-1: a refused step fails the redemption with the callee's reason; the reservation is released
// and the keys stay redeemable.
func TestRedeem_RefusedStepReleasesReservation_KD1(t *testing.T) {
	f := newFixture(t)
	f.subs.set("provision", errs.New(errs.FailedPrecondition, domain.ReasonTenantSubscriptionCap, "limit").With("limit", 150))
	cust := domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: customerID}
	r := mustRedeem(t, f.service("a", nil), cust, keyA)
	if r.State != domain.RedemptionFailed || r.Failure == nil || r.Failure.Reason != domain.ReasonTenantSubscriptionCap ||
		r.Failure.Step != domain.StepCreateSubscription || r.Failure.Metadata["limit"] != "150" || r.CompleteTime.IsZero() {
		t.Fatalf("redemption %+v failure %+v errs %v", r, r.Failure, f.errs)
	}
	if f.fx.n("release") != 1 || f.fx.n("confirm") != 0 || f.keys.cards[domain.NormalizeKey(keyA)].state != "AVAILABLE" {
		t.Errorf("effects %v; card %+v", f.fx.log, f.keys.cards[domain.NormalizeKey(keyA)])
	}
}

// KD-1: a refused confirmation undoes the subscription, then releases the reservation.
func TestRedeem_RefusedConfirmCompensates_KD1(t *testing.T) {
	f := newFixture(t)
	f.keys.set("confirm", errs.New(errs.FailedPrecondition, domain.ReasonReservationExpired, "lapsed"))
	r := mustRedeem(t, f.service("a", nil), domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: customerID}, keyA)
	if r.State != domain.RedemptionFailed || r.Failure.Reason != domain.ReasonReservationExpired || r.Failure.Step != domain.StepConfirmKeys {
		t.Fatalf("redemption %+v", r)
	}
	if f.fx.n("compensate") != 1 || f.fx.n("release") != 1 {
		t.Errorf("effects %v", f.fx.log)
	}
	for _, s := range f.subs.subs {
		if s.State != domain.SubscriptionCancelled {
			t.Errorf("subscription %s is %s; want cancelled", s.ID, s.State)
		}
	}
}

// OR-7, KD-1: a crash after the callee acted and before the result was stored: another replica
// resumes once the lease has run out, repeats the same request, gets the first answer, and nothing
// is done twice.
func TestRedeem_CrashResumesWithoutRepeating_OR7(t *testing.T) {
	f := newFixture(t)
	a := f.service("replica-a", nil)
	// The transactions of Redeem: request lookup, insert, acquire, then per step renew + record.
	// Crash at the record of create_tenant: reserve (renew, record), tenant (renew, record ✗).
	f.store.crash = 8
	r, err := a.Redeem(agent(), requestID, []string{keyA, keyB}, newTenant(), "")
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if r.State != domain.RedemptionProcessing || f.fx.n("tenant") != 1 || f.fx.n("create_subscription") != 0 {
		t.Fatalf("before the resume: %s, effects %v", r.State, f.fx.log)
	}
	// KD-8: once the keys are reserved, the saga keeps the reservations, not the typed keys.
	if rec := f.store.saga(r.ID); rec.ProductKeys != nil {
		t.Errorf("a saga past its reservations stores the keys %v", rec.ProductKeys)
	}
	b := f.service("replica-b", nil)
	if n, _ := b.Recover(context.Background()); n != 0 {
		t.Fatalf("replica b resumed a saga that replica a still holds")
	}
	f.wall.advance(31 * time.Second) // a's lease runs out: a is dead
	if n, err := b.Recover(context.Background()); n != 1 || err != nil {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	got, _ := f.store.Redemption(context.Background(), r.ID)
	if got.State != domain.RedemptionCompleted || !got.TenantCreated || got.CustomerID == "" {
		t.Fatalf("after the resume: %+v", got)
	}
	for _, k := range []string{"reserve", "tenant", "create_subscription", "confirm"} {
		if f.fx.n(k) != 1 {
			t.Errorf("%s done %d times; effects %v", k, f.fx.n(k), f.fx.log)
		}
	}
}

// A saga that outlasts the wait is returned PROCESSING and finished by the recovery loop; a
// transient failure is retried with the same request ID.
func TestRedeem_WaitElapsesRecoveryFinishes(t *testing.T) {
	f := newFixture(t)
	f.subs.set("provision", errs.Unavailablef("down"))
	s := f.service("a", func(o *redeem.Options) {
		o.Retry = domain.RetryPolicy{Base: time.Minute, Max: time.Minute, MaxAttempts: 3}
	})
	r := mustRedeem(t, s, domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: customerID}, keyA)
	if r.State != domain.RedemptionProcessing {
		t.Fatalf("state %s; want PROCESSING", r.State)
	}
	if n, _ := s.Recover(context.Background()); n != 0 {
		t.Fatal("resumed before its retry time")
	}
	f.wall.advance(2 * time.Minute)
	if n, err := s.Recover(context.Background()); n != 1 || err != nil {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	got, _ := s.Get(agent(), r.ID)
	if got.State != domain.RedemptionCompleted || f.fx.n("create_subscription") != 1 {
		t.Errorf("state %s, effects %v", got.State, f.fx.log)
	}
}

// KD-2: the review has no side effect and lists every problem; the redemption fails fast with the
// first problem and stores nothing.
func TestValidateAndProblems_KD2(t *testing.T) {
	f := newFixture(t)
	s := f.service("a", nil)
	rv, err := s.Validate(agent(), []string{keyA, "nope", keyB}, newTenant())
	if err != nil {
		t.Fatal(err)
	}
	if rv.Valid() || len(rv.Keys) != 3 || rv.Keys[1].Status != domain.KeyMalformed || len(rv.Outcomes) != 1 ||
		rv.Outcomes[0].Seats != 10 || !rv.Outcomes[0].AdminLicensed {
		t.Errorf("review %+v", rv)
	}
	if len(f.fx.log) != 0 {
		t.Errorf("review had effects %v", f.fx.log)
	}
	taken := newTenant()
	taken.NewTenant.DefaultDomain, taken.NewTenant.Admin.UserName = "fabrikam.onmicrosoft.com", ""
	_, err = s.Redeem(agent(), requestID, []string{keyA}, taken, "")
	if e, ok := errs.As(err); !ok || e.Reason != domain.ReasonDomainTaken || e.Kind != errs.AlreadyExists {
		t.Errorf("taken domain: %v", err)
	}
	// ETAG_MISMATCH when the review changed.
	if _, err := s.Redeem(agent(), requestID, []string{keyA}, newTenant(), "stale"); !errs.HasReason(err, errs.ReasonEtagMismatch) {
		t.Errorf("stale etag: %v", err)
	}
	if len(f.store.rows) != 0 || len(f.fx.log) != 0 {
		t.Errorf("rows %d effects %v", len(f.store.rows), f.fx.log)
	}
	// ID-4: no relationship.
	f.peers.Identity = fakeIdentity{}
	s = f.service("a", nil)
	if _, err := s.Redeem(agent(), requestID, []string{keyA}, domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: customerID}, ""); !errs.HasReason(err, domain.ReasonRelationshipRequired) {
		t.Errorf("no relationship: %v", err)
	}
	// ID-1: not in the Open program.
	f.tenants.open = map[string]bool{}
	if _, err := s.Validate(agent(), []string{keyA}, newTenant()); !errs.HasReason(err, domain.ReasonProgramNotEnrolled) {
		t.Errorf("not enrolled: %v", err)
	}
}

// ID-8: a customer's Global admin redeems for its own tenant only; others do not see a
// redemption.
func TestRedeem_CustomerOwnTenant_ID8(t *testing.T) {
	f := newFixture(t)
	s := f.service("a", nil)
	admin := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "u9", OrgID: customerID,
		OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}})
	if _, err := s.Validate(admin, []string{keyA}, newTenant()); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("customer creating a tenant: %v", err)
	}
	r, err := s.Redeem(admin, requestID, []string{keyA}, domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: customerID}, "")
	if err != nil || r.State != domain.RedemptionCompleted || r.PartnerID != "" {
		t.Fatalf("redeem: %+v, %v", r, err)
	}
	// ID-2: only a tenant the redemption created has its admin licensed.
	if o := r.Outcomes[0]; o.AdminLicensed || len(f.subs.licensed[o.SubscriptionID]) != 0 {
		t.Errorf("new subscription of an existing tenant: outcome %+v, licensed %v", o, f.subs.licensed[o.SubscriptionID])
	}
	if _, err := s.Get(admin, r.ID); err != nil {
		t.Errorf("own redemption: %v", err)
	}
	if _, err := s.Get(agent(), r.ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("another org: %v", err)
	}
}

// OR-7: two concurrent calls with the same request make one redemption.
func TestRedeem_ConcurrentSameRequest_OR7(t *testing.T) {
	f := newFixture(t)
	s := f.service("a", nil)
	target := domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: customerID}
	var wg sync.WaitGroup
	got := make([]domain.Redemption, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Redeem(agent(), requestID, []string{keyA}, target, "")
			if err != nil {
				t.Error(err)
			}
			got[i] = r
		}()
	}
	wg.Wait()
	if got[0].ID != got[1].ID || len(f.store.rows) != 1 || f.fx.n("create_subscription") != 1 {
		t.Errorf("ids %s %s, rows %d, effects %v", got[0].ID, got[1].ID, len(f.store.rows), f.fx.log)
	}
}

// KD-1: when the reservation's answer was lost (retries ran out), compensation repeats the
// reserve request to learn the reservation and releases it: the keys stay redeemable.
func TestRedeem_UncertainReservationReleased_KD1(t *testing.T) {
	f := newFixture(t)
	down := errs.Unavailablef("down")
	f.keys.set("reserve", down, down, down)
	r := mustRedeem(t, f.service("a", nil), domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: customerID}, keyA)
	if r.State != domain.RedemptionFailed || r.Failure.Reason != domain.ReasonDependencyUnavailable || r.Failure.Step != domain.StepReserveKeys {
		t.Fatalf("redemption %+v failure %+v", r, r.Failure)
	}
	if c := f.keys.cards[domain.NormalizeKey(keyA)]; c.state != "AVAILABLE" || f.fx.n("release") != 1 {
		t.Errorf("card %+v, effects %v", c, f.fx.log)
	}
}
