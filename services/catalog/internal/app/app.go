// Package app holds catalog's use cases: the reads of CatalogService (products, SKUs,
// availability, prices, purchasable offers, equivalents; CA-1..CA-11) and the writes of
// CatalogAdminService (import, upserts, availability, prices, discontinuation). It declares the
// small interfaces it needs (ports.go): the Repository with its cached read path, the served
// Markets, the partners' programs and the customers' relationships.
package app

import (
	"context"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// App is catalog's use cases.
type App struct {
	repo      Repository
	markets   Markets
	partners  Partners
	customers Customers
	clock     clock.Clock
}

// New returns the use cases. repo is normally the cache decorator over the SQL repository.
func New(repo Repository, markets Markets, partners Partners, customers Customers, clk clock.Clock) *App {
	return &App{repo: repo, markets: markets, partners: partners, customers: customers, clock: clk}
}

// now is the service clock's now at storage precision.
func (a *App) now() time.Time { return domain.Instant(a.clock.Now()) }

// caller returns the authenticated principal of the call.
func caller(ctx context.Context) (auth.Principal, error) {
	return auth.MustFromContext(ctx)
}

// requireService refuses anyone but a partnerhub service: the server's access rule already does
// (CatalogAdminService is service_only); the use case says so too, so an admin write can never be
// reached by a partner or customer token through another path.
func requireService(ctx context.Context) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	if !p.IsService() {
		return errs.New(errs.PermissionDenied, errs.ReasonServiceTokenRequired,
			"catalog changes are made by partnerhub services only")
	}
	return nil
}

// etagMismatch is ABORTED / ETAG_MISMATCH for a stale precondition.
func etagMismatch(resource, id string) error {
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch,
		"the %s %s changed since the etag was read; read it again", resource, id).
		With("resource", resource).With("id", id)
}

// checkEtag passes an empty etag (no precondition) or the current one; an etag given for an
// entity that does not exist yet is stale too.
func checkEtag(etag, current string, found bool, resource, id string) error {
	if etag == "" || (found && etag == current) {
		return nil
	}
	return etagMismatch(resource, id)
}

// marketOf is a served market lookup over one snapshot of the markets.
func marketOf(ms []domain.Market) domain.MarketOf {
	idx := make(map[string]domain.Market, len(ms))
	for _, m := range ms {
		idx[m.CountryCode] = m
	}
	return func(c string) (domain.Market, bool) {
		m, ok := idx[c]
		return m, ok
	}
}

func termNames(opts []domain.TermOption) string {
	s := make([]string, len(opts))
	for i, o := range opts {
		s[i] = string(o.Term)
	}
	return strings.Join(s, ",")
}

func planNames(ps []domain.BillingPlan) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

// checkTermAndPlan answers TERM_NOT_ALLOWED or BILLING_PLAN_NOT_ALLOWED (FAILED_PRECONDITION,
// CA-5) when the SKU does not sell term with plan.
func checkTermAndPlan(s domain.Sku, t domain.Term, p domain.BillingPlan) error {
	o, ok := s.TermOption(t)
	if !ok {
		return errs.New(errs.FailedPrecondition, domain.ReasonTermNotAllowed,
			"SKU %s is not sold with term %s", s.ID, t).
			With("sku_id", s.ID).With("term", t).With("allowed_terms", termNames(s.TermOptions))
	}
	if !s.Allows(t, p) {
		return errs.New(errs.FailedPrecondition, domain.ReasonBillingPlanNotAllowed,
			"SKU %s does not allow billing plan %s with term %s (CA-5)", s.ID, p, t).
			With("sku_id", s.ID).With("term", t).With("billing_plan", p).
			With("allowed_billing_plans", planNames(o.Plans))
	}
	return nil
}
