package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/sealing"
)

// The use cases of Open product key cards (ProductKeyService; KD-1, KD-2, ID-1): minting, listing,
// and the redemption steps validate → reserve → confirm, or release.
//
// A key is stored sealed under the keyring, bound to its card ID (cardAAD), and as a lookup value
// (sealing.Lookup under Options.LookupKey), which is how a typed key finds its card: nothing is
// opened to find a card, and the database never holds a plain key (KD-8). Every card a use case
// returns is as it stands at the service clock's now (KeyCard.At): a hold whose reservation has
// lapsed counts as gone at once, with no sweeper.
//
// A key is redeemed at most once whatever the concurrency (KD-1): reservations and confirmations
// run in Store.TxLocking, lock the rows they read, and change cards only with conditional
// UPDATEs whose row counts the store checks.

// maxRefLength bounds the IDs of other services a request names (redemption, subscription).
const maxRefLength = 128

// cardAAD binds a sealed key to its key card ID: a sealed value copied to another card's row (or
// to an issued key's) does not open.
func cardAAD(cardID string) []byte { return []byte("partnerhub.keys.key-card:" + cardID) }

// lookupOf is the lookup value of k: the keyed hash of its 25 characters without dashes.
func (a *App) lookupOf(k domain.Key) (string, error) {
	l, err := sealing.Lookup(a.opts.LookupKey, strings.ReplaceAll(k.Reveal(), "-", ""))
	if err != nil {
		return "", errs.Unexpected(fmt.Errorf("key card lookup: %w", err))
	}
	return l, nil
}

// checkRef refuses a missing or oversized ID of another service.
func checkRef(field, id string) error {
	if id == "" || len(id) > maxRefLength {
		return errs.Invalid(field, "must be 1 to %d characters", maxRefLength)
	}
	return nil
}

// checkKeyCount refuses an empty or oversized list of typed keys.
func checkKeyCount(n int) error {
	if n < 1 || n > domain.MaxKeysPerRequest {
		return errs.Invalid("product_keys", "must hold 1 to %d keys, not %d", domain.MaxKeysPerRequest, n)
	}
	return nil
}

// MintInput is a MintKeyCards request.
type MintInput struct {
	RequestID string
	PartnerID string
	SkuID     string
	Seats     int32
	Term      string // ISO 8601: P1M, P1Y or P3Y
	Count     int32
}

func (in MintInput) validate() (domain.Term, error) {
	if err := checkRequestID(in.RequestID); err != nil {
		return "", err
	}
	if err := checkID("partner_id", in.PartnerID); err != nil {
		return "", err
	}
	switch {
	case in.SkuID == "" || len(in.SkuID) > 255:
		return "", errs.Invalid("sku_id", "must be 1 to 255 characters")
	case in.Seats < 1:
		return "", errs.Invalid("seats", "must be at least 1")
	case in.Count < 1 || in.Count > domain.MaxCardsPerMint:
		return "", errs.Invalid("count", "must be between 1 and %d", domain.MaxCardsPerMint)
	}
	return domain.ParseTerm(in.Term)
}

