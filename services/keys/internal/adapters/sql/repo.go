// Package sql is the keys service's store on pkg/store (SQLite or PostgreSQL, one dialect):
// entitlements with their issued keys and download variants, download-link records, the
// activity log, and Open key cards with their batches and reservations (cards.go) (app.Store).
//
// Schema (migrations/002_keys.sql): every scalar field is a column. An entitlement's keys and
// variants are rows of their own tables, ordered by position, so that the entitlement of a key is
// one indexed lookup (EntitlementOfKey). A read assembles an entitlement from its row, its keys
// and its variants; a list reads the keys and variants of a whole page with one query each.
//
// Keys (KD-8): the store holds a key only in the sealed form the app hands it (domain.IssuedKey
// Sealed) and never sees, logs or puts a key into an error; the masked form is a column of its
// own for lists and the activity log.
package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// Store implements app.Store.
type Store struct {
	db        *store.DB
	forUpdate string // store.DB.ForUpdate
}

// New returns the store over db.
func New(db *store.DB) *Store {
	return &Store{db: db, forUpdate: db.ForUpdate()}
}

var (
	_ app.Store = (*Store)(nil)
	_ app.Tx    = (*tx)(nil)
)

// idsPerQuery bounds the IN list of a query that reads the keys or variants of many entitlements,
// well below the engines' parameter limits (SQLite 32766, PostgreSQL 65535); a page of a list
// is smaller, so it takes one query.
const idsPerQuery = 500

// rowsPerInsert bounds the rows of one multi-row INSERT, for the same reason (ten columns at
// most: 2,000 parameters). An entitlement has at most domain.MaxKeysPerLine keys, so its keys and
// its variants each take one statement.
const rowsPerInsert = 200

// insertRows inserts n rows into table: values(i) gives row i's values for cols. It sends one
// multi-row INSERT per rowsPerInsert rows, so writing an entitlement's keys is one round trip on
// PostgreSQL rather than one per key.
func insertRows(ctx context.Context, q store.Querier, table, cols string, n int, values func(i int) []any) error {
	for start := 0; start < n; start += rowsPerInsert {
		end := min(n, start+rowsPerInsert)
		var a store.Args
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.InList(&a, values(i)) + ")")
		}
		if _, err := q.ExecContext(ctx, b.String(), a...); err != nil {
			return err
		}
	}
	return nil
}

// ---- entitlements ----

// entCols are the columns scanEntitlement reads, in the order entValues binds them ($1..$19).
const entCols = `id, request_id, customer_id, partner_id, order_id, order_line_id, subscription_id, sku_id,
	product_id, product_name, kind, quantity, state, instructions, revoke_time, revocation, version, created_at,
	updated_at`

func entValues(e domain.Entitlement) []any {
	return []any{e.ID, e.RequestID, e.CustomerID, e.PartnerID, e.OrderID, e.OrderLineID, e.SubscriptionID, e.SkuID,
		e.ProductID, e.ProductName, string(e.Kind), e.Quantity, string(e.State), e.Instructions,
		store.NullTime(e.RevokeTime), string(e.Revocation), e.Version, store.Time(e.CreateTime),
		store.Time(e.UpdateTime)}
}

// scanEntitlement reads an entitlement's row; its keys and variants come from loadParts.
func scanEntitlement(row store.Scanner) (domain.Entitlement, error) {
	var e domain.Entitlement
	var kind, state, revocation string
	var revoked sql.NullTime
	if err := row.Scan(&e.ID, &e.RequestID, &e.CustomerID, &e.PartnerID, &e.OrderID, &e.OrderLineID,
		&e.SubscriptionID, &e.SkuID, &e.ProductID, &e.ProductName, &kind, &e.Quantity, &state, &e.Instructions,
		&revoked, &revocation, &e.Version, &e.CreateTime, &e.UpdateTime); err != nil {
		return domain.Entitlement{}, err
	}
	e.Kind, e.State, e.Revocation = domain.FulfilmentKind(kind), domain.EntitlementState(state),
		domain.RevocationReason(revocation)
	e.RevokeTime, e.CreateTime, e.UpdateTime = store.TimeOf(revoked), e.CreateTime.UTC(), e.UpdateTime.UTC()
	return e, nil
}

// getEntitlement reads the entitlement of query (whose $1 is id) whole; NOT_FOUND names resource.
func getEntitlement(ctx context.Context, q store.Querier, resource, query, id string) (domain.Entitlement, error) {
	e, err := store.GetByID(ctx, q, resource, query, id, scanEntitlement)
	if err != nil {
		return domain.Entitlement{}, err
	}
	ents := []domain.Entitlement{e}
	if err := loadParts(ctx, q, ents); err != nil {
		return domain.Entitlement{}, err
	}
	return ents[0], nil
}

