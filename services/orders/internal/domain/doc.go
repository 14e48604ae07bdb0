// Package domain holds the pure rules of the orders service: the order and its lines (OR-1),
// the order saga as data (OR-1, OR-7), cancellation (OR-3..OR-5, CA-10, SU-10, BI-3) and the
// shape checks of PlaceOrder. Nothing here reads a clock, a store or the network: callers pass
// now, get back a new value (inputs are never modified) or an *errs.Error with a reason of
// reasons.go. Enum values are the proto names without their prefix.
//
// # The order saga (OR-1, OR-7)
//
// Steps (saga.go, Steps) run in this order; each makes one task for the order or one per line:
//
//	check_relationship   order          identity: customer, reseller relationship (ID-4)    no compensation
//	check_catalog        order          catalog: availability, price, policies (CA-2..CA-10) no compensation
//	create_subscription  every line     subscriptions (perpetual: done without a call)      cancel_subscription
//	issue_entitlements   entitled lines keys, lines with a MAK key or downloads (CA-7)       revoke_entitlements
//	record_charge        every line     ledger: every installment of the plan (BI-2)        reverse_charge
//	complete             order          local: the order is COMPLETED                       no compensation
//
// PlaceOrder runs the two checks itself before it stores the order (the review: nothing is stored
// when one fails), so a new saga starts with them done; a saga resumed later does not repeat them.
// Tasks run one at a time (Next). Done records the ID a call produced. Failed with a retryable
// error (UNAVAILABLE, deadline) retries the same task after DefaultRetry's backoff —
// 100 ms × 2^(n−1) capped at 5 s, at most 8 calls (about 11.3 s) — then fails it as Uncertain.
// A refusal, or an Uncertain failure, starts compensation: the compensations of done tasks (and
// of the Uncertain one, since the callee may have acted; it answers "nothing to compensate" when
// it did not) run one at a time in exactly the reverse order; compensations retry forever at the
// capped delay, since giving up would leave an orphan. Then the saga is FAILED with the refusing
// step's reason (PROVISIONING_FAILED when it had none). A saga is never non-terminal without a
// Next action (property test).
//
// Every call carries RequestIDFor(order, step, line), a UUIDv5 of "order/<id>/step/<s>/line/<l>";
// a compensation carries CompensationRequestIDFor and names the call it undoes. They are
// deterministic, not random, so that a saga resumed after a crash or a retry repeats the very
// same request and the callee's idempotency store answers with the first result: no step is done
// twice, nothing is charged twice (OR-7).
//
// # Cancellation (OR-3..OR-5)
//
// One order per call (OR-5); every named line is checked before anything changes. Perpetual
// software (policy FULL_CREDIT_WINDOW) may be cancelled in [purchase, purchase + WindowDays ×
// 24 h), measured to the instant: purchased 2026-03-01T10:00:00Z with 30 days, 2026-03-31T09:59:59Z
// is accepted, 2026-03-31T10:00:00Z is CANCELLATION_WINDOW_CLOSED. It gets keys and links
// revoked (KD-7) and a credit of −(unit term price × quantity), 100 % (BI-3). A subscription line
// (PRORATED_REFUND_WINDOW) is routed to the subscriptions service, which owns the SU-10 window
// and the prorated refund. NEVER (CA-10) is NOT_CANCELLABLE. The order is CANCELLING, with
// CancellationPending, until subscriptions, keys and the ledger have each applied every line
// (OR-4, up to ApplyDelay = 15 min); then CANCELLED, or PARTIALLY_CANCELLED when lines remain.
//
// # PlaceOrder input
//
// 1..100 lines (MaxLines, from the proto), quantity ≥ 1, known term and billing plan in a
// combination the enums allow, no SKU twice (refused, not merged: order more seats on one line),
// partner_reference ≤ 100 characters; every bad field is listed ("lines[2].quantity").
package domain
