package domain

import (
	"testing"
	"time"
)

// A subscription that moved to a new partner by a direct transfer inside its term's first 7 days
// gives that partner no refund of the term or of the seats the previous partner paid for (SU-12):
// the window and the lots' refund windows close at the move; seats the new partner adds after the
// move are refundable as usual (SU-7), and a term it starts later has its full window (SU-10).
func TestMovedIn_SU12_NoRefundOfThePreviousPartnersTerm(t *testing.T) {
	s := sub()
	s.Policy, s.WindowDays = PolicyProratedRefundWindow, 7
	s.Lots = []SeatLot{{ID: "l1", Quantity: s.Quantity, AddTime: s.TermStart.Add(time.Hour), UnitPrice: s.UnitPrice}}
	movedIn := s.TermStart.Add(2 * 24 * time.Hour)
	s.MovedInTime = movedIn

	after := movedIn.Add(time.Second)
	w := CancellationWindowOf(s, after)
	if !w.Passed || !w.End.Equal(movedIn) || w.Refund.Minor != 0 {
		t.Errorf("window after the move: %+v, want closed at the move with no refund", w)
	}
	if err := CheckCancel(s, after); err == nil {
		t.Error("the new partner may cancel the previous partner's term with a refund")
	}
	if n := RefundableQuantity(s, after); n != 0 {
		t.Errorf("%d seats refundable after the move, want 0", n)
	}
	if got := SeatsRefundableUntil(s, s.Lots[0]); !got.Equal(movedIn) {
		t.Errorf("the moved lot is refundable until %s, want the move %s", got, movedIn)
	}

	added := SeatLot{ID: "l2", Quantity: 2, AddTime: after, UnitPrice: s.UnitPrice}
	s.Lots = append(s.Lots, added)
	if n := RefundableQuantity(s, after.Add(time.Hour)); n != 2 {
		t.Errorf("%d refundable seats after the new partner added 2, want 2", n)
	}

	// The next term, paid by the new partner, has its whole window again.
	s.TermStart, s.TermEnd = s.TermEnd, AddTerm(s.TermEnd, s.Term)
	if w := CancellationWindowOf(s, s.TermStart.Add(time.Hour)); w.Passed {
		t.Errorf("the next term's window %+v is closed", w)
	}
}
