package redeem_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// ---- store ----

type memRow struct {
	scope string
	r     domain.Redemption
	saga  redeem.SagaRecord
}

// memStore is an in-memory Store: one transaction at a time, rolled back on error. crash makes
// the next transaction fail, as if the process died before writing.
type memStore struct {
	mu    sync.Mutex
	rows  map[string]memRow
	crash int // transactions left before the simulated crash; 0: none
	txs   int
}

func newMemStore() *memStore { return &memStore{rows: map[string]memRow{}} }

func cloneRow(w memRow) memRow {
	w.r.Keys = slices.Clone(w.r.Keys)
	w.r.Groups = slices.Clone(w.r.Groups)
	w.r.Outcomes = slices.Clone(w.r.Outcomes)
	w.r.SKUs = maps.Clone(w.r.SKUs)
	w.saga.Saga.Tasks = slices.Clone(w.saga.Saga.Tasks)
	w.saga.ProductKeys = slices.Clone(w.saga.ProductKeys)
	return w
}

var errCrash = errors.New("simulated crash")

func (m *memStore) RedemptionTx(ctx context.Context, fn func(ctx context.Context, tx redeem.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.txs++
	if m.crash > 0 {
		m.crash--
		if m.crash == 0 {
			return errCrash
		}
	}
	work := map[string]memRow{}
	for k, v := range m.rows {
		work[k] = cloneRow(v)
	}
	if err := fn(ctx, &memTx{rows: work}); err != nil {
		return err
	}
	m.rows = work
	return nil
}

func (m *memStore) Redemption(_ context.Context, id string) (domain.Redemption, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.rows[id]
	if !ok {
		return domain.Redemption{}, errs.NotFoundf("redemption", id)
	}
	return cloneRow(w).r, nil
}

func (m *memStore) saga(id string) redeem.SagaRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneRow(m.rows[id]).saga
}

func (m *memStore) DueRedemptions(_ context.Context, now time.Time, limit int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, w := range m.rows {
		s := w.saga
		if !s.Saga.Status.Terminal() && !s.NextRun.After(now) && !s.LeaseUntil.After(now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids[:min(len(ids), limit)], nil
}

type memTx struct{ rows map[string]memRow }

func (t *memTx) Redemption(_ context.Context, id string) (domain.Redemption, error) {
	w, ok := t.rows[id]
	if !ok {
		return domain.Redemption{}, errs.NotFoundf("redemption", id)
	}
	return cloneRow(w).r, nil
}

func (t *memTx) RedemptionOfRequest(_ context.Context, scope, requestID string) (domain.Redemption, bool, error) {
	for _, w := range t.rows {
		if w.scope == scope && w.r.RequestID == requestID {
			return cloneRow(w).r, true, nil
		}
	}
	return domain.Redemption{}, false, nil
}

func (t *memTx) InsertRedemption(_ context.Context, r domain.Redemption, scope string, s redeem.SagaRecord) error {
	for _, w := range t.rows {
		if w.r.ID == r.ID || (w.scope == scope && w.r.RequestID == r.RequestID) {
			return errs.New(errs.AlreadyExists, "", "exists")
		}
	}
	t.rows[r.ID] = cloneRow(memRow{scope: scope, r: r, saga: s})
	return nil
}

func (t *memTx) UpdateRedemption(_ context.Context, r domain.Redemption) error {
	w, ok := t.rows[r.ID]
	if !ok || w.r.Version != r.Version-1 {
		return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "stale")
	}
	w.r = r
	t.rows[r.ID] = cloneRow(w)
	return nil
}

func (t *memTx) RedemptionSaga(_ context.Context, id string) (redeem.SagaRecord, error) {
	w, ok := t.rows[id]
	if !ok {
		return redeem.SagaRecord{}, errs.NotFoundf("saga", id)
	}
	return cloneRow(w).saga, nil
}

func (t *memTx) PutRedemptionSaga(_ context.Context, s redeem.SagaRecord) error {
	w, ok := t.rows[s.Saga.RedemptionID]
	if !ok || w.saga.Version != s.Version-1 {
		return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "stale saga")
	}
	w.saga = s
	t.rows[s.Saga.RedemptionID] = cloneRow(w)
	return nil
}

// ---- peers ----

// effects counts what the fake peers did, by kind; a replayed request does nothing new.
type effects struct {
	mu     sync.Mutex
	counts map[string]int
	log    []string
}

