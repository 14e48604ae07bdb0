package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/store"
)

// Queries answer as they would without SQLite's per-connection statement cache (stmtcache.go):
// the same rows, the same changes, concurrent callers of one text, more texts than the cache
// holds, an error for SQL that does not compile; and on SQLite, one text run again in a
// transaction while its first rows are open, and a cached statement after a schema change.
func TestCachedStatements(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := store.Time(time.Now())
		insert := `INSERT INTO accounts (id, email, balance, created_at) VALUES (` +
			placeholders(4) + `)`
		for i := range 20 {
			if _, err := db.ExecContext(ctx, insert, fmt.Sprintf("a%02d", i), fmt.Sprintf("a%02d@example.com", i), i, now); err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
		}
		// Many callers of one text at once, each reading its own row.
		var wg sync.WaitGroup
		errc := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var bal int64
				err := db.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = `+placeholders(1), fmt.Sprintf("a%02d", i)).Scan(&bal)
				if err == nil && bal != int64(i) {
					err = fmt.Errorf("a%02d: balance %d, want %d", i, bal, i)
				}
				errc <- err
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		// More distinct texts than the cache holds: every one still answers.
		for i := range 600 {
			if n := countRows(t, db, fmt.Sprintf(`SELECT id FROM accounts WHERE balance >= %d ORDER BY id`, i%25)); n != max(0, 20-i%25) {
				t.Fatalf("query %d: %d rows, want %d", i, n, max(0, 20-i%25))
			}
		}
		// A change through the cache is seen by the next read through it.
		if _, err := db.ExecContext(ctx, `UPDATE accounts SET balance = balance + 100 WHERE id = `+placeholders(1), "a03"); err != nil {
			t.Fatal(err)
		}
		var bal int64
		if err := db.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = `+placeholders(1), "a03").Scan(&bal); err != nil || bal != 103 {
			t.Fatalf("after update: %d, %v; want 103", bal, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = `+placeholders(1), "nobody").Scan(&bal); err != sql.ErrNoRows {
			t.Fatalf("missing row: %v, want sql.ErrNoRows", err)
		}
		if _, err := db.ExecContext(ctx, `SELEKT nothing`); err == nil {
			t.Fatal("SQL that does not compile: no error")
		}

		if db.Engine() != store.SQLite {
			return // the rest is the SQLite statement cache's own (PostgreSQL runs one query at a time per connection)
		}
		// In a transaction, the same text again while its first rows are still open: each call
		// has its own statement, both answer in full.
		byBalance := `SELECT id FROM accounts WHERE balance < ` + placeholders(1) + ` ORDER BY id`
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			outer, err := tx.QueryContext(ctx, byBalance, 3)
			if err != nil {
				return err
			}
			defer outer.Close()
			n := 0
			for outer.Next() {
				m, err := countTx(ctx, tx, byBalance, 2)
				if err != nil {
					return err
				}
				if m != 2 {
					return fmt.Errorf("inner query: %d rows, want 2", m)
				}
				n++
			}
			if n != 3 {
				return fmt.Errorf("outer query: %d rows, want 3", n)
			}
			return outer.Err()
		})
		if err != nil {
			t.Fatalf("nested use of one query text: %v", err)
		}

		// A schema change after a statement was cached: the next call sees the new schema.
		if n := countRows(t, db, `SELECT * FROM accounts WHERE id = 'a01'`); n != 1 {
			t.Fatalf("before ALTER: %d rows", n)
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE accounts ADD COLUMN note TEXT`); err != nil {
			t.Fatal(err)
		}
		cols, err := columnsOf(ctx, db, `SELECT * FROM accounts WHERE id = 'a01'`)
		if err != nil || len(cols) != 8 || cols[7] != "note" {
			t.Fatalf("after ALTER, the cached SELECT * has columns %v (%v); want the new column note too", cols, err)
		}
	})
}

// countTx counts the rows of query in tx.
func countTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// columnsOf is the column names of query's answer.
func columnsOf(ctx context.Context, db *store.DB, query string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	return cols, rows.Err()
}

// countRows runs query through the DB's QueryContext and counts its rows.
func countRows(t *testing.T, db *store.DB, query string) int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// placeholders is $1, ..., $n: both engines read them.
func placeholders(n int) string {
	var a store.Args
	s := ""
	for i := range n {
		if i > 0 {
			s += ", "
		}
		s += a.Arg(i)
	}
	return s
}
