// Package idempotency makes retries of mutating RPCs safe: a request_id chosen by the client is
// mapped to the response of the first request that carried it, in the service's own database.
//
// The first request with a given (scope, request_id) claims it and runs; a retry with the same
// request gets the stored response without running the handler again, also while the first is
// still running (it waits a little); the same request_id with a different request is refused
// with ALREADY_EXISTS / REQUEST_ID_REUSED. UnaryServerInterceptor applies this to every RPC whose
// request has a request_id field.
//
// Only successful responses are stored. When the handler fails the claim is deleted, so a retry
// runs the handler again. Replaying errors would pin a transient failure (UNAVAILABLE, a
// deadline, a precondition that a moment later holds, such as "customer not created yet") to the
// request_id for good and force the client to invent a new ID, which is exactly the unsafe retry
// this package exists to prevent. It is sound because a failed handler leaves nothing behind: it
// writes in one transaction, and the order saga compensates what it did before failing.
package idempotency

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the goose version table of this package's migrations, apart from the service's
// own so that both sets live in the service's database.
const VersionTable = "idempotency_schema_version"

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// Lease is how long a claim stays valid while its handler runs (default 2 minutes). A pending
	// claim older than this is taken over by the next retry, so a crash mid-request does not
	// block its request_id forever. It must comfortably exceed the slowest handler (the order
	// saga), or a slow first run and a retry could both execute.
	Lease time.Duration
	// Wait is how long a retry waits for a concurrent first run to finish before giving up with
	// ABORTED (default 5 seconds; the request's deadline also bounds it).
	Wait time.Duration
	// Now is the wall clock (default time.Now). Leases are about processes, not business time, so
	// this should not be the fake clock a test service can move by days.
	Now func() time.Time
	// OnError receives errors that cannot reach a caller: a response that could not be stored
	// after its handler succeeded, a claim that could not be released. Default: slog at ERROR.
	OnError func(ctx context.Context, err error)
}

// Store records request IDs and their responses.
type Store struct {
	db   *store.DB
	opts Options
}

// New returns a Store in db, applying its migration first.
func New(ctx context.Context, db *store.DB, opts Options) (*Store, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	if err := db.Migrate(ctx, sub, VersionTable); err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Wait <= 0 {
		opts.Wait = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnError == nil {
		opts.OnError = func(ctx context.Context, err error) {
			slog.ErrorContext(ctx, "idempotency", "err", err)
		}
	}
	return &Store{db: db, opts: opts}, nil
}

// Poll intervals while another caller's claim is pending: quick at first (most handlers take
// milliseconds), then backing off so many waiting retries do not hammer the database.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 200 * time.Millisecond
)

// Begin claims (scope, requestID) for a request whose fingerprint identifies its content.
//
//   - claimed == true: the caller is first (or takes over a claim whose lease ran out). It runs
//     the request and then calls Complete with the response, or Abandon if it failed.
//   - claimed == false: the same request already completed; stored is its response. If it is
//     still running, Begin waits up to Options.Wait for it, then returns an errs.Aborted error.
//   - an errs.AlreadyExists error with reason REQUEST_ID_REUSED: the ID belongs to a different
//     request.
func (s *Store) Begin(ctx context.Context, scope, requestID string, fingerprint []byte) (stored []byte, claimed bool, err error) {
	// The wait is measured on the monotonic clock, not Options.Now, which a test may hold still.
	waitUntil := time.Now().Add(s.opts.Wait)
	poll := firstPoll
	for {
		now := s.opts.Now()
		res, err := s.db.ExecContext(ctx,
			`INSERT INTO idempotency_keys (scope, request_id, fingerprint, state, claim, lease_until, created_at)
			 VALUES ($1, $2, $3, 'pending', 1, $4, $5)
			 ON CONFLICT (scope, request_id) DO NOTHING`,
			scope, requestID, fingerprint, now.Add(s.opts.Lease), now)
		if err != nil {
			return nil, false, s.dbError("claim", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, false, s.dbError("claim", err)
		} else if n == 1 {
			return nil, true, nil
		}

		var (
			fp       []byte
			state    string
			claim    int64
			lease    time.Time
			response []byte
		)
		err = s.db.QueryRowContext(ctx,
			`SELECT fingerprint, state, claim, lease_until, response FROM idempotency_keys
			 WHERE scope = $1 AND request_id = $2`, scope, requestID).
			Scan(&fp, &state, &claim, &lease, &response)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue // abandoned since our insert: try to claim again
		case err != nil:
			return nil, false, s.dbError("read claim", err)
		case !bytes.Equal(fp, fingerprint):
			return nil, false, errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
				"request_id %s was already used for a different request", requestID).
				With("request_id", requestID)
		case state == "done":
			if response == nil {
				response = []byte{} // an empty response is stored as NULL by SQLite
			}
			return response, false, nil
		case !now.Before(lease):
			// The claimer died (or overran its lease): take over, unless another retry won.
			res, err := s.db.ExecContext(ctx,
				`UPDATE idempotency_keys SET claim = claim + 1, lease_until = $4
				 WHERE scope = $1 AND request_id = $2 AND state = 'pending' AND claim = $3`,
				scope, requestID, claim, now.Add(s.opts.Lease))
			if err != nil {
				return nil, false, s.dbError("take over claim", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return nil, true, nil
			}
			continue
		}

		if !time.Now().Add(poll).Before(waitUntil) {
			return nil, false, errs.New(errs.Aborted, errs.ReasonRequestInProgress,
				"a request with request_id %s is still in progress; retry later", requestID).
				With("request_id", requestID)
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, maxPoll)
	}
}

// Complete stores the response of a claimed request; later retries get it from Begin.
func (s *Store) Complete(ctx context.Context, scope, requestID string, response []byte) error {
	if response == nil {
		response = []byte{}
	}
	res, err := s.db.ExecContext(ctx,
		`UPDATE idempotency_keys SET state = 'done', response = $3
		 WHERE scope = $1 AND request_id = $2 AND state = 'pending'`,
		scope, requestID, response)
	if err != nil {
		return s.dbError("complete", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.dbError("complete", err)
	} else if n != 1 {
		return fmt.Errorf("idempotency: complete %s/%s: no pending claim (abandoned or completed already)", scope, requestID)
	}
	return nil
}

// Abandon releases the claim of a request that failed, so that a retry runs it again.
func (s *Store) Abandon(ctx context.Context, scope, requestID string) error {
	if _, err := s.db.ExecContext(ctx,
		`DELETE FROM idempotency_keys WHERE scope = $1 AND request_id = $2 AND state = 'pending'`,
		scope, requestID); err != nil {
		return s.dbError("abandon", err)
	}
	return nil
}

// Purge deletes the records created before t and reports how many. Clients retry within minutes;
// a service purges what is older than its retention (days) now and then.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, before)
	if err != nil {
		return 0, s.dbError("purge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.dbError("purge", err)
	}
	return n, nil
}

func (s *Store) dbError(op string, err error) error {
	return store.MapError(fmt.Errorf("idempotency: %s: %w", op, err))
}
