// Package sql is identity's repository on pkg/store (SQLite or PostgreSQL, one dialect).
package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Repo implements app.Repository.
type Repo struct{ db *store.DB }

// New returns the repository over db.
func New(db *store.DB) *Repo { return &Repo{db: db} }

var _ app.Repository = (*Repo)(nil)

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return app.ErrNotFound
	}
	return store.MapError(err)
}

// SigningKeys implements app.Repository.
func (r *Repo) SigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	rows, err := r.db.QueryContext(ctx, `
		SELECT id, private_key, public_key, not_before, sign_until, not_after
		FROM signing_keys ORDER BY not_before`)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list signing keys: %w", err))
	}
	defer rows.Close()
	var out []domain.SigningKey
	for rows.Next() {
		var k domain.SigningKey
		var priv, pub []byte
		if err := rows.Scan(&k.ID, &priv, &pub, &k.NotBefore, &k.SignUntil, &k.NotAfter); err != nil {
			return nil, fmt.Errorf("scan signing key: %w", err)
		}
		k.Private, k.Public = priv, pub
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddSigningKey implements app.Repository.
func (r *Repo) AddSigningKey(ctx context.Context, k domain.SigningKey, now time.Time) error {
	_, err := r.db.ExecContext(ctx, `
		INSERT INTO signing_keys (id, private_key, public_key, not_before, sign_until, not_after, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, []byte(k.Private), []byte(k.Public), store.Time(k.NotBefore), store.Time(k.SignUntil), store.Time(k.NotAfter), store.Time(now))
	return store.MapError(err)
}

// Partner implements app.Repository.
func (r *Repo) Partner(ctx context.Context, id string) (domain.Partner, error) {
	var p domain.Partner
	var programs string
	err := r.db.QueryRowContext(ctx, `
		SELECT id, legal_name, country_code, programs, etag, created_at, updated_at
		FROM partners WHERE id = $1`, id).
		Scan(&p.ID, &p.LegalName, &p.CountryCode, &programs, &p.Etag, &p.CreateTime, &p.UpdateTime)
	if err != nil {
		return domain.Partner{}, notFound(err)
	}
	p.Programs = domain.SplitNames[domain.Program](programs)
	return p, nil
}

// AddPartnerWithAdmin implements app.Repository.
func (r *Repo) AddPartnerWithAdmin(ctx context.Context, p domain.Partner, u domain.User, clientID string, hash []byte) error {
	return r.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO partners (id, legal_name, country_code, programs, etag, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			p.ID, p.LegalName, p.CountryCode, domain.JoinNames(p.Programs), p.Etag, store.Time(p.CreateTime), store.Time(p.UpdateTime)); err != nil {
			return fmt.Errorf("insert partner: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO users (id, org_id, org_kind, user_name, display_name, roles, disabled, etag, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			u.ID, u.OrgID, string(u.OrgKind), u.UserName, u.DisplayName, domain.JoinNames(u.Roles), u.Disabled,
			u.Etag, store.Time(u.CreateTime), store.Time(u.UpdateTime)); err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO api_credentials (client_id, user_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)`,
			clientID, u.ID, hash, store.Time(p.CreateTime)); err != nil {
			return fmt.Errorf("insert credential: %w", err)
		}
		return nil
	})
}

// User implements app.Repository.
func (r *Repo) User(ctx context.Context, id string) (domain.User, error) {
	var u domain.User
	var kind, roles string
	err := r.db.QueryRowContext(ctx, `
		SELECT id, org_id, org_kind, user_name, display_name, roles, disabled, etag, created_at, updated_at
		FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.OrgID, &kind, &u.UserName, &u.DisplayName, &roles, &u.Disabled, &u.Etag, &u.CreateTime, &u.UpdateTime)
	if err != nil {
		return domain.User{}, notFound(err)
	}
	u.OrgKind = auth.OrgKind(kind)
	u.Roles = domain.SplitNames[auth.Role](roles)
	return u, nil
}

// Credential implements app.Repository.
func (r *Repo) Credential(ctx context.Context, clientID string) (string, []byte, error) {
	var userID string
	var hash []byte
	err := r.db.QueryRowContext(ctx, `
		SELECT user_id, secret_hash FROM api_credentials WHERE client_id = $1 AND revoked_at IS NULL`, clientID).
		Scan(&userID, &hash)
	if err != nil {
		return "", nil, notFound(err)
	}
	return userID, hash, nil
}
