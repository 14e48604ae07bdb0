// Package ledger is the pure core of the orders service's ledger (BI-1…BI-3): immutable entries
// (charges, credits, penalties, refunds) in integer minor units, their idempotency keys, the
// split of a term's price into billing-plan installments (BI-2, CA-5), cancellation credits
// (OR-3, SU-10), penalties (SU-15) and the monthly invoice preview.
//
// It does no I/O: no gRPC, no SQL, no clock. Callers pass times in and store what it returns.
//
// Conventions (shared with the subscriptions service, re-implemented here because that code is
// another service's internal package and pkg/ has no money type):
//   - Money is an int64 amount in the currency's minor units plus an ISO 4217 code; never a float.
//   - Rates and proration round half away from zero (MulDivHalfAway).
//   - Arithmetic never wraps: an overflow is an error (ErrOverflow), not a saturated amount, since
//     a saturated bill would be silently wrong.
//   - Signs follow ledger.proto: charges and penalties ≥ 0, credits and refunds ≤ 0.
//   - Invoice months are UTC calendar months ("YYYY-MM").
//
// The enums (Kind, SourceKind, Term, BillingPlan) use the same numbers as the proto enums
// (partnerhub.orders.v1.LedgerEntryKind, LedgerSourceKind, partnerhub.catalog.v1.Term,
// BillingPlan) so the gRPC layer converts them with a plain cast after a range check.
package ledger
