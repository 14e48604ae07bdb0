package sql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// Open key cards, their batches and reservations (migrations/003_key_cards.sql; KD-1, KD-2).
//
// A key card holds its key sealed and as a lookup value, never plain (KD-8); this file never sees
// a key. A card's state changes only by the conditional UPDATEs below, each checked by its row
// count, and the transactions that run them (app.Store.TxLocking: READ COMMITTED on PostgreSQL)
// lock what they read first, in ID order: concurrent redemptions of one key queue on its row, and
// each sees the one before it committed. That is what makes a key redeemed at most once whatever
// the concurrency, on PostgreSQL as on SQLite (whose write lock serializes the transactions).

// cardCols are the columns scanCard reads.
const cardCols = `id, batch_id, partner_id, sku_id, seats, term_duration, masked, sealed, lookup, state,
	reservation_id, reserve_expiry, redemption_id, subscription_id, customer_id, redeem_time, version, created_at,
	updated_at`

func scanCard(row store.Scanner) (domain.KeyCard, error) {
	var c domain.KeyCard
	var term, state string
	var reservation sql.NullString
	var expiry, redeemed sql.NullTime
	if err := row.Scan(&c.ID, &c.BatchID, &c.PartnerID, &c.SkuID, &c.Seats, &term, &c.Masked, &c.Sealed, &c.Lookup,
		&state, &reservation, &expiry, &c.RedemptionID, &c.SubscriptionID, &c.CustomerID, &redeemed, &c.Version,
		&c.CreateTime, &c.UpdateTime); err != nil {
		return domain.KeyCard{}, err
	}
	c.Term, c.State, c.ReservationID = domain.Term(term), domain.CardState(state), reservation.String
	c.ReserveExpiry, c.RedeemTime = store.TimeOf(expiry), store.TimeOf(redeemed)
	c.CreateTime, c.UpdateTime = c.CreateTime.UTC(), c.UpdateTime.UTC()
	return c, nil
}

// nullString binds "" as NULL (a card's reservation_id, a foreign key).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// listCards reads the cards of query.
func listCards(ctx context.Context, q store.Querier, query string, args ...any) ([]domain.KeyCard, error) {
	return store.ListRows(ctx, q, "key cards", scanCard, query, args...)
}

// cardsByLookup reads the cards with the given lookup values, keyed by lookup, per idsPerQuery
// values; lock is "" or the store's forUpdate (the cards are then locked in ID order).
func cardsByLookup(ctx context.Context, q store.Querier, lookups []string, lock string) (map[string]domain.KeyCard, error) {
	out := make(map[string]domain.KeyCard, len(lookups))
	for start := 0; start < len(lookups); start += idsPerQuery {
		var a store.Args
		cards, err := listCards(ctx, q, `SELECT `+cardCols+` FROM key_cards
			WHERE lookup IN (`+store.InList(&a, lookups[start:min(len(lookups), start+idsPerQuery)])+`) ORDER BY id`+lock, a...)
		if err != nil {
			return nil, err
		}
		for _, c := range cards {
			out[c.Lookup] = c
		}
	}
	return out, nil
}

// KeyCard implements app.Store.
func (s *Store) KeyCard(ctx context.Context, id string) (domain.KeyCard, error) {
	return store.GetByID(ctx, s.db, "key card", `SELECT `+cardCols+` FROM key_cards WHERE id = $1`, id, scanCard)
}

// KeyCardsByLookup implements app.Store, from the lookup column's UNIQUE index.
func (s *Store) KeyCardsByLookup(ctx context.Context, lookups []string) (map[string]domain.KeyCard, error) {
	var out map[string]domain.KeyCard
	err := s.db.ReadSnapshot(ctx, func(q store.Querier) error {
		var err error
		out, err = cardsByLookup(ctx, q, lookups, "")
		return err
	})
	return out, err
}

