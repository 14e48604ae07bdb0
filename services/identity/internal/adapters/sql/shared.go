package sql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// The statements several repositories share: organisations are created together with their
// first user and credential, inside the caller's transaction.

func insertUser(ctx context.Context, db store.Querier, u domain.User) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO users (id, org_id, org_kind, user_name, display_name, email, roles, disabled, disabled_at, etag, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		u.ID, u.OrgID, string(u.OrgKind), u.UserName, u.DisplayName, u.Email, domain.JoinNames(u.Roles), u.Disabled,
		store.NullTime(u.DisableTime), u.Etag, store.Time(u.CreateTime), store.Time(u.UpdateTime))
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

func insertCredential(ctx context.Context, db store.Querier, c domain.Credential) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO credentials (id, client_id, user_id, org_id, display_name, secret_hash, expires_at, revoked_at, last_used_at, etag, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.ID, c.ClientID, c.UserID, c.OrgID, c.DisplayName, c.SecretHash, store.NullTime(c.ExpireTime), store.NullTime(c.RevokeTime),
		store.NullTime(c.LastUseTime), c.Etag, store.Time(c.CreateTime), store.Time(c.UpdateTime))
	if err != nil {
		return fmt.Errorf("insert credential: %w", err)
	}
	return nil
}

// userColumns is the column list scanUser reads.
const userColumns = `id, org_id, org_kind, user_name, display_name, email, roles, disabled, disabled_at, etag, created_at, updated_at`

func scanUser(row store.Scanner) (domain.User, error) {
	var u domain.User
	var kind, roles string
	var disabledAt sql.NullTime
	if err := row.Scan(&u.ID, &u.OrgID, &kind, &u.UserName, &u.DisplayName, &u.Email, &roles, &u.Disabled, &disabledAt,
		&u.Etag, &u.CreateTime, &u.UpdateTime); err != nil {
		return domain.User{}, err
	}
	u.OrgKind = auth.OrgKind(kind)
	u.Roles = domain.SplitNames[auth.Role](roles)
	u.DisableTime = store.TimeOf(disabledAt)
	return u, nil
}

// credentialColumns is the column list scanCredential reads.
const credentialColumns = `id, client_id, user_id, org_id, display_name, secret_hash, expires_at, revoked_at, last_used_at, etag, created_at, updated_at` //nolint:gosec // G101: column names, no credential

func scanCredential(row store.Scanner) (domain.Credential, error) {
	var c domain.Credential
	var exp, rev, used sql.NullTime
	if err := row.Scan(&c.ID, &c.ClientID, &c.UserID, &c.OrgID, &c.DisplayName, &c.SecretHash, &exp, &rev, &used,
		&c.Etag, &c.CreateTime, &c.UpdateTime); err != nil {
		return domain.Credential{}, err
	}
	c.ExpireTime, c.RevokeTime, c.LastUseTime = store.TimeOf(exp), store.TimeOf(rev), store.TimeOf(used)
	return c, nil
}

// enrolments loads the program enrolments of a partner, ordered by program (ID-1).
func enrolments(ctx context.Context, db store.Querier, partnerID string) ([]domain.Enrolment, error) {
	rows, err := db.QueryContext(ctx, `SELECT program, enrolled_at FROM partner_programs WHERE partner_id = $1`, partnerID)
	if err != nil {
		return nil, fmt.Errorf("list enrolments: %w", err)
	}
	defer rows.Close()
	var out []domain.Enrolment
	for rows.Next() {
		var e domain.Enrolment
		var prog string
		if err := rows.Scan(&prog, &e.Time); err != nil {
			return nil, fmt.Errorf("scan enrolment: %w", err)
		}
		e.Program = domain.Program(prog)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b domain.Enrolment) int {
		return domain.ProgramOrder(a.Program) - domain.ProgramOrder(b.Program)
	})
	return out, rows.Err()
}