func (e *effects) add(kind, detail string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts = map[string]int{}
	}
	e.counts[kind]++
	e.log = append(e.log, kind+" "+detail)
}

func (e *effects) n(kind string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[kind]
}

// replies is an idempotency store: request ID → first answer (OR-7).
type replies struct {
	mu sync.Mutex
	m  map[string]any
}

func (r *replies) get(id string) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[id]
	return v, ok
}

func (r *replies) put(id string, v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]any{}
	}
	r.m[id] = v
}

// failures makes a fake fail an operation: each call takes the next error (nil: succeed).
type failures struct {
	mu sync.Mutex
	m  map[string][]error
}

func (f *failures) set(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string][]error{}
	}
	f.m[op] = errs
}

func (f *failures) next(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.m[op]
	if len(q) == 0 {
		return nil
	}
	f.m[op] = q[1:]
	return q[0]
}

type card struct {
	sku   string
	seats int32
	state string // AVAILABLE, RESERVED, REDEEMED
	resID string
}

type fakeKeys struct {
	*effects
	replies
	failures
	mu    sync.Mutex
	cards map[string]*card
	res   map[string][]string // reservation → keys
	state map[string]string   // reservation → HELD, CONFIRMED, RELEASED
	conf  map[string][2]string
}

func newFakeKeys(e *effects) *fakeKeys {
	return &fakeKeys{effects: e, cards: map[string]*card{}, res: map[string][]string{}, state: map[string]string{},
		conf: map[string][2]string{}}
}

func (k *fakeKeys) mint(key, sku string, seats int32) {
	k.cards[domain.NormalizeKey(key)] = &card{sku: sku, seats: seats, state: "AVAILABLE"}
}

func (k *fakeKeys) Validate(_ context.Context, keys []string) ([]domain.KeyVerdict, error) {
	if err := k.next("validate"); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []domain.KeyVerdict
	for i, s := range keys {
		n := domain.NormalizeKey(s)
		v := domain.KeyVerdict{Index: i}
		c, ok := k.cards[n]
		switch {
		case len(n) != 25:
			v.Status = domain.KeyMalformed
		case !ok:
			v.Status, v.Masked = domain.KeyUnknown, "*****-*****-*****-*****-"+n[20:]
		default:
			v.Masked, v.SkuID, v.Seats, v.Term = "*****-*****-*****-*****-"+n[20:], c.sku, c.seats, domain.TermP1Y
			v.Status = map[string]domain.KeyStatus{"AVAILABLE": domain.KeyValid, "RESERVED": domain.KeyReserved,
				"REDEEMED": domain.KeyRedeemed}[c.state]
		}
		out = append(out, v)
	}
	return out, nil
}

