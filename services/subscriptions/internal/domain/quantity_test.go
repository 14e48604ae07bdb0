package domain

import (
	"reflect"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// SU-6: DOMAIN.md's example (10 seats, 100 days left, +10 one-year seats → 232.5 → 233 days)
// and the rounding around it.
func TestCoTermEnd_SU6(t *testing.T) {
	today := date(2026, 3, 1)
	tests := []struct {
		name     string
		qOld     int32
		daysLeft int64
		qNew     int32
		termDays int64
		wantDays int64
	}{
		{"DOMAIN.md example: 232.5 → 233", 10, 100, 10, 365, 233},
		{"exact", 1, 100, 1, 300, 200},
		{"below half down: 166.33 → 166", 2, 100, 1, 299, 166},
		{"above half up: 133.67 → 134", 2, 100, 1, 201, 134},
		{"half up: 100.5 → 101", 1, 100, 1, 101, 101},
		{"no new seats", 10, 100, 0, 365, 100},
		{"no seats at all keeps days left", 0, 100, 0, 365, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CoTermEnd(today.Add(15*time.Hour), tt.qOld, tt.daysLeft, tt.qNew, tt.termDays)
			if want := addDays(today, tt.wantDays); got != want {
				t.Errorf("CoTermEnd = %s (%d days), want %d days", got, Days(today, got), tt.wantDays)
			}
		})
	}
}

