package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
)

func scanID(row store.Scanner) (string, error) {
	var id string
	err := row.Scan(&id)
	return id, err
}

// The query builders number their placeholders after those already in the Args, and add no
// condition for an unset filter, position or limit.
func TestQueryBuilders(t *testing.T) {
	a := store.Args{"x"}
	where := store.Equalities(&a, []string{"a = $1"}, store.Filter{Col: "b", Value: "vb"},
		store.Filter{Col: "c", Value: ""}, store.Filter{Col: "d", Value: "vd"})
	if want := []string{"a = $1", "b = $2", "d = $3"}; !slices.Equal(where, want) {
		t.Errorf("Equalities = %q, want %q", where, want)
	}
	if got := store.InList(&a, []int{7, 8}); got != "$4, $5" {
		t.Errorf("InList = %q", got)
	}
	if got := store.InList(&a, []int(nil)); got != "" {
		t.Errorf("InList(nil) = %q", got)
	}
	if cond, ok := store.Keyset(&a, "t", "<", time.Time{}, ""); ok || cond != "" {
		t.Errorf("Keyset without position = %q, %v", cond, ok)
	}
	if cond, ok := store.KeysetAfter(&a, "created_at", time.Time{}, "id1"); !ok || cond != "(created_at, id) > ($6, $7)" {
		t.Errorf("KeysetAfter = %q, %v", cond, ok)
	}
	if got := store.Limit(&a, 0); got != "" {
		t.Errorf("Limit(0) = %q", got)
	}
	if got := store.Limit(&a, 5); got != " LIMIT $8" {
		t.Errorf("Limit(5) = %q", got)
	}
	if want := []any{"x", "vb", "vd", 7, 8, time.Time{}, "id1", 5}; !slices.Equal(a, want) {
		t.Errorf("args = %v, want %v", a, want)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))
	var b store.Args
	if _, ok := store.Keyset(&b, "t", "<", at, ""); !ok || b[0] != store.Time(at) {
		t.Errorf("Keyset binds %v, want %v", b[0], store.Time(at))
	}
}

// A keyset page built from the helpers continues a list in both directions on both engines,
// including rows that share a time.
func TestKeysetPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		for i, id := range []string{"a1", "a2", "a3", "a4"} {
			at := t0.Add(time.Duration(i/2) * time.Second) // a1, a2 at t0; a3, a4 a second later
			if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, email, balance, created_at) VALUES ($1, $2, $3, $4)`,
				id, id+"@example.com", i, at); err != nil {
				t.Fatal(err)
			}
		}
		page := func(op, order string, at time.Time, atID string, limit int) []string {
			var a store.Args
			where := store.Equalities(&a, nil, store.Filter{Col: "email", Value: ""})
			if cond, ok := store.Keyset(&a, "created_at", op, at, atID); ok {
				where = append(where, cond)
			}
			ids, err := store.ListRows(ctx, db, "accounts", scanID, `SELECT id FROM accounts`+store.Where(where)+
				` ORDER BY created_at `+order+`, id `+order+store.Limit(&a, limit), a...)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		if got := page(">", "ASC", time.Time{}, "", 2); !slices.Equal(got, []string{"a1", "a2"}) {
			t.Errorf("first page = %v", got)
		}
		if got := page(">", "ASC", t0, "a2", 2); !slices.Equal(got, []string{"a3", "a4"}) {
			t.Errorf("page after a2 = %v", got)
		}
		if got := page("<", "DESC", t0.Add(time.Second), "a3", 0); !slices.Equal(got, []string{"a2", "a1"}) {
			t.Errorf("page before a3 = %v", got)
		}
	})
}

// FindOne, GetByID, ListRows and Affected read rows and counts, tell no row from an error, and
// name what they read in their errors.
func TestReadHelpers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		for _, id := range []string{"a1", "a2", "a3"} {
			res, err := db.ExecContext(ctx, `INSERT INTO accounts (id, email, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (id) DO NOTHING`, id, id+"@example.com", now)
			if n, err := store.Affected(res, err, "insert account "+id); err != nil || n != 1 {
				t.Fatalf("Affected = %d, %v; want 1", n, err)
			}
		}
		res, err := db.ExecContext(ctx, `INSERT INTO accounts (id, email, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, "a1", "other@example.com", now)
		if n, err := store.Affected(res, err, "insert account a1"); err != nil || n != 0 {
			t.Errorf("Affected of a conflict = %d, %v; want 0", n, err)
		}
		res, err = db.ExecContext(ctx, `UPDATE accounts SET balance = 1 WHERE id <> $1`, "a1")
		if n, err := store.Affected(res, err, "update accounts"); err != nil || n != 2 {
			t.Errorf("Affected of an update = %d, %v; want 2", n, err)
		}
		res, err = db.ExecContext(ctx, `UPDATE nosuch SET x = 1`)
		if _, err := store.Affected(res, err, "update nosuch"); err == nil || !strings.HasPrefix(err.Error(), "update nosuch: ") {
			t.Errorf("Affected of a failed statement: %v", err)
		}

		query := `SELECT id FROM accounts WHERE id = $1`
		if v, ok, err := store.FindOne(ctx, db, "account a2", scanID, query, "a2"); err != nil || !ok || v != "a2" {
			t.Errorf("FindOne(a2) = %q, %v, %v", v, ok, err)
		}
		if v, ok, err := store.FindOne(ctx, db, "account zz", scanID, query, "zz"); err != nil || ok || v != "" {
			t.Errorf("FindOne(zz) = %q, %v, %v; want none", v, ok, err)
		}
		if _, _, err := store.FindOne(ctx, db, "account", scanID, `SELECT id FROM nosuch`); err == nil ||
			!strings.HasPrefix(err.Error(), "read account: ") {
			t.Errorf("FindOne of a failed query: %v", err)
		}

		if v, err := store.GetByID(ctx, db, "account", query, "a3", scanID); err != nil || v != "a3" {
			t.Errorf("GetByID(a3) = %q, %v", v, err)
		}
		if _, err := store.GetByID(ctx, db, "account", query, "zz", scanID); errs.KindOf(err) != errs.NotFound {
			t.Errorf("GetByID(zz) = %v, want NOT_FOUND", err)
		}
		if _, err := store.GetByID(ctx, db, "account", `SELECT id FROM nosuch WHERE id = $1`, "a1", scanID); err == nil ||
			!strings.HasPrefix(err.Error(), "read account a1: ") {
			t.Errorf("GetByID of a failed query: %v", err)
		}

		var a store.Args
		ids, err := store.ListRows(ctx, db, "accounts", scanID,
			`SELECT id FROM accounts WHERE id IN (`+store.InList(&a, []string{"a3", "a1", "zz"})+`) ORDER BY id`, a...)
		if err != nil || !slices.Equal(ids, []string{"a1", "a3"}) {
			t.Errorf("ListRows = %v, %v", ids, err)
		}
		if _, err := store.ListRows(ctx, db, "things", scanID, `SELECT id FROM nosuch`); err == nil ||
			!strings.HasPrefix(err.Error(), "list things: ") {
			t.Errorf("ListRows of a failed query: %v", err)
		}
		if _, err := store.ListRows(ctx, db, "accounts", func(row store.Scanner) (string, error) {
			return "", errors.New("boom")
		}, `SELECT id FROM accounts`); err == nil || err.Error() != "list accounts: scan accounts: boom" {
			t.Errorf("ListRows with a failing scan: %v", err)
		}
	})
}

