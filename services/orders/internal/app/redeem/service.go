package redeem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// Peers are the services a redemption calls.
type Peers struct {
	Keys          Keys
	Tenants       Tenants
	Identity      app.Identity // CheckCustomer: relationship and country of an existing customer (ID-4)
	Catalog       app.Catalog  // the keys' SKUs in the customer's market (CA-2)
	Subscriptions Subscriptions
}

// Options tune a Service; the zero value gives the defaults.
type Options struct {
	// Clock is business time: the "today" of SU-4 and SU-6 (default clock.Real).
	Clock clock.Clock
	// Wall is process time for leases and backoff (default time.Now): moving a fake business clock
	// by days must not expire every lease.
	Wall func() time.Time
	// Owner names this replica in leases (default a random ID per Service).
	Owner string
	// Lease is how long a replica holds a saga without writing (default 30 s); it is renewed
	// before every call, and must exceed the longest call (the adapters bound a call to 5 s).
	Lease time.Duration
	// Wait bounds how long RedeemProductKeys waits for the saga (default 10 s, the contract's).
	Wait time.Duration
	// Retry is the backoff of retryable step failures (default domain.DefaultRetry).
	Retry domain.RetryPolicy
	// ReservationTTL is how long reserved keys are held (default 30 minutes; keys allow 1 hour).
	ReservationTTL time.Duration
	// Poll is the recovery loop's interval (default 1 s); Batch the sagas it takes per round
	// (default 20).
	Poll  time.Duration
	Batch int
	// OnError receives errors no caller sees (recovery loop, compensation refusals). Default: slog.
	OnError func(ctx context.Context, err error)
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Wall == nil {
		o.Wall = time.Now
	}
	if o.Owner == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		o.Owner = "orders-" + hex.EncodeToString(b)
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Wait <= 0 {
		o.Wait = 10 * time.Second
	}
	if o.Retry.MaxAttempts == 0 {
		o.Retry = domain.DefaultRetry
	}
	if o.ReservationTTL <= 0 {
		o.ReservationTTL = 30 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.OnError == nil {
		o.OnError = func(ctx context.Context, err error) {
			slog.ErrorContext(ctx, "key redemption", "error", err)
		}
	}
	return o
}

// Service runs key redemptions.
type Service struct {
	store Store
	peers Peers
	opts  Options

	mu      sync.Mutex
	running map[string]bool // sagas this process works on now, so its own loops never overlap
}

// New returns the service.
func New(store Store, peers Peers, opts Options) *Service {
	return &Service{store: store, peers: peers, opts: opts.withDefaults(), running: map[string]bool{}}
}

// caller is the principal of a ValidateProductKeys or RedeemProductKeys call, with one of the
// roles of RedemptionService (redemption_service.proto).
func caller(ctx context.Context) (auth.Principal, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if err := p.RequireRole(auth.AdminAgent, auth.SalesAgent, auth.CustomerGlobalAdmin); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// Validate is the review step (KD-2): what redeeming keys for target would do now, with every
// problem, and no side effect (no reservation).
func (s *Service) Validate(ctx context.Context, keys []string, target domain.RedemptionTarget) (domain.Review, error) {
	p, err := caller(ctx)
	if err != nil {
		return domain.Review{}, err
	}
	if err := domain.ValidateRedemptionRequest(keys, target); err != nil {
		return domain.Review{}, err
	}
	rv, _, err := s.review(ctx, p.Effective(), keys, target)
	return rv, err
}

// reviewed is what a review found besides the review itself.
type reviewed struct {
	partnerID, customerID string
	skus                  map[string]domain.SKUFacts
}

// review gathers the facts from the peers and computes the review (domain.ReviewRedemption).
// Refusals that concern the caller, not the keys, are errors: PROGRAM_NOT_ENROLLED (ID-1),
// TENANT_MISMATCH, RESOURCE_NOT_FOUND (customer or subscription, ID-8).
func (s *Service) review(ctx context.Context, e auth.Principal, keys []string, target domain.RedemptionTarget) (domain.Review, reviewed, error) {
	var out reviewed
	facts := domain.ReviewFacts{Target: target, Now: s.opts.Clock.Now()}
	switch e.OrgKind {
	case auth.OrgPartner:
		out.partnerID = e.OrgID
		facts.CallerPartnerID = e.OrgID
		ok, err := s.peers.Tenants.InOpenProgram(ctx, e.OrgID)
		if err != nil {
			return domain.Review{}, out, fmt.Errorf("check the Open program: %w", err)
		}
		if !ok { // ID-1: Open keys are redeemed through the Open program
			return domain.Review{}, out, errs.New(errs.PermissionDenied, domain.ReasonProgramNotEnrolled,
				"the partner is not enrolled in the Open program (ID-1)")
		}
	case auth.OrgCustomer:
		if target.Kind == domain.RedeemNewTenant {
			return domain.Review{}, out, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
				"only partners create tenants by key redemption; a customer redeems for its own tenant (KD-2)").
				With("required_roles", "ADMIN_AGENT,SALES_AGENT")
		}
	default:
		return domain.Review{}, out, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"key redemption acts for a partner or customer user")
	}
	var market string
	switch target.Kind {
	case domain.RedeemNewTenant:
		nt := *target.NewTenant
		market = nt.CountryCode
		ok, err := s.peers.Tenants.CountrySupported(ctx, nt.CountryCode)
		if err != nil {
			return domain.Review{}, out, fmt.Errorf("check country %s: %w", nt.CountryCode, err)
		}
		if !ok {
			facts.TargetProblems = append(facts.TargetProblems, domain.Problem{Reason: domain.ReasonCountryNotSupported,
				Field: "new_tenant.country_code", Message: "the service is not offered in " + nt.CountryCode + " (ID-3)",
				Metadata: map[string]string{"country_code": nt.CountryCode}})
			market = "" // not a market: the catalog is not asked
		}
		free, err := s.peers.Tenants.DomainAvailable(ctx, nt.DomainPrefix())
		if err != nil {
			return domain.Review{}, out, fmt.Errorf("check domain: %w", err)
		}
		if !free {
			facts.TargetProblems = append(facts.TargetProblems, domain.Problem{Reason: domain.ReasonDomainTaken,
				Field: "new_tenant.default_domain", Message: "the default domain is taken (ID-2)",
				Metadata: map[string]string{"default_domain": nt.DefaultDomain}})
		}
	case domain.RedeemNewSubscription:
		out.customerID = target.CustomerID
		m, ps, err := s.customer(ctx, e, target.CustomerID, false)
		if err != nil {
			return domain.Review{}, out, err
		}
		market, facts.TargetProblems = m, append(facts.TargetProblems, ps...)
	case domain.RedeemAddSeats, domain.RedeemRenewal:
		sub, err := s.peers.Subscriptions.Subscription(ctx, target.SubscriptionID)
		if err != nil {
			return domain.Review{}, out, fmt.Errorf("read subscription %s: %w", target.SubscriptionID, err)
		}
		facts.Subscription = &sub
		out.customerID = sub.CustomerID
		m, ps, err := s.customer(ctx, e, sub.CustomerID, true)
		if err != nil {
			return domain.Review{}, out, err
		}
		market, facts.TargetProblems = m, append(facts.TargetProblems, ps...)
	}
	verdicts, err := s.peers.Keys.Validate(ctx, keys)
	if err != nil {
		return domain.Review{}, out, fmt.Errorf("validate keys: %w", err)
	}
	facts.Keys = verdicts
	if market != "" {
		if facts.SKUs, err = s.skus(ctx, verdicts, market); err != nil {
			return domain.Review{}, out, err
		}
	}
	out.skus = facts.SKUs
	return domain.ReviewRedemption(facts), out, nil
}