// MintKeyCards mints count key cards for an Open partner (ID-1, KD-1): keys drawn from the
// configured random source (crypto/rand), sealed at rest and indexed by lookup value. A partner
// mints for itself (TENANT_MISMATCH otherwise); a service (the orders service selling cards) for
// any partner. A partner not enrolled in Open is PROGRAM_NOT_ENROLLED. The batch is unique per
// (caller organisation, request ID): a retry returns the first batch, also after a crash, and the
// same request ID for another mint is REQUEST_ID_REUSED.
func (a *App) MintKeyCards(ctx context.Context, in MintInput) (domain.Batch, error) {
	p, err := caller(ctx)
	if err != nil {
		return domain.Batch{}, err
	}
	term, err := in.validate()
	if err != nil {
		return domain.Batch{}, err
	}
	switch v := p.Effective(); v.OrgKind {
	case auth.OrgPartner:
		if in.PartnerID != v.OrgID {
			return domain.Batch{}, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
				"partner_id %s is not the caller's partner", in.PartnerID)
		}
	case auth.OrgService:
	default:
		return domain.Batch{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"key cards are minted by a partner's Admin agent or a partnerhub service").
			With("required_roles", strings.Join([]string{string(auth.AdminAgent), string(auth.Service)}, ","))
	}
	if a.opts.Programs == nil {
		return domain.Batch{}, errs.Unavailablef("the partner's programs cannot be checked").With("dependency", "identity")
	}
	enrolled, err := a.opts.Programs.OpenEnrolled(ctx, in.PartnerID)
	if err != nil {
		return domain.Batch{}, err
	}
	if !enrolled {
		return domain.Batch{}, errs.New(errs.FailedPrecondition, domain.ReasonProgramNotEnrolled,
			"partner %s is not enrolled in the Open program, which key cards need", in.PartnerID).
			With("partner_id", in.PartnerID).With("program", "OPEN")
	}
	now := a.now()
	b := domain.Batch{ID: a.opts.NewID(), PartnerID: in.PartnerID, SkuID: in.SkuID, Seats: in.Seats, Term: term,
		Count: in.Count, CreateTime: now}
	// Keys are made before the transaction, so that a retried transaction stores the same ones.
	b.Cards = make([]domain.KeyCard, 0, in.Count)
	for range in.Count {
		c, err := a.newCard(b, now)
		if err != nil {
			return domain.Batch{}, err
		}
		b.Cards = append(b.Cards, c)
	}
	var out domain.Batch
	err = a.store.TxLocking(ctx, func(ctx context.Context, tx Tx) error {
		had, ok, err := tx.BatchOfRequest(ctx, idempotency.ScopeOf(p), in.RequestID)
		if err != nil {
			return err
		}
		if !ok {
			err = tx.InsertBatch(ctx, b, idempotency.ScopeOf(p), in.RequestID)
			if errs.KindOf(err) != errs.AlreadyExists {
				out = b
				return err
			}
			// A concurrent retry of the request committed first: answer with its batch.
			if had, ok, err = tx.BatchOfRequest(ctx, idempotency.ScopeOf(p), in.RequestID); err != nil {
				return err
			} else if !ok {
				return errs.New(errs.Aborted, "", "the batch of request_id %q changed concurrently; retry", in.RequestID)
			}
		}
		if !had.SameMint(in.PartnerID, in.SkuID, in.Seats, term, in.Count) {
			return errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
				"request_id %q was used for another request", in.RequestID)
		}
		out = had
		return nil
	})
	if err != nil {
		return domain.Batch{}, err
	}
	for i, c := range out.Cards {
		out.Cards[i] = c.At(now)
	}
	return out, nil
}

// newCard makes one AVAILABLE card of batch b: a new random key, sealed and indexed.
func (a *App) newCard(b domain.Batch, now time.Time) (domain.KeyCard, error) {
	k, err := domain.GenerateKey(a.opts.Rand)
	if err != nil {
		return domain.KeyCard{}, fmt.Errorf("mint key cards: %w", err)
	}
	lookup, err := a.lookupOf(k)
	if err != nil {
		return domain.KeyCard{}, err
	}
	id := a.opts.NewID()
	return domain.KeyCard{Card: domain.NewCard(id), PartnerID: b.PartnerID, SkuID: b.SkuID, Seats: b.Seats,
		Term: b.Term, BatchID: b.ID, Masked: k.Masked(), Sealed: a.keyring.Seal([]byte(k.Reveal()), cardAAD(id)),
		Lookup: lookup, Version: 1, CreateTime: now, UpdateTime: now}, nil
}

// KeyCardsInput filters ListKeyCards.
type KeyCardsInput struct {
	PageSize  int32
	PageToken string
	State     domain.CardState // "": any
	BatchID   string
	SkuID     string
}

