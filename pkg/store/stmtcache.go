package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"

	"modernc.org/sqlite"
)

// SQLite compiles every statement it runs, and the pure-Go driver compiles it again for every
// call: in the order saga's profile a sixth of the suite's CPU went to SQLite's parser, much of
// it inside transactions, where it also lengthens the time the single writer holds the lock, and
// a point read such as delegatedadmin's CheckAccess spent more time parsing than reading. So
// every SQLite connection keeps the statements it has compiled, by query text, and runs a query
// it has seen before on the compiled statement (the driver resets it after each use; SQLite
// recompiles it by itself after a schema change). That covers the calls of repositories on the
// DB and in transactions alike, with no change to them. PostgreSQL needs none of this: pgx
// caches prepared statements per connection already.
//
// Queries built from a varying number of arguments have many texts, so a connection keeps at
// most maxCachedStmts; other texts are compiled per call as before. A statement still in use
// (its rows open while the same text runs again in the transaction) is not shared: the second
// call compiles its own.
const maxCachedStmts = 256

// cachingConnector opens SQLite connections that cache their statements.
type cachingConnector struct {
	dsn string
	drv *sqlite.Driver
}

func newCachingConnector(dsn string) *cachingConnector {
	return &cachingConnector{dsn: dsn, drv: &sqlite.Driver{}}
}

// Connect implements driver.Connector.
func (c *cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("store: the SQLite driver's connection lacks an interface database/sql needs")
	}
	return &cachingConn{conn: sc, stmts: map[string]*cachedStmt{}}, nil
}

// Driver implements driver.Connector.
func (c *cachingConnector) Driver() driver.Driver { return c.drv }

// The interfaces of the driver's connection that database/sql uses; the modernc driver
// implements them all.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one SQLite connection with its compiled statements. database/sql uses a
// connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	conn  sqliteConn
	stmts map[string]*cachedStmt
}

// sqliteStmt is what the driver's statements implement and the cache runs.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtQueryContext
	driver.StmtExecContext
}

type cachedStmt struct {
	stmt sqliteStmt
	busy bool // its rows are open
}

// cached returns the connection's compiled statement for query, compiling it on first use; nil
// when it is in use or cannot be kept (the caller then runs the query uncached).
func (c *cachingConn) cached(ctx context.Context, query string) *cachedStmt {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil
		}
		return s
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil // the uncached call reports the error
	}
	s, ok := st.(sqliteStmt)
	if !ok {
		_ = st.Close()
		return nil
	}
	cs := &cachedStmt{stmt: s}
	c.stmts[query] = cs
	return cs
}

// QueryContext implements driver.QueryerContext through the statement cache.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.cached(ctx, query)
	if s == nil {
		return c.conn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

// ExecContext implements driver.ExecerContext through the statement cache.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s := c.cached(ctx, query); s != nil {
		return s.stmt.ExecContext(ctx, args)
	}
	return c.conn.ExecContext(ctx, query, args)
}

// Prepare implements driver.Conn (database/sql's own prepared statements are not cached).
func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

// PrepareContext implements driver.ConnPrepareContext.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

// Begin implements driver.Conn.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements driver.ConnBeginTx.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.BeginTx(ctx, opts)
}

// Ping implements driver.Pinger.
func (c *cachingConn) Ping(ctx context.Context) error {
	return c.conn.Ping(ctx)
}

// ResetSession implements driver.SessionResetter.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.conn.ResetSession(ctx)
}

// IsValid implements driver.Validator.
func (c *cachingConn) IsValid() bool {
	return c.conn.IsValid()
}

// Close finalizes the cached statements and closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.conn.Close())...)
}

// cachedRows are the rows of a cached statement: closing them (which resets the statement in
// the driver) makes the statement free for the next call.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}

// The column type interfaces of the driver's rows, passed through for sql.Rows.ColumnTypes.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeLength(i int) (length int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