// KeyCards implements app.Store, newest first, from the (partner_id, created_at, id) index. The
// state filter is the state at q.Now: a card RESERVED by a lapsed reservation is AVAILABLE.
func (s *Store) KeyCards(ctx context.Context, q app.KeyCardQuery) ([]domain.KeyCard, error) {
	var a store.Args
	where := store.Equalities(&a, nil, store.Filter{Col: "partner_id", Value: q.PartnerID},
		store.Filter{Col: "batch_id", Value: q.BatchID}, store.Filter{Col: "sku_id", Value: q.SkuID})
	switch q.State {
	case "":
	case domain.CardAvailable:
		where = append(where, "(state = 'AVAILABLE' OR (state = 'RESERVED' AND reserve_expiry <= "+a.Arg(store.Time(q.Now))+"))")
	case domain.CardReserved:
		where = append(where, "state = 'RESERVED' AND reserve_expiry > "+a.Arg(store.Time(q.Now)))
	default:
		where = append(where, "state = "+a.Arg(string(q.State)))
	}
	if cond, ok := store.Keyset(&a, "created_at", "<", q.AfterCreateTime, q.AfterID); ok {
		where = append(where, cond)
	}
	query := `SELECT ` + cardCols + ` FROM key_cards` + store.Where(where) + ` ORDER BY created_at DESC, id DESC` +
		store.Limit(&a, q.Limit)
	return listCards(ctx, s.db, query, a...)
}

// TxLocking implements app.Store with store.DB.InTxLocking: READ COMMITTED on PostgreSQL, where
// the key card transactions lock what they change (FOR UPDATE) and guard their writes; SQLite's
// write lock from BEGIN. A deadlock runs fn again, so fn must have no effects outside the
// transaction.
func (s *Store) TxLocking(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTxLocking(ctx, func(sqlTx *sql.Tx) error {
		return fn(ctx, &tx{s: s, q: sqlTx})
	})
}

// ---- batches ----

const batchCols = `id, partner_id, sku_id, seats, term_duration, card_count, created_at`

func scanBatch(row store.Scanner) (domain.Batch, error) {
	var b domain.Batch
	var term string
	if err := row.Scan(&b.ID, &b.PartnerID, &b.SkuID, &b.Seats, &term, &b.Count, &b.CreateTime); err != nil {
		return domain.Batch{}, err
	}
	b.Term, b.CreateTime = domain.Term(term), b.CreateTime.UTC()
	return b, nil
}

// BatchOfRequest implements app.Tx, from the (scope, request_id) UNIQUE index; the cards come in
// mint order from the (batch_id, position) one.
func (t *tx) BatchOfRequest(ctx context.Context, scope, requestID string) (domain.Batch, bool, error) {
	b, ok, err := store.FindOne(ctx, t.q, "key card batch of request "+requestID, scanBatch,
		`SELECT `+batchCols+` FROM key_card_batches WHERE scope = $1 AND request_id = $2`, scope, requestID)
	if err != nil || !ok {
		return domain.Batch{}, false, err
	}
	if b.Cards, err = listCards(ctx, t.q, `SELECT `+cardCols+` FROM key_cards WHERE batch_id = $1 ORDER BY position`, b.ID); err != nil {
		return domain.Batch{}, false, err
	}
	return b, true, nil
}