// ReadSnapshot reads in a transaction that commits nothing (PostgreSQL refuses a write, SQLite
// rolls it back), hands back fn's error, and fails to begin on a cancelled context with
// "begin read".
func TestReadSnapshot(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, email, created_at) VALUES ($1, $2, $3)`,
			"a1", "a1@example.com", time.Now()); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.ReadSnapshot(ctx, func(q store.Querier) error {
			return q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
		}); err != nil || n != 1 {
			t.Errorf("ReadSnapshot count = %d, %v", n, err)
		}
		err := db.ReadSnapshot(ctx, func(q store.Querier) error {
			_, err := q.ExecContext(ctx, `UPDATE accounts SET balance = 5`)
			return err
		})
		if db.Engine() == store.Postgres && err == nil {
			t.Error("write in ReadSnapshot succeeded, want a read-only error")
		}
		var bal int64
		if err := db.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = 'a1'`).Scan(&bal); err != nil || bal != 0 {
			t.Errorf("balance after read-only write = %d, %v", bal, err)
		}
		sentinel := errors.New("sentinel")
		if err := db.ReadSnapshot(ctx, func(store.Querier) error { return sentinel }); err != sentinel { //nolint:errorlint // the very error must come back, not one wrapping it
			t.Errorf("ReadSnapshot = %v, want fn's error as is", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := db.ReadSnapshot(cancelled, func(store.Querier) error { return nil }); err == nil ||
			!strings.HasPrefix(err.Error(), "begin read: ") {
			t.Errorf("ReadSnapshot on a cancelled context: %v", err)
		}
	})
}

// ForUpdate is the row-locking clause where the engine has one, and works in a query there.
func TestForUpdate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		want := map[store.Engine]string{store.Postgres: " FOR UPDATE", store.SQLite: ""}[db.Engine()]
		if got := db.ForUpdate(); got != want {
			t.Fatalf("ForUpdate() = %q, want %q", got, want)
		}
		err := db.InTx(t.Context(), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(t.Context(), `SELECT id FROM accounts`+db.ForUpdate())
			return err
		})
		if err != nil {
			t.Errorf("SELECT ...%s: %v", db.ForUpdate(), err)
		}
	})
}
