package domain

import (
	"slices"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Action is something that may change a subscription's state: a partner's request, a saga step or
// a lifecycle-engine step (SU-1, SU-2, SU-7).
type Action string

// The actions of the state machine.
const (
	ActionSuspend        Action = "SUSPEND"         // partner: ACTIVE → SUSPENDED (SU-7)
	ActionReactivate     Action = "REACTIVATE"      // partner: back to ACTIVE (SU-2, SU-7)
	ActionCancel         Action = "CANCEL"          // partner: within the window (SU-10)
	ActionExpire         Action = "EXPIRE"          // engine: term end without renewal (SU-2)
	ActionDisable        Action = "DISABLE"         // engine: term end + 30 days (SU-2)
	ActionDelete         Action = "DELETE"          // engine: term end + 120 days (SU-2)
	ActionAutoRenew      Action = "AUTO_RENEW"      // engine: term end with autorenew on (SU-9)
	ActionRenewByKey     Action = "RENEW_BY_KEY"    // saga: Open key redeemed (SU-4)
	ActionChangeQuantity Action = "CHANGE_QUANTITY" // partner or saga: seats (SU-6, SU-7)
	ActionSetAutoRenew   Action = "SET_AUTO_RENEW"  // partner: switch autorenew (SU-9)
	ActionConvertChannel Action = "CONVERT_CHANNEL" // partner: Web-Direct → Open (SU-15)
	ActionTransfer       Action = "TRANSFER"        // transfer: new partner of record (SU-12..14)
	ActionCompensate     Action = "COMPENSATE"      // saga: undo a creation (OR-1)
)

// Actions lists every action.
func Actions() []Action {
	return []Action{ActionSuspend, ActionReactivate, ActionCancel, ActionExpire, ActionDisable,
		ActionDelete, ActionAutoRenew, ActionRenewByKey, ActionChangeQuantity, ActionSetAutoRenew,
		ActionConvertChannel, ActionTransfer, ActionCompensate}
}

// Transition returns the state a subscription in state from is in after action a, or
// FAILED_PRECONDITION / INVALID_STATE_TRANSITION (metadata state, action) when a is not allowed in
// from. It is total: every pair, unknown states and actions included, gets one of the two answers.
//
// The rules (SU-1, SU-2, SU-4, SU-7, SU-9, SU-10):
//   - suspend: ACTIVE → SUSPENDED.
//   - reactivate: SUSPENDED, EXPIRED, DISABLED → ACTIVE (until deletion, SU-2).
//   - cancel: ACTIVE, SUSPENDED → CANCELLED (the window is checked by CheckCancel).
//   - expire: ACTIVE, SUSPENDED → EXPIRED; disable: EXPIRED → DISABLED; delete: DISABLED →
//     DELETED, the only way into DELETED.
//   - autorenew: ACTIVE → ACTIVE (a suspended subscription expires instead, SU-7).
//   - renew-by-key: ACTIVE, SUSPENDED, EXPIRED → ACTIVE; not DISABLED (SU-4 allows renewal only
//     within the 30-day EXPIRED grace; a disabled subscription is reactivated instead).
//   - change quantity, convert channel: ACTIVE only; set autorenew: ACTIVE, SUSPENDED (unchanged).
//   - transfer: ACTIVE (direct move, SU-14) and EXPIRED (the target repurchases within the grace,
//     SU-12), state unchanged; not SUSPENDED (its cancellation path has started: reactivate
//     first) nor DISABLED (the grace is over, the data is read-only).
//   - compensate: any non-final state → CANCELLED.
//   - DELETED and CANCELLED are final: every action is refused.
func Transition(from State, a Action) (State, error) {
	if to, ok := transition(from, a); ok {
		return to, nil
	}
	return "", errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
		"action %s is not allowed in state %s", a, from).With("state", from).With("action", a)
}

// transition is the table behind Transition.
func transition(from State, a Action) (State, bool) {
	switch from {
	case StateActive, StateSuspended, StateExpired, StateDisabled:
	default:
		return "", false // final or unknown: nothing is allowed
	}
	in := func(states ...State) bool { return slices.Contains(states, from) }
	switch a {
	case ActionSuspend:
		return StateSuspended, from == StateActive
	case ActionReactivate:
		return StateActive, in(StateSuspended, StateExpired, StateDisabled)
	case ActionCancel:
		return StateCancelled, in(StateActive, StateSuspended)
	case ActionExpire:
		return StateExpired, in(StateActive, StateSuspended)
	case ActionDisable:
		return StateDisabled, from == StateExpired
	case ActionDelete:
		return StateDeleted, from == StateDisabled
	case ActionAutoRenew, ActionChangeQuantity, ActionConvertChannel:
		return StateActive, from == StateActive
	case ActionRenewByKey:
		return StateActive, in(StateActive, StateSuspended, StateExpired)
	case ActionSetAutoRenew:
		return from, in(StateActive, StateSuspended)
	case ActionTransfer:
		return from, in(StateActive, StateExpired)
	case ActionCompensate:
		return StateCancelled, true
	}
	return "", false
}
