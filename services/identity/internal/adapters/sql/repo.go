// Package sql is identity's repository on pkg/store (SQLite or PostgreSQL, one dialect).
package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	err := r.db.QueryRowContext(ctx, `
		SELECT id, legal_name, country_code, etag, created_at, updated_at
		FROM partners WHERE id = $1`, id).
		Scan(&p.ID, &p.LegalName, &p.CountryCode, &p.Etag, &p.CreateTime, &p.UpdateTime)
	if err != nil {
		return domain.Partner{}, notFound(err)
	}
	if p.Enrolments, err = enrolments(ctx, r.db, id); err != nil {
		return domain.Partner{}, store.MapError(err)
	}
	return p, nil
}

// AddPartnerWithAdmin implements app.Repository. A user name in use is USER_NAME_TAKEN; the
// partner and the credential have fresh random keys, so the user name is the only unique key the
// transaction can hit.
func (r *Repo) AddPartnerWithAdmin(ctx context.Context, p domain.Partner, u domain.User, c domain.Credential) error {
	return store.MapError(r.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO partners (id, legal_name, country_code, etag, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, p.LegalName, p.CountryCode, p.Etag, store.Time(p.CreateTime), store.Time(p.UpdateTime)); err != nil {
			return fmt.Errorf("insert partner: %w", err)
		}
		for _, e := range p.Enrolments {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO partner_programs (partner_id, program, enrolled_at) VALUES ($1, $2, $3)`,
				p.ID, string(e.Program), store.Time(e.Time)); err != nil {
				return fmt.Errorf("insert enrolment: %w", err)
			}
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return userNameTaken(err, u.UserName)
		}
		return insertCredential(ctx, tx, c)
	}))
}

// User implements app.Repository.
func (r *Repo) User(ctx context.Context, id string) (domain.User, error) {
	u, err := scanUser(r.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return domain.User{}, notFound(err)
	}
	return u, nil
}

// Credential implements app.Repository.
func (r *Repo) Credential(ctx context.Context, clientID string) (domain.Credential, error) {
	c, err := scanCredential(r.db.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE client_id = $1`, clientID))
	if err != nil {
		return domain.Credential{}, notFound(err)
	}
	return c, nil
}
