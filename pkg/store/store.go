// Package store opens a service's SQL database by DSN and gives repositories one portable SQL
// dialect over two engines: SQLite (modernc.org/sqlite, pure Go, the zero-infrastructure default,
// one file per service) and PostgreSQL (pgx through database/sql), which is how a deployment grows
// past one machine.
//
// # DSNs
//
//	sqlite:data/orders.db      a file; parent directories are created
//	sqlite::memory:            a private in-memory database (tests); safe for concurrent use
//	postgres://u:p@host/db     PostgreSQL (postgresql:// works too)
//
// # The portable dialect: rules for repository authors
//
// Every repository test runs on both engines (testkit.ForEachDB), so a rule broken here fails a
// test; these are the rules that keep the tests green:
//
//   - Placeholders are $1, $2, ... on both engines. A number may repeat and appear in any order.
//     Never use ? or :name.
//   - Upserts are INSERT ... ON CONFLICT (cols) DO NOTHING / DO UPDATE SET c = excluded.c, and
//     RETURNING works on INSERT, UPDATE and DELETE. Always name the conflict target columns.
//   - Column types: TEXT, BIGINT (also for money and counters), BOOLEAN, BYTEA (binary),
//     TIMESTAMP (times). Avoid VARCHAR(n) limits (SQLite ignores them), NUMERIC, JSONB (store
//     JSON as TEXT), arrays, enums (use TEXT + CHECK), SERIAL/IDENTITY and AUTOINCREMENT: keys are
//     generated in Go (UUIDs as TEXT) so both engines see the same IDs.
//   - Times: declare TIMESTAMP (not TIMESTAMPTZ: modernc only turns TIMESTAMP, DATETIME and DATE
//     columns back into time.Time). Bind time.Time values in any location: SQLite writes them in
//     UTC and PostgreSQL converts them to UTC before it drops the zone, so both store the same
//     instant; scans return UTC. PostgreSQL keeps microseconds, so truncate with Time(t) before
//     writing when a round trip must compare equal. Ordering and range comparisons in SQL work
//     (SQLite stores a fixed-layout UTC text that sorts in time order), but only against values
//     bound from Go: never use now(), CURRENT_TIMESTAMP or date functions in SQL — the time comes
//     from pkg/clock so the fake clock works, and the engines disagree about those functions.
//     Nullable times scan into sql.NullTime or *time.Time.
//   - Booleans: declare BOOLEAN, bind and scan Go bool; literals TRUE and FALSE work on both.
//   - Binary: declare BYTEA and bind []byte. SQLite reads an empty []byte back as nil (and stores
//     it as NULL), so do not give an empty blob a meaning distinct from NULL.
//   - Text comparison is case-sensitive on both (do not rely on ILIKE or COLLATE NOCASE); LIKE is
//     case-insensitive for ASCII on SQLite and case-sensitive on PostgreSQL, so avoid LIKE for
//     anything but prefix search on normalized (e.g. lowercased) columns.
//   - No SELECT ... FOR UPDATE (SQLite has none). Read-modify-write goes in InTx: it runs
//     SERIALIZABLE on PostgreSQL and takes SQLite's write lock at BEGIN, so the closure sees a
//     stable snapshot on both, and a conflicting concurrent transaction is retried. The closure may
//     therefore run more than once: no side effects outside the transaction.
//   - Unique-key conflicts are detected with IsUniqueViolation, never by matching messages.
//   - Migrations are goose SQL files (NNN_name.sql starting with "-- +goose Up") in the same
//     dialect. Schema changes that need ALTER TABLE ... ALTER COLUMN do not exist in SQLite: add
//     columns or create a new table and copy instead.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Engine is the database engine behind a DB.
type Engine int

// The engines.
const (
	SQLite Engine = iota + 1
	Postgres
)

func (e Engine) String() string {
	switch e {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Engine(%d)", int(e))
}

// DB is an open database: a *sql.DB (embedded, so repositories call QueryContext and friends
// directly) plus the engine it talks to.
type DB struct {
	*sql.DB
	engine Engine
	// keep holds one connection of an in-memory SQLite database open for the life of the DB,
	// because SQLite discards an in-memory database when its last connection closes and
	// database/sql closes idle connections at will.
	keep *sql.Conn
}

// Engine reports which engine the DB talks to.
func (db *DB) Engine() Engine { return db.engine }

// ForUpdate is the clause that locks the rows a transaction reads to change them: " FOR UPDATE"
// on PostgreSQL, which runs transactions concurrently; "" on SQLite, which has no such clause
// and needs none, since a transaction holds the write lock from BEGIN (_txlock=immediate).
func (db *DB) ForUpdate() string {
	if db.engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Close closes the database.
func (db *DB) Close() error {
	if db.keep != nil {
		_ = db.keep.Close()
	}
	return db.DB.Close()
}

// Open opens the database named by dsn (see the package doc) and checks that it answers. A
// database that cannot be reached gives an errs.Unavailable error.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		db, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(dsn)
	default:
		return nil, fmt.Errorf("store: unsupported DSN %q: want sqlite:<path>, sqlite::memory: or postgres://", redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, MapError(fmt.Errorf("store: open %s database %s: %w", db.engine, redact(dsn), err))
	}
	return db, nil
}

// Time returns t in UTC truncated to microseconds, the precision both engines keep, so a value
// written and read back compares equal with ==.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// NullTime is the value to bind for an optional time: NULL for the zero time, else Time(t).
func NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return Time(t)
}

// TimeOf is the inverse of NullTime for a scanned sql.NullTime: the zero time for NULL, else
// the time in UTC.
func TimeOf(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// MapError returns err unchanged, except that a failure to reach the database becomes an
// errs.Unavailable error wrapping it, so the caller sees UNAVAILABLE (and may retry) rather than
// INTERNAL. InTx applies it; repositories may apply it to their own queries.
func MapError(err error) error {
	if err == nil || errs.KindOf(err) != errs.Unknown {
		return err
	}
	if isConnectionError(err) {
		return errs.Unavailablef("database unavailable").Wrap(err)
	}
	return err
}

// redact hides the password of a URL-shaped DSN so it can go into an error message.
func redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return dsn
}
