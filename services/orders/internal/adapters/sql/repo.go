// Package sql is the orders service's store on pkg/store (SQLite or PostgreSQL, one dialect):
// orders with their lines (orders.go), the order sagas' state (sagas.go), the ledger (ledger.go)
// and named consumer cursors (app.Store, app.Tx).
//
// Schema (migrations/002_orders.sql): every scalar field of an order and of a line is a column;
// a line's failure and cancellation, an order's failure and a saga's tasks are JSON text, read
// and written whole with their row. A read assembles an order from its row and its lines; a list
// reads the lines of a whole page with one IN-list query. Times are written with store.Time (UTC
// microseconds, also inside JSON) and read back in UTC; money is integer minor units.
package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
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

// Tx implements app.Store with store.DB.InTxLocking: READ COMMITTED on PostgreSQL, SQLite's
// write lock from BEGIN. Every transaction of the orders use cases locks what it reads to change
// (Order and Saga read FOR UPDATE), guards each update with the version it read, and inserts under
// unique keys (an order per request, a ledger entry per key), so it needs no predicate locks;
// under SERIALIZABLE, sagas of different orders failed each other over shared index pages (time-
// ordered IDs put every new order on the same pages). A deadlock or serialization failure runs fn
// again (up to 10 times), so fn must have no effects outside the transaction.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTxLocking(ctx, func(sqlTx *sql.Tx) error {
		return fn(ctx, &tx{s: s, q: sqlTx})
	})
}

// tx implements app.Tx over one transaction.
type tx struct {
	s *Store
	q *sql.Tx
}

// ---- cursors ----

// Cursor implements app.Store: 0 when the cursor was never set.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT value FROM cursors WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, store.MapError(fmt.Errorf("read cursor %s: %w", name, err))
	}
	return v, nil
}

// SetCursor implements app.Tx (an upsert).
func (t *tx) SetCursor(ctx context.Context, name string, value int64) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO cursors (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	if err != nil {
		return store.MapError(fmt.Errorf("set cursor %s: %w", name, err))
	}
	return nil
}

// ---- helpers ----

// idsPerQuery bounds the IN list of a query that reads the lines of many orders, well below the
// engines' parameter limits (SQLite 32766, PostgreSQL 65535); a page of a list is smaller, so it
// takes one query.
const idsPerQuery = 500

// rowsPerInsert bounds the rows of one multi-row INSERT for the same reason (a line has 27
// columns: 2,700 parameters). An order has at most domain.MaxLines lines: one statement.
const rowsPerInsert = 100

// insertRows inserts n rows into table: values(i) gives row i's values for cols. It sends one
// multi-row INSERT per rowsPerInsert rows, so writing an order's lines is one round trip.
func insertRows(ctx context.Context, q store.Querier, table, cols string, n int, values func(i int) ([]any, error)) error {
	for start := 0; start < n; start += rowsPerInsert {
		end := min(n, start+rowsPerInsert)
		var a store.Args
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			vals, err := values(i)
			if err != nil {
				return err
			}
			b.WriteString("(" + store.InList(&a, vals) + ")")
		}
		if _, err := q.ExecContext(ctx, b.String(), a...); err != nil {
			return err
		}
	}
	return nil
}

// staleError is the error of an update of the row id of table (named resource in errors) that
// found no row with version want: NOT_FOUND when there is no row, else ABORTED / ETAG_MISMATCH.
func staleError(ctx context.Context, q store.Querier, resource, table, idCol, id string, want int64) error {
	var version int64
	err := q.QueryRowContext(ctx, `SELECT version FROM `+table+` WHERE `+idCol+` = $1`, id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFoundf(resource, id)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("update %s %s: %w", resource, id, err))
	}
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch,
		"%s %q was changed concurrently: version %d is stored, the update is based on %d",
		resource, id, version, want)
}

// nullJSON is the value to bind for an optional JSON column: NULL for nil, else the text.
func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// nullTimePtr is a zero-or-not time as a pointer for JSON (omitted when zero), in store.Time.
func nullTimePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := store.Time(t)
	return &u
}

// timeOfPtr is the inverse of nullTimePtr.
func timeOfPtr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
