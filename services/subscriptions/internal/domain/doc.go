// Package domain holds the pure rules of the subscriptions service: the lifecycle state machine
// (SU-1, SU-2, SU-7), the lifecycle engine's steps and reminders (SU-2, SU-3, SU-9), seat changes
// and co-termination (SU-6, SU-7), cancellation (SU-10, CA-10), renewal and reactivation (SU-4),
// the Web-Direct → Open switch (SU-15), the tenant maximum (SU-13), transfers between partners
// (SU-12..SU-14, CA-9) and the money those rules compute (BI-*). Nothing here reads a clock, a
// store or the network: callers pass now, and get back a new value (inputs are never modified)
// or an *errs.Error with a reason of reasons.go.
// Plan* functions decide and compute; Apply* functions apply what a Plan* returned at the same now.
//
// # Dates
//
// The service clock is UTC. Term dates — TermStart, TermEnd and every lifecycle date derived
// from them — are 00:00 UTC (Day). TermEnd is exclusive: a term 2026-01-15 → 2027-01-15 is in use
// through 2027-01-14 and renews or expires at the instant 2027-01-15T00:00:00Z. Other times
// (purchase, state change, a lot's AddTime, event times) are instants, UTC truncated to the
// microsecond the stores keep (Instant).
//
// Term lengths are calendar months: P1M = 1, P1Y = 12, P3Y = 36 (AddTerm). The end is the same day
// of the month, clamped to the last day of a shorter month: Jan 31 + P1M = Feb 28 (Feb 29 in a
// leap year), Mar 31 + P1M = Apr 30, and a term starting on a leap day ends on Feb 28
// (2028-02-29 + P1Y = 2029-02-28, + P3Y = 2031-02-28). Each new term is computed from the previous
// end, so a clamp sticks (Jan 31 → Feb 28 → Mar 28). So a term lasts 28–31, 365–366 or
// 1095–1096 days; prices are per term, never per day, and prorating divides by the days of the
// actual term.
//
// Day counts are whole UTC calendar days (Days: to − from, times of day ignored). "n days
// before/after" a date is n × 24 h, which in UTC is n calendar days. From TermEnd:
//   - reminders fall due at TermEnd − 60, 30, 7 and 1 days, 00:00 UTC (SU-3), only those on or
//     after TermStart (a one-month term has no 60-day reminder);
//   - renewal by key and the penalty-free Open switch open at TermEnd − 30 days (SU-4, SU-15);
//   - EXPIRED from TermEnd, DISABLED from TermEnd + 30 days, DELETED from TermEnd + 120 days
//     (SU-2): with TermEnd = Jan 1, Jan 1 … Jan 30 are the 30 days of full use, Jan 31 00:00 is
//     DISABLED, May 1 00:00 (a non-leap year) is DELETED.
//
// "Within 7 days" is a half-open interval measured to the instant, not in calendar days. The
// cancellation window (SU-10) is [TermStart, TermStart + WindowDays × 24 h): with TermStart
// Jan 15 00:00 a cancellation at Jan 21 23:59:59 is accepted and one at Jan 22 00:00:00 is not.
// A seat lot may be removed with a refund (SU-7) in [AddTime, AddTime + 168 h): at AddTime + 7 d −
// 1 s yes, at AddTime + 7 d no. SU-15's "first 30 days after activation" is [PurchaseTime,
// PurchaseTime + 720 h).
//
// # Money
//
// Money is int64 minor units of one currency, never a float. A figure is computed exactly
// (math/big for the products) and rounded once, half away from zero, at the end (Prorate); a
// result beyond int64 saturates instead of wrapping. The figures:
//   - term price = unit price × seats; first charge of a term = term price / installments of the
//     billing plan (P1Y monthly: 12, annual: 1; P3Y annual: 3, triennial: 1; P1M: 1);
//   - cancellation refund (SU-10) = −(term price × remaining days / term days), remaining days
//     counted from the day of the cancellation (that day is refunded) to TermEnd;
//   - price of added seats = unit price × added × days left / term days; refund of removed seats
//     the same per lot, negative;
//   - SU-15 remaining term value = term price × days left / term days, rounded; the penalty is
//     25 % (2500 basis points) of that rounded value, rounded again (it is the figure shown);
//     the early-cancellation first month = term price / months of the term.
//
// SU-6 co-termination rounds to whole days half up: today + (q_old × days_left + q_new ×
// term_days) / (q_old + q_new), where q_new is the seats added and term_days a full term from
// today; 10 seats with 100 days left plus 10 one-year seats (365 days) end in 232.5 → 233 days.
package domain
