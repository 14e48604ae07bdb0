package domain

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

var (
	rsvAt  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rsvExp = rsvAt.Add(DefaultReservationTTL)
)

func heldReservation() Reservation {
	return Reservation{ID: "rsv-1", RedemptionID: "red-1", State: ReservationHeld, ExpireTime: rsvExp, Version: 1,
		Cards: []KeyCard{{Card: Card{ID: "card-1", State: CardReserved, ReservationID: "rsv-1", ReserveExpiry: rsvExp}}}}
}

func TestParseTerm(t *testing.T) {
	for _, s := range []string{"P1M", "P1Y", "P3Y"} {
		if got, err := ParseTerm(s); err != nil || string(got) != s {
			t.Errorf("ParseTerm(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "p1y", "P2Y", "P12M", "1Y", "P1Y ", "P1D", "PT1H"} {
		if _, err := ParseTerm(s); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("ParseTerm(%q) = %v, want INVALID_ARGUMENT", s, err)
		}
	}
}

// A card held by a lapsed reservation is AVAILABLE and held by nothing as it is handed out.
func TestKeyCard_At(t *testing.T) {
	c := KeyCard{Card: Card{ID: "card-1", State: CardReserved, ReservationID: "rsv-1", ReserveExpiry: rsvExp}, Masked: "m"}
	if got := c.At(rsvExp.Add(-time.Nanosecond)); got != c {
		t.Errorf("before expiry: %+v", got)
	}
	got := c.At(rsvExp)
	if got.State != CardAvailable || got.ReservationID != "" || !got.ReserveExpiry.IsZero() || got.Masked != "m" {
		t.Errorf("at expiry: %+v", got)
	}
}

// KD-1, KD-2: a reservation's transitions, before and at its expiry.
func TestReservation_ConfirmRelease(t *testing.T) {
	live, lapsed := rsvExp.Add(-time.Nanosecond), rsvExp

	r, changed, err := heldReservation().Confirm("cust", "sub", live)
	if err != nil || !changed || r.State != ReservationConfirmed || r.CustomerID != "cust" || r.SubscriptionID != "sub" {
		t.Fatalf("confirm held: %+v, %v, %v", r, changed, err)
	}
	if again, changed, err := r.Confirm("cust", "sub", lapsed.Add(time.Hour)); err != nil || changed || again.State != ReservationConfirmed {
		t.Errorf("confirm again: %+v, %v, %v", again, changed, err)
	}
	_, _, err = r.Confirm("cust", "other-sub", live)
	wantReason(t, err, ReasonReservationNotActive)
	_, _, err = r.Release(live)
	wantReason(t, err, ReasonReservationNotActive)

	_, _, err = heldReservation().Confirm("cust", "sub", lapsed)
	wantReason(t, err, ReasonReservationExpired)
	if e, _ := errs.As(err); e.Metadata["expired_at"] == "" || e.Metadata["reservation_id"] != "rsv-1" {
		t.Errorf("metadata %v", e.Metadata)
	}

	rel, changed, err := heldReservation().Release(live)
	if err != nil || !changed || rel.State != ReservationReleased {
		t.Fatalf("release held: %+v, %v, %v", rel, changed, err)
	}
	if again, changed, err := rel.Release(live); err != nil || changed || again.State != ReservationReleased {
		t.Errorf("release released: %+v, %v, %v", again, changed, err)
	}
	_, _, err = rel.Confirm("cust", "sub", live)
	wantReason(t, err, ReasonReservationNotActive)

	exp, changed, err := heldReservation().Release(lapsed)
	if err != nil || !changed || exp.State != ReservationExpired {
		t.Fatalf("release lapsed: %+v, %v, %v", exp, changed, err)
	}
	if again, changed, err := exp.Release(lapsed); err != nil || changed || again.State != ReservationExpired {
		t.Errorf("release expired: %+v, %v, %v", again, changed, err)
	}
	_, _, err = exp.Confirm("cust", "sub", live)
	wantReason(t, err, ReasonReservationExpired)

	if s := heldReservation().StateAt(lapsed); s != ReservationExpired {
		t.Errorf("StateAt(expiry) = %s", s)
	}
	if at := heldReservation().At(lapsed); at.State != ReservationExpired || at.Cards[0].State != CardAvailable {
		t.Errorf("At(expiry) = %+v", at)
	}
}

func TestStatusOf(t *testing.T) {
	held := Card{ID: "c", State: CardReserved, ReservationID: "r", ReserveExpiry: rsvExp}
	for _, tt := range []struct {
		c    Card
		now  time.Time
		want KeyStatus
	}{
		{NewCard("c"), rsvAt, KeyValid},
		{held, rsvAt, KeyReserved},
		{held, rsvExp, KeyValid},
		{Card{ID: "c", State: CardRedeemed, ReservationID: "r", RedeemTime: rsvAt}, rsvAt, KeyRedeemed},
	} {
		if got := StatusOf(tt.c, tt.now); got != tt.want {
			t.Errorf("StatusOf(%+v, %s) = %s, want %s", tt.c, tt.now, got, tt.want)
		}
	}
}

func wantReason(t *testing.T, err error, reason errs.Reason) {
	t.Helper()
	if errs.KindOf(err) != errs.FailedPrecondition || errs.ReasonOf(err) != reason {
		t.Fatalf("error %v, want FAILED_PRECONDITION / %s", err, reason)
	}
}
