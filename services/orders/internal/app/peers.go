package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// The peer ports: what the order saga asks identity, catalog, subscriptions and keys, in domain
// terms (adapters/identity, adapters/catalog, adapters/subscriptions, adapters/keys implement them
// over the generated clients). Every method's error is the callee's errs error (kind, reason,
// metadata as the callee sent them, pkg/errs.FromError), so the saga tells a refusal
// (FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND …: compensate and fail the order with that
// reason, OR-1) from a transient failure (Retryable: retry with backoff). Calls that act for a
// partner carry a service token on behalf of the principal in ctx (svc.OnBehalfOfCaller): the
// saga puts the order's principal there (auth.WithPrincipal), also when it resumes after a crash.

// Identity answers who the customer is and whether the partner may sell to it (ID-4).
type Identity interface {
	// CheckCustomer answers for partnerID and customerID. A missing customer or relationship is
	// an answer (Exists / RelationshipActive false), not an error.
	CheckCustomer(ctx context.Context, partnerID, customerID string) (CustomerCheck, error)
}

// CustomerCheck is identity's answer about a customer of a partner.
type CustomerCheck struct {
	// Exists is false when identity knows no such customer (CUSTOMER_NOT_FOUND).
	Exists bool
	// CountryCode is the customer's country, ISO 3166-1 alpha-2: the market of CA-2.
	CountryCode string
	// RelationshipActive is true when an ACTIVE reseller relationship links partner and customer.
	RelationshipActive bool
	// DenialReason says why not (identity's RelationshipDenialReason without prefix, e.g.
	// "NO_RELATIONSHIP", "REMOVED", "MOVED", "CUSTOMER_NOT_FOUND"); empty when active.
	DenialReason string
	// RelationshipID is the active relationship, or the latest ended one.
	RelationshipID string
}

// Catalog answers what an order line needs to know about a SKU in a market (CA-1..CA-11).
type Catalog interface {
	// Offer reads the SKU, checks that it may be sold in market (the customer's country) and
	// prices one unit for term and plan. A SKU not sold there is the catalog's refusal:
	// FAILED_PRECONDITION with MARKET_NOT_AVAILABLE (CA-2), COUNTRY_NOT_SUPPORTED or
	// SKU_DISCONTINUED (CA-9, metadata equivalent_sku_id); an unknown SKU NOT_FOUND; a term or
	// plan the SKU does not allow TERM_NOT_ALLOWED / BILLING_PLAN_NOT_ALLOWED (CA-5).
	Offer(ctx context.Context, skuID, market string, term domain.Term, plan domain.BillingPlan) (Offer, error)
}

// Offer is a SKU as an order line needs it, priced for one market, term and billing plan.
type Offer struct {
	SkuID       string
	ProductID   string
	DisplayName string
	Kind        domain.ProductKind
	KeyType     domain.KeyType // CA-8
	// Downloads are the SKU's download variants (KD-4); empty for license-only products (CA-7).
	Downloads []DownloadVariant
	// InstallationInstructions is the link to installation instructions; empty when none (CA-7).
	InstallationInstructions string
	Policy                   domain.CancellationPolicy // CA-10
	WindowDays               int32
	MaxQuantity              int32
	AutoRenew                AutoRenewDefault // CA-11
	// Price is one unit's price in the market for the term and plan (CA-4, CA-5).
	Price Price
}

// HasDownloads reports whether the SKU has downloads (CA-7).
func (o Offer) HasDownloads() bool { return len(o.Downloads) > 0 }

// DownloadVariant is one downloadable build of a SKU (KD-4); empty dimensions offer no choice.
type DownloadVariant struct {
	ID              string
	Version         string
	Language        string
	FileType        string
	OperatingSystem string
	SizeBytes       int64
}

// AutoRenewDefault is the SKU's autorenew default for new purchases (CA-11, SU-9).
type AutoRenewDefault struct {
	Enabled       bool
	EffectiveFrom time.Time // zero: for every purchase
	Renewable     bool      // false: autorenew cannot be switched on (perpetual software)
}

// For reports whether a purchase made at t autorenews by default.
func (a AutoRenewDefault) For(t time.Time) bool {
	return a.Renewable && a.Enabled && (a.EffectiveFrom.IsZero() || !t.Before(a.EffectiveFrom))
}

