package app

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// The catalog's and identity's reasons the review reports as problems (partnerhub.common.v1).
const (
	ReasonRelationshipRequired errs.Reason = "RELATIONSHIP_REQUIRED"  // ID-4
	ReasonQuantityAboveMaximum errs.Reason = "QUANTITY_ABOVE_MAXIMUM" // the SKU's maximum
	ReasonOfferNotAllowed      errs.Reason = "OFFER_NOT_ALLOWED"      // CA-3
	ReasonPriceNotFound        errs.Reason = "PRICE_NOT_FOUND"
	ReasonTenantLimit          errs.Reason = "TENANT_SUBSCRIPTION_LIMIT" // SU-13
	// ReasonAmountOutOfRange is orders' own: the line's amounts or the order's totals would not
	// fit the int64 of minor units an order keeps (checkAmounts).
	ReasonAmountOutOfRange errs.Reason = "AMOUNT_OUT_OF_RANGE"
)

// Problem is one thing that would make an order fail, found by the review (ValidateOrder, and
// PlaceOrder before it stores anything). Problems are answers, not errors.
type Problem struct {
	Reason   errs.Reason
	Field    string // "lines[2].billing_plan"; "" for the whole order
	Message  string
	Metadata map[string]string
	// Invalid marks a problem of the request's values (INVALID_ARGUMENT when PlaceOrder refuses
	// on it: QUANTITY_ABOVE_MAXIMUM); the others are FAILED_PRECONDITION.
	Invalid bool
}

// LineReview is what one requested line would be (OR-1, CA-5): the offer when the catalog
// priced it, and the line's problems.
type LineReview struct {
	Index     int
	Input     domain.LineInput
	Offer     Offer
	Priced    bool // Offer is set
	AutoRenew bool // the request's, else the SKU's default (CA-11)
	Problems  []Problem
}

// PeriodAmount is the line's charge per billing period: the unit price for its quantity.
func (lr LineReview) PeriodAmount() domain.Money {
	return lr.Offer.Price.PerPeriod.Times(lr.Input.Quantity)
}

// TermAmount is the line's amount for the whole term.
func (lr LineReview) TermAmount() domain.Money {
	return lr.Offer.Price.PerTerm.Times(lr.Input.Quantity)
}

// WindowEnd is the end of the line's cancellation window if the order were placed at at; false
// when the SKU is never cancellable (CA-10).
func (lr LineReview) WindowEnd(at time.Time) (time.Time, bool) {
	if lr.Offer.Policy == domain.PolicyNever || lr.Offer.WindowDays <= 0 {
		return time.Time{}, false
	}
	return at.Add(time.Duration(lr.Offer.WindowDays) * 24 * time.Hour), true
}

// Totals are the sums of the priced lines' period and term amounts, and whether any line
// includes taxes (CA-4); priced is false when no line is.
func (r Review) Totals() (first, term domain.Money, taxInclusive, priced bool) {
	for _, lr := range r.Lines {
		if !lr.Priced {
			continue
		}
		first, term = first.Plus(lr.PeriodAmount()), term.Plus(lr.TermAmount())
		taxInclusive = taxInclusive || lr.Offer.Price.TaxInclusive
		priced = true
	}
	return first, term, taxInclusive, priced
}

// Review is the whole review of an order: the customer's market and every line.
type Review struct {
	CustomerID  string
	CountryCode string
	Lines       []LineReview
	Problems    []Problem // of the whole order, e.g. RELATIONSHIP_REQUIRED
	Time        time.Time

	relationshipActive bool
}

// Valid reports whether there is no problem at all: PlaceOrder would start the saga.
func (r Review) Valid() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, l := range r.Lines {
		if len(l.Problems) > 0 {
			return false
		}
	}
	return true
}

// AllProblems lists the order's problems, then every line's, in line order.
func (r Review) AllProblems() []Problem {
	out := append([]Problem(nil), r.Problems...)
	for _, l := range r.Lines {
		out = append(out, l.Problems...)
	}
	return out
}

// Err is the error PlaceOrder refuses a review with problems with: the first problem's reason
// (INVALID_ARGUMENT for a value problem, FAILED_PRECONDITION otherwise) and a BadRequest listing
// every problem; nil when valid.
func (r Review) Err() error {
	all := r.AllProblems()
	if len(all) == 0 {
		return nil
	}
	first := all[0]
	kind := errs.FailedPrecondition
	if first.Invalid {
		kind = errs.InvalidArgument
	}
	e := errs.New(kind, first.Reason, "%s", first.Message)
	for k, v := range first.Metadata {
		e = e.With(k, v)
	}
	for _, p := range all {
		field := p.Field
		if field == "" {
			field = "customer_id"
		}
		e.Violations = append(e.Violations, errs.FieldViolation{Field: field,
			Description: fmt.Sprintf("%s: %s", p.Reason, p.Message)})
	}
	return e
}

