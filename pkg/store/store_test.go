package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// migrations is the schema of the suite, written in the portable dialect.
var migrations = fstest.MapFS{
	"001_accounts.sql": {Data: []byte(`-- +goose Up
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    balance    BIGINT NOT NULL DEFAULT 0,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    avatar     BYTEA,
    created_at TIMESTAMP NOT NULL,
    closed_at  TIMESTAMP
);
-- +goose Down
DROP TABLE accounts;
`)},
	"002_entries.sql": {Data: []byte(`-- +goose Up
CREATE TABLE entries (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    seq        BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    PRIMARY KEY (account_id, seq)
);
-- +goose Down
DROP TABLE entries;
`)},
}

// forEachEngine runs fn on a migrated database of every kind Open supports.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	run := func(t *testing.T, dsn string) {
		db := open(t, dsn)
		if err := db.Migrate(t.Context(), migrations, "test_schema_version"); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		fn(t, db)
	}
	testkit.ForEachDB(t, run)
	t.Run("sqlite-memory", func(t *testing.T) { run(t, "sqlite::memory:") })
}

func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestEngine(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		want := store.Postgres
		if strings.HasPrefix(dsn, "sqlite:") {
			want = store.SQLite
		}
		if db.Engine() != want {
			t.Errorf("Engine() = %v, want %v", db.Engine(), want)
		}
	})
}

