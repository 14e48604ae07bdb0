package store

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite compiles every statement it runs, and the pure-Go driver does not keep compiled
// statements between calls: a point read such as delegatedadmin's CheckAccess spent more time in
// SQLite's parser than in the read itself (a seventh of the whole suite's CPU in the bench
// profile). So on SQLite the DB's own QueryContext, QueryRowContext and ExecContext — the calls
// repositories make outside transactions — run through a cache of prepared statements keyed by
// the query text; database/sql prepares each one once per pooled connection and SQLite recompiles
// it by itself after a schema change. PostgreSQL needs none of this: pgx caches prepared
// statements per connection already.
//
// Queries built from a varying number of arguments have many texts, so the cache is bounded:
// once it holds maxCachedStmts statements, other texts run unprepared as before.
const maxCachedStmts = 512

type stmtCache struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// prepared returns the cached statement for query, preparing it on first use; nil when the
// statement cannot be cached (not SQLite, the cache is full, or it does not prepare — the
// unprepared call then reports the error as it always did).
func (db *DB) prepared(ctx context.Context, query string) *sql.Stmt {
	c := db.stmts
	if c == nil {
		return nil
	}
	c.mu.RLock()
	s, ok := c.stmts[query]
	full := len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if ok || full {
		return s
	}
	s, err := db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok { // prepared by another caller meanwhile
		_ = s.Close() //nolint:sqlclosecheck // the spare of a race, closed at once; cached ones close with the DB
		return prev
	}
	if len(c.stmts) >= maxCachedStmts {
		_ = s.Close() // not kept: the cache is full
		return nil
	}
	c.stmts[query] = s
	return s
}

// QueryContext runs a query through the statement cache (see stmtCache).
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := db.prepared(ctx, query); s != nil { //nolint:sqlclosecheck // cached: closed with the DB (Close)
		return s.QueryContext(ctx, args...)
	}
	return db.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a single-row query through the statement cache (see stmtCache).
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := db.prepared(ctx, query); s != nil { //nolint:sqlclosecheck // cached: closed with the DB (Close)
		return s.QueryRowContext(ctx, args...)
	}
	return db.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement through the statement cache (see stmtCache).
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := db.prepared(ctx, query); s != nil { //nolint:sqlclosecheck // cached: closed with the DB (Close)
		return s.ExecContext(ctx, args...)
	}
	return db.DB.ExecContext(ctx, query, args...)
}

// close closes every cached statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		_ = s.Close()
		delete(c.stmts, q)
	}
}