// SU-7: a lot is refundable strictly within 7 × 24 h of being added.
func TestRefundableQuantity_SU7_SevenDaysToTheSecond(t *testing.T) {
	added := date(2026, 3, 1).Add(14*time.Hour + 30*time.Minute)
	s := sub()
	s.Lots = append(s.Lots, SeatLot{ID: "lot-2", Quantity: 3, AddTime: added, UnitPrice: eur(12000)})
	s.Quantity = 13
	if got := LotRefundableUntil(s.Lots[1]); got != added.Add(168*time.Hour) {
		t.Fatalf("LotRefundableUntil = %s", got)
	}
	tests := []struct {
		name string
		at   time.Time
		want int32
	}{
		{"when added", added, 3},
		{"7 days −1 s", added.Add(7*24*time.Hour - time.Second), 3},
		{"7 days", added.Add(7 * 24 * time.Hour), 0},
		{"7 days +1 s", added.Add(7*24*time.Hour + time.Second), 0},
	}
	for _, tt := range tests {
		if got := RefundableQuantity(s, tt.at); got != tt.want {
			t.Errorf("%s: RefundableQuantity = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// SU-7: the refusals of a quantity change, in their order.
func TestPlanQuantityChange_SU7_Refusals(t *testing.T) {
	now := date(2026, 6, 1).Add(10 * time.Hour)
	s := sub() // 10 seats, none refundable on Jun 1
	for _, qty := range []int32{0, -3, 10} {
		_, err := PlanQuantityChange(s, qty, now)
		wantViolation(t, err, "quantity")
	}
	_, err := PlanQuantityChange(s, 101, now)
	wantErr(t, err, errs.InvalidArgument, ReasonQuantityAboveMaximum, map[string]string{"maximum": "100"})

	s.MaxQuantity = 0 // no maximum known
	if _, err := PlanQuantityChange(s, 5000, now); err != nil {
		t.Errorf("no maximum: %v", err)
	}

	suspended := sub()
	suspended.State = StateSuspended
	_, err = PlanQuantityChange(suspended, 11, now)
	wantErr(t, err, errs.FailedPrecondition, ReasonInvalidStateTransition,
		map[string]string{"state": "SUSPENDED", "action": "CHANGE_QUANTITY"})

	_, err = PlanQuantityChange(sub(), 9, now)
	wantErr(t, err, errs.FailedPrecondition, ReasonQuantityDecreaseNotAllowed, map[string]string{"refundable_quantity": "0"})
}

// SU-7: an increase outside Open keeps the end date and charges the added seats to the term end.
func TestPlanQuantityChange_SU7_IncreaseProrated(t *testing.T) {
	s := sub()
	s.UnitPrice = eur(1000)
	now := date(2026, 10, 7).Add(22 * time.Hour) // 100 days left of 365
	c, err := PlanQuantityChange(s, 12, now)
	if err != nil {
		t.Fatal(err)
	}
	want := QuantityChange{OldQuantity: 10, NewQuantity: 12, OldTermEnd: s.TermEnd, NewTermEnd: s.TermEnd,
		PriceDelta: eur(548), RefundableAfter: 2} // 2 000 × 100 / 365 = 547.9
	if c != want {
		t.Errorf("change %+v, want %+v", c, want)
	}

	got := ApplyQuantityChange(s, c, SeatLot{ID: "lot-2", OrderID: "order-2"}, now)
	wantLot := SeatLot{ID: "lot-2", Quantity: 2, AddTime: now, OrderID: "order-2", UnitPrice: eur(1000)}
	if got.Quantity != 12 || len(got.Lots) != 2 || got.Lots[1] != wantLot || got.UpdateTime != now || len(s.Lots) != 1 {
		t.Errorf("applied %+v", got)
	}
	if RefundableQuantity(got, now) != c.RefundableAfter {
		t.Errorf("RefundableAfter %d, refundable now %d", c.RefundableAfter, RefundableQuantity(got, now))
	}
}

// SU-6, BI-1: an Open increase co-terminates the whole subscription and costs nothing here.
func TestPlanQuantityChange_SU6_OpenIncreaseCoTerminates(t *testing.T) {
	today := date(2026, 3, 1)
	s := sub()
	s.Channel = ChannelOpen
	s.TermEnd = addDays(today, 100)
	s.TermStart = addDays(s.TermEnd, -365)
	now := today.Add(11 * time.Hour)
	c, err := PlanQuantityChange(s, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c.CoTerminated || c.NewTermEnd != addDays(today, 233) || c.PriceDelta != eur(0) || c.OldTermEnd != s.TermEnd {
		t.Errorf("change %+v; want co-terminated at today + 233 days, zero EUR", c)
	}
	got := ApplyQuantityChange(s, c, SeatLot{ID: "lot-2", UnitPrice: eur(0)}, now)
	if got.TermEnd != addDays(today, 233) || got.Quantity != 20 || got.Lots[1].UnitPrice != eur(0) {
		t.Errorf("applied %+v", got)
	}
}

// SU-7: a decrease takes seats from the newest refundable lots first and refunds each lot at its
// own price.
func TestPlanQuantityChange_SU7_DecreaseNewestLotsFirst(t *testing.T) {
	now := date(2026, 10, 7).Add(22 * time.Hour) // 100 days left of 365
	s := sub()
	s.Lots = append(s.Lots,
		SeatLot{ID: "lot-2", Quantity: 3, AddTime: now.Add(-5 * 24 * time.Hour), UnitPrice: eur(1000)},
		SeatLot{ID: "lot-3", Quantity: 2, AddTime: now.Add(-24 * time.Hour), UnitPrice: eur(1200)},
	)
	s.Quantity = 15
	if _, err := PlanQuantityChange(s, 9, now); err == nil {
		t.Fatal("removing 6 of 5 refundable seats was allowed")
	}
	c, err := PlanQuantityChange(s, 11, now)
	if err != nil {
		t.Fatal(err)
	}
	// lot-3: 2 × 1 200 × 100 / 365 = 657.5 → 658; lot-2: 2 × 1 000 × 100 / 365 = 547.9 → 548
	if c.PriceDelta != eur(-1206) || c.RefundableAfter != 1 || c.NewTermEnd != s.TermEnd {
		t.Errorf("change %+v", c)
	}
	before := append([]SeatLot(nil), s.Lots...)
	got := ApplyQuantityChange(s, c, SeatLot{}, now)
	want := []SeatLot{s.Lots[0], {ID: "lot-2", Quantity: 1, AddTime: s.Lots[1].AddTime, UnitPrice: eur(1000)}}
	if !reflect.DeepEqual(got.Lots, want) || got.Quantity != 11 {
		t.Errorf("lots %+v, quantity %d", got.Lots, got.Quantity)
	}
	if !reflect.DeepEqual(s.Lots, before) {
		t.Errorf("ApplyQuantityChange modified the input's lots")
	}
}
