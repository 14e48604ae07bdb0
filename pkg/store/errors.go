package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsUniqueViolation reports whether err is a unique or primary key constraint violation on
// either engine, so a repository can turn a duplicate insert into an ALREADY_EXISTS error.
func IsUniqueViolation(err error) bool {
	return pgCode(err) == pgUniqueViolation || sqliteUnique(err)
}

// isRetryable reports whether a transaction that failed with err may succeed when run again:
// PostgreSQL serialization failures and deadlocks, and SQLite's busy/locked after busy_timeout
// ran out.
func isRetryable(err error) bool {
	switch pgCode(err) {
	case pgSerializationFailure, pgDeadlockDetected:
		return true
	}
	return sqliteBusy(err)
}

// isConnectionError reports whether err means the database could not be reached (as opposed to
// a statement that failed): connect errors, network errors, a connection the pool had to drop,
// PostgreSQL's "connection exception" class and shutdown codes, and a SQLite file that cannot be
// opened.
func isConnectionError(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone):
		return true
	}
	switch code := pgCode(err); {
	case len(code) == 5 && code[:2] == "08":
		return true
	case code == pgAdminShutdown, code == pgCrashShutdown, code == pgCannotConnectNow:
		return true
	}
	return sqliteCode(err)&0xff == sqlite3.SQLITE_CANTOPEN
}