// ListKeyCards pages through the caller partner's key cards, newest first, keys masked: a
// partner's Admin or Sales agent, or a service acting for one (ID-8: only the own partner's
// cards). The state filter is the state now: a card whose reservation lapsed is AVAILABLE.
func (a *App) ListKeyCards(ctx context.Context, in KeyCardsInput) ([]domain.KeyCard, string, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, "", err
	}
	v := p.Effective()
	if v.OrgKind != auth.OrgPartner || !v.HasRole(auth.AdminAgent, auth.SalesAgent) {
		return nil, "", errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"key cards are listed for a partner's Admin or Sales agent (a service acts on behalf of one)").
			With("required_roles", string(auth.AdminAgent)+","+string(auth.SalesAgent))
	}
	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", err
	}
	switch in.State {
	case "", domain.CardAvailable, domain.CardReserved, domain.CardRedeemed:
	default:
		return nil, "", errs.Invalid("state", "unknown key card state %q", in.State)
	}
	if in.BatchID != "" {
		if err := checkID("batch_id", in.BatchID); err != nil {
			return nil, "", err
		}
	}
	if len(in.SkuID) > 255 {
		return nil, "", errs.Invalid("sku_id", "must be at most 255 characters")
	}
	query := paging.Fingerprint("key-cards", v.OrgID, in.State, in.BatchID, in.SkuID)
	q := KeyCardQuery{PartnerID: v.OrgID, BatchID: in.BatchID, SkuID: in.SkuID, State: in.State, Now: a.now(), Limit: size + 1}
	if q.AfterCreateTime, q.AfterID, err = paging.DecodeTimeKey(in.PageToken, query); err != nil {
		return nil, "", err
	}
	rows, err := a.store.KeyCards(ctx, q)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(c domain.KeyCard) []string { return paging.TimeKey(c.CreateTime, c.ID) })
	for i, c := range page {
		page[i] = c.At(q.Now)
	}
	return page, next, nil
}

// KeyValidation is the verdict on one typed key.
type KeyValidation struct {
	Index  int
	Masked string // the key as understood, masked; "" when malformed
	Status domain.KeyStatus
	Card   domain.KeyCard // the card when Known
	Known  bool
}

// ValidateProductKeys checks typed keys without changing anything (KD-2's review step): one
// verdict per key, in order — MALFORMED (length, alphabet or check character, KD-1, found without
// a lookup), UNKNOWN, REDEEMED, RESERVED (by a live reservation), VALID, or DUPLICATE for a key
// that occurs earlier in the request. A bad key is a verdict, never an error; only an empty or
// oversized request is INVALID_ARGUMENT.
func (a *App) ValidateProductKeys(ctx context.Context, keys []string) ([]KeyValidation, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	if err := checkKeyCount(len(keys)); err != nil {
		return nil, err
	}
	out := make([]KeyValidation, len(keys))
	lookupAt := make([]string, len(keys)) // of the first occurrence of each well-formed key
	first := map[domain.Key]int{}
	var lookups []string
	for i, s := range keys {
		out[i].Index = i
		k, err := domain.ParseKey(s)
		if err != nil {
			out[i].Status = domain.KeyMalformed
			continue
		}
		out[i].Masked = k.Masked()
		if j, dup := first[k]; dup {
			out[i].Status, lookupAt[i] = domain.KeyDuplicate, lookupAt[j]
			continue
		}
		first[k] = i
		if lookupAt[i], err = a.lookupOf(k); err != nil {
			return nil, err
		}
		lookups = append(lookups, lookupAt[i])
	}
	cards := map[string]domain.KeyCard{}
	if len(lookups) > 0 {
		var err error
		if cards, err = a.store.KeyCardsByLookup(ctx, lookups); err != nil {
			return nil, err
		}
	}
	now := a.now()
	for i := range out {
		if out[i].Status == domain.KeyMalformed {
			continue
		}
		c, ok := cards[lookupAt[i]]
		if ok {
			out[i].Card, out[i].Known = c.At(now), true
		}
		switch {
		case out[i].Status == domain.KeyDuplicate:
		case !ok:
			out[i].Status = domain.KeyUnknown
		default:
			out[i].Status = domain.StatusOf(c.Card, now)
		}
	}
	return out, nil
}

// ReserveInput is a ReserveProductKeys request.
type ReserveInput struct {
	RequestID    string
	RedemptionID string
	Keys         []string      // as typed
	TTL          time.Duration // 0: domain.DefaultReservationTTL
}

