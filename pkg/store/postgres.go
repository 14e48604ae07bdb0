package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pool limits for PostgreSQL. Six services share one server in the compose stack and PostgreSQL
// allows 100 connections by default, so each service keeps well below a sixth of that; callers
// that know better can change them on the embedded *sql.DB.
const (
	pgMaxOpenConns    = 12
	pgMaxIdleConns    = 6
	pgConnMaxIdleTime = 5 * time.Minute
	// pgConnectTimeout bounds one attempt to open a connection (name resolution, dial and
	// startup handshake, per host) when the DSN sets no connect_timeout. Without it an attempt
	// whose DNS answer or SYN is lost (a database container being torn down while its name
	// still resolves, a resolver that drops a query: Go's waits 5 s, a host that drops
	// packets) waits out the caller's whole deadline: every request that needs a new connection
	// hangs instead of failing fast with UNAVAILABLE (e2e
	// TestE2E_Fault_PostgresRestartedUnderLoad_FailsFastThenRecovers). A connection on a local
	// network opens in milliseconds; 2 s stays well under the 5 s deadlines callers use.
	pgConnectTimeout = 2 * time.Second
)

func openPostgres(dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, fmt.Errorf("store: invalid PostgreSQL DSN %s", redact(dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	// pgx resolves host names before it starts the connect timeout, with the caller's context
	// only: a lost DNS answer would hold the request for Go's resolver timeout (5 s) or its whole
	// deadline. Passing the name through makes the dialer resolve it within the timeout. (pgx
	// then dials one address per host rather than trying each A record in turn with its
	// target_session_attrs check; list several hosts in the DSN for that.)
	cfg.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	connector := stdlib.GetConnector(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		// TIMESTAMP columns: convert to UTC instead of dropping the zone (see utcTimestampCodec).
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamp", OID: pgtype.TimestampOID, Codec: &utcTimestampCodec{}})
		return nil
	}))
	// While the database cannot be reached, requests fail at once instead of each trying to
	// connect (connectGate).
	sdb := sql.OpenDB(newConnectGate(connector, pgRetryConnectAfter))
	sdb.SetMaxOpenConns(pgMaxOpenConns)
	sdb.SetMaxIdleConns(pgMaxIdleConns)
	sdb.SetConnMaxIdleTime(pgConnMaxIdleTime)
	return &DB{DB: sdb, engine: Postgres}, nil
}

// utcTimestampCodec encodes time.Time into a TIMESTAMP (without time zone) column as its UTC
// wall clock. pgx's own codec keeps the wall clock of whatever location the value carries, so
// time.Now() in a non-UTC process would be stored hours off; this makes "TIMESTAMP holds UTC"
// true on PostgreSQL as it is on SQLite, whatever the caller binds.
type utcTimestampCodec struct{ pgtype.TimestampCodec }

func (c *utcTimestampCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(time.Time); ok {
		next := c.TimestampCodec.PlanEncode(m, oid, format, pgtype.Timestamp{})
		if next == nil {
			return nil
		}
		return utcEncodePlan{next: next}
	}
	return c.TimestampCodec.PlanEncode(m, oid, format, value)
}

type utcEncodePlan struct{ next pgtype.EncodePlan }

func (p utcEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgtype.Timestamp{Time: value.(time.Time).UTC(), Valid: true}, buf)
}

// PostgreSQL error codes the store reacts to.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgAdminShutdown        = "57P01"
	pgCrashShutdown        = "57P02"
	pgCannotConnectNow     = "57P03"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
