package domain

import "github.com/partnerhub/partnerhub/pkg/errs"

// The catalog's error reasons (partnerhub.common.v1.ErrorReason, the catalog block and the one
// identity reason catalog answers with).
const (
	// ReasonMarketNotAvailable: the SKU is not sold in the market (CA-2; metadata market, sku_id).
	ReasonMarketNotAvailable errs.Reason = "MARKET_NOT_AVAILABLE"
	// ReasonSkuDiscontinued: the SKU is discontinued (CA-9; metadata equivalent_sku_id).
	ReasonSkuDiscontinued errs.Reason = "SKU_DISCONTINUED"
	// ReasonBillingPlanNotAllowed: the billing plan is not allowed for the SKU and term (CA-5).
	ReasonBillingPlanNotAllowed errs.Reason = "BILLING_PLAN_NOT_ALLOWED"
	// ReasonTermNotAllowed: the SKU is not sold with the term.
	ReasonTermNotAllowed errs.Reason = "TERM_NOT_ALLOWED"
	// ReasonPriceNotFound: no price for the SKU in the market, term and plan.
	ReasonPriceNotFound errs.Reason = "PRICE_NOT_FOUND"
	// ReasonCatalogInvalid: a catalog file has problems; the violations list every one.
	ReasonCatalogInvalid errs.Reason = "CATALOG_INVALID"
	// ReasonKMSNotAllowed: KMS keys are never issued (CA-8).
	ReasonKMSNotAllowed errs.Reason = "KMS_NOT_ALLOWED"
	// ReasonCountryNotSupported: partnerhub does not serve the country at all (ID-3).
	ReasonCountryNotSupported errs.Reason = "COUNTRY_NOT_SUPPORTED"
)

// Reasons lists every reason above, for the test that checks them against the contract.
func Reasons() []errs.Reason {
	return []errs.Reason{ReasonMarketNotAvailable, ReasonSkuDiscontinued, ReasonBillingPlanNotAllowed,
		ReasonTermNotAllowed, ReasonPriceNotFound, ReasonCatalogInvalid, ReasonKMSNotAllowed, ReasonCountryNotSupported}
}
