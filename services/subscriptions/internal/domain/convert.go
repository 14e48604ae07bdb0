package domain

import (
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// ConversionPath is how a Web-Direct subscription switches to Open (SU-15).
type ConversionPath string

// The SU-15 paths.
const (
	// PathRenewalWindow: from 30 days before expiry; the key goes to the existing users, no charge.
	PathRenewalWindow ConversionPath = "RENEWAL_WINDOW"
	// PathEarlyCancellation: within 30 days of the Web-Direct activation; the first month is paid.
	PathEarlyCancellation ConversionPath = "EARLY_CANCELLATION"
	// PathMidTermPenalty: otherwise; 25 % of the remaining term's value is charged.
	PathMidTermPenalty ConversionPath = "MID_TERM_PENALTY"
)

// The SU-15 figures.
const (
	// PenaltyRateBasisPoints is the mid-term penalty: 25 % of the remaining term's value.
	PenaltyRateBasisPoints = 2500
	// EarlyCancellationDays: the early-cancellation path lasts 30 × 24 h from PurchaseTime.
	EarlyCancellationDays = 30
)

// Conversion is a planned Web-Direct → Open switch (SU-15). The money fields are zero (in the
// subscription's currency) where the path does not charge them.
type Conversion struct {
	Path                                          ConversionPath
	Penalty, RemainingTermValue, FirstMonthCharge Money
	NewStart, NewEnd                              time.Time // the new Open term, 00:00 UTC
	RenewalWindowOpen                             time.Time // TermEnd − 30 days, for planning
}

// PlanConversion plans switching s to target at now (SU-15). Refusals, in this order: target not
// OPEN or s not WEB_DIRECT → FAILED_PRECONDITION / CHANNEL_CONVERSION_NOT_ALLOWED (metadata
// channel, target_channel); autorenew on → FAILED_PRECONDITION / AUTORENEW_MUST_BE_OFF; a state
// other than ACTIVE → INVALID_STATE_TRANSITION.
//
// The path, first match wins (the cheapest for the customer): now ≥ TermEnd − 30 days →
// RENEWAL_WINDOW, no charge; now < PurchaseTime + 30 × 24 h → EARLY_CANCELLATION,
// FirstMonthCharge = term price / months of the term; otherwise MID_TERM_PENALTY,
// RemainingTermValue = term price × Days(Day(now), TermEnd) / Days(TermStart, TermEnd) and
// Penalty = 25 % of it, each rounded half away from zero. On every path the new term starts on
// Day(now) and lasts s.Term.
func PlanConversion(s Subscription, now time.Time, target Channel) (Conversion, error) {
	if target != ChannelOpen || s.Channel != ChannelWebDirect {
		return Conversion{}, errs.New(errs.FailedPrecondition, ReasonChannelConversionNotAllowed,
			"only a Web-Direct subscription can switch, and only to Open (channel %s, target %s)", s.Channel, target).
			With("channel", s.Channel).With("target_channel", target)
	}
	if s.AutoRenew {
		return Conversion{}, errs.New(errs.FailedPrecondition, ReasonAutoRenewMustBeOff,
			"switch autorenew off before converting the subscription to Open")
	}
	if _, err := Transition(s.State, ActionConvertChannel); err != nil {
		return Conversion{}, err
	}
	zero := zeroMoney(s.UnitPrice.Currency)
	start := Day(now)
	c := Conversion{Penalty: zero, RemainingTermValue: zero, FirstMonthCharge: zero,
		NewStart: start, NewEnd: AddTerm(start, s.Term), RenewalWindowOpen: addDays(s.TermEnd, -RenewalWindowDays)}
	price := TermPrice(s.UnitPrice, s.Quantity)
	switch {
	case !now.Before(c.RenewalWindowOpen):
		c.Path = PathRenewalWindow
	case now.Before(addDays(s.PurchaseTime, EarlyCancellationDays)):
		c.Path = PathEarlyCancellation
		months, _ := termMonths(s.Term)
		c.FirstMonthCharge = Prorate(price, 1, int64(max(months, 1)))
	default:
		c.Path = PathMidTermPenalty
		termDays := Days(s.TermStart, s.TermEnd)
		remaining := min(max(Days(start, s.TermEnd), 0), termDays)
		c.RemainingTermValue = Prorate(price, remaining, termDays)
		c.Penalty = Prorate(c.RemainingTermValue, PenaltyRateBasisPoints, basisPoints)
	}
	return c, nil
}
