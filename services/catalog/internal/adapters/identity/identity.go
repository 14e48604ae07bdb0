// Package identity wraps identity's generated gRPC clients behind catalog's app interfaces: the
// served markets with their currencies (ID-3, CA-4), a partner's sales programs (ID-1, CA-3) and
// a customer's reseller relationship and country (ID-4, CA-2). The connection carries catalog's
// own service token (svc.Runtime.DialPeer, no on_behalf_of): these are catalog's own questions.
package identity

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// callTimeout bounds one call to identity, so a hung peer fails a request with
// DEPENDENCY_UNAVAILABLE instead of holding it until the client gives up.
const callTimeout = 5 * time.Second

// unavailable turns a failed call into DEPENDENCY_UNAVAILABLE; the cause is kept for the log.
func unavailable(method string, err error) error {
	return errs.Unavailablef("identity does not answer").With("dependency", "identity").
		Wrap(fmt.Errorf("identity %s: %w", method, err))
}

// isNotFound recognizes NOT_FOUND whether or not the connection maps statuses to errs values.
func isNotFound(err error) bool {
	return err != nil && (errs.KindOf(err) == errs.NotFound || status.Code(err) == codes.NotFound)
}

// MarketsOptions configure Markets; zero values are the defaults.
type MarketsOptions struct {
	// Refresh is how often Run fetches the list again (default 5 minutes).
	Refresh time.Duration
	// RetryAfter is how long after a failed fetch the next is tried, by Run and by callers
	// before the first success (default 2 seconds).
	RetryAfter time.Duration
	// Now is wall time (default time.Now): refreshing is about propagation, not business dates.
	Now func() time.Time
	// Log receives failed refreshes (default: none).
	Log *zap.Logger
}

// Markets implements app.Markets: identity's CustomerService.ListMarkets, kept in memory. Run
// refreshes it every Refresh; a failed refresh keeps the last good list. Before the first
// successful fetch a caller fetches itself (concurrent callers share one fetch), and gets
// UNAVAILABLE / DEPENDENCY_UNAVAILABLE if identity does not answer.
type Markets struct {
	client identityv1.CustomerServiceClient
	opts   MarketsOptions
	group  singleflight.Group

	mu          sync.RWMutex
	list        []domain.Market
	byCode      map[string]domain.Market
	loaded      bool
	lastFailure time.Time
	lastErr     error
}