// ReserveProductKeys holds every typed key's card for one redemption until the reservation
// expires, or none (KD-2, domain.ReserveAll): a malformed key is KEY_MALFORMED, an unknown one
// RESOURCE_NOT_FOUND, a held one KEY_RESERVED, a redeemed one KEY_ALREADY_REDEEMED — each with
// metadata index, the key's position. A retry with the same request ID returns the reservation
// it made (as it stands now); the same request ID for other keys or another redemption is
// REQUEST_ID_REUSED.
func (a *App) ReserveProductKeys(ctx context.Context, in ReserveInput) (domain.Reservation, error) {
	p, err := requestCaller(ctx, in.RequestID)
	if err != nil {
		return domain.Reservation{}, err
	}
	if err := checkRef("redemption_id", in.RedemptionID); err != nil {
		return domain.Reservation{}, err
	}
	if err := checkKeyCount(len(in.Keys)); err != nil {
		return domain.Reservation{}, err
	}
	lookups := make([]string, len(in.Keys))
	for i, s := range in.Keys {
		k, err := domain.ParseKeyField(s, fmt.Sprintf("product_keys[%d]", i))
		if e, ok := errs.As(err); ok {
			return domain.Reservation{}, e.With("index", i)
		} else if err != nil {
			return domain.Reservation{}, err
		}
		if lookups[i], err = a.lookupOf(k); err != nil {
			return domain.Reservation{}, err
		}
	}
	now := a.now()
	expires, err := domain.ReservationExpiry(now, in.TTL)
	if err != nil {
		return domain.Reservation{}, err
	}
	r := domain.Reservation{ID: a.opts.NewID(), RedemptionID: in.RedemptionID, State: domain.ReservationHeld,
		ExpireTime: expires, Version: 1, CreateTime: now, UpdateTime: now}
	var out domain.Reservation
	err = a.store.TxLocking(ctx, func(ctx context.Context, tx Tx) error {
		had, ok, err := tx.ReservationOfRequest(ctx, idempotency.ScopeOf(p), in.RequestID)
		if err != nil {
			return err
		}
		if ok {
			out, err = sameReservation(had, in, lookups)
			return err
		}
		found, err := tx.KeyCardsForUpdate(ctx, lookups)
		if err != nil {
			return err
		}
		cards := make([]domain.Card, len(lookups))
		for i, l := range lookups {
			c, ok := found[l]
			if !ok {
				return errs.New(errs.NotFound, errs.ReasonResourceNotFound, "product_keys[%d] is not a known product key", i).
					With("resource", "product key").With("index", i)
			}
			cards[i] = c.Card
		}
		held, err := domain.ReserveAll(cards, r.ID, now, expires)
		if err != nil {
			return err
		}
		next := r
		next.Cards = make([]domain.KeyCard, len(lookups))
		for i, l := range lookups {
			c := found[l]
			c.Card = held[i]
			next.Cards[i] = c
		}
		err = tx.InsertReservation(ctx, next, idempotency.ScopeOf(p), in.RequestID)
		if errs.KindOf(err) == errs.AlreadyExists {
			// A concurrent retry of the request committed first: answer with its reservation.
			if had, ok, err = tx.ReservationOfRequest(ctx, idempotency.ScopeOf(p), in.RequestID); err != nil {
				return err
			} else if !ok {
				return errs.New(errs.Aborted, "", "the reservation of request_id %q changed concurrently; retry", in.RequestID)
			}
			out, err = sameReservation(had, in, lookups)
			return err
		}
		if err != nil {
			return err
		}
		out, err = tx.Reservation(ctx, next.ID)
		return err
	})
	if err != nil {
		return domain.Reservation{}, err
	}
	return out.At(now), nil
}

// sameReservation returns had, the reservation a request ID made before, when in asks for the
// same: the same redemption and the same keys in the same order.
func sameReservation(had domain.Reservation, in ReserveInput, lookups []string) (domain.Reservation, error) {
	same := had.RedemptionID == in.RedemptionID && len(had.Cards) == len(lookups)
	for i := 0; same && i < len(lookups); i++ {
		same = had.Cards[i].Lookup == lookups[i]
	}
	if !same {
		return domain.Reservation{}, errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
			"request_id %q was used for another request", in.RequestID)
	}
	return had, nil
}

// ConfirmInput is a ConfirmRedemption request.
type ConfirmInput struct {
	RequestID      string
	ReservationID  string
	CustomerID     string
	SubscriptionID string
}