// customer checks that the caller may redeem for customerID and returns its market: a partner
// needs an active reseller relationship (ID-4: RELATIONSHIP_REQUIRED as a problem); a customer
// only its own tenant (ID-8: TENANT_MISMATCH, or NOT_FOUND when reached through a subscription).
func (s *Service) customer(ctx context.Context, e auth.Principal, customerID string, viaSubscription bool) (string, []domain.Problem, error) {
	if e.OrgKind == auth.OrgCustomer {
		if customerID != e.OrgID {
			if viaSubscription {
				return "", nil, errs.NotFoundf("subscription", "")
			}
			return "", nil, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
				"a customer redeems keys for its own tenant only (ID-8)")
		}
		c, err := s.peers.Tenants.CustomerCountry(ctx, customerID)
		if err != nil {
			return "", nil, fmt.Errorf("read customer %s: %w", customerID, err)
		}
		return c, nil, nil
	}
	chk, err := s.peers.Identity.CheckCustomer(ctx, e.OrgID, customerID)
	if err != nil {
		return "", nil, fmt.Errorf("check customer %s: %w", customerID, err)
	}
	if !chk.Exists {
		return "", nil, errs.NotFoundf("customer", customerID)
	}
	if !chk.RelationshipActive {
		return chk.CountryCode, []domain.Problem{{Reason: domain.ReasonRelationshipRequired,
			Message:  "the partner has no active reseller relationship with the customer (ID-4)",
			Metadata: map[string]string{"denial_reason": chk.DenialReason, "customer_id": customerID}}}, nil
	}
	return chk.CountryCode, nil, nil
}

