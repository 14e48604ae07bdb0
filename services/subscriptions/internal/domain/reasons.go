package domain

import "github.com/partnerhub/partnerhub/pkg/errs"

// The subscriptions' error reasons (partnerhub.common.v1.ErrorReason, the subscriptions block and
// the relationship reasons the subscriptions service answers with), with the metadata each
// carries.
const (
	// ReasonCancellationWindowClosed: the cancellation window of the term has passed (SU-10;
	// metadata window_end, RFC 3339).
	ReasonCancellationWindowClosed errs.Reason = "CANCELLATION_WINDOW_CLOSED"
	// ReasonNotCancellable: the product is never cancellable (Red Hat, SUSE; CA-10).
	ReasonNotCancellable errs.Reason = "NOT_CANCELLABLE"
	// ReasonNotManagedByCaller: the caller may read but not change the subscription (SU-8, ID-6).
	ReasonNotManagedByCaller errs.Reason = "NOT_MANAGED_BY_CALLER"
	// ReasonTenantSubscriptionLimit: the tenant maximum of active subscriptions would be exceeded
	// (SU-13; metadata limit, active, requested).
	ReasonTenantSubscriptionLimit errs.Reason = "TENANT_SUBSCRIPTION_LIMIT"
	// ReasonInvalidStateTransition: the action is not allowed in the subscription's state (SU-1,
	// SU-2, SU-7; metadata state, action).
	ReasonInvalidStateTransition errs.Reason = "INVALID_STATE_TRANSITION"
	// ReasonAutoRenewMustBeOff: the change needs autorenew off first (SU-9, SU-15).
	ReasonAutoRenewMustBeOff errs.Reason = "AUTORENEW_MUST_BE_OFF"
	// ReasonRenewalWindowNotOpen: renewal is possible only from 30 days before the end date (SU-4;
	// metadata opens_at, RFC 3339).
	ReasonRenewalWindowNotOpen errs.Reason = "RENEWAL_WINDOW_NOT_OPEN"
	// ReasonQuantityDecreaseNotAllowed: more seats removed than are still refundable (SU-7;
	// metadata refundable_quantity).
	ReasonQuantityDecreaseNotAllowed errs.Reason = "QUANTITY_DECREASE_NOT_ALLOWED"
	// ReasonQuantityAboveMaximum: more seats than the SKU allows (metadata maximum).
	ReasonQuantityAboveMaximum errs.Reason = "QUANTITY_ABOVE_MAXIMUM"
	// ReasonTransferNotPending: the transfer is no longer pending (metadata state).
	ReasonTransferNotPending errs.Reason = "TRANSFER_NOT_PENDING"
	// ReasonEquivalentOfferRequired: a discontinued offer must move to its equivalent (CA-9, SU-14;
	// metadata equivalent_sku_id).
	ReasonEquivalentOfferRequired errs.Reason = "EQUIVALENT_OFFER_REQUIRED"
	// ReasonChannelConversionNotAllowed: only Web-Direct → Open is supported (SU-15; metadata
	// channel, target_channel).
	ReasonChannelConversionNotAllowed errs.Reason = "CHANNEL_CONVERSION_NOT_ALLOWED"
	// ReasonTransferAlreadyPending: the subscription is already part of an open transfer.
	ReasonTransferAlreadyPending errs.Reason = "TRANSFER_ALREADY_PENDING"
	// ReasonStepAlreadyCompensated: the provisioning step was compensated before it ran (OR-1).
	ReasonStepAlreadyCompensated errs.Reason = "STEP_ALREADY_COMPENSATED"
	// ReasonRelationshipRequired: no accepted reseller relationship with the customer (ID-4).
	ReasonRelationshipRequired errs.Reason = "RELATIONSHIP_REQUIRED"
	// ReasonNotSameCountry: the partner is not in the customer's country/region, so it may not take
	// the customer's subscriptions over (ID-5; metadata customer_country, partner_country).
	ReasonNotSameCountry errs.Reason = "NOT_SAME_COUNTRY"
)

// Reasons lists every reason above, for the test that checks them against the contract.
func Reasons() []errs.Reason {
	return []errs.Reason{ReasonCancellationWindowClosed, ReasonNotCancellable, ReasonNotManagedByCaller,
		ReasonTenantSubscriptionLimit, ReasonInvalidStateTransition, ReasonAutoRenewMustBeOff,
		ReasonRenewalWindowNotOpen, ReasonQuantityDecreaseNotAllowed, ReasonQuantityAboveMaximum,
		ReasonTransferNotPending, ReasonEquivalentOfferRequired, ReasonChannelConversionNotAllowed,
		ReasonTransferAlreadyPending, ReasonStepAlreadyCompensated, ReasonRelationshipRequired,
		ReasonNotSameCountry}
}
