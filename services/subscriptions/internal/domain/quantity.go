package domain

import (
	"math/big"
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// RefundWindow is how long the seats of a lot may be removed with a refund after being added
// (SU-7): 7 × 24 h from the lot's AddTime, to the second, not 7 calendar days.
const RefundWindow = 7 * 24 * time.Hour

// QuantityChange is a planned seat-count change (SU-6, SU-7): what PreviewQuantityChange shows and
// ChangeQuantity applies.
type QuantityChange struct {
	OldQuantity, NewQuantity int32
	OldTermEnd, NewTermEnd   time.Time
	CoTerminated             bool  // SU-6 applied (Open increase)
	PriceDelta               Money // positive: charge for added seats; negative: refund
	RefundableAfter          int32 // seats still refundable after the change
}

// LotRefundableUntil is the end of the lot's refund window: AddTime + 7 × 24 h exactly. The lot
// is refundable strictly before that instant ("within 7 days"), not at it.
func LotRefundableUntil(l SeatLot) time.Time { return l.AddTime.Add(RefundWindow) }

// SeatsRefundableUntil is the end of lot l's refund window in s: LotRefundableUntil, or for
// seats added before s moved to its partner by a transfer, the move (the previous partner paid
// for them: SU-12).
func SeatsRefundableUntil(s Subscription, l SeatLot) time.Time {
	until := LotRefundableUntil(l)
	if l.AddTime.Before(s.MovedInTime) && s.MovedInTime.Before(until) {
		return s.MovedInTime
	}
	return until
}

// lotRefundable reports whether l's seats in s may still be removed with a refund at now.
func lotRefundable(s Subscription, l SeatLot, now time.Time) bool {
	return now.Before(SeatsRefundableUntil(s, l))
}

// RefundableQuantity is the number of seats that may be removed with a refund at now: the sum of
// the lots still inside their 7-day window (SU-7).
func RefundableQuantity(s Subscription, now time.Time) int32 {
	var n int32
	for _, l := range s.Lots {
		if lotRefundable(s, l, now) {
			n += l.Quantity
		}
	}
	return n
}

// CoTermEnd is SU-6's shared end date when qNew seats with a full term of termDays are added to
// qOld seats with daysLeft days left: today + (qOld × daysLeft + qNew × termDays) / (qOld + qNew)
// days, rounded half up (232.5 → 233). today is taken as its Day. With no seats at all (qOld +
// qNew ≤ 0) the term end stays today + daysLeft.
func CoTermEnd(today time.Time, qOld int32, daysLeft int64, qNew int32, termDays int64) time.Time {
	den := int64(qOld) + int64(qNew)
	if den <= 0 {
		return addDays(Day(today), daysLeft)
	}
	num := new(big.Int).Mul(big.NewInt(int64(qOld)), big.NewInt(daysLeft))
	num.Add(num, new(big.Int).Mul(big.NewInt(int64(qNew)), big.NewInt(termDays)))
	// half up: floor((2 × num + den) / (2 × den)); big.Int.Div floors for a positive divisor
	num.Lsh(num, 1).Add(num, big.NewInt(den))
	days := num.Div(num, big.NewInt(2*den))
	return addDays(Day(today), saturate(days))
}

// PlanQuantityChange plans setting s's seats to qty at now (SU-6, SU-7) without changing s.
//
// Refusals, in this order: qty < 1 or unchanged → INVALID_ARGUMENT / INVALID_REQUEST (field
// quantity); qty above MaxQuantity (when MaxQuantity > 0; 0 means the SKU names no maximum) →
// INVALID_ARGUMENT / QUANTITY_ABOVE_MAXIMUM (metadata maximum); a state that does not allow
// ActionChangeQuantity (only ACTIVE) → INVALID_STATE_TRANSITION; a decrease below the number of
// licensed users → FAILED_PRECONDITION / QUANTITY_DECREASE_NOT_ALLOWED (metadata licensed_users,
// CheckLicensedSeats); a decrease by more than the refundable seats → FAILED_PRECONDITION /
// QUANTITY_DECREASE_NOT_ALLOWED (metadata refundable_quantity).
//
// An increase adds one lot. Open subscriptions co-terminate (SU-6: daysLeft = today → TermEnd,
// termDays = a full term from today) and cost nothing here, the seats being paid by key card
// (BI-1). Other channels keep the term end and pay unit price × added seats × daysLeft / days of
// the current term. A decrease removes seats from the newest refundable lots first and refunds
// each lot's unit price × removed × daysLeft / days of the current term (negative PriceDelta).
func PlanQuantityChange(s Subscription, qty int32, now time.Time) (QuantityChange, error) {
	switch {
	case qty < 1:
		return QuantityChange{}, errs.Invalid("quantity", "must be at least 1, got %d", qty)
	case qty == s.Quantity:
		return QuantityChange{}, errs.Invalid("quantity", "must differ from the current quantity %d", qty)
	case s.MaxQuantity > 0 && qty > s.MaxQuantity:
		e := errs.New(errs.InvalidArgument, ReasonQuantityAboveMaximum,
			"quantity %d is above the SKU's maximum %d", qty, s.MaxQuantity).With("maximum", s.MaxQuantity)
		e.Violations = []errs.FieldViolation{{Field: "quantity", Description: "must be at most the SKU's maximum"}}
		return QuantityChange{}, e
	}
	if _, err := Transition(s.State, ActionChangeQuantity); err != nil {
		return QuantityChange{}, err
	}
	today := Day(now)
	daysLeft := max(Days(today, s.TermEnd), 0)
	termDays := Days(s.TermStart, s.TermEnd)
	refundable := RefundableQuantity(s, now)
	c := QuantityChange{OldQuantity: s.Quantity, NewQuantity: qty, OldTermEnd: s.TermEnd, NewTermEnd: s.TermEnd,
		PriceDelta: zeroMoney(s.UnitPrice.Currency)}

	if added := qty - s.Quantity; added > 0 {
		c.RefundableAfter = refundable + added
		if s.Channel == ChannelOpen { // SU-6, BI-1
			fullTerm := Days(today, AddTerm(today, s.Term))
			c.NewTermEnd = CoTermEnd(today, s.Quantity, daysLeft, added, fullTerm)
			c.CoTerminated = true
			return c, nil
		}
		c.PriceDelta = Prorate(TermPrice(s.UnitPrice, added), daysLeft, termDays)
		return c, nil
	}

	if err := CheckLicensedSeats(s, qty); err != nil {
		return QuantityChange{}, err
	}
	removed := s.Quantity - qty
	if removed > refundable {
		return QuantityChange{}, errs.New(errs.FailedPrecondition, ReasonQuantityDecreaseNotAllowed,
			"only %d seats were added within the last 7 days and may be removed, not %d", refundable, removed).
			With("refundable_quantity", refundable)
	}
	c.RefundableAfter = refundable - removed
	refund := zeroMoney(s.UnitPrice.Currency)
	for _, take := range removals(s, s.Lots, removed, now) {
		lot := s.Lots[take.index]
		refund = addMoney(refund, Prorate(TermPrice(lot.UnitPrice, take.seats), daysLeft, termDays))
	}
	c.PriceDelta = negate(refund)
	return c, nil
}

// removal is seats taken from the lot at index.
type removal struct {
	index int
	seats int32
}

// removals picks n seats from the newest refundable lots first (SU-7).
func removals(s Subscription, lots []SeatLot, n int32, now time.Time) []removal {
	var rs []removal
	for i := len(lots) - 1; i >= 0 && n > 0; i-- {
		if !lotRefundable(s, lots[i], now) || lots[i].Quantity <= 0 {
			continue
		}
		take := min(n, lots[i].Quantity)
		rs = append(rs, removal{index: i, seats: take})
		n -= take
	}
	return rs
}

// ApplyQuantityChange applies a change planned by PlanQuantityChange at the same now. On an
// increase it appends lot with AddTime = now and Quantity = the added seats (the caller fills
// ID, OrderID and UnitPrice; an empty UnitPrice currency takes the subscription's unit price). On
// a decrease it removes seats from the newest refundable lots and drops emptied lots. It sets
// Quantity, TermEnd and UpdateTime; s's slices are not modified.
func ApplyQuantityChange(s Subscription, c QuantityChange, lot SeatLot, now time.Time) Subscription {
	now = Instant(now)
	if added := c.NewQuantity - c.OldQuantity; added > 0 {
		lot.AddTime, lot.Quantity = now, added
		if lot.UnitPrice.Currency == "" {
			lot.UnitPrice = s.UnitPrice
		}
		s.Lots = append(slices.Clip(s.Lots), lot)
	} else if removed := -added; removed > 0 {
		lots := slices.Clone(s.Lots)
		for _, r := range removals(s, lots, removed, now) {
			lots[r.index].Quantity -= r.seats
		}
		s.Lots = slices.DeleteFunc(lots, func(l SeatLot) bool { return l.Quantity <= 0 })
	}
	s.Quantity, s.TermEnd, s.UpdateTime = c.NewQuantity, c.NewTermEnd, now
	return s
}