// skus reads the valid keys' SKUs in market (CA-2). A SKU the catalog does not know is left out
// (the review reports RESOURCE_NOT_FOUND); one not sold there carries the catalog's reason.
func (s *Service) skus(ctx context.Context, vs []domain.KeyVerdict, market string) (map[string]domain.SKUFacts, error) {
	out := map[string]domain.SKUFacts{}
	for _, g := range domain.GroupKeys(vs) {
		if _, done := out[g.SkuID]; done {
			continue
		}
		term := g.Term
		if term == "" {
			term = domain.TermP1Y
		}
		offer, err := s.peers.Catalog.Offer(ctx, g.SkuID, market, term, domain.PlanAnnual)
		switch {
		case err == nil:
			out[g.SkuID] = domain.SKUFacts{SkuID: g.SkuID, ProductID: offer.ProductID, DisplayName: offer.DisplayName,
				Kind: offer.Kind, MaxQuantity: offer.MaxQuantity, Policy: offer.Policy, WindowDays: offer.WindowDays,
				AutoRenew: offer.AutoRenew.For(s.opts.Clock.Now()), Currency: offer.Price.PerTerm.Currency}
		case errs.KindOf(err) == errs.NotFound:
		case errs.KindOf(err) == errs.FailedPrecondition && availabilityReason(errs.ReasonOf(err)):
			out[g.SkuID] = domain.SKUFacts{SkuID: g.SkuID, Unavailable: errs.ReasonOf(err)}
		case errs.KindOf(err) == errs.FailedPrecondition || errs.KindOf(err) == errs.InvalidArgument:
			// The SKU is sold there but not priced for an annual plan: Open keys are invoiced by the
			// partner (BI-1), so the price does not matter; the SKU ID stands in for its data.
			out[g.SkuID] = domain.SKUFacts{SkuID: g.SkuID, DisplayName: g.SkuID}
		default:
			return nil, fmt.Errorf("catalog %s in %s: %w", g.SkuID, market, err)
		}
	}
	return out, nil
}

func availabilityReason(r errs.Reason) bool {
	return r == domain.ReasonMarketNotAvailable || r == domain.ReasonCountryNotSupported || r == "SKU_DISCONTINUED"
}

// Redeem is RedeemProductKeys: the review's checks run first (any problem fails the call with the
// first problem's reason, nothing done); then the redemption and its saga are stored and run while
// the call waits (Options.Wait, less when the caller's deadline is shorter). It returns the
// redemption COMPLETED, FAILED (compensated, with its reason), or PROCESSING when the saga outlasts
// the wait and finishes on its own. A retry with the same request_id returns the same redemption;
// with another request REQUEST_ID_REUSED (OR-7).
func (s *Service) Redeem(ctx context.Context, requestID string, keys []string, target domain.RedemptionTarget, reviewEtag string) (domain.Redemption, error) {
	p, err := caller(ctx)
	if err != nil {
		return domain.Redemption{}, err
	}
	if err := errs.CheckUUID("request_id", requestID); err != nil {
		return domain.Redemption{}, err
	}
	if err := domain.ValidateRedemptionRequest(keys, target); err != nil {
		return domain.Redemption{}, err
	}
	deadline := s.deadline(ctx)
	e := p.Effective()
	scope := idempotency.ScopeOf(p)
	fp := domain.RequestFingerprint(keys, target)
	if r, ok, err := s.ofRequest(ctx, scope, requestID); err != nil {
		return domain.Redemption{}, err
	} else if ok {
		return s.replay(ctx, r, fp, deadline)
	}

	rv, found, err := s.review(ctx, e, keys, target)
	if err != nil {
		return domain.Redemption{}, err
	}
	if reviewEtag != "" && reviewEtag != rv.Etag {
		return domain.Redemption{}, errs.New(errs.Aborted, errs.ReasonEtagMismatch,
			"what the keys would do changed since the review; review again")
	}
	if err := rv.Err(); err != nil {
		return domain.Redemption{}, err
	}
	now := s.opts.Clock.Now()
	actor := domain.Actor{Subject: e.Subject, OrgID: e.OrgID, OrgKind: string(e.OrgKind)}
	for _, r := range e.Roles {
		actor.Roles = append(actor.Roles, string(r))
	}
	r := domain.NewRedemption(domain.RedemptionIDFor(scope, requestID), requestID, fp, actor, target, rv,
		found.partnerID, found.customerID, found.skus, now)
	rec := SagaRecord{Saga: domain.NewRedemptionSaga(r.ID, r.Kind, r.Groups), ProductKeys: append([]string(nil), keys...),
		LeaseOwner: s.opts.Owner, LeaseUntil: s.opts.Wall().Add(s.opts.Lease), Version: 1}
	if !s.claimLocal(r.ID) { // the same request is being stored by another call of this process
		return s.awaitRequest(ctx, scope, requestID, fp, deadline)
	}
	err = s.store.RedemptionTx(ctx, func(ctx context.Context, tx Tx) error {
		return tx.InsertRedemption(ctx, r, scope, rec)
	})
	if errs.KindOf(err) == errs.AlreadyExists { // a concurrent call with the same request won
		s.releaseLocal(r.ID)
		return s.awaitRequest(ctx, scope, requestID, fp, deadline)
	}
	if err != nil {
		s.releaseLocal(r.ID)
		return domain.Redemption{}, fmt.Errorf("store redemption: %w", err)
	}
	got, err := s.drive(context.WithoutCancel(ctx), r.ID, deadline, true)
	if err != nil {
		s.opts.OnError(ctx, err) // the recovery loop finishes it
		return s.store.Redemption(context.WithoutCancel(ctx), r.ID)
	}
	return got, nil
}

