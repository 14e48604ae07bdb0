package domain

import (
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Bounds of the ProductKeyService requests (partnerhub.keys.v1).
const (
	// MaxCardsPerMint is the most cards one MintKeyCards mints (at least one).
	MaxCardsPerMint = 1000
	// MaxKeysPerRequest is the most keys one ValidateProductKeys or ReserveProductKeys takes (at
	// least one): a redemption of several keys in one go (KD-2) is a handful, never thousands.
	MaxKeysPerRequest = 100
)

// ReasonProgramNotEnrolled: the partner is not enrolled in the program the operation needs
// (FAILED_PRECONDITION; ID-1: only Open partners own key cards; metadata partner_id, program).
const ReasonProgramNotEnrolled errs.Reason = "PROGRAM_NOT_ENROLLED"

// Term is the term a key card grants, an ISO 8601 duration: the terms a subscription can have
// (subscriptions' P1M, P1Y, P3Y), because a redeemed card creates or renews one (SU-4).
type Term string

// The terms a key card may grant.
const (
	TermP1M Term = "P1M"
	TermP1Y Term = "P1Y"
	TermP3Y Term = "P3Y"
)

// ParseTerm reads a key card's term: P1M, P1Y or P3Y, as written (ISO 8601 designators are upper
// case); anything else is INVALID_ARGUMENT on field term_duration.
func ParseTerm(s string) (Term, error) {
	switch t := Term(s); t {
	case TermP1M, TermP1Y, TermP3Y:
		return t, nil
	}
	return "", errs.Invalid("term_duration", "must be an ISO 8601 duration of a subscription term: P1M, P1Y or P3Y")
}

// KeyCard is an Open product key card (KD-1): a product key for a SKU, a number of seats and a
// term, owned by the Open partner (ID-1) that minted it, and its redemption state (Card). The key
// itself is held sealed (Sealed, KD-8) and as Lookup, a keyed hash of the normalised key that
// finds the card from a typed key without opening anything; lists show Masked.
type KeyCard struct {
	Card           // ID, State, ReservationID, ReserveExpiry, RedeemTime
	PartnerID      string
	SkuID          string
	Seats          int32
	Term           Term
	BatchID        string // the MintKeyCards batch that created it
	Masked         string // Key.Masked()
	Sealed         string // the key sealed with the service's keyring, bound to the card ID
	Lookup         string // keyed hash of the normalised key (unique)
	RedemptionID   string // REDEEMED: the redemption (orders.v1) that redeemed it; '' before
	SubscriptionID string // REDEEMED: the subscription it created, extended or renewed
	CustomerID     string // REDEEMED: the customer tenant it was redeemed for
	Version        int64
	CreateTime     time.Time
	UpdateTime     time.Time
}

// At is c as it stands at now: a card RESERVED by a reservation that has lapsed is AVAILABLE,
// held by nothing (Card.StateAt), whether or not the stored card says so yet. Every card a use
// case hands out goes through At, so no caller sees a lapsed hold.
func (c KeyCard) At(now time.Time) KeyCard {
	if c.Lapsed(now) {
		c.State, c.ReservationID, c.ReserveExpiry = CardAvailable, "", time.Time{}
	}
	return c
}

// Batch is one MintKeyCards call: count cards of one SKU, seats and term for one partner.
type Batch struct {
	ID         string
	PartnerID  string
	SkuID      string
	Seats      int32
	Term       Term
	Count      int32
	CreateTime time.Time
	Cards      []KeyCard // in mint order
}

// SameMint reports whether b is what a MintKeyCards for partnerID, skuID, seats, term and count
// creates: a retried request must ask for the same cards.
func (b Batch) SameMint(partnerID, skuID string, seats int32, term Term, count int32) bool {
	return b.PartnerID == partnerID && b.SkuID == skuID && b.Seats == seats && b.Term == term && b.Count == count
}

// ReservationState is the state of a key reservation; the names are
// partnerhub.keys.v1.ReservationState's without prefix.
type ReservationState string

// The reservation states.
const (
	ReservationHeld      ReservationState = "HELD"      // holding its cards until ExpireTime
	ReservationConfirmed ReservationState = "CONFIRMED" // its cards are REDEEMED: final
	ReservationReleased  ReservationState = "RELEASED"  // given back by the caller: final
	ReservationExpired   ReservationState = "EXPIRED"   // lapsed unconfirmed: final
)

// Reservation holds key cards for one redemption until ExpireTime (KD-1, KD-2): all the keys of a
// redemption, or none. Like Card, its methods never change the receiver.
//
//	HELD ──Confirm (before ExpireTime)──► CONFIRMED
//	  ├───Release (before ExpireTime)───► RELEASED
//	  └───at ExpireTime─────────────────► EXPIRED  (counts at once: StateAt; Release stores it)
type Reservation struct {
	ID             string
	RedemptionID   string
	State          ReservationState // as stored; StateAt gives the state at an instant
	ExpireTime     time.Time
	Cards          []KeyCard // the cards it was made for, in request order
	CustomerID     string    // CONFIRMED: the customer tenant; '' before
	SubscriptionID string    // CONFIRMED: the subscription; '' before
	Version        int64
	CreateTime     time.Time
	UpdateTime     time.Time
}

// Lapsed reports whether r is HELD past its expiry at now: it holds nothing any more.
func (r Reservation) Lapsed(now time.Time) bool {
	return r.State == ReservationHeld && !now.Before(r.ExpireTime)
}

// StateAt is r's state at now: a HELD reservation that has lapsed is EXPIRED.
func (r Reservation) StateAt(now time.Time) ReservationState {
	if r.Lapsed(now) {
		return ReservationExpired
	}
	return r.State
}

// At is r as it stands at now: its state by StateAt, its cards by KeyCard.At.
func (r Reservation) At(now time.Time) Reservation {
	r.State = r.StateAt(now)
	cards := make([]KeyCard, len(r.Cards))
	for i, c := range r.Cards {
		cards[i] = c.At(now)
	}
	r.Cards = cards
	return r
}

// Confirm confirms r for customerID and subscriptionID at now (KD-1): the cards are redeemed for
// good. It returns the confirmed reservation and whether anything changed:
//   - HELD before its expiry → CONFIRMED (changed);
//   - CONFIRMED for the same customer and subscription: unchanged, no error (a retry);
//   - HELD at or after its expiry, or EXPIRED: FAILED_PRECONDITION / RESERVATION_EXPIRED
//     (metadata reservation_id, expired_at);
//   - RELEASED, or CONFIRMED for another customer or subscription: FAILED_PRECONDITION /
//     RESERVATION_NOT_ACTIVE (metadata reservation_id, state).
//
// The caller confirms each card (Card.Confirm) and stores them with r.
func (r Reservation) Confirm(customerID, subscriptionID string, now time.Time) (Reservation, bool, error) {
	switch r.StateAt(now) {
	case ReservationHeld:
		r.State, r.CustomerID, r.SubscriptionID = ReservationConfirmed, customerID, subscriptionID
		return r, true, nil
	case ReservationConfirmed:
		if r.CustomerID == customerID && r.SubscriptionID == subscriptionID {
			return r, false, nil
		}
		return r, false, r.notActive("the reservation was confirmed for another customer or subscription").
			With("subscription_id", r.SubscriptionID)
	case ReservationExpired:
		return r, false, errs.New(errs.FailedPrecondition, ReasonReservationExpired,
			"the reservation lapsed before it was confirmed").
			With("reservation_id", r.ID).With("expired_at", r.ExpireTime.UTC().Format(time.RFC3339Nano))
	case ReservationReleased:
		return r, false, r.notActive("the reservation was released")
	}
	return r, false, r.unknownState()
}

// Release gives r's cards back at now (a saga compensating). It returns the reservation after
// the call and whether anything changed:
//   - HELD before its expiry → RELEASED (changed);
//   - HELD at or after its expiry → EXPIRED (changed: the lapse is stored, the cards it still
//     holds are freed; to the caller a no-op);
//   - RELEASED or EXPIRED: unchanged, no error (releasing twice is harmless);
//   - CONFIRMED: FAILED_PRECONDITION / RESERVATION_NOT_ACTIVE (a confirmed redemption is final).
//
// The caller releases each card (Card.Release) and stores them with r.
func (r Reservation) Release(now time.Time) (Reservation, bool, error) {
	switch r.State {
	case ReservationHeld:
		r.State = r.StateAt(now) // EXPIRED once lapsed
		if r.State == ReservationHeld {
			r.State = ReservationReleased
		}
		return r, true, nil
	case ReservationReleased, ReservationExpired:
		return r, false, nil
	case ReservationConfirmed:
		return r, false, r.notActive("a confirmed reservation cannot be released")
	}
	return r, false, r.unknownState()
}

func (r Reservation) notActive(msg string) *errs.Error {
	return errs.New(errs.FailedPrecondition, ReasonReservationNotActive, "%s", msg).
		With("reservation_id", r.ID).With("state", r.State)
}

func (r Reservation) unknownState() error {
	return errs.Unexpected(fmt.Errorf("reservation %s has unknown state %q", r.ID, r.State))
}

// KeyStatus is the verdict on one typed product key (ValidateProductKeys, KD-2's review step);
// the names are partnerhub.keys.v1.KeyValidationStatus's without prefix.
type KeyStatus string

// The verdicts.
const (
	KeyValid     KeyStatus = "VALID"     // well-formed, known and available: may be redeemed
	KeyMalformed KeyStatus = "MALFORMED" // not a key: length, alphabet or check character (KD-1)
	KeyUnknown   KeyStatus = "UNKNOWN"   // well-formed, but no card has it
	KeyRedeemed  KeyStatus = "REDEEMED"  // redeemed before (KD-1)
	KeyReserved  KeyStatus = "RESERVED"  // held by a live reservation
	KeyDuplicate KeyStatus = "DUPLICATE" // the same key earlier in the same request
)

// StatusOf is the verdict on a known card at now: VALID when it may be reserved, RESERVED while
// a live reservation holds it (a lapsed one holds nothing), REDEEMED once redeemed.
func StatusOf(c Card, now time.Time) KeyStatus {
	switch c.StateAt(now) {
	case CardAvailable:
		return KeyValid
	case CardReserved:
		return KeyReserved
	}
	return KeyRedeemed
}