// review runs every check the saga would run, with no side effect: the customer and the reseller
// relationship (identity, ID-4), then per line the SKU in the customer's market with its price
// for the term and plan (catalog, CA-2..CA-10) and the quantity against the SKU's maximum. An
// unknown customer is an error (NOT_FOUND); everything else is a problem of the review. A peer
// that does not answer is an error too (UNAVAILABLE): a review must not call a line wrong
// because the catalog was down.
func (a *App) review(ctx context.Context, partnerID, customerID string, lines []domain.LineInput) (Review, error) {
	r := Review{CustomerID: customerID, Time: a.now()}
	cc, err := a.identity.CheckCustomer(ctx, partnerID, customerID)
	if err != nil {
		return Review{}, err
	}
	if !cc.Exists {
		return Review{}, errs.NotFoundf("customer", customerID)
	}
	r.Lines = make([]LineReview, len(lines))
	if !cc.RelationshipActive {
		// Nothing more about a customer the partner may not sell to (ID-8): not its country, nor
		// what would be sold in it.
		r.Problems = append(r.Problems, Problem{Reason: ReasonRelationshipRequired,
			Message: fmt.Sprintf("partner %s has no active reseller relationship with customer %s (ID-4)",
				partnerID, customerID),
			Metadata: map[string]string{"denial_reason": cc.DenialReason}})
		for i, in := range lines {
			r.Lines[i] = LineReview{Index: i, Input: in}
		}
		return r, nil
	}
	r.CountryCode, r.relationshipActive = cc.CountryCode, cc.RelationshipActive
	for i, in := range lines {
		lr := LineReview{Index: i, Input: in}
		offer, err := a.catalog.Offer(ctx, in.SkuID, cc.CountryCode, in.Term, in.Plan)
		switch {
		case err == nil:
			lr.Offer, lr.Priced = offer, true
			lr.AutoRenew = offer.AutoRenew.For(r.Time)
			if in.AutoRenew != nil {
				lr.AutoRenew = *in.AutoRenew
			}
			if offer.MaxQuantity > 0 && in.Quantity > offer.MaxQuantity {
				lr.Problems = append(lr.Problems, Problem{Reason: ReasonQuantityAboveMaximum,
					Field:   fmt.Sprintf("lines[%d].quantity", i),
					Message: fmt.Sprintf("quantity %d is above the SKU's maximum %d", in.Quantity, offer.MaxQuantity),
					Metadata: map[string]string{"maximum": fmt.Sprint(offer.MaxQuantity),
						"sku_id": in.SkuID}, Invalid: true})
			}
		case Retryable(err) || errs.KindOf(err) == errs.Internal || errs.KindOf(err) == errs.Unknown:
			return Review{}, err
		default:
			lr.Problems = append(lr.Problems, lineProblem(i, err))
		}
		r.Lines[i] = lr
	}
	r.checkAmounts()
	if err := a.checkCapacity(ctx, &r); err != nil {
		return Review{}, err
	}
	return r, nil
}

// checkAmounts adds AMOUNT_OUT_OF_RANGE to a priced line whose amounts, or the order's totals
// with it, do not fit the int64 of minor units that orders and the ledger keep: the catalog's
// bounds (10^15 minor units per period, any int32 maximum quantity) allow such an order, and
// without the check its total would wrap around to a negative amount.
func (r *Review) checkAmounts() {
	var first, term domain.Money
	for i := range r.Lines {
		lr := &r.Lines[i]
		if !lr.Priced {
			continue
		}
		p, ok1 := lr.Offer.Price.PerPeriod.TimesExact(lr.Input.Quantity)
		t, ok2 := lr.Offer.Price.PerTerm.TimesExact(lr.Input.Quantity)
		f, ok3 := first.PlusExact(p)
		tt, ok4 := term.PlusExact(t)
		if !(ok1 && ok2 && ok3 && ok4) {
			lr.Problems = append(lr.Problems, Problem{Reason: ReasonAmountOutOfRange,
				Field:    fmt.Sprintf("lines[%d].quantity", i),
				Message:  fmt.Sprintf("%d × the SKU's price is more than an order can hold", lr.Input.Quantity),
				Metadata: map[string]string{"sku_id": lr.Input.SkuID}, Invalid: true})
			continue
		}
		first, term = f, tt
	}
}

// checkCapacity adds TENANT_SUBSCRIPTION_LIMIT when the order's subscriptions (every line but
// perpetual software) would take the customer above the tenant maximum (SU-13).
func (a *App) checkCapacity(ctx context.Context, r *Review) error {
	n := 0
	for _, lr := range r.Lines {
		if lr.Input.Term != domain.TermPerpetual {
			n++
		}
	}
	if a.opts.Capacity == nil || n == 0 || !r.relationshipActive {
		return nil
	}
	c, err := a.opts.Capacity.TenantCapacity(ctx, r.CustomerID, n)
	if err != nil || c.Allowed {
		return err
	}
	r.Problems = append(r.Problems, Problem{Reason: ReasonTenantLimit,
		Message: fmt.Sprintf("the customer would hold %d active subscriptions, above its maximum of %d (SU-13)",
			c.Active+c.Requested, c.Limit),
		Metadata: map[string]string{"limit": fmt.Sprint(c.Limit), "active": fmt.Sprint(c.Active),
			"requested": fmt.Sprint(c.Requested)}})
	return nil
}

// lineProblem turns the catalog's refusal of line i into a problem, located at the field it is
// about (term, plan) or at the SKU.
func lineProblem(i int, err error) Problem {
	p := Problem{Reason: errs.ReasonOf(err), Message: err.Error(), Field: fmt.Sprintf("lines[%d].sku_id", i)}
	if e, ok := errs.As(err); ok {
		p.Message, p.Metadata = e.Message, e.Metadata
		p.Invalid = e.Kind == errs.InvalidArgument
	}
	switch p.Reason {
	case "TERM_NOT_ALLOWED":
		p.Field = fmt.Sprintf("lines[%d].term", i)
	case "BILLING_PLAN_NOT_ALLOWED":
		p.Field = fmt.Sprintf("lines[%d].billing_plan", i)
	case "":
		p.Reason = errs.ReasonResourceNotFound
		if errs.KindOf(err) != errs.NotFound {
			p.Reason = errs.ReasonInvalidRequest
		}
	}
	return p
}
