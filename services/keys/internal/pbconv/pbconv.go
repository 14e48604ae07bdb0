// Package pbconv maps the keys domain and use-case results to and from partnerhub.keys.v1
// messages. No rules here: what a message shows is what the domain holds. Keys appear only masked
// (KD-8); the one whole key the contract carries, RevealKeyResponse.key, is put there by the
// transport from app.Revealed and by nothing in this package.
package pbconv

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// KeyType maps a key type: domain.KeyType mirrors the contract's numbers, so an unknown number
// stays unknown and the domain refuses it (domain.CheckIssuable).
func KeyType(t keysv1.KeyType) domain.KeyType { return domain.KeyType(t) }

// KeyTypePB maps a key type.
func KeyTypePB(t domain.KeyType) keysv1.KeyType { return keysv1.KeyType(t) }

// FulfilmentKindPB maps a fulfilment kind.
func FulfilmentKindPB(k domain.FulfilmentKind) keysv1.FulfilmentKind {
	return pbenum.Value[keysv1.FulfilmentKind](keysv1.FulfilmentKind_value, "FULFILMENT_KIND_", k)
}

// EntitlementState maps an entitlement state; UNSPECIFIED is "".
func EntitlementState(s keysv1.EntitlementState) domain.EntitlementState {
	return pbenum.Name[domain.EntitlementState](s, "ENTITLEMENT_STATE_")
}

// EntitlementStatePB maps an entitlement state.
func EntitlementStatePB(s domain.EntitlementState) keysv1.EntitlementState {
	return pbenum.Value[keysv1.EntitlementState](keysv1.EntitlementState_value, "ENTITLEMENT_STATE_", s)
}

// RevocationReason maps a revocation reason; UNSPECIFIED is "" (the use case's default).
func RevocationReason(r keysv1.RevocationReason) domain.RevocationReason {
	return pbenum.Name[domain.RevocationReason](r, "REVOCATION_REASON_")
}

// RevocationReasonPB maps a revocation reason; "" (not revoked) is UNSPECIFIED.
func RevocationReasonPB(r domain.RevocationReason) keysv1.RevocationReason {
	return pbenum.Value[keysv1.RevocationReason](keysv1.RevocationReason_value, "REVOCATION_REASON_", r)
}

// ActivityAction maps an activity action; UNSPECIFIED is "".
func ActivityAction(a keysv1.ActivityAction) domain.ActivityAction {
	return pbenum.Name[domain.ActivityAction](a, "ACTIVITY_ACTION_")
}

// ActivityActions maps an action filter.
func ActivityActions(as []keysv1.ActivityAction) []domain.ActivityAction {
	var out []domain.ActivityAction
	for _, a := range as {
		out = append(out, ActivityAction(a))
	}
	return out
}

// ActivityActionPB maps an activity action.
func ActivityActionPB(a domain.ActivityAction) keysv1.ActivityAction {
	return pbenum.Value[keysv1.ActivityAction](keysv1.ActivityAction_value, "ACTIVITY_ACTION_", a)
}

// ReasonPB maps an error reason to the contract's enum ("" and unknown reasons: UNSPECIFIED).
func ReasonPB(r errs.Reason) commonv1.ErrorReason {
	return pbenum.Value[commonv1.ErrorReason](commonv1.ErrorReason_value, "ERROR_REASON_", r)
}

// Etag is an entitlement's etag: its version, as subscriptions spells its etags ("v3").
func Etag(e domain.Entitlement) string { return version(e.Version) }

// version is an etag: a version as subscriptions spells its etags ("v3").
func version(v int64) string { return "v" + strconv.FormatInt(v, 10) }

// mapPB maps each of xs with pb, in order; an empty list is an empty, not a nil, slice.
func mapPB[T, U any](xs []T, pb func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, pb(x))
	}
	return out
}

// Time reads an optional request timestamp: unset is the zero time, an invalid one (out of the
// Timestamp range or with bad nanos) INVALID_ARGUMENT on field.
func Time(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, errs.Invalid(field, "is not a valid timestamp")
	}
	return pbtime.To(ts), nil
}

// Duration reads an optional request duration: unset is 0 (the use case's default), a negative or
// invalid one INVALID_ARGUMENT on field.
func Duration(field string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, errs.Invalid(field, "is not a valid duration")
	}
	v := d.AsDuration()
	if v < 0 {
		return 0, errs.Invalid(field, "must not be negative")
	}
	return v, nil
}
