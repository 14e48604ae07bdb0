package domain

import (
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Reservation lifetimes (ReserveProductKeys.ttl): a redemption holds its cards for
// DefaultReservationTTL unless it asks otherwise, and for at most MaxReservationTTL.
const (
	DefaultReservationTTL = 15 * time.Minute
	MaxReservationTTL     = time.Hour
)

// CardState is the redemption state of an Open key card (KD-1); the names are
// partnerhub.keys.v1.KeyCardState's without prefix.
type CardState string

// The card states.
const (
	CardAvailable CardState = "AVAILABLE" // minted, not redeemed: may be reserved
	CardReserved  CardState = "RESERVED"  // held by one reservation until it expires
	CardRedeemed  CardState = "REDEEMED"  // redeemed: final (KD-1, "a key is redeemed once")
)

// CardStates lists every state.
func CardStates() []CardState { return []CardState{CardAvailable, CardReserved, CardRedeemed} }

// Card is the redemption state of one Open key card (KD-1, KD-2). Its methods never change the
// receiver: they return the card after the transition, or an error and the card unchanged.
//
//	AVAILABLE ──Reserve──► RESERVED ──Confirm (before expiry)──► REDEEMED (final)
//	    ▲                     │
//	    └──Release, or Lapse──┘  (and a RESERVED card whose reservation has lapsed counts as
//	       at or after expiry        AVAILABLE at once: StateAt)
//
// A reservation holds while now < ReserveExpiry; at ReserveExpiry it has lapsed.
type Card struct {
	ID            string    // key card ID, named in error metadata
	State         CardState // as stored; StateAt gives the state at an instant
	ReservationID string    // RESERVED: the holding reservation; REDEEMED: the one confirmed
	ReserveExpiry time.Time // RESERVED: when the reservation lapses; zero otherwise
	RedeemTime    time.Time // REDEEMED: when it was confirmed; zero otherwise
}

// NewCard returns a freshly minted card: AVAILABLE.
func NewCard(id string) Card { return Card{ID: id, State: CardAvailable} }

// Lapsed reports whether c is RESERVED by a reservation that has lapsed at now.
func (c Card) Lapsed(now time.Time) bool {
	return c.State == CardReserved && !now.Before(c.ReserveExpiry)
}

// StateAt is c's state at now: a RESERVED card whose reservation has lapsed is AVAILABLE, whether
// or not Lapse has been applied to the stored card yet.
func (c Card) StateAt(now time.Time) CardState {
	if c.Lapsed(now) {
		return CardAvailable
	}
	return c.State
}

// ReservationExpiry returns when a reservation made at now with lifetime ttl lapses: ttl 0 means
// DefaultReservationTTL; a negative ttl or one above MaxReservationTTL is INVALID_ARGUMENT on
// field ttl.
func ReservationExpiry(now time.Time, ttl time.Duration) (time.Time, error) {
	switch {
	case ttl == 0:
		ttl = DefaultReservationTTL
	case ttl < 0 || ttl > MaxReservationTTL:
		return time.Time{}, errs.Invalid("ttl", "must be between 0 (for the default of %s) and %s", DefaultReservationTTL, MaxReservationTTL)
	}
	return now.Add(ttl), nil
}

// Reserve holds c for reservation reservationID until expires (KD-1, KD-2):
//   - AVAILABLE (or RESERVED by a lapsed reservation) → RESERVED;
//   - RESERVED by reservationID itself: unchanged (a retry; the expiry is not extended);
//   - RESERVED by another reservation: FAILED_PRECONDITION / KEY_RESERVED;
//   - REDEEMED: FAILED_PRECONDITION / KEY_ALREADY_REDEEMED.
//
// An empty reservationID, or expires not after now, is INVALID_ARGUMENT.
func (c Card) Reserve(reservationID string, now, expires time.Time) (Card, error) {
	if reservationID == "" {
		return c, errs.Invalid("reservation_id", "required")
	}
	if !expires.After(now) {
		return c, errs.Invalid("ttl", "the reservation must expire after now")
	}
	switch c.StateAt(now) {
	case CardAvailable:
		return Card{ID: c.ID, State: CardReserved, ReservationID: reservationID, ReserveExpiry: expires}, nil
	case CardReserved:
		if c.ReservationID == reservationID {
			return c, nil
		}
		return c, c.refuse(ReasonKeyReserved, "the product key is reserved by another redemption")
	case CardRedeemed:
		return c, c.refuse(ReasonKeyAlreadyRedeemed, "the product key was already redeemed")
	}
	return c, c.unknownState()
}

// Confirm redeems c for reservation reservationID at now (KD-1: a key is redeemed at most once):
//   - RESERVED by reservationID, before its expiry → REDEEMED, RedeemTime now;
//   - RESERVED by reservationID, at or after its expiry: FAILED_PRECONDITION /
//     RESERVATION_EXPIRED (metadata expired_at);
//   - REDEEMED by reservationID: unchanged (a retry); by another: KEY_ALREADY_REDEEMED;
//   - RESERVED by another live reservation: KEY_RESERVED;
//   - AVAILABLE (never held, released, or held by another reservation that lapsed too):
//     RESERVATION_NOT_ACTIVE.
func (c Card) Confirm(reservationID string, now time.Time) (Card, error) {
	switch c.State {
	case CardReserved:
		switch {
		case c.ReservationID == reservationID && c.Lapsed(now):
			return c, c.refuse(ReasonReservationExpired, "the reservation lapsed before it was confirmed").
				With("reservation_id", reservationID).With("expired_at", c.ReserveExpiry.UTC().Format(time.RFC3339Nano))
		case c.ReservationID == reservationID:
			return Card{ID: c.ID, State: CardRedeemed, ReservationID: reservationID, RedeemTime: now}, nil
		case !c.Lapsed(now):
			return c, c.refuse(ReasonKeyReserved, "the product key is reserved by another redemption")
		}
		return c, c.notActive(reservationID, CardAvailable)
	case CardAvailable:
		return c, c.notActive(reservationID, CardAvailable)
	case CardRedeemed:
		if c.ReservationID == reservationID {
			return c, nil
		}
		return c, c.refuse(ReasonKeyAlreadyRedeemed, "the product key was already redeemed")
	}
	return c, c.unknownState()
}

// Release gives c back when reservation reservationID is released (a saga compensating):
//   - RESERVED by reservationID, lapsed or not → AVAILABLE;
//   - AVAILABLE, or RESERVED or REDEEMED by another reservation: unchanged — the reservation holds
//     nothing here any more, and releasing twice must be harmless;
//   - REDEEMED by reservationID: FAILED_PRECONDITION / RESERVATION_NOT_ACTIVE (state REDEEMED);
//     a confirmed redemption is final.
func (c Card) Release(reservationID string) (Card, error) {
	switch c.State {
	case CardReserved:
		if c.ReservationID == reservationID {
			return NewCard(c.ID), nil
		}
		return c, nil
	case CardAvailable:
		return c, nil
	case CardRedeemed:
		if c.ReservationID == reservationID {
			return c, c.notActive(reservationID, CardRedeemed)
		}
		return c, nil
	}
	return c, c.unknownState()
}

// Lapse makes a RESERVED card whose reservation has lapsed at now AVAILABLE again (the sweep that
// keeps stored states current). An AVAILABLE card is unchanged. A reservation that still holds is
// FAILED_PRECONDITION / KEY_RESERVED (metadata reserve_expiry); a REDEEMED card is
// KEY_ALREADY_REDEEMED.
func (c Card) Lapse(now time.Time) (Card, error) {
	switch c.State {
	case CardReserved:
		if c.Lapsed(now) {
			return NewCard(c.ID), nil
		}
		return c, c.refuse(ReasonKeyReserved, "the reservation holds until its expiry").
			With("reserve_expiry", c.ReserveExpiry.UTC().Format(time.RFC3339Nano))
	case CardAvailable:
		return c, nil
	case CardRedeemed:
		return c, c.refuse(ReasonKeyAlreadyRedeemed, "the product key was already redeemed")
	}
	return c, c.unknownState()
}

// ReserveAll reserves every card for reservationID, or none (KD-2: several keys are redeemed in
// one go). It returns the reserved cards in input order, or the first card's refusal with
// metadata index (its position in cards); the input is never modified. The same card twice is
// INVALID_ARGUMENT on field product_keys[i].
func ReserveAll(cards []Card, reservationID string, now, expires time.Time) ([]Card, error) {
	out := make([]Card, len(cards))
	seen := make(map[string]int, len(cards))
	for i, c := range cards {
		if j, dup := seen[c.ID]; dup {
			return nil, errs.Invalid(fmt.Sprintf("product_keys[%d]", i), "repeats product_keys[%d]", j)
		}
		seen[c.ID] = i
		r, err := c.Reserve(reservationID, now, expires)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Kind != errs.InvalidArgument {
				return nil, e.With("index", i)
			}
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func (c Card) refuse(reason errs.Reason, msg string) *errs.Error {
	return errs.New(errs.FailedPrecondition, reason, "%s", msg).With("key_card_id", c.ID)
}

func (c Card) notActive(reservationID string, state CardState) *errs.Error {
	return c.refuse(ReasonReservationNotActive, "the reservation does not hold the product key").
		With("reservation_id", reservationID).With("state", state)
}

// unknownState reports a stored state this code does not know: a bug or a corrupt row, never the
// caller's fault.
func (c Card) unknownState() error {
	return errs.Unexpected(fmt.Errorf("key card %s has unknown state %q", c.ID, c.State))
}
