package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// maxTxAttempts bounds how often InTx runs a transaction that keeps conflicting. Under
// SERIALIZABLE only one of N transactions updating the same row wins each round, so a hot row
// needs several rounds; the jittered backoff spreads the losers out. Ten attempts settle 20
// concurrent writers of one row (tested) in well under a second; past that the caller gets the
// error rather than a request that hangs.
const maxTxAttempts = 10

// InTx runs fn in a transaction and commits it, or rolls it back if fn returns an error (which
// InTx returns as is) or panics (the panic continues).
//
// On PostgreSQL the transaction is SERIALIZABLE; on SQLite it holds the write lock from BEGIN.
// Either way fn sees the database as if alone, so read-check-write closures need no FOR UPDATE.
// When the engine reports a conflict (PostgreSQL 40001 or 40P01, SQLite busy) InTx runs fn
// again, up to 10 times with a short jittered backoff: fn must have no effects outside tx.
// A database that cannot be reached gives an errs.Unavailable error.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, sql.LevelSerializable, fn)
}

// InTxLocking is InTx for a transaction that locks every row it reads before it changes it
// (SELECT ... FOR UPDATE, on PostgreSQL) and guards each write with what it read (a version).
// On PostgreSQL it runs READ COMMITTED: every statement sees the rows as last committed and the
// locks keep them so, and the transaction does not conflict with others over rows it never
// touched. SERIALIZABLE tracks every row read, and a transaction that reads thousands of rows
// (a batch job) has its read locks promoted to the whole table, so that two of them running at
// once fail each other. On SQLite it is InTx.
func (db *DB) InTxLocking(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, sql.LevelReadCommitted, fn)
}

func (db *DB) inTx(ctx context.Context, isolation sql.IsolationLevel, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if db.engine == Postgres {
		opts = &sql.TxOptions{Isolation: isolation}
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = db.runTx(ctx, opts, fn)
		if err == nil || !isRetryable(err) || attempt == maxTxAttempts {
			break
		}
		// 2ms, 4ms, ... capped at 128ms, each ±50%: enough for the winner to commit.
		backoff := time.Duration(1<<min(attempt, 7)) * time.Millisecond
		backoff = backoff/2 + rand.N(backoff) //nolint:gosec // G404: retry jitter, not a secret
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
	}
	return MapError(err)
}

func (db *DB) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// The rollback error adds nothing: the transaction is gone either way.
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		committed = true // a failed COMMIT already ended the transaction
		return fmt.Errorf("store: commit: %w", err)
	}
	committed = true
	return nil
}
