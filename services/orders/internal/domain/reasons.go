package domain

import "github.com/partnerhub/partnerhub/pkg/errs"

// The orders domain's error reasons (partnerhub.common.v1.ErrorReason), with the metadata each
// carries. reasons_test.go checks every one against the contract.
const (
	// ReasonOrderNotCancellable: the order is not COMPLETED or PARTIALLY_CANCELLED (OR-3;
	// metadata state).
	ReasonOrderNotCancellable errs.Reason = "ORDER_NOT_CANCELLABLE"
	// ReasonProvisioningFailed: a step of the order saga was refused; the order is compensated
	// (OR-1; metadata step). Used when a refused step carries no reason of its own.
	ReasonProvisioningFailed errs.Reason = "PROVISIONING_FAILED"
	// ReasonCancellationWindowClosed: the line's cancellation window has passed (OR-3, CA-10;
	// metadata window_end RFC 3339, line_id).
	ReasonCancellationWindowClosed errs.Reason = "CANCELLATION_WINDOW_CLOSED"
	// ReasonNotCancellable: the line's product is never cancellable (CA-10; metadata line_id).
	ReasonNotCancellable errs.Reason = "NOT_CANCELLABLE"
	// ReasonInvalidStateTransition: a saga or cancellation event does not fit the current state
	// (metadata step, line_id, status) — a caller bug or a stale replay, never a user error.
	ReasonInvalidStateTransition errs.Reason = "INVALID_STATE_TRANSITION"
	// ReasonStepAlreadyCompensated: a callee refused a step whose compensation ran first (OR-1);
	// the saga treats it as "nothing was done".
	ReasonStepAlreadyCompensated errs.Reason = "STEP_ALREADY_COMPENSATED"
	// ReasonDependencyUnavailable: a peer did not answer (retried, then the saga compensates).
	ReasonDependencyUnavailable errs.Reason = errs.ReasonDependencyUnavailable
	// ReasonInvalidRequest: the request has invalid fields (BadRequest lists them).
	ReasonInvalidRequest errs.Reason = errs.ReasonInvalidRequest
)

// Reasons lists every reason above, for the test that checks them against the contract.
func Reasons() []errs.Reason {
	return []errs.Reason{ReasonOrderNotCancellable, ReasonProvisioningFailed,
		ReasonCancellationWindowClosed, ReasonNotCancellable, ReasonInvalidStateTransition,
		ReasonStepAlreadyCompensated, ReasonDependencyUnavailable, ReasonInvalidRequest}
}
