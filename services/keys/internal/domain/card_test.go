package domain

import (
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

var (
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expiry = t0.Add(DefaultReservationTTL)
)

const (
	resA = "res-a"
	resB = "res-b"
)

// The cards every transition is tried on.
func available() Card { return NewCard("card-1") }

func reservedBy(r string) Card {
	return Card{ID: "card-1", State: CardReserved, ReservationID: r, ReserveExpiry: expiry}
}

func redeemedBy(r string) Card {
	return Card{ID: "card-1", State: CardRedeemed, ReservationID: r, RedeemTime: t0.Add(time.Minute)}
}

// Instants around the reservation's expiry: a reservation holds while now < expiry.
var (
	before  = expiry.Add(-time.Nanosecond)
	atExp   = expiry
	afterEx = expiry.Add(time.Nanosecond)
)

// KD-1, KD-2: the transitions of a key card, each from every kind of card, at instants before,
// at and after the reservation's expiry.
func TestCard_KD1_KD2_Transitions(t *testing.T) {
	type result struct {
		want   Card        // the card after the call (equal to the input when refused)
		reason errs.Reason // "" when allowed
	}
	newExpiry := afterEx.Add(10 * time.Minute)
	reservedByA := func(exp time.Time) Card {
		return Card{ID: "card-1", State: CardReserved, ReservationID: resA, ReserveExpiry: exp}
	}
	for _, tt := range []struct {
		name string
		got  func() (Card, error)
		want result
	}{
		// Reserve (by A, until newExpiry).
		{"reserve available", func() (Card, error) { return available().Reserve(resA, before, newExpiry) },
			result{reservedByA(newExpiry), ""}},
		{"reserve own live reservation again", func() (Card, error) { return reservedBy(resA).Reserve(resA, before, newExpiry) },
			result{reservedBy(resA), ""}},
		{"reserve held by another", func() (Card, error) { return reservedBy(resB).Reserve(resA, before, newExpiry) },
			result{reservedBy(resB), ReasonKeyReserved}},
		{"reserve, other's reservation lapsed at expiry", func() (Card, error) { return reservedBy(resB).Reserve(resA, atExp, newExpiry) },
			result{reservedByA(newExpiry), ""}},
		{"reserve, other's reservation lapsed", func() (Card, error) { return reservedBy(resB).Reserve(resA, afterEx, newExpiry) },
			result{reservedByA(newExpiry), ""}},
		{"reserve, own reservation lapsed: a new hold", func() (Card, error) { return reservedBy(resA).Reserve(resA, atExp, newExpiry) },
			result{reservedByA(newExpiry), ""}},
		{"reserve redeemed", func() (Card, error) { return redeemedBy(resB).Reserve(resA, before, newExpiry) },
			result{redeemedBy(resB), ReasonKeyAlreadyRedeemed}},
		{"reserve redeemed by the same reservation", func() (Card, error) { return redeemedBy(resA).Reserve(resA, before, newExpiry) },
			result{redeemedBy(resA), ReasonKeyAlreadyRedeemed}},

		// Confirm by A.
		{"confirm just before expiry", func() (Card, error) { return reservedBy(resA).Confirm(resA, before) },
			result{Card{ID: "card-1", State: CardRedeemed, ReservationID: resA, RedeemTime: before}, ""}},
		{"confirm at expiry", func() (Card, error) { return reservedBy(resA).Confirm(resA, atExp) },
			result{reservedBy(resA), ReasonReservationExpired}},
		{"confirm after expiry", func() (Card, error) { return reservedBy(resA).Confirm(resA, afterEx) },
			result{reservedBy(resA), ReasonReservationExpired}},
		{"confirm again (retry)", func() (Card, error) { return redeemedBy(resA).Confirm(resA, afterEx) },
			result{redeemedBy(resA), ""}},
		{"confirm redeemed by another", func() (Card, error) { return redeemedBy(resB).Confirm(resA, before) },
			result{redeemedBy(resB), ReasonKeyAlreadyRedeemed}},
		{"confirm held by another", func() (Card, error) { return reservedBy(resB).Confirm(resA, before) },
			result{reservedBy(resB), ReasonKeyReserved}},
		{"confirm, another's hold lapsed", func() (Card, error) { return reservedBy(resB).Confirm(resA, atExp) },
			result{reservedBy(resB), ReasonReservationNotActive}},
		{"confirm available (released)", func() (Card, error) { return available().Confirm(resA, before) },
			result{available(), ReasonReservationNotActive}},

		// Release by A.
		{"release own hold (lapsed or not: Release needs no clock)", func() (Card, error) { return reservedBy(resA).Release(resA) },
			result{available(), ""}},
		{"release available (twice)", func() (Card, error) { return available().Release(resA) },
			result{available(), ""}},
		{"release another's hold: untouched", func() (Card, error) { return reservedBy(resB).Release(resA) },
			result{reservedBy(resB), ""}},
		{"release confirmed", func() (Card, error) { return redeemedBy(resA).Release(resA) },
			result{redeemedBy(resA), ReasonReservationNotActive}},
		{"release, redeemed by another: untouched", func() (Card, error) { return redeemedBy(resB).Release(resA) },
			result{redeemedBy(resB), ""}},

		// Lapse.
		{"lapse before expiry", func() (Card, error) { return reservedBy(resA).Lapse(before) },
			result{reservedBy(resA), ReasonKeyReserved}},
		{"lapse at expiry", func() (Card, error) { return reservedBy(resA).Lapse(atExp) },
			result{available(), ""}},
		{"lapse after expiry", func() (Card, error) { return reservedBy(resA).Lapse(afterEx) },
			result{available(), ""}},
		{"lapse available", func() (Card, error) { return available().Lapse(afterEx) },
			result{available(), ""}},
		{"lapse redeemed", func() (Card, error) { return redeemedBy(resA).Lapse(afterEx) },
			result{redeemedBy(resA), ReasonKeyAlreadyRedeemed}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if tt.want.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else {
				wantErr(t, err, errs.FailedPrecondition, tt.want.reason, map[string]string{"key_card_id": "card-1"})
			}
			if got != tt.want.want {
				t.Errorf("card = %+v, want %+v", got, tt.want.want)
			}
		})
	}
}

