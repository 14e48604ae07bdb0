package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteParams configure every SQLite connection:
//   - busy_timeout: a writer waits up to 5s for the write lock instead of failing with
//     SQLITE_BUSY at once.
//   - _txlock=immediate: BEGIN takes the write lock up front. A deferred transaction that reads
//     and then writes can fail with SQLITE_BUSY without ever waiting (the busy handler cannot
//     help a reader that must upgrade), which is exactly the read-modify-write that InTx is for.
//     Read-only transactions (sql.TxOptions{ReadOnly: true}) still begin deferred.
//   - foreign_keys: SQLite leaves them off by default; PostgreSQL always enforces them.
//   - wal_autocheckpoint(10000): the committing writer copies the WAL back into the database
//     once it holds 10,000 pages (40 MB) rather than SQLite's 1,000. A page changed by many
//     transactions in between is copied once, and a checkpoint that a concurrent reader's
//     snapshot holds up is tried ten times less often: a batch job that writes while it reads
//     (the subscriptions' lifecycle sweep) spent a sixth of its time checkpointing before.
//   - synchronous(NORMAL): in WAL mode a commit appends to the WAL without waiting for it to
//     reach the disk; the WAL is synced at each checkpoint. The database can never be corrupted,
//     and every commit survives a crash of the process; an operating-system crash or power loss
//     may lose the last commits before the checkpoint. That is SQLite's recommended setting for
//     WAL and the devstack's trade-off (a sync per commit capped order throughput at the disk's
//     sync rate); deployments that must not lose a commit to a power loss run on PostgreSQL.
//   - _time_format=sqlite, _timezone=UTC: times are written as "2006-01-02 15:04:05.999999999+00:00"
//     in UTC, a layout that sorts in time order and that SQLite's own date functions read, and are
//     read back in UTC.
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=wal_autocheckpoint(10000)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_txlock=immediate&_time_format=sqlite&_timezone=UTC"

// sqliteMaxConns bounds the pool. In WAL mode readers never block the writer nor each other, so
// a few connections let reads run beside a write; writers serialize on the write lock anyway, and
// each connection carries its own page cache, so more buys nothing but memory.
func sqliteMaxConns() int { return max(4, min(runtime.GOMAXPROCS(0), 8)) }

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path in DSN (want sqlite:<path> or sqlite::memory:)")
	}
	if path == ":memory:" {
		return openSQLiteMemory(ctx)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create directory for SQLite database: %w", err)
		}
	}
	// WAL lets readers work while one writer writes; it is a property of the file, set once.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + sqliteParams + "&_pragma=journal_mode(WAL)"
	sdb := sql.OpenDB(newCachingConnector(dsn)) // statements cached per connection (stmtcache.go)
	n := sqliteMaxConns()
	sdb.SetMaxOpenConns(n)
	sdb.SetMaxIdleConns(n) // reopening a connection re-reads the schema: keep them.
	return &DB{DB: sdb, engine: SQLite}, nil
}

// openSQLiteMemory opens a private in-memory database that all connections of the pool share.
// A plain ":memory:" would give every pooled connection its own empty database; the "memdb" VFS
// under a unique name gives one database with real locking, so it behaves like a file (except
// WAL, which memdb does not support: readers and the writer take turns).
func openSQLiteMemory(ctx context.Context) (*DB, error) {
	dsn := "file:/partnerhub-" + rand.Text() + "?vfs=memdb&" + sqliteParams
	sdb := sql.OpenDB(newCachingConnector(dsn))
	n := sqliteMaxConns() + 1 // one more for the keeper
	sdb.SetMaxOpenConns(n)
	sdb.SetMaxIdleConns(n)
	keep, err := sdb.Conn(ctx)
	if err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("store: open in-memory SQLite: %w", err)
	}
	return &DB{DB: sdb, engine: SQLite, keep: keep}, nil
}

// sqliteCode returns the extended result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func sqliteBusy(err error) bool {
	code := sqliteCode(err) & 0xff // primary code: BUSY_SNAPSHOT, LOCKED_SHAREDCACHE, ... too
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

func sqliteUnique(err error) bool {
	code := sqliteCode(err)
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