func (k *fakeKeys) Reserve(_ context.Context, requestID, redemptionID string, keys []string, _ time.Duration) (redeem.Reservation, error) {
	if v, ok := k.get(requestID); ok {
		return v.(redeem.Reservation), nil
	}
	if err := k.next("reserve"); err != nil {
		return redeem.Reservation{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	id := fmt.Sprintf("res-%d", len(k.res)+1)
	for _, s := range keys {
		c := k.cards[domain.NormalizeKey(s)]
		if c == nil || c.state != "AVAILABLE" {
			return redeem.Reservation{}, errs.New(errs.FailedPrecondition, domain.ReasonKeyReserved, "held")
		}
	}
	for _, s := range keys {
		c := k.cards[domain.NormalizeKey(s)]
		c.state, c.resID = "RESERVED", id
		k.res[id] = append(k.res[id], domain.NormalizeKey(s))
	}
	k.state[id] = "HELD"
	r := redeem.Reservation{ID: id}
	k.put(requestID, r)
	k.add("reserve", id)
	return r, nil
}

func (k *fakeKeys) Confirm(_ context.Context, requestID, reservationID, customerID, subscriptionID string) error {
	if _, ok := k.get(requestID); ok {
		return nil
	}
	if err := k.next("confirm"); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.state[reservationID] != "HELD" {
		return errs.New(errs.FailedPrecondition, domain.ReasonReservationNotActive, "not held")
	}
	for _, n := range k.res[reservationID] {
		k.cards[n].state = "REDEEMED"
	}
	k.state[reservationID] = "CONFIRMED"
	k.conf[reservationID] = [2]string{customerID, subscriptionID}
	k.put(requestID, true)
	k.add("confirm", reservationID)
	return nil
}

func (k *fakeKeys) Release(_ context.Context, requestID, reservationID string) error {
	if _, ok := k.get(requestID); ok {
		return nil
	}
	if err := k.next("release"); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.state[reservationID] == "CONFIRMED" {
		return errs.New(errs.FailedPrecondition, domain.ReasonReservationNotActive, "confirmed")
	}
	for _, n := range k.res[reservationID] {
		k.cards[n].state, k.cards[n].resID = "AVAILABLE", ""
	}
	k.state[reservationID] = "RELEASED"
	k.put(requestID, true)
	k.add("release", reservationID)
	return nil
}

type fakeTenants struct {
	*effects
	replies
	failures
	mu      sync.Mutex
	markets map[string]bool
	taken   map[string]bool
	open    map[string]bool
	country map[string]string
	created map[string]domain.NewTenant
}

func newFakeTenants(e *effects) *fakeTenants {
	return &fakeTenants{effects: e, markets: map[string]bool{"DE": true, "AT": true}, taken: map[string]bool{"fabrikam": true},
		open: map[string]bool{partnerID: true}, country: map[string]string{customerID: "DE"}, created: map[string]domain.NewTenant{}}
}

func (f *fakeTenants) CountrySupported(_ context.Context, c string) (bool, error) {
	return f.markets[c], nil
}
func (f *fakeTenants) DomainAvailable(_ context.Context, p string) (bool, error) {
	return !f.taken[p], nil
}
func (f *fakeTenants) InOpenProgram(_ context.Context, p string) (bool, error) { return f.open[p], nil }
func (f *fakeTenants) CustomerCountry(_ context.Context, id string) (string, error) {
	if c, ok := f.country[id]; ok {
		return c, nil
	}
	return "", errs.NotFoundf("customer", id)
}

func (f *fakeTenants) CreateTenant(_ context.Context, requestID string, t domain.NewTenant) (redeem.CreatedTenant, error) {
	if v, ok := f.get(requestID); ok {
		return v.(redeem.CreatedTenant), nil
	}
	if err := f.next("create"); err != nil {
		return redeem.CreatedTenant{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.taken[t.DomainPrefix()] {
		return redeem.CreatedTenant{}, errs.New(errs.AlreadyExists, domain.ReasonDomainTaken, "taken")
	}
	f.taken[t.DomainPrefix()] = true
	c := redeem.CreatedTenant{CustomerID: fmt.Sprintf("00000000-0000-4000-8000-%012d", len(f.created)+1),
		AdminUserID: fmt.Sprintf("admin-%d", len(f.created)+1)}
	f.created[c.CustomerID] = t
	f.country[c.CustomerID] = t.CountryCode
	f.put(requestID, c)
	f.add("tenant", c.CustomerID)
	return c, nil
}

type fakeIdentity struct{ related map[string]bool }

func (f fakeIdentity) CheckCustomer(_ context.Context, partner, customer string) (app.CustomerCheck, error) {
	if customer != customerID {
		return app.CustomerCheck{}, nil
	}
	return app.CustomerCheck{Exists: true, CountryCode: "DE", RelationshipActive: f.related[partner]}, nil
}

type fakeCatalog struct{}

func (fakeCatalog) Offer(_ context.Context, sku, market string, _ domain.Term, _ domain.BillingPlan) (app.Offer, error) {
	if market != "DE" && market != "AT" {
		return app.Offer{}, errs.New(errs.FailedPrecondition, domain.ReasonMarketNotAvailable, "not sold")
	}
	return app.Offer{SkuID: sku, ProductID: "P", DisplayName: "Office 365 E3 (" + sku + ")", Kind: domain.KindOnlineService,
		MaxQuantity: 300}, nil
}

type fakeSubs struct {
	*effects
	replies
	failures
	now   func() time.Time
	mu    sync.Mutex
	subs  map[string]domain.SubscriptionFacts
	steps map[string]domain.SubscriptionFacts // step request ID → subscription before the step ("" ID: created)
	tomb  map[string]bool
	// licensed holds each subscription's licensed users (ID-2), as ProvisionSubscription assigns them.
	licensed map[string][]string
}

func newFakeSubs(e *effects, now func() time.Time) *fakeSubs {
	return &fakeSubs{effects: e, now: now, subs: map[string]domain.SubscriptionFacts{},
		steps: map[string]domain.SubscriptionFacts{}, tomb: map[string]bool{}, licensed: map[string][]string{}}
}

func (f *fakeSubs) Subscription(_ context.Context, id string) (domain.SubscriptionFacts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subs[id]
	if !ok {
		return domain.SubscriptionFacts{}, errs.NotFoundf("subscription", id)
	}
	return s, nil
}

func (f *fakeSubs) Provision(_ context.Context, requestID string, in redeem.ProvisionInput) (redeem.Provisioned, error) {
	if v, ok := f.get(requestID); ok {
		return v.(redeem.Provisioned), nil
	}
	if err := f.next("provision"); err != nil {
		return redeem.Provisioned{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tomb[requestID] {
		return redeem.Provisioned{}, errs.New(errs.FailedPrecondition, domain.ReasonStepAlreadyCompensated, "compensated")
	}
	var s domain.SubscriptionFacts
	if in.AddToSubscriptionID != "" { // SU-6
		s = f.subs[in.AddToSubscriptionID]
		f.steps[requestID] = s
		s.TermEnd = domain.CotermEnd(f.now(), s.TermEnd, s.Quantity, in.Seats, in.Term)
		s.Quantity += in.Seats
		f.add("add_seats", s.ID)
	} else {
		start := domain.Day(f.now())
		s = domain.SubscriptionFacts{ID: fmt.Sprintf("sub-new-%d", len(f.subs)+1), CustomerID: in.CustomerID, PartnerID: in.PartnerID,
			SkuID: in.SKU.SkuID, State: domain.SubscriptionActive, Quantity: in.Seats, Term: in.Term, TermStart: start,
			TermEnd: domain.AddTerm(start, in.Term)}
		f.steps[requestID] = domain.SubscriptionFacts{}
		f.licensed[s.ID] = slices.Clone(in.LicensedUserIDs)
		f.add("create_subscription", s.ID)
	}
	f.subs[s.ID] = s
	p := redeem.Provisioned{SubscriptionID: s.ID, Quantity: s.Quantity, TermStart: s.TermStart, TermEnd: s.TermEnd,
		LicensedUserIDs: f.licensed[s.ID]}
	f.put(requestID, p)
	return p, nil
}

func (f *fakeSubs) Renew(_ context.Context, requestID string, in redeem.RenewInput) (redeem.Provisioned, error) {
	if v, ok := f.get(requestID); ok {
		return v.(redeem.Provisioned), nil
	}
	if err := f.next("renew"); err != nil {
		return redeem.Provisioned{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.subs[in.SubscriptionID]
	plan, err := domain.PlanRenewal(s, in.Term, f.now()) // SU-4
	if err != nil {
		return redeem.Provisioned{}, err
	}
	f.steps[requestID] = s
	s.State, s.TermStart, s.TermEnd = domain.SubscriptionActive, plan.Start, plan.End
	if in.Seats > 0 {
		s.Quantity = in.Seats
	}
	f.subs[s.ID] = s
	p := redeem.Provisioned{SubscriptionID: s.ID, Quantity: s.Quantity, TermStart: plan.Start, TermEnd: plan.End,
		DaysForfeited: plan.DaysForfeited}
	f.put(requestID, p)
	f.add("renew", s.ID)
	return p, nil
}

func (f *fakeSubs) Compensate(_ context.Context, requestID, stepRequestID, _ string) error {
	if _, ok := f.get(requestID); ok {
		return nil
	}
	if err := f.next("compensate"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	before, ran := f.steps[stepRequestID]
	switch {
	case !ran:
		f.tomb[stepRequestID] = true
	case before.ID == "":
		for id, s := range f.subs {
			if s.State == domain.SubscriptionActive && f.createdBy(stepRequestID, id) {
				s.State = domain.SubscriptionCancelled
				f.subs[id] = s
			}
		}
	default:
		f.subs[before.ID] = before
	}
	f.put(requestID, true)
	f.add("compensate", stepRequestID)
	return nil
}

func (f *fakeSubs) createdBy(stepRequestID, subID string) bool {
	v, ok := f.get(stepRequestID)
	return ok && v.(redeem.Provisioned).SubscriptionID == subID
}
