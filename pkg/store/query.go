package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Querier runs statements: a *sql.Tx, a *sql.DB or a *DB, so one read serves in and out of a
// transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Scanner is a *sql.Row or *sql.Rows: one scan function reads a single row and a list.
type Scanner interface{ Scan(dest ...any) error }

// Args numbers the parameters of a query built piece by piece (optional filters): Arg appends a
// value and returns its "$n" placeholder, which both engines read.
type Args []any

// Arg appends v and returns its placeholder.
func (a *Args) Arg(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// Where joins the conditions of a query built from optional filters: " WHERE a AND b", or ""
// when there are none.
func Where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Collect scans every row of rows with scan and closes rows; what names the rows in errors
// ("subscriptions").
func Collect[T any](rows *sql.Rows, what string, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, MapError(fmt.Errorf("read %s: %w", what, err))
	}
	return out, nil
}
