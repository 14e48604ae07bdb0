package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// The helpers of this file build and run the queries every repository writes the same way:
// optional list filters, keyset pages, IN lists, reading one row or a list of rows, row counts
// and snapshot reads. They were copied from adapter to adapter before; one copy here keeps their
// SQL portable (both engines, see the package doc) and their error messages alike.

// Limit is the LIMIT clause of a list, " LIMIT $n", appending limit to a; "" (no limit) when
// limit is not positive, so a caller's zero means "all".
func Limit(a *Args, limit int) string {
	if limit <= 0 {
		return ""
	}
	return " LIMIT " + a.Arg(limit)
}

// Keyset is the condition of a keyset page, "(timeCol, id) op ($n, $m)", that continues a list
// ordered by (timeCol, id) after the position (at, atID): op ">" for ascending lists, "<" for
// descending ones. ok is false (no condition) when no position is set, for the first page. at is
// bound with Time, the precision the engines keep, so a position read from a row compares equal.
// The table's key column must be named id.
func Keyset(a *Args, timeCol, op string, at time.Time, atID string) (cond string, ok bool) {
	if at.IsZero() && atID == "" {
		return "", false
	}
	return "(" + timeCol + ", id) " + op + " (" + a.Arg(Time(at)) + ", " + a.Arg(atID) + ")", true
}

// KeysetAfter is Keyset for an ascending list: "(timeCol, id) > (after, afterID)".
func KeysetAfter(a *Args, timeCol string, after time.Time, afterID string) (cond string, ok bool) {
	return Keyset(a, timeCol, ">", after, afterID)
}

// Filter is an optional condition "Col = Value" of a list: none when Value is "", so a request's
// unset filter field needs no code of its own.
type Filter struct{ Col, Value string }

// Equalities appends to where the conditions of the filters that are set, and their values to
// a; Where joins the result.
func Equalities(a *Args, where []string, fs ...Filter) []string {
	for _, f := range fs {
		if f.Value != "" {
			where = append(where, f.Col+" = "+a.Arg(f.Value))
		}
	}
	return where
}

// InList returns the placeholders of vals for an IN list or a VALUES row, "$3, $4, $5",
// appending vals to a. Both engines bound the parameters of a statement (SQLite 32766,
// PostgreSQL 65535): callers split long lists.
func InList[T any](a *Args, vals []T) string {
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = a.Arg(v)
	}
	return strings.Join(ph, ", ")
}

// FindOne reads the row of query with scan, if there is one: ok is false, with no error, when
// there is none. what names the row in errors ("read order of request r1: ..."); a database
// that cannot be reached gives errs.Unavailable (MapError).
func FindOne[T any](ctx context.Context, q Querier, what string, scan func(Scanner) (T, error), query string, args ...any) (v T, ok bool, err error) {
	v, err = scan(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, false, nil
	}
	if err != nil {
		var zero T
		return zero, false, MapError(fmt.Errorf("read %s: %w", what, err))
	}
	return v, true, nil
}

// GetByID reads one row with query (whose $1 is id) and scan. No row is an errs.NotFound error
// naming resource and id, which is what an API's Get returns; other errors read
// "read <resource> <id>: ...".
func GetByID[T any](ctx context.Context, q Querier, resource, query, id string, scan func(Scanner) (T, error)) (T, error) {
	v, ok, err := FindOne(ctx, q, resource+" "+id, scan, query, id)
	if err == nil && !ok {
		return v, errs.NotFoundf(resource, id)
	}
	return v, err
}

// ListRows reads every row of query with scan (Collect); what names the rows in errors
// ("list orders: ...").
func ListRows[T any](ctx context.Context, q Querier, what string, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, MapError(fmt.Errorf("list %s: %w", what, err))
	}
	out, err := Collect(rows, what, scan)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// Affected is the row count of a statement run with ExecContext, given its result and error as
// they are (Affected(q.ExecContext(...)) reads as one step), or the error; what names the
// statement in errors ("update order o1: ..."). A guarded write (WHERE version = $n, ON CONFLICT
// DO NOTHING) tells from the count whether it happened.
func Affected(res sql.Result, err error, what string) (int64, error) {
	if err != nil {
		return 0, MapError(fmt.Errorf("%s: %w", what, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, MapError(fmt.Errorf("%s: %w", what, err))
	}
	return n, nil
}

// ReadSnapshot runs fn on one snapshot of the committed data, for a read that takes more than
// one query (a row and its child rows): a write that commits between them would otherwise hand
// out a mix of two versions. The snapshot is a read-only transaction: REPEATABLE READ on
// PostgreSQL (which never fails a read-only transaction, so there is nothing to retry), a
// deferred one on SQLite (WAL: a reader beside the writer, snapshot from its first read). fn must
// not write: the transaction is always rolled back, and only PostgreSQL refuses the write. fn's
// error is returned as is.
func (db *DB) ReadSnapshot(ctx context.Context, fn func(q Querier) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Engine() == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	rtx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return MapError(fmt.Errorf("begin read: %w", err))
	}
	// Nothing to commit: ending the transaction either way releases the snapshot.
	defer func() { _ = rtx.Rollback() }()
	return fn(rtx)
}
