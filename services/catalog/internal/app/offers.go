package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// OffersQuery is the input of ListPurchasableOffers: exactly one of CustomerID and Country.
type OffersQuery struct {
	PageSize   int32
	PageToken  string
	CustomerID string
	Country    string
	Kind       domain.ProductKind
	ProductID  string
}

// PurchasableOffer is an offer with the partner's programs that allow it (CA-3).
type PurchasableOffer struct {
	Offer
	Via []domain.SalesProgram
}

// OfferPage is one page of offers for one market.
type OfferPage struct {
	Offers        []PurchasableOffer
	Country       string
	NextPageToken string
}

// sellers are the roles that sell (DOMAIN.md: place orders); the contract's access rule lets a
// service through too, which must act for one of them.
func sellers() []auth.Role { return []auth.Role{auth.AdminAgent, auth.SalesAgent} }

// ListPurchasableOffers lists what the calling partner may sell in a market (CA-2, CA-3, CA-5,
// CA-9), with the prices there (CA-4).
//
// The partner is the effective principal's organisation: a partner user's, or for a service
// token the on_behalf_of principal's. A service acting on its own account sells nothing and has
// no programs, so it is refused with PERMISSION_DENIED / ROLE_REQUIRED: it must pass the partner
// user it acts for.
//
// With customer_id, the market is the customer's country, and the partner must have an active
// reseller relationship with the customer (ID-4). Otherwise the answer never tells whether the
// customer exists (ID-8): RESOURCE_NOT_FOUND both for an unknown customer and for another
// partner's; TENANT_MISMATCH only for a customer the partner had a relationship with (removed, or
// moved to another partner), whose existence the partner knows anyway.
func (a *App) ListPurchasableOffers(ctx context.Context, q OffersQuery) (OfferPage, error) {
	p, err := caller(ctx)
	if err != nil {
		return OfferPage{}, err
	}
	eff := p.Effective()
	if eff.OrgKind != auth.OrgPartner || !eff.HasRole(sellers()...) {
		return OfferPage{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"offers are listed for a partner's Admin agent or Sales agent; a service must call on behalf of one (CA-3)").
			With("required_roles", "ADMIN_AGENT,SALES_AGENT")
	}
	partnerID := eff.OrgID

	var v errs.Violations
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return OfferPage{}, err
	}
	switch {
	case q.CustomerID == "" && q.Country == "":
		v.Add("customer_id", "exactly one of customer_id and country_code is required")
	case q.CustomerID != "" && q.Country != "":
		v.Add("country_code", "exactly one of customer_id and country_code is allowed")
	case q.CustomerID != "":
		id, perr := uuid.Parse(q.CustomerID)
		if perr != nil || len(q.CustomerID) != 36 {
			v.Add("customer_id", "must be a tenant ID (a UUID), not %q", q.CustomerID)
		} else {
			q.CustomerID = id.String()
		}
	case !domain.ValidCountryCode(q.Country):
		checkCountry(&v, "country_code", q.Country)
	}
	if q.Kind != "" && !q.Kind.Valid() {
		v.Add("kind", "unknown product kind %q", string(q.Kind))
	}
	if q.ProductID != "" && !domain.ValidProductID(q.ProductID) {
		v.Add("product_id", "must be a product ID: 12 upper-case letters or digits, not %q", q.ProductID)
	}
	if err := v.Err(); err != nil {
		return OfferPage{}, err
	}

	country := q.Country
	if q.CustomerID != "" {
		if country, err = a.customerMarket(ctx, partnerID, q.CustomerID); err != nil {
			return OfferPage{}, err
		}
	}
	if _, served, err := a.markets.Market(ctx, country); err != nil {
		return OfferPage{}, fmt.Errorf("markets: %w", err)
	} else if !served {
		return OfferPage{}, errs.New(errs.FailedPrecondition, domain.ReasonCountryNotSupported,
			"partnerhub does not serve %s (ID-3)", country).With("country_code", country)
	}

	fp := paging.Fingerprint("offers", partnerID, country, q.Kind, q.ProductID)
	after, err := afterKey(q.PageToken, fp, domain.ValidSkuID)
	if err != nil {
		return OfferPage{}, err
	}
	programs, err := a.partners.Programs(ctx, partnerID)
	if err != nil {
		return OfferPage{}, fmt.Errorf("programs of partner %s: %w", partnerID, err)
	}
	mask := domain.ProgramMask(programs...)
	page := OfferPage{Country: country}
	if mask == 0 {
		return page, nil // enrolled in no sales program: nothing to sell (CA-3)
	}
	rows, err := a.repo.Offers(ctx, OfferQuery{Country: country, ProgramMask: mask, Kind: q.Kind,
		ProductID: q.ProductID, After: after, Limit: size + 1})
	if err != nil {
		return OfferPage{}, fmt.Errorf("list offers: %w", err)
	}
	rows, page.NextPageToken = paging.Trim(rows, size, fp, func(o Offer) []string { return []string{o.Sku.ID} })
	for _, o := range rows {
		o.Prices = offerPrices(o.Sku, o.Prices)
		var via []domain.SalesProgram
		for _, sp := range o.Product.SalesPrograms {
			if domain.ProgramMask(sp)&mask != 0 {
				via = append(via, sp)
			}
		}
		page.Offers = append(page.Offers, PurchasableOffer{Offer: o, Via: via})
	}
	return page, nil
}

// customerMarket returns the country of a customer the partner sells to (ID-4), answering as
// ListPurchasableOffers documents so nothing leaks across partners (ID-8).
func (a *App) customerMarket(ctx context.Context, partnerID, customerID string) (string, error) {
	r, err := a.customers.Relationship(ctx, partnerID, customerID)
	if err != nil {
		return "", fmt.Errorf("reseller relationship %s/%s: %w", partnerID, customerID, err)
	}
	switch {
	case r.Active:
		return r.Country, nil
	case r.Former:
		return "", errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"the customer is no longer the partner's: its reseller relationship ended (ID-4, ID-8)").
			With("customer_id", customerID)
	}
	return "", errs.NotFoundf("customer", customerID)
}