// listEntitlements reads the entitlements of query whole: their rows, then the keys and variants
// of all of them with one query each (per idsPerQuery entitlements).
func listEntitlements(ctx context.Context, q store.Querier, query string, args ...any) ([]domain.Entitlement, error) {
	ents, err := store.ListRows(ctx, q, "entitlements", scanEntitlement, query, args...)
	if err != nil {
		return nil, err
	}
	if err := loadParts(ctx, q, ents); err != nil {
		return nil, err
	}
	return ents, nil
}

const keyCols = `entitlement_id, position, key_id, key_type, masked, sealed, activation_limit`

const variantCols = `entitlement_id, position, variant_id, product_version, language, file_type, operating_system,
	file_name, size_bytes, sha256`

// keyTypeOf is the key type named name (KeyType.String). The key_type column holds the type's
// name rather than its number, like every enum column; the schema admits MAK only (CA-8), and the
// other names are known here so that a later migration that admits one needs no code to read it.
func keyTypeOf(name string) (domain.KeyType, error) {
	for _, t := range []domain.KeyType{domain.KeyTypeUnspecified, domain.KeyTypeNone, domain.KeyTypeMAK,
		domain.KeyTypeKMS, domain.KeyTypeProductKeyCard} {
		if t.String() == name {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown key type %q", name)
}

// loadParts fills in the keys and variants of ents, in position order.
func loadParts(ctx context.Context, q store.Querier, ents []domain.Entitlement) error {
	if len(ents) == 0 {
		return nil
	}
	at := make(map[string]int, len(ents))
	for i, e := range ents {
		at[e.ID] = i
	}
	for start := 0; start < len(ents); start += idsPerQuery {
		ids := make([]string, 0, idsPerQuery)
		for _, e := range ents[start:min(len(ents), start+idsPerQuery)] {
			ids = append(ids, e.ID)
		}
		if err := loadKeys(ctx, q, ids, func(id string, k domain.IssuedKey) {
			ents[at[id]].Keys = append(ents[at[id]].Keys, k)
		}); err != nil {
			return err
		}
		if err := loadVariants(ctx, q, ids, func(id string, v domain.Variant) {
			ents[at[id]].Variants = append(ents[at[id]].Variants, v)
		}); err != nil {
			return err
		}
	}
	return nil
}

// loadKeys reads the keys of the entitlements ids and hands each to add, in position order per
// entitlement (the primary key's order).
func loadKeys(ctx context.Context, q store.Querier, ids []string, add func(entitlementID string, k domain.IssuedKey)) error {
	var a store.Args
	rows, err := q.QueryContext(ctx, `SELECT entitlement_id, key_id, key_type, masked, sealed, activation_limit
		FROM issued_keys WHERE entitlement_id IN (`+store.InList(&a, ids)+`) ORDER BY entitlement_id, position`, a...)
	if err != nil {
		return store.MapError(fmt.Errorf("read issued keys: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id, typ string
		var k domain.IssuedKey
		if err := rows.Scan(&id, &k.ID, &typ, &k.Masked, &k.Sealed, &k.ActivationLimit); err != nil {
			return fmt.Errorf("scan issued key: %w", err)
		}
		if k.Type, err = keyTypeOf(typ); err != nil {
			return fmt.Errorf("issued key %s of entitlement %s: %w", k.ID, id, err)
		}
		add(id, k)
	}
	if err := rows.Err(); err != nil {
		return store.MapError(fmt.Errorf("read issued keys: %w", err))
	}
	return nil
}

// loadVariants is loadKeys for variants.
func loadVariants(ctx context.Context, q store.Querier, ids []string, add func(entitlementID string, v domain.Variant)) error {
	var a store.Args
	rows, err := q.QueryContext(ctx, `SELECT entitlement_id, variant_id, product_version, language, file_type,
		operating_system, file_name, size_bytes, sha256
		FROM variants WHERE entitlement_id IN (`+store.InList(&a, ids)+`) ORDER BY entitlement_id, position`, a...)
	if err != nil {
		return store.MapError(fmt.Errorf("read variants: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var v domain.Variant
		if err := rows.Scan(&id, &v.ID, &v.Version, &v.Language, &v.FileType, &v.OperatingSystem, &v.FileName,
			&v.SizeBytes, &v.SHA256); err != nil {
			return fmt.Errorf("scan variant: %w", err)
		}
		add(id, v)
	}
	if err := rows.Err(); err != nil {
		return store.MapError(fmt.Errorf("read variants: %w", err))
	}
	return nil
}

// Entitlement implements app.Store.
func (s *Store) Entitlement(ctx context.Context, id string) (domain.Entitlement, error) {
	var e domain.Entitlement
	err := s.db.ReadSnapshot(ctx, func(q store.Querier) error {
		var err error
		e, err = getEntitlement(ctx, q, "entitlement", `SELECT `+entCols+` FROM entitlements WHERE id = $1`, id)
		return err
	})
	return e, err
}

// EntitlementOfKey implements app.Store: the key's UNIQUE index gives the entitlement's ID.
func (s *Store) EntitlementOfKey(ctx context.Context, keyID string) (domain.Entitlement, error) {
	var e domain.Entitlement
	err := s.db.ReadSnapshot(ctx, func(q store.Querier) error {
		var err error
		e, err = getEntitlement(ctx, q, "key", `SELECT `+entCols+` FROM entitlements
			WHERE id = (SELECT entitlement_id FROM issued_keys WHERE key_id = $1)`, keyID)
		return err
	})
	return e, err
}

// Entitlements implements app.Store, newest first. The customer, partner and order filters use the
// (customer_id | partner_id | order_id, created_at, id) indexes, read backwards, which also give
// the keyset order.
func (s *Store) Entitlements(ctx context.Context, q app.EntitlementQuery) ([]domain.Entitlement, error) {
	var a store.Args
	where := store.Equalities(&a, nil, store.Filter{Col: "customer_id", Value: q.CustomerID},
		store.Filter{Col: "partner_id", Value: q.PartnerID}, store.Filter{Col: "order_id", Value: q.OrderID})
	if !q.IncludeLicenseOnly { // CA-7: nothing to hand out
		where = append(where, "kind <> "+a.Arg(string(domain.FulfilLicenseOnly)))
	}
	if q.State != "" {
		where = append(where, "state = "+a.Arg(string(q.State)))
	}
	if cond, ok := store.Keyset(&a, "created_at", "<", q.AfterCreateTime, q.AfterID); ok {
		where = append(where, cond)
	}
	query := `SELECT ` + entCols + ` FROM entitlements` + store.Where(where) + ` ORDER BY created_at DESC, id DESC` +
		store.Limit(&a, q.Limit)
	var out []domain.Entitlement
	err := s.db.ReadSnapshot(ctx, func(db store.Querier) error {
		var err error
		out, err = listEntitlements(ctx, db, query, a...)
		return err
	})
	return out, err
}

// ---- transactions ----

// Tx implements app.Store with store.DB.InTx: SERIALIZABLE on PostgreSQL, SQLite's write lock
// from BEGIN. A serialization failure or deadlock runs fn again (up to 10 times), so fn must have
// no effects outside the transaction.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTx(ctx, func(sqlTx *sql.Tx) error {
		return fn(ctx, &tx{s: s, q: sqlTx})
	})
}

// tx implements app.Tx over one transaction.
type tx struct {
	s *Store
	q *sql.Tx
}

// Entitlement implements app.Tx (PostgreSQL: FOR UPDATE on the entitlement's row; its keys and
// variants change only with it).
func (t *tx) Entitlement(ctx context.Context, id string) (domain.Entitlement, error) {
	return getEntitlement(ctx, t.q, "entitlement", `SELECT `+entCols+` FROM entitlements WHERE id = $1`+t.s.forUpdate, id)
}

// EntitlementOfLine implements app.Tx, from the (order_id, order_line_id) UNIQUE index.
func (t *tx) EntitlementOfLine(ctx context.Context, orderID, orderLineID string) (domain.Entitlement, bool, error) {
	ents, err := listEntitlements(ctx, t.q, `SELECT `+entCols+` FROM entitlements
		WHERE order_id = $1 AND order_line_id = $2`+t.s.forUpdate, orderID, orderLineID)
	if err != nil || len(ents) == 0 {
		return domain.Entitlement{}, false, err
	}
	return ents[0], true, nil
}

// EntitlementsOfOrder implements app.Tx, from the (order_id, created_at, id) index.
func (t *tx) EntitlementsOfOrder(ctx context.Context, orderID string) ([]domain.Entitlement, error) {
	return listEntitlements(ctx, t.q, `SELECT `+entCols+` FROM entitlements WHERE order_id = $1
		ORDER BY created_at, id`+t.s.forUpdate, orderID)
}

// InsertEntitlement implements app.Tx. The order line's UNIQUE constraint is the conflict target,
// so that on both engines a second entitlement of the line is refused without failing the
// statement (PostgreSQL would otherwise abort the whole transaction, SQLite not), and the caller
// may still read the line's entitlement. An entitlement ID in use is ALREADY_EXISTS too.
func (t *tx) InsertEntitlement(ctx context.Context, e domain.Entitlement) error {
	if e.Version != 1 {
		return fmt.Errorf("insert entitlement %s: version %d, want 1", e.ID, e.Version)
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO entitlements (`+entCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7,
		$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (order_id, order_line_id) DO NOTHING`, entValues(e)...)
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "entitlement %q already exists", e.ID).Wrap(err)
	}
	if n, err := store.Affected(res, err, "insert entitlement "+e.ID); err != nil {
		return err
	} else if n == 0 {
		return lineTaken(e)
	}
	return t.insertParts(ctx, e)
}

// lineTaken is the error of an entitlement whose order line has another one.
func lineTaken(e domain.Entitlement) error {
	return errs.New(errs.AlreadyExists, "", "order line %s of order %s already has an entitlement",
		e.OrderLineID, e.OrderID).With("order_id", e.OrderID).With("order_line_id", e.OrderLineID)
}

// insertParts writes the keys and variants of e. A key ID in use by another entitlement fails:
// the app makes them unique, so that is a bug, not the caller's conflict.
func (t *tx) insertParts(ctx context.Context, e domain.Entitlement) error {
	err := insertRows(ctx, t.q, "issued_keys", keyCols, len(e.Keys), func(i int) []any {
		k := e.Keys[i]
		return []any{e.ID, i, k.ID, k.Type.String(), k.Masked, k.Sealed, k.ActivationLimit}
	})
	if err != nil {
		return store.MapError(fmt.Errorf("insert keys of entitlement %s: %w", e.ID, err))
	}
	err = insertRows(ctx, t.q, "variants", variantCols, len(e.Variants), func(i int) []any {
		v := e.Variants[i]
		return []any{e.ID, i, v.ID, v.Version, v.Language, v.FileType, v.OperatingSystem, v.FileName, v.SizeBytes,
			v.SHA256}
	})
	if err != nil {
		return store.MapError(fmt.Errorf("insert variants of entitlement %s: %w", e.ID, err))
	}
	return nil
}

// UpdateEntitlement implements app.Tx: the row is written only if it still has version
// e.Version-1; otherwise NOT_FOUND (no row) or ABORTED / ETAG_MISMATCH (a concurrent change).
// The keys and variants are then replaced by e's: they are few (domain.MaxKeysPerLine), and a
// key keeps its ID, so EntitlementOfKey finds it as before.
func (t *tx) UpdateEntitlement(ctx context.Context, e domain.Entitlement) error {
	res, err := t.q.ExecContext(ctx, `UPDATE entitlements SET request_id = $2, customer_id = $3, partner_id = $4,
		order_id = $5, order_line_id = $6, subscription_id = $7, sku_id = $8, product_id = $9, product_name = $10,
		kind = $11, quantity = $12, state = $13, instructions = $14, revoke_time = $15, revocation = $16,
		version = $17, created_at = $18, updated_at = $19
		WHERE id = $1 AND version = $20`, append(entValues(e), e.Version-1)...)
	if store.IsUniqueViolation(err) {
		return lineTaken(e)
	}
	if n, err := store.Affected(res, err, "update entitlement "+e.ID); err != nil {
		return err
	} else if n != 1 {
		return t.staleError(ctx, e.ID, e.Version-1)
	}
	for _, table := range []string{"issued_keys", "variants"} {
		//nolint:gosec // G202: table is one of the two constant names of the loop
		if _, err := t.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE entitlement_id = $1`, e.ID); err != nil {
			return store.MapError(fmt.Errorf("update entitlement %s: delete %s: %w", e.ID, table, err))
		}
	}
	return t.insertParts(ctx, e)
}

// staleError is the error of an update of entitlement id that found no row with version want.
func (t *tx) staleError(ctx context.Context, id string, want int64) error {
	var version int64
	err := t.q.QueryRowContext(ctx, `SELECT version FROM entitlements WHERE id = $1`, id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFoundf("entitlement", id)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("update entitlement %s: %w", id, err))
	}
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch,
		"entitlement %q was changed concurrently: version %d is stored, the update is based on %d",
		id, version, want)
}