// NewMarkets returns the markets over a connection to identity.
func NewMarkets(conn grpc.ClientConnInterface, opts MarketsOptions) *Markets {
	if opts.Refresh <= 0 {
		opts.Refresh = 5 * time.Minute
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return &Markets{client: identityv1.NewCustomerServiceClient(conn), opts: opts}
}

var _ app.Markets = (*Markets)(nil)

// Market implements app.Markets.
func (m *Markets) Market(ctx context.Context, country string) (domain.Market, bool, error) {
	if err := m.ensure(ctx); err != nil {
		return domain.Market{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	mk, ok := m.byCode[country]
	return mk, ok, nil
}

// All implements app.Markets.
func (m *Markets) All(ctx context.Context) ([]domain.Market, error) {
	if err := m.ensure(ctx); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.list, nil // replaced, never modified: safe to share
}

// ensure fetches the list if there is none yet, at most once per RetryAfter.
func (m *Markets) ensure(ctx context.Context) error {
	m.mu.RLock()
	loaded, lastFailure, lastErr := m.loaded, m.lastFailure, m.lastErr
	m.mu.RUnlock()
	if loaded {
		return nil
	}
	if !lastFailure.IsZero() && m.opts.Now().Sub(lastFailure) < m.opts.RetryAfter {
		return lastErr
	}
	ch := m.group.DoChan("fetch", func() (any, error) {
		return nil, m.Refresh(context.WithoutCancel(ctx))
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return fmt.Errorf("markets: %w", ctx.Err())
	}
}

// Refresh fetches every market from identity and replaces the list; on failure it keeps the
// last good one and returns UNAVAILABLE.
func (m *Markets) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var list []domain.Market
	token := ""
	for {
		resp, err := m.client.ListMarkets(ctx, &identityv1.ListMarketsRequest{PageSize: 500, PageToken: token})
		if err != nil {
			err = unavailable("ListMarkets", err)
			m.mu.Lock()
			m.lastFailure, m.lastErr = m.opts.Now(), err
			m.mu.Unlock()
			return err
		}
		for _, mk := range resp.GetMarkets() {
			if domain.ValidCountryCode(mk.GetCountryCode()) && domain.ValidCurrencyCode(mk.GetCurrencyCode()) {
				list = append(list, domain.Market{CountryCode: mk.GetCountryCode(), CurrencyCode: mk.GetCurrencyCode()})
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	byCode := make(map[string]domain.Market, len(list))
	for _, mk := range list {
		byCode[mk.CountryCode] = mk
	}
	m.mu.Lock()
	m.list, m.byCode, m.loaded, m.lastFailure, m.lastErr = list, byCode, true, time.Time{}, nil
	m.mu.Unlock()
	return nil
}

// Run refreshes the list at once and then every Refresh until ctx is done. After a failure it
// retries sooner: RetryAfter, doubling with each further failure up to Refresh, so an identity
// that stays away (or a missing service secret) costs a log line now and then, not a stream.
func (m *Markets) Run(ctx context.Context) {
	retry := m.opts.RetryAfter
	for {
		wait := m.opts.Refresh
		if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
			m.opts.Log.Warn("markets: identity does not answer; keeping the last good list",
				zap.Duration("retry_in", retry), zap.Error(err))
			wait, retry = retry, min(2*retry, m.opts.Refresh)
		} else {
			retry = m.opts.RetryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Partners implements app.Partners over identity's PartnerService.GetPartner, caching each
// answer for a few seconds (TTL): programs change rarely, and a hot offer listing should not cost
// an RPC per call. A new enrolment shows within TTL.
type Partners struct {
	client identityv1.PartnerServiceClient
	ttl    time.Duration
	now    func() time.Time
	group  singleflight.Group

	mu      sync.Mutex
	entries map[string]partnerEntry
}

type partnerEntry struct {
	programs []domain.SalesProgram
	expires  time.Time
}

// maxPartners bounds the cache; past it, expired entries are dropped, then everything.
const maxPartners = 10_000

// NewPartners returns the partners over a connection to identity; ttl <= 0 means 5 seconds, now
// nil means time.Now.
func NewPartners(conn grpc.ClientConnInterface, ttl time.Duration, now func() time.Time) *Partners {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Partners{client: identityv1.NewPartnerServiceClient(conn), ttl: ttl, now: now, entries: map[string]partnerEntry{}}
}

var _ app.Partners = (*Partners)(nil)

// Programs implements app.Partners: the sales programs among the partner's enrolments (ID-1;
// DELEGATED_ADMIN is not one). An unknown partner has none.
func (p *Partners) Programs(ctx context.Context, partnerID string) ([]domain.SalesProgram, error) {
	p.mu.Lock()
	e, ok := p.entries[partnerID]
	p.mu.Unlock()
	if ok && p.now().Before(e.expires) {
		return e.programs, nil
	}
	ch := p.group.DoChan(partnerID, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		resp, err := p.client.GetPartner(ctx, &identityv1.GetPartnerRequest{PartnerId: partnerID})
		var programs []domain.SalesProgram
		switch {
		case isNotFound(err):
		case err != nil:
			return nil, unavailable("GetPartner", err)
		default:
			for _, en := range resp.GetPartner().GetEnrolments() {
				switch en.GetProgram() {
				case identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT:
					programs = append(programs, domain.ProgramCSPDirect)
				case identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_INDIRECT_RESELLER:
					programs = append(programs, domain.ProgramCSPIndirectReseller)
				case identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN:
					programs = append(programs, domain.ProgramOpen)
				}
			}
		}
		p.put(partnerID, programs)
		return programs, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]domain.SalesProgram), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("partner programs: %w", ctx.Err())
	}
}

func (p *Partners) put(id string, programs []domain.SalesProgram) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.entries) >= maxPartners {
		for k, e := range p.entries {
			if !now.Before(e.expires) {
				delete(p.entries, k)
			}
		}
		if len(p.entries) >= maxPartners {
			clear(p.entries)
		}
	}
	p.entries[id] = partnerEntry{programs: programs, expires: now.Add(p.ttl)}
}

// Customers implements app.Customers over pkg/tenancy's cached reseller-relationship check.
type Customers struct{ checker *tenancy.Checker }

// NewCustomers returns the customers over a tenancy checker built on identity's
// RelationshipService.
func NewCustomers(checker *tenancy.Checker) Customers { return Customers{checker: checker} }

var _ app.Customers = Customers{}

// Relationship implements app.Customers. The partner ID is the caller's own (tenancy's rule);
// a relationship that was removed or moved makes the customer a former one.
func (c Customers) Relationship(ctx context.Context, partnerID, customerID string) (app.CustomerRelationship, error) {
	r, err := c.checker.Relationship(ctx, partnerID, customerID)
	if err != nil {
		// Whatever identity said (down, too slow, refusing this service's token), the caller can
		// only retry later.
		return app.CustomerRelationship{}, unavailable("CheckRelationship", err)
	}
	former := r.DenialReason == identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_REMOVED ||
		r.DenialReason == identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_MOVED
	if !r.Active {
		// The country of a customer the partner does not sell to is none of its business (ID-8).
		return app.CustomerRelationship{Former: former}, nil
	}
	return app.CustomerRelationship{Active: true, Country: r.CustomerCountry}, nil
}