func TestMigrate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		// Running again applies nothing and fails nothing.
		if err := db.Migrate(ctx, migrations, "test_schema_version"); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		// A second migration set with its own version table coexists, although its version
		// numbers are the same as the first set's.
		other := fstest.MapFS{"001_other.sql": {Data: []byte("-- +goose Up\nCREATE TABLE other (id TEXT PRIMARY KEY);\n")}}
		if err := db.Migrate(ctx, other, "other_schema_version"); err != nil {
			t.Fatalf("migrate other set: %v", err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO other (id) VALUES ($1)`, "x"); err != nil {
			t.Fatalf("other table missing: %v", err)
		}
		if err := db.Migrate(ctx, other, "bad name; drop"); err == nil {
			t.Error("Migrate accepted a version table name that is not an identifier")
		}
		broken := fstest.MapFS{"001_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE (;\n")}}
		if err := db.Migrate(ctx, broken, "broken_schema_version"); err == nil {
			t.Error("Migrate of invalid SQL succeeded")
		}
	})
}

type account struct {
	ID        string
	Email     string
	Balance   int64
	Active    bool
	Avatar    []byte
	CreatedAt time.Time
	ClosedAt  sql.NullTime
}

func getAccount(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) account {
	t.Helper()
	var a account
	err := q.QueryRowContext(t.Context(),
		`SELECT id, email, balance, active, avatar, created_at, closed_at FROM accounts WHERE id = $1`, id).
		Scan(&a.ID, &a.Email, &a.Balance, &a.Active, &a.Avatar, &a.CreatedAt, &a.ClosedAt)
	if err != nil {
		t.Fatalf("get account %s: %v", id, err)
	}
	return a
}

func TestCRUD(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		berlin, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		// A non-UTC time: both engines must store the same instant, and return it in UTC. It is
		// truncated to microseconds as the package doc asks (PostgreSQL keeps no more).
		created := time.Date(2025, 3, 30, 3, 30, 15, 123456789, berlin).Truncate(time.Microsecond)
		var id string
		err = db.QueryRowContext(ctx,
			`INSERT INTO accounts (id, email, balance, active, avatar, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			"a1", "a@example.com", 100, false, []byte{0, 1, 2, 255}, created).Scan(&id)
		if err != nil {
			t.Fatalf("insert returning: %v", err)
		}
		if id != "a1" {
			t.Errorf("RETURNING id = %q", id)
		}
		got := getAccount(t, db, "a1")
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at location = %v, want UTC", got.CreatedAt.Location())
		}
		if !got.CreatedAt.Equal(store.Time(created)) || got.CreatedAt != store.Time(created) {
			t.Errorf("created_at = %v, want %v", got.CreatedAt, store.Time(created))
		}
		if got.Active || got.Balance != 100 || string(got.Avatar) != "\x00\x01\x02\xff" || got.ClosedAt.Valid {
			t.Errorf("round trip = %+v", got)
		}

		// Upsert with ON CONFLICT ... DO UPDATE, a repeated placeholder and RETURNING.
		closed := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
		var balance int64
		err = db.QueryRowContext(ctx,
			`INSERT INTO accounts (id, email, balance, created_at, closed_at) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + excluded.balance, closed_at = $5
			 RETURNING balance`,
			"a1", "a@example.com", 50, created, closed).Scan(&balance)
		if err != nil {
			t.Fatalf("upsert: %v", err)
		}
		if balance != 150 {
			t.Errorf("balance after upsert = %d, want 150", balance)
		}
		got = getAccount(t, db, "a1")
		if !got.ClosedAt.Valid || got.ClosedAt.Time != closed {
			t.Errorf("closed_at = %v, want %v", got.ClosedAt, closed)
		}
		// A nullable time bound through sql.NullTime (a driver.Valuer) is converted to UTC too.
		reopened := sql.NullTime{Time: time.Date(2025, 5, 1, 9, 0, 0, 0, berlin), Valid: true}
		if _, err := db.ExecContext(ctx, `UPDATE accounts SET closed_at = $2 WHERE id = $1`, "a1", reopened); err != nil {
			t.Fatal(err)
		}
		if got = getAccount(t, db, "a1"); got.ClosedAt.Time != reopened.Time.UTC() {
			t.Errorf("closed_at from NullTime = %v, want %v", got.ClosedAt.Time, reopened.Time.UTC())
		}

		// ON CONFLICT DO NOTHING affects no row.
		res, err := db.ExecContext(ctx,
			`INSERT INTO accounts (id, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			"a1", "other@example.com", created)
		if err != nil {
			t.Fatalf("insert do nothing: %v", err)
		}
		if n, _ := res.RowsAffected(); n != 0 {
			t.Errorf("DO NOTHING affected %d rows", n)
		}

		// Range query on times bound from Go, ordered.
		for i, at := range []time.Time{
			time.Date(2025, 1, 1, 10, 0, 5, 500000000, time.UTC),
			time.Date(2025, 1, 1, 10, 0, 5, 0, time.UTC),
			time.Date(2025, 1, 1, 10, 0, 5, 450000000, time.UTC),
			time.Date(2025, 1, 1, 11, 0, 0, 0, berlin), // 10:00 UTC
		} {
			if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, email, created_at, active) VALUES ($1, $2, $3, $4)`,
				fmt.Sprint("t", i), fmt.Sprintf("t%d@example.com", i), at, true); err != nil {
				t.Fatalf("insert t%d: %v", i, err)
			}
		}
		rows, err := db.QueryContext(ctx,
			`SELECT id FROM accounts WHERE created_at >= $1 AND created_at < $2 AND active = $3 ORDER BY created_at`,
			time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 10, 0, 5, 500000000, time.UTC), true)
		if err != nil {
			t.Fatalf("range query: %v", err)
		}
		defer rows.Close()
		var order []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			order = append(order, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(order) != "[t3 t1 t2]" {
			t.Errorf("time range order = %v, want [t3 t1 t2]", order)
		}

		// UPDATE and DELETE ... RETURNING.
		var email string
		if err := db.QueryRowContext(ctx, `UPDATE accounts SET email = $2 WHERE id = $1 RETURNING email`,
			"t0", "new@example.com").Scan(&email); err != nil || email != "new@example.com" {
			t.Errorf("update returning = %q, %v", email, err)
		}
		if err := db.QueryRowContext(ctx, `DELETE FROM accounts WHERE id = $1 RETURNING id`, "t0").Scan(&id); err != nil || id != "t0" {
			t.Errorf("delete returning = %q, %v", id, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT id FROM accounts WHERE id = $1`, "t0").Scan(&id); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("deleted row: err = %v, want sql.ErrNoRows", err)
		}
	})
}

func TestUniqueViolation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		ins := `INSERT INTO accounts (id, email, created_at) VALUES ($1, $2, $3)`
		if _, err := db.ExecContext(ctx, ins, "u1", "u@example.com", now); err != nil {
			t.Fatal(err)
		}
		_, err := db.ExecContext(ctx, ins, "u1", "v@example.com", now)
		if !store.IsUniqueViolation(err) {
			t.Errorf("duplicate primary key: IsUniqueViolation(%v) = false", err)
		}
		_, err = db.ExecContext(ctx, ins, "u2", "u@example.com", now)
		if !store.IsUniqueViolation(err) {
			t.Errorf("duplicate unique column: IsUniqueViolation(%v) = false", err)
		}
		// A foreign key violation is not a unique violation (and foreign keys are on in SQLite).
		_, err = db.ExecContext(ctx, `INSERT INTO entries (account_id, seq, amount) VALUES ($1, 1, 1)`, "nobody")
		if err == nil {
			t.Error("foreign key not enforced")
		} else if store.IsUniqueViolation(err) {
			t.Errorf("foreign key violation reported as unique violation: %v", err)
		}
		if store.IsUniqueViolation(nil) || store.IsUniqueViolation(errors.New("x")) {
			t.Error("IsUniqueViolation true for a non-database error")
		}
	})
}

func TestInTx(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, email, created_at) VALUES ($1, $2, $3)`, "c", "c@example.com", now); err != nil {
			t.Fatal(err)
		}

		// An error from fn rolls back and comes back unchanged.
		sentinel := errs.New(errs.FailedPrecondition, "TEST", "no")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = 999 WHERE id = $1`, "c"); err != nil {
				return err
			}
			return sentinel
		})
		if err != sentinel { //nolint:errorlint // the very error must come back, not one wrapping it
			t.Errorf("InTx error = %v, want the closure's error", err)
		}
		if a := getAccount(t, db, "c"); a.Balance != 0 {
			t.Errorf("balance after rollback = %d, want 0", a.Balance)
		}

		// A panic rolls back too.
		func() {
			defer func() { _ = recover() }()
			_ = db.InTx(ctx, func(tx *sql.Tx) error {
				_, _ = tx.ExecContext(ctx, `UPDATE accounts SET balance = 999 WHERE id = $1`, "c")
				panic("boom")
			})
		}()
		if a := getAccount(t, db, "c"); a.Balance != 0 {
			t.Errorf("balance after panic = %d, want 0", a.Balance)
		}

		// Concurrent read-modify-write closures without FOR UPDATE: no lost update, because
		// conflicts are serialized or retried.
		const workers = 20
		var wg sync.WaitGroup
		errc := make(chan error, workers)
		for i := range workers {
			wg.Go(func() {
				errc <- db.InTx(ctx, func(tx *sql.Tx) error {
					var b int64
					if err := tx.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = $1`, "c").Scan(&b); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO entries (account_id, seq, amount) VALUES ($1, $2, $3)`, "c", i, 1); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = $2 WHERE id = $1`, "c", b+1)
					return err
				})
			})
		}
		wg.Wait()
		close(errc)
		failed := 0
		for err := range errc {
			if err != nil {
				failed++
				t.Logf("transaction failed: %v", err)
			}
		}
		var entries int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entries WHERE account_id = $1`, "c").Scan(&entries); err != nil {
			t.Fatal(err)
		}
		a := getAccount(t, db, "c")
		if failed > 0 || a.Balance != workers || entries != workers {
			t.Errorf("after %d concurrent increments: balance %d, entries %d, %d failed", workers, a.Balance, entries, failed)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	for _, dsn := range []string{"", "mysql://x", "sqlite:"} {
		if db, err := store.Open(ctx, dsn); err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
	// Nothing listens on port 1: the error is UNAVAILABLE and does not show the password.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := store.Open(ctx, "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2")
	if errs.KindOf(err) != errs.Unavailable {
		t.Errorf("unreachable PostgreSQL: kind %v (%v), want UNAVAILABLE", errs.KindOf(err), err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestSQLiteCreatesDirectories(t *testing.T) {
	// A relative path (as the devstack's ./data) with a space that must survive URI escaping.
	t.Chdir(t.TempDir())
	db := open(t, "sqlite:data/with space/c.db")
	var mode string
	if err := db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if _, err := os.Stat("data/with space/c.db"); err != nil {
		t.Errorf("database file not where the DSN says: %v", err)
	}
}