// InsertBatch implements app.Tx. The request is the batch's conflict target and the lookup the
// cards', so that on both engines a conflict is refused without failing the statement
// (PostgreSQL would otherwise abort the whole transaction) and counted instead.
func (t *tx) InsertBatch(ctx context.Context, b domain.Batch, scope, requestID string) error {
	if int(b.Count) != len(b.Cards) {
		return fmt.Errorf("insert key card batch %s: %d cards, count %d", b.ID, len(b.Cards), b.Count)
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO key_card_batches (`+batchCols+`, scope, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (scope, request_id) DO NOTHING`,
		b.ID, b.PartnerID, b.SkuID, b.Seats, string(b.Term), b.Count, store.Time(b.CreateTime), scope, requestID)
	if n, err := store.Affected(res, err, "insert key card batch "+b.ID); err != nil {
		return err
	} else if n == 0 {
		return errs.New(errs.AlreadyExists, "", "request_id %q already minted a batch", requestID)
	}
	n, err := insertCards(ctx, t.q, b.Cards)
	if err != nil {
		return err
	}
	if n != len(b.Cards) {
		// Two equal keys out of 23^24: a broken random source rather than bad luck. Nothing of the
		// batch stays (the caller's transaction fails); a retry mints new keys.
		return errs.New(errs.Aborted, "", "a minted key is already in use; retry the request")
	}
	return nil
}

// insertCards inserts new cards (in their batch's order: position i) per rowsPerInsert/2 rows
// (twenty columns) and returns how many were inserted; a card whose lookup value is taken is
// skipped.
func insertCards(ctx context.Context, q store.Querier, cards []domain.KeyCard) (int, error) {
	const perInsert = rowsPerInsert / 2
	total := 0
	for start := 0; start < len(cards); start += perInsert {
		var a store.Args
		var b strings.Builder
		b.WriteString(`INSERT INTO key_cards (` + cardCols + `, position) VALUES `)
		for i := start; i < min(len(cards), start+perInsert); i++ {
			c := cards[i]
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.InList(&a, []any{c.ID, c.BatchID, c.PartnerID, c.SkuID, c.Seats, string(c.Term),
				c.Masked, c.Sealed, c.Lookup, string(c.State), nullString(c.ReservationID), store.NullTime(c.ReserveExpiry),
				c.RedemptionID, c.SubscriptionID, c.CustomerID, store.NullTime(c.RedeemTime), c.Version,
				store.Time(c.CreateTime), store.Time(c.UpdateTime), i}) + ")")
		}
		b.WriteString(" ON CONFLICT (lookup) DO NOTHING")
		res, err := q.ExecContext(ctx, b.String(), a...)
		n, err := store.Affected(res, err, "insert key cards")
		if err != nil {
			return 0, err
		}
		total += int(n)
	}
	return total, nil
}

// KeyCardsForUpdate implements app.Tx, from the lookup index, locking in ID order.
func (t *tx) KeyCardsForUpdate(ctx context.Context, lookups []string) (map[string]domain.KeyCard, error) {
	return cardsByLookup(ctx, t.q, lookups, t.s.forUpdate)
}

// ---- reservations ----

const reservationCols = `id, redemption_id, state, expire_time, customer_id, subscription_id, version, created_at,
	updated_at`

func scanReservation(row store.Scanner) (domain.Reservation, error) {
	var r domain.Reservation
	var state string
	if err := row.Scan(&r.ID, &r.RedemptionID, &state, &r.ExpireTime, &r.CustomerID, &r.SubscriptionID, &r.Version,
		&r.CreateTime, &r.UpdateTime); err != nil {
		return domain.Reservation{}, err
	}
	r.State = domain.ReservationState(state)
	r.ExpireTime, r.CreateTime, r.UpdateTime = r.ExpireTime.UTC(), r.CreateTime.UTC(), r.UpdateTime.UTC()
	return r, nil
}

// reservationCards reads the cards reservation id was made for, in request order; lock is "" or
// the store's forUpdate (the cards are then locked in ID order, as KeyCardsForUpdate locks them).
func reservationCards(ctx context.Context, q store.Querier, id, lock string) ([]domain.KeyCard, error) {
	rows, err := q.QueryContext(ctx, `SELECT key_card_id FROM key_reservation_cards WHERE reservation_id = $1
		ORDER BY position`, id)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("read cards of reservation %s: %w", id, err))
	}
	ids, err := store.Collect(rows, "reservation cards", func(s store.Scanner) (string, error) {
		var v string
		err := s.Scan(&v)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("read cards of reservation %s: %w", id, err)
	}
	cards, err := listCards(ctx, q, `SELECT `+cardCols+` FROM key_cards WHERE id IN
		(SELECT key_card_id FROM key_reservation_cards WHERE reservation_id = $1) ORDER BY id`+lock, id)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]domain.KeyCard, len(cards))
	for _, c := range cards {
		byID[c.ID] = c
	}
	out := make([]domain.KeyCard, len(ids))
	for i, cid := range ids {
		c, ok := byID[cid]
		if !ok {
			return nil, fmt.Errorf("reservation %s: key card %s is missing", id, cid)
		}
		out[i] = c
	}
	return out, nil
}

// ReservationOfRequest implements app.Tx, from the (scope, request_id) UNIQUE index; nothing is
// locked.
func (t *tx) ReservationOfRequest(ctx context.Context, scope, requestID string) (domain.Reservation, bool, error) {
	r, ok, err := store.FindOne(ctx, t.q, "reservation of request "+requestID, scanReservation,
		`SELECT `+reservationCols+` FROM key_reservations WHERE scope = $1 AND request_id = $2`, scope, requestID)
	if err != nil || !ok {
		return domain.Reservation{}, false, err
	}
	if r.Cards, err = reservationCards(ctx, t.q, r.ID, ""); err != nil {
		return domain.Reservation{}, false, err
	}
	return r, true, nil
}

// Reservation implements app.Tx (PostgreSQL: FOR UPDATE on the reservation's row, then on its
// cards' rows in ID order).
func (t *tx) Reservation(ctx context.Context, id string) (domain.Reservation, error) {
	r, err := store.GetByID(ctx, t.q, "reservation", `SELECT `+reservationCols+` FROM key_reservations WHERE id = $1`+
		t.s.forUpdate, id, scanReservation)
	if err != nil {
		return domain.Reservation{}, err
	}
	if r.Cards, err = reservationCards(ctx, t.q, r.ID, t.s.forUpdate); err != nil {
		return domain.Reservation{}, err
	}
	return r, nil
}

// InsertReservation implements app.Tx: the reservation's row, its cards in request order, then
// one conditional UPDATE that holds the cards — only those AVAILABLE or held by a lapsed
// reservation at r.CreateTime, so a card held or redeemed meanwhile is never taken.
func (t *tx) InsertReservation(ctx context.Context, r domain.Reservation, scope, requestID string) error {
	if r.State != domain.ReservationHeld || r.Version != 1 || len(r.Cards) == 0 {
		return fmt.Errorf("insert reservation %s: state %s, version %d, %d cards; want a new HELD one with cards",
			r.ID, r.State, r.Version, len(r.Cards))
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO key_reservations (`+reservationCols+`, scope, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (scope, request_id) DO NOTHING`,
		r.ID, r.RedemptionID, string(r.State), store.Time(r.ExpireTime), r.CustomerID, r.SubscriptionID, r.Version,
		store.Time(r.CreateTime), store.Time(r.UpdateTime), scope, requestID)
	if n, err := store.Affected(res, err, "insert reservation "+r.ID); err != nil {
		return err
	} else if n == 0 {
		return errs.New(errs.AlreadyExists, "", "request_id %q already made a reservation", requestID)
	}
	err = insertRows(ctx, t.q, "key_reservation_cards", "reservation_id, position, key_card_id", len(r.Cards),
		func(i int) []any { return []any{r.ID, i, r.Cards[i].ID} })
	if err != nil {
		return store.MapError(fmt.Errorf("insert cards of reservation %s: %w", r.ID, err))
	}
	ids := make([]string, len(r.Cards))
	for i, c := range r.Cards {
		ids[i] = c.ID
	}
	a := store.Args{r.ID, store.Time(r.ExpireTime), store.Time(r.CreateTime)}
	//nolint:gosec // G202: store.InList adds only placeholders ($4, $5, ...); the IDs go in a
	res, err = t.q.ExecContext(ctx, `UPDATE key_cards SET state = 'RESERVED', reservation_id = $1, reserve_expiry = $2,
		version = version + 1, updated_at = $3
		WHERE id IN (`+store.InList(&a, ids)+`) AND (state = 'AVAILABLE' OR (state = 'RESERVED' AND reserve_expiry <= $3))`, a...)
	n, err := store.Affected(res, err, "hold cards for reservation "+r.ID)
	if err != nil {
		return err
	}
	if int(n) != len(r.Cards) {
		return errs.New(errs.Aborted, "", "a key card of reservation %s changed concurrently; nothing was held", r.ID).
			With("reservation_id", r.ID)
	}
	return nil
}

// ConfirmReservation implements app.Tx: a conditional UPDATE redeems the cards still RESERVED by
// r whose hold has not lapsed, and must redeem every card of r; then r's row, still HELD at the
// version r is based on, becomes CONFIRMED. Any other count is ABORTED, and the caller's
// transaction writes nothing (KD-1: a key is redeemed at most once).
func (t *tx) ConfirmReservation(ctx context.Context, r domain.Reservation) error {
	if r.State != domain.ReservationConfirmed {
		return fmt.Errorf("confirm reservation %s: state %s, want CONFIRMED", r.ID, r.State)
	}
	now := store.Time(r.UpdateTime)
	res, err := t.q.ExecContext(ctx, `UPDATE key_cards SET state = 'REDEEMED', redemption_id = $2, subscription_id = $3,
		customer_id = $4, redeem_time = $5, reserve_expiry = NULL, version = version + 1, updated_at = $5
		WHERE reservation_id = $1 AND state = 'RESERVED' AND reserve_expiry > $5`,
		r.ID, r.RedemptionID, r.SubscriptionID, r.CustomerID, now)
	n, err := store.Affected(res, err, "redeem cards of reservation "+r.ID)
	if err != nil {
		return err
	}
	if int(n) != len(r.Cards) {
		return errs.New(errs.Aborted, "", "reservation %s holds %d of its %d key cards; nothing was redeemed",
			r.ID, n, len(r.Cards)).With("reservation_id", r.ID)
	}
	return t.endReservation(ctx, r)
}

// EndReservation implements app.Tx: the cards still RESERVED by r become AVAILABLE (however
// many: a lapsed reservation may have lost some to another), then r's row, still HELD at the
// version r is based on, becomes RELEASED or EXPIRED.
func (t *tx) EndReservation(ctx context.Context, r domain.Reservation) error {
	if r.State != domain.ReservationReleased && r.State != domain.ReservationExpired {
		return fmt.Errorf("end reservation %s: state %s, want RELEASED or EXPIRED", r.ID, r.State)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE key_cards SET state = 'AVAILABLE', reservation_id = NULL,
		reserve_expiry = NULL, version = version + 1, updated_at = $2
		WHERE reservation_id = $1 AND state = 'RESERVED'`, r.ID, store.Time(r.UpdateTime))
	if _, err := store.Affected(res, err, "release cards of reservation "+r.ID); err != nil {
		return err
	}
	return t.endReservation(ctx, r)
}

// endReservation writes r's final state over its HELD row at version r.Version-1.
func (t *tx) endReservation(ctx context.Context, r domain.Reservation) error {
	res, err := t.q.ExecContext(ctx, `UPDATE key_reservations SET state = $2, customer_id = $3, subscription_id = $4,
		version = $5, updated_at = $6
		WHERE id = $1 AND state = 'HELD' AND version = $7`,
		r.ID, string(r.State), r.CustomerID, r.SubscriptionID, r.Version, store.Time(r.UpdateTime), r.Version-1)
	n, err := store.Affected(res, err, "update reservation "+r.ID)
	if err != nil {
		return err
	}
	if n != 1 {
		return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "reservation %s changed concurrently", r.ID).
			With("reservation_id", r.ID)
	}
	return nil
}