// The metadata of the refusals that carry more than the card.
func TestCard_RefusalMetadata(t *testing.T) {
	_, err := reservedBy(resA).Confirm(resA, afterEx)
	wantErr(t, err, errs.FailedPrecondition, ReasonReservationExpired,
		map[string]string{"reservation_id": resA, "expired_at": "2026-03-01T12:15:00Z"})
	_, err = redeemedBy(resA).Release(resA)
	wantErr(t, err, errs.FailedPrecondition, ReasonReservationNotActive,
		map[string]string{"reservation_id": resA, "state": "REDEEMED"})
	_, err = available().Confirm(resA, before)
	wantErr(t, err, errs.FailedPrecondition, ReasonReservationNotActive, map[string]string{"state": "AVAILABLE"})
	_, err = reservedBy(resA).Lapse(before)
	wantErr(t, err, errs.FailedPrecondition, ReasonKeyReserved, map[string]string{"reserve_expiry": "2026-03-01T12:15:00Z"})
}

// KD-1: REDEEMED is final — from a redeemed card no call at any instant leads anywhere else.
func TestCard_KD1_RedeemedIsFinal(t *testing.T) {
	for _, r := range []string{resA, resB} {
		c := redeemedBy(r)
		for _, now := range []time.Time{t0, before, atExp, afterEx, afterEx.Add(24 * time.Hour)} {
			calls := []func() (Card, error){
				func() (Card, error) { return c.Reserve(resA, now, now.Add(time.Minute)) },
				func() (Card, error) { return c.Confirm(resA, now) },
				func() (Card, error) { return c.Release(resA) },
				func() (Card, error) { return c.Lapse(now) },
			}
			for i, call := range calls {
				if got, _ := call(); got != c {
					t.Errorf("call %d on a card redeemed by %s at %v: %+v", i, r, now, got)
				}
			}
			if c.StateAt(now) != CardRedeemed {
				t.Errorf("StateAt = %s", c.StateAt(now))
			}
		}
	}
}

// A reservation holds while now < expiry: StateAt and Lapsed at the boundary.
func TestCard_StateAt_ExpiryBoundary(t *testing.T) {
	c := reservedBy(resA)
	for _, tt := range []struct {
		now    time.Time
		state  CardState
		lapsed bool
	}{{before, CardReserved, false}, {atExp, CardAvailable, true}, {afterEx, CardAvailable, true}} {
		if c.StateAt(tt.now) != tt.state || c.Lapsed(tt.now) != tt.lapsed {
			t.Errorf("at %v: StateAt %s Lapsed %v; want %s %v", tt.now, c.StateAt(tt.now), c.Lapsed(tt.now), tt.state, tt.lapsed)
		}
	}
	if available().Lapsed(afterEx) || redeemedBy(resA).Lapsed(afterEx) {
		t.Error("only RESERVED cards lapse")
	}
}

