package store_test

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/store"
)

// The DB's own QueryContext, QueryRowContext and ExecContext answer as the plain calls do, with
// or without the SQLite statement cache behind them: the same rows, the same changes, concurrent
// callers of one text, texts beyond the cache's bound, and an error for SQL that does not compile.
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
	})
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
