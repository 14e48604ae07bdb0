package domain

import "github.com/partnerhub/partnerhub/pkg/errs"

// The reasons the keys domain raises, from the keys block (600-699) of
// partnerhub.common.v1.ErrorReason and the identity reason the access rules answer with; each
// comment names the kind and the metadata the error carries. ROLE_REQUIRED and TENANT_MISMATCH
// come from pkg/errs (errs.ReasonRoleRequired, errs.ReasonTenantMismatch).
const (
	// ReasonKMSNotAllowed: KMS keys are never issued, not even on request (FAILED_PRECONDITION;
	// CA-8, KD-5; metadata key_type).
	ReasonKMSNotAllowed errs.Reason = "KMS_NOT_ALLOWED"
	// ReasonKeyMalformed: the product key is not 25 characters of the key alphabet or its check
	// character is wrong (INVALID_ARGUMENT with a field violation; KD-1; metadata length,
	// problem). The key itself is never echoed.
	ReasonKeyMalformed errs.Reason = "KEY_MALFORMED"
	// ReasonKeyAlreadyRedeemed: the key card was redeemed before (FAILED_PRECONDITION; KD-1;
	// metadata key_card_id).
	ReasonKeyAlreadyRedeemed errs.Reason = "KEY_ALREADY_REDEEMED"
	// ReasonKeyReserved: the key card is held by another redemption's reservation
	// (FAILED_PRECONDITION; KD-1, KD-2; metadata key_card_id).
	ReasonKeyReserved errs.Reason = "KEY_RESERVED"
	// ReasonReservationExpired: the reservation lapsed before it was confirmed
	// (FAILED_PRECONDITION; metadata key_card_id, reservation_id, expired_at in RFC 3339).
	ReasonReservationExpired errs.Reason = "RESERVATION_EXPIRED"
	// ReasonReservationNotActive: the reservation does not hold the card any more: it was released,
	// or it was confirmed and cannot be released (FAILED_PRECONDITION; metadata key_card_id,
	// reservation_id, state).
	ReasonReservationNotActive errs.Reason = "RESERVATION_NOT_ACTIVE"
	// ReasonRelationshipRequired: the partner has no accepted reseller relationship with the
	// customer (FAILED_PRECONDITION, as everywhere else in partnerhub; ID-4, KD-3; metadata
	// customer_id).
	ReasonRelationshipRequired errs.Reason = "RELATIONSHIP_REQUIRED"
	// ReasonEntitlementRevoked: the entitlement's purchase was cancelled; its keys and links are
	// withdrawn (FAILED_PRECONDITION; KD-7, OR-3; metadata entitlement_id, revoke_time).
	ReasonEntitlementRevoked errs.Reason = "ENTITLEMENT_REVOKED"
)

// Reasons lists every reason above (and ReasonProgramNotEnrolled, keycard.go), for the test that
// checks them against the contract.
func Reasons() []errs.Reason {
	return []errs.Reason{ReasonKMSNotAllowed, ReasonKeyMalformed, ReasonKeyAlreadyRedeemed,
		ReasonKeyReserved, ReasonReservationExpired, ReasonReservationNotActive,
		ReasonRelationshipRequired, ReasonEntitlementRevoked, ReasonProgramNotEnrolled}
}
