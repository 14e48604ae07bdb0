package store

import (
	"context"
	"fmt"
	"hash/crc64"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrate applies the goose SQL migrations in the root of fsys (NNN_name.sql files, each starting
// with "-- +goose Up"; typically fs.Sub of an embed.FS) that the database does not have yet.
//
// versionTable names the table where goose records what it applied. Each migration set has its
// own (a service's "orders_schema_version", pkg/idempotency's "idempotency_schema_version"), so
// sets maintained in different places share one database without their version numbers
// colliding.
//
// On PostgreSQL a session advisory lock, keyed by the version table, serializes replicas that
// start at the same time. On SQLite every migration's transaction takes the write lock.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS, versionTable string) error {
	if !isIdentifier(versionTable) {
		return fmt.Errorf("store: migrate: invalid version table name %q", versionTable)
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true), // no Go migrations registered by init() elsewhere
		goose.WithLogger(goose.NopLogger()),
	}
	dialect := goose.DialectSQLite3
	if db.engine == Postgres {
		dialect = goose.DialectPostgres
		id := int64(crc64.Checksum([]byte("partnerhub/"+versionTable), crc64.MakeTable(crc64.ECMA)) >> 1)
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id))
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", versionTable, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", versionTable, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return MapError(fmt.Errorf("store: migrate %s: %w", versionTable, err))
	}
	return nil
}

// isIdentifier keeps a version table name a plain lower-case SQL identifier: goose splices it
// into its statements unquoted.
func isIdentifier(s string) bool {
	if s == "" || len(s) > 63 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