// Price is what one unit costs for one term and billing plan in one market (CA-4, CA-5).
type Price struct {
	PerPeriod      domain.Money // the charge per billing period
	PerTerm        domain.Money // PerPeriod × PeriodsPerTerm
	PeriodsPerTerm int32
	TaxInclusive   bool // CA-4
}

// Subscriptions creates and compensates the subscription of an order line (OR-1).
type Subscriptions interface {
	// Provision creates the subscription of line l of order o (ProvisionSubscription, channel
	// CSP, at the line's snapshot price and policy; offer supplies the product ID and the maximum
	// quantity) and returns its ID. Idempotent by requestID. Perpetual lines have no subscription:
	// INVALID_ARGUMENT without a call.
	Provision(ctx context.Context, requestID string, o domain.Order, l domain.OrderLine, offer Offer) (subscriptionID string, err error)
	// Compensate undoes the Provision step made with stepRequestID (CompensateProvisioning): the
	// subscription is cancelled without charge; a step that never ran is tombstoned so a late
	// Provision with that ID is refused (STEP_ALREADY_COMPENSATED). Idempotent by requestID.
	Compensate(ctx context.Context, requestID, stepRequestID, reason string) error
	// CancelWindow reads whether the subscription may be cancelled now (SU-10, CA-10): the
	// subscriptions service owns the window of the current term.
	CancelWindow(ctx context.Context, subscriptionID string) (CancelWindow, error)
	// Cancel cancels the subscription in its window with a prorated refund (SU-10) and returns
	// the refund (negative). Idempotent by requestID.
	Cancel(ctx context.Context, requestID, subscriptionID, reason string) (refund domain.Money, err error)
}

// TenantCapacity answers whether a customer can take more subscriptions under the tenant maximum
// (SU-13); the subscriptions service owns the maximum and the count.
type TenantCapacity interface {
	TenantCapacity(ctx context.Context, customerID string, requested int) (Capacity, error)
}

// Capacity is the answer of TenantCapacity, with the numbers of SU-13.
type Capacity struct {
	Allowed                  bool
	Limit, Active, Requested int
}

// CancelWindow is the cancellation window of a subscription's current term (SU-10, CA-10).
type CancelWindow struct {
	Never  bool      // CA-10: never cancellable
	End    time.Time // the window's end; zero for Never
	Passed bool      // the window has passed (or Never)
	Refund domain.Money
	Final  bool // the subscription is CANCELLED or DELETED already
}

// Keys issues and revokes the entitlements of software lines (CA-7, CA-8, OR-3, KD-7).
type Keys interface {
	// Issue creates the entitlement of line l of order o (its MAK key, downloads and installation
	// instructions from offer) and returns its ID. Idempotent by requestID.
	Issue(ctx context.Context, requestID string, o domain.Order, l domain.OrderLine, offer Offer) (entitlementID string, err error)
	// Revoke revokes the entitlements of lineIDs of order orderID (all lines when empty).
	// Idempotent; revoking a revoked or unknown line is not an error.
	Revoke(ctx context.Context, requestID, orderID string, lineIDs []string, reason RevocationReason) error
}

// RevocationReason says why entitlements are revoked (KD-7).
type RevocationReason string

// The revocation reasons.
const (
	RevokeOrderCancelled        RevocationReason = "ORDER_CANCELLED"        // OR-3
	RevokeOrderCompensated      RevocationReason = "ORDER_COMPENSATED"      // OR-1
	RevokeSubscriptionCancelled RevocationReason = "SUBSCRIPTION_CANCELLED" // SU-10
)

// Retryable reports whether a peer call that failed with err may succeed when repeated with the
// same request ID: the peer was unavailable (UNAVAILABLE, RESOURCE_EXHAUSTED), the call ran out
// of time (DEADLINE_EXCEEDED, CANCELLED, or a context error that never reached the wire), or the
// peer hit a concurrency conflict (ABORTED). Anything else is the peer's answer: a refusal the saga
// compensates for (FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
// PERMISSION_DENIED …), or INTERNAL, which repeating would not change.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	switch errs.KindOf(err) {
	case errs.Unavailable, errs.DeadlineExceeded, errs.Aborted:
		return true
	case errs.Unknown:
		return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	}
	return false
}