// ConfirmRedemption redeems a reservation's cards for good (KD-1), recording the customer and the
// subscription they created, extended or renewed. Confirming a confirmed reservation for the same
// customer and subscription changes nothing and succeeds (a retry). A lapsed reservation is
// RESERVATION_EXPIRED, a released one (or one confirmed for another subscription)
// RESERVATION_NOT_ACTIVE, an unknown one RESOURCE_NOT_FOUND. The reservation is locked and the
// cards change by a conditional UPDATE whose row count is checked, so concurrent confirmations
// and reservations of a key redeem it once (a race lost there is ABORTED, with nothing changed).
func (a *App) ConfirmRedemption(ctx context.Context, in ConfirmInput) (domain.Reservation, error) {
	if _, err := requestCaller(ctx, in.RequestID); err != nil {
		return domain.Reservation{}, err
	}
	for _, f := range []struct{ name, v string }{{"reservation_id", in.ReservationID}, {"customer_id", in.CustomerID}} {
		if err := checkID(f.name, f.v); err != nil {
			return domain.Reservation{}, err
		}
	}
	if err := checkRef("subscription_id", in.SubscriptionID); err != nil {
		return domain.Reservation{}, err
	}
	now := a.now()
	return a.settleReservation(ctx, in.ReservationID, now, settlement{
		next: func(r domain.Reservation) (domain.Reservation, bool, error) {
			return r.Confirm(in.CustomerID, in.SubscriptionID, now)
		},
		card:  func(c domain.Card, reservationID string) (domain.Card, error) { return c.Confirm(reservationID, now) },
		write: Tx.ConfirmReservation,
	})
}

// ReleaseInput is a ReleaseReservation request.
type ReleaseInput struct {
	RequestID     string
	ReservationID string
}

// ReleaseReservation gives a reservation's cards back (AVAILABLE), e.g. when the redemption saga
// compensates: the reservation ends RELEASED, or EXPIRED when it had lapsed already. Releasing a
// released or lapsed reservation is a no-op; a confirmed one is RESERVATION_NOT_ACTIVE, an
// unknown one RESOURCE_NOT_FOUND.
func (a *App) ReleaseReservation(ctx context.Context, in ReleaseInput) (domain.Reservation, error) {
	if _, err := requestCaller(ctx, in.RequestID); err != nil {
		return domain.Reservation{}, err
	}
	if err := checkID("reservation_id", in.ReservationID); err != nil {
		return domain.Reservation{}, err
	}
	now := a.now()
	return a.settleReservation(ctx, in.ReservationID, now, settlement{
		next:  func(r domain.Reservation) (domain.Reservation, bool, error) { return r.Release(now) },
		card:  domain.Card.Release,
		write: Tx.EndReservation,
	})
}

// settlement is how settleReservation moves a reservation on.
type settlement struct {
	// next is the reservation's next state; changed false (a retry) leaves it as stored.
	next  func(domain.Reservation) (next domain.Reservation, changed bool, err error)
	card  func(c domain.Card, reservationID string) (domain.Card, error) // moves each of its cards
	write func(Tx, context.Context, domain.Reservation) error            // stores the result
}

// settleReservation confirms or ends a reservation (ConfirmRedemption, ReleaseReservation): in a
// locking transaction it reads the reservation, moves it and its cards on as s says, stores them
// (a conditional UPDATE, KD-1) and reads the reservation back; it returns the reservation as it
// stands at now.
func (a *App) settleReservation(ctx context.Context, id string, now time.Time, s settlement) (domain.Reservation, error) {
	var out domain.Reservation
	err := a.store.TxLocking(ctx, func(ctx context.Context, tx Tx) error {
		r, err := tx.Reservation(ctx, id)
		if err != nil {
			return err
		}
		next, changed, err := s.next(r)
		if err != nil || !changed {
			out = r
			return err
		}
		for i, c := range next.Cards {
			if next.Cards[i].Card, err = s.card(c.Card, r.ID); err != nil {
				return err
			}
		}
		next.Version, next.UpdateTime = r.Version+1, now
		if err := s.write(tx, ctx, next); err != nil {
			return err
		}
		out, err = tx.Reservation(ctx, r.ID)
		return err
	})
	if err != nil {
		return domain.Reservation{}, err
	}
	return out.At(now), nil
}
