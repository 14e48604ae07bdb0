package domain

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

const (
	userA = "0b1e6b5a-3c1d-4e8f-9a2b-111111111111"
	userB = "0b1e6b5a-3c1d-4e8f-9a2b-222222222222"
)

// ID-2: the users who get one license each of a new subscription are UUIDs, each once, at most
// one per seat.
func TestCheckLicensedUsers_ID2(t *testing.T) {
	tests := []struct {
		name     string
		ids      []string
		quantity int32
		wantBad  int
	}{
		{"none", nil, 1, 0},
		{"one admin, one seat", []string{userA}, 1, 0},
		{"two users, five seats", []string{userA, userB}, 5, 0},
		{"not a UUID", []string{"admin"}, 1, 1},
		{"not canonical", []string{"{" + userA + "}"}, 1, 1},
		{"twice", []string{userA, userA}, 5, 1},
		{"more users than seats", []string{userA, userB}, 1, 1},
		{"everything wrong", []string{userA, userA, "x"}, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v errs.Violations
			CheckLicensedUsers(&v, tt.ids, tt.quantity)
			if len(v) != tt.wantBad {
				t.Fatalf("violations = %+v, want %d", v, tt.wantBad)
			}
			for _, fv := range v {
				if fv.Field != "licensed_user_ids" {
					t.Errorf("violation on %q, want licensed_user_ids", fv.Field)
				}
			}
		})
	}
}

// ID-2: the seats of a subscription never go below its licensed users; a decrease that would is
// refused, whatever the refund window says.
func TestPlanQuantityChange_ID2_NotBelowLicensedUsers(t *testing.T) {
	s := sub() // 10 seats, bought 2026-01-15 09:00
	s.LicensedUserIDs = []string{userA, userB}
	s.Lots = append(s.Lots, SeatLot{ID: "lot-2", Quantity: 5, AddTime: date(2026, 3, 1), UnitPrice: eur(12000)})
	s.Lots[0].Quantity, s.Quantity = 1, 6 // 1 old seat + 5 refundable ones
	now := date(2026, 3, 2)

	_, err := PlanQuantityChange(s, 1, now)
	wantErr(t, err, errs.FailedPrecondition, ReasonQuantityDecreaseNotAllowed, map[string]string{"licensed_users": "2"})
	if c, err := PlanQuantityChange(s, 2, now); err != nil || c.NewQuantity != 2 {
		t.Errorf("down to the licensed users = %+v, %v; want allowed", c, err)
	}
	if err := CheckLicensedSeats(s, 2); err != nil {
		t.Errorf("CheckLicensedSeats(2 of 2 licensed) = %v", err)
	}
	wantErr(t, CheckLicensedSeats(s, 1), errs.FailedPrecondition, ReasonQuantityDecreaseNotAllowed,
		map[string]string{"licensed_users": "2"})
	// licenses travel with the subscription through other changes
	next := ApplyQuantityChange(s, QuantityChange{OldQuantity: 6, NewQuantity: 8, NewTermEnd: s.TermEnd}, SeatLot{ID: "lot-3"},
		now.Add(time.Hour))
	if len(next.LicensedUserIDs) != 2 {
		t.Errorf("licensed users after an increase = %v", next.LicensedUserIDs)
	}
}