// deadline is when Redeem stops waiting: Options.Wait from now, or a little before the caller's
// deadline when that is sooner.
func (s *Service) deadline(ctx context.Context) time.Time {
	wait := s.opts.Wait
	if cd, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(cd)-200*time.Millisecond)
	}
	return s.opts.Wall().Add(wait)
}

func (s *Service) ofRequest(ctx context.Context, scope, requestID string) (domain.Redemption, bool, error) {
	var r domain.Redemption
	var ok bool
	err := s.store.RedemptionTx(ctx, func(ctx context.Context, tx Tx) (err error) {
		r, ok, err = tx.RedemptionOfRequest(ctx, scope, requestID)
		return err
	})
	if err != nil {
		return domain.Redemption{}, false, fmt.Errorf("redemption of request %s: %w", requestID, err)
	}
	return r, ok, nil
}

// awaitRequest answers a call whose request a concurrent call is storing: the redemption once
// stored (replay), or UNAVAILABLE when it does not show up before the deadline.
func (s *Service) awaitRequest(ctx context.Context, scope, requestID, fingerprint string, deadline time.Time) (domain.Redemption, error) {
	stop := time.Now().Add(deadline.Sub(s.opts.Wall()))
	for {
		r, ok, err := s.ofRequest(ctx, scope, requestID)
		if err != nil {
			return domain.Redemption{}, err
		}
		if ok {
			return s.replay(ctx, r, fingerprint, deadline)
		}
		if !time.Now().Before(stop) || sleep(ctx, 50*time.Millisecond) != nil {
			return domain.Redemption{}, errs.Unavailablef("the redemption of request %s is being created; retry", requestID)
		}
	}
}

// replay answers a retry: REQUEST_ID_REUSED for another request, else the redemption once its saga
// is terminal or the wait is over (helping the saga on when no replica holds it).
func (s *Service) replay(ctx context.Context, r domain.Redemption, fingerprint string, deadline time.Time) (domain.Redemption, error) {
	if r.Fingerprint != fingerprint {
		return domain.Redemption{}, errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
			"request_id was used for another redemption request (OR-7)")
	}
	stop := time.Now().Add(deadline.Sub(s.opts.Wall())) // real time, whatever Options.Wall says
	for r.State == domain.RedemptionProcessing && s.opts.Wall().Before(deadline) && time.Now().Before(stop) {
		got, err := s.drive(context.WithoutCancel(ctx), r.ID, deadline, false)
		if err != nil {
			return domain.Redemption{}, err
		}
		r = got
		if r.State != domain.RedemptionProcessing {
			break
		}
		if err := sleep(ctx, min(100*time.Millisecond, deadline.Sub(s.opts.Wall()))); err != nil {
			break
		}
	}
	return r, nil //nolint:nilerr // a wait the caller cut short answers with the redemption as it stands
}

// Get is GetRedemption: a redemption visible to the caller (its partner, its tenant, or a
// service); anyone else gets NOT_FOUND (ID-8).
func (s *Service) Get(ctx context.Context, id string) (domain.Redemption, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.Redemption{}, err
	}
	if err := errs.CheckUUID("redemption_id", id); err != nil {
		return domain.Redemption{}, err
	}
	r, err := s.store.Redemption(ctx, id)
	if err != nil {
		return domain.Redemption{}, err
	}
	e := p.Effective()
	switch {
	case e.IsService():
	case e.OrgKind == auth.OrgPartner && r.PartnerID == e.OrgID && e.HasRole(auth.AdminAgent, auth.SalesAgent):
	case e.OrgKind == auth.OrgCustomer && r.CustomerID == e.OrgID && e.HasRole(auth.CustomerGlobalAdmin):
	default:
		return domain.Redemption{}, errs.NotFoundf("redemption", id)
	}
	return r, nil
}

func (s *Service) claimLocal(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[id] {
		return false
	}
	s.running[id] = true
	return true
}

func (s *Service) releaseLocal(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, id)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