// Bad arguments and corrupt states.
func TestCard_BadInput(t *testing.T) {
	_, err := available().Reserve("", t0, expiry)
	wantViolation(t, err, "reservation_id")
	_, err = available().Reserve(resA, t0, t0)
	wantViolation(t, err, "ttl")
	corrupt := Card{ID: "card-1", State: "LOST"}
	for i, call := range []func() (Card, error){
		func() (Card, error) { return corrupt.Reserve(resA, t0, expiry) },
		func() (Card, error) { return corrupt.Confirm(resA, t0) },
		func() (Card, error) { return corrupt.Release(resA) },
		func() (Card, error) { return corrupt.Lapse(t0) },
	} {
		got, err := call()
		if errs.KindOf(err) != errs.Internal || got != corrupt {
			t.Errorf("call %d on an unknown state: %+v, %v; want INTERNAL, unchanged", i, got, err)
		}
	}
}

// A reservation's lifetime: 0 is the 15-minute default, up to an hour, never negative.
func TestReservationExpiry(t *testing.T) {
	for _, tt := range []struct {
		ttl  time.Duration
		want time.Time
		ok   bool
	}{
		{0, t0.Add(15 * time.Minute), true},
		{time.Second, t0.Add(time.Second), true},
		{time.Hour, t0.Add(time.Hour), true},
		{time.Hour + time.Nanosecond, time.Time{}, false},
		{-time.Second, time.Time{}, false},
	} {
		got, err := ReservationExpiry(t0, tt.ttl)
		if !tt.ok {
			wantViolation(t, err, "ttl")
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ReservationExpiry(%v) = %v, %v; want %v", tt.ttl, got, err, tt.want)
		}
	}
}

// KD-2: several cards are reserved all or nothing; the first refusal names its index; the input
// is never modified; a card twice is invalid.
func TestReserveAll_KD2(t *testing.T) {
	a, b, c := NewCard("a"), NewCard("b"), NewCard("c")
	got, err := ReserveAll([]Card{a, b, c}, resA, t0, expiry)
	if err != nil || len(got) != 3 {
		t.Fatalf("ReserveAll = %v, %v", got, err)
	}
	for i, card := range got {
		if card.State != CardReserved || card.ReservationID != resA || !card.ReserveExpiry.Equal(expiry) ||
			card.ID != []string{"a", "b", "c"}[i] {
			t.Errorf("card %d = %+v", i, card)
		}
	}

	redeemed := Card{ID: "b", State: CardRedeemed, ReservationID: resB}
	in := []Card{a, redeemed, c}
	got, err = ReserveAll(in, resA, t0, expiry)
	wantErr(t, err, errs.FailedPrecondition, ReasonKeyAlreadyRedeemed, map[string]string{"index": "1", "key_card_id": "b"})
	if got != nil || in[0] != a || in[2] != c {
		t.Errorf("refused ReserveAll returned %v, input now %v", got, in)
	}

	held := Card{ID: "c", State: CardReserved, ReservationID: resB, ReserveExpiry: expiry}
	_, err = ReserveAll([]Card{a, b, held}, resA, t0, expiry)
	wantErr(t, err, errs.FailedPrecondition, ReasonKeyReserved, map[string]string{"index": "2"})

	_, err = ReserveAll([]Card{a, b, a}, resA, t0, expiry)
	wantViolation(t, err, "product_keys[2]")

	_, err = ReserveAll([]Card{a}, "", t0, expiry)
	wantViolation(t, err, "reservation_id")

	if got, err := ReserveAll(nil, resA, t0, expiry); err != nil || len(got) != 0 {
		t.Errorf("ReserveAll(nil) = %v, %v", got, err)
	}
}

// The machine is closed: from every state, at every instant, every call leaves the card in a
// state of CardStates, and an unchanged card whenever it refuses.
func TestCard_Closed(t *testing.T) {
	for _, st := range CardStates() {
		for _, r := range []string{resA, resB} {
			c := Card{ID: "card-1", State: st, ReservationID: r}
			switch st {
			case CardReserved:
				c.ReserveExpiry = expiry
			case CardAvailable:
				c.ReservationID = ""
			}
			for _, now := range []time.Time{t0, before, atExp, afterEx} {
				for i, call := range []func() (Card, error){
					func() (Card, error) { return c.Reserve(resA, now, now.Add(time.Minute)) },
					func() (Card, error) { return c.Confirm(resA, now) },
					func() (Card, error) { return c.Release(resA) },
					func() (Card, error) { return c.Lapse(now) },
				} {
					got, err := call()
					if !slices.Contains(CardStates(), got.State) || got.ID != c.ID {
						t.Errorf("%s by %s, call %d at %v: %+v", st, r, i, now, got)
					}
					if err != nil && got != c {
						t.Errorf("%s by %s, call %d at %v refused (%v) but changed the card to %+v", st, r, i, now, err, got)
					}
					if err != nil && errs.KindOf(err) != errs.FailedPrecondition {
						t.Errorf("%s by %s, call %d at %v: %v; want FAILED_PRECONDITION", st, r, i, now, err)
					}
				}
			}
		}
	}
}
