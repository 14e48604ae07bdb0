package sql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Partners, users and API credentials (app.OrgRepo) beyond the token path in repo.go.

// rolePattern matches one role in the comma-separated users.roles column: the column is wrapped
// in commas, so ",GLOBAL_ADMIN," never matches inside ",CUSTOMER_GLOBAL_ADMIN,". Role names are
// upper case on both sides, so LIKE's case rules (insensitive on SQLite, sensitive on
// PostgreSQL) agree; '_' is escaped so it matches only itself.
func rolePattern(r auth.Role) string {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(string(r))
	return "%," + esc + ",%"
}

const holdsRole = `(',' || roles || ',') LIKE %s ESCAPE '\'`

// ListPartners implements app.OrgRepo.
func (r *Repo) ListPartners(ctx context.Context, f app.PartnerFilter, limit int) ([]domain.Partner, error) {
	var a store.Args
	where := []string{"TRUE"}
	if f.CountryCode != "" {
		where = append(where, "p.country_code = "+a.Arg(f.CountryCode))
	}
	if f.Program != "" {
		where = append(where, "EXISTS (SELECT 1 FROM partner_programs pp WHERE pp.partner_id = p.id AND pp.program = "+a.Arg(string(f.Program))+")")
	}
	if !f.AfterCreateTime.IsZero() {
		t, id := a.Arg(store.Time(f.AfterCreateTime)), a.Arg(f.AfterID)
		where = append(where, fmt.Sprintf("(p.created_at > %s OR (p.created_at = %s AND p.id > %s))", t, t, id))
	}
	rows, err := r.db.QueryContext(ctx, `
		SELECT p.id, p.legal_name, p.country_code, p.etag, p.created_at, p.updated_at
		FROM partners p WHERE `+strings.Join(where, " AND ")+`
		ORDER BY p.created_at, p.id LIMIT `+a.Arg(limit), a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list partners: %w", err))
	}
	defer rows.Close()
	var out []domain.Partner
	for rows.Next() {
		var p domain.Partner
		if err := rows.Scan(&p.ID, &p.LegalName, &p.CountryCode, &p.Etag, &p.CreateTime, &p.UpdateTime); err != nil {
			return nil, fmt.Errorf("scan partner: %w", err)
		}
		out = append(out, p)
	}
	rows.Close() // now, before the enrolments' query below (the deferred Close is then a no-op)
	if err := rows.Err(); err != nil {
		return nil, store.MapError(fmt.Errorf("list partners: %w", err))
	}
	// One query per partner would be up to 500 round trips for a full page; the enrolments of
	// the page are small, so fetch them all at once.
	if err := r.loadEnrolments(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadEnrolments fills in the enrolments of partners with one query.
func (r *Repo) loadEnrolments(ctx context.Context, partners []domain.Partner) error {
	if len(partners) == 0 {
		return nil
	}
	var a store.Args
	idx := make(map[string]int, len(partners))
	ph := make([]string, len(partners))
	for i, p := range partners {
		idx[p.ID] = i
		ph[i] = a.Arg(p.ID)
	}
	rows, err := r.db.QueryContext(ctx, `SELECT partner_id, program, enrolled_at FROM partner_programs WHERE partner_id IN (`+strings.Join(ph, ", ")+`)`, a...)
	if err != nil {
		return store.MapError(fmt.Errorf("list enrolments: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id, prog string
		var t time.Time
		if err := rows.Scan(&id, &prog, &t); err != nil {
			return fmt.Errorf("scan enrolment: %w", err)
		}
		p := &partners[idx[id]]
		p.Enrolments = append(p.Enrolments, domain.Enrolment{Program: domain.Program(prog), Time: t})
	}
	if err := rows.Err(); err != nil {
		return store.MapError(fmt.Errorf("list enrolments: %w", err))
	}
	for i := range partners {
		slices.SortFunc(partners[i].Enrolments, func(a, b domain.Enrolment) int {
			return domain.ProgramOrder(a.Program) - domain.ProgramOrder(b.Program)
		})
	}
	return nil
}

// UpdatePartner implements app.OrgRepo.
func (r *Repo) UpdatePartner(ctx context.Context, id string, update func(p *domain.Partner) (bool, error)) (domain.Partner, error) {
	var out domain.Partner
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		var p domain.Partner
		if err := tx.QueryRowContext(ctx, `
			SELECT id, legal_name, country_code, etag, created_at, updated_at FROM partners WHERE id = $1`, id).
			Scan(&p.ID, &p.LegalName, &p.CountryCode, &p.Etag, &p.CreateTime, &p.UpdateTime); err != nil {
			return notFound(err)
		}
		var err error
		if p.Enrolments, err = enrolments(ctx, tx, id); err != nil {
			return err
		}
		changed, err := update(&p)
		if err != nil || !changed {
			out = p
			return err
		}
		// Replacing the rows keeps every kept program's time: the domain carried it over.
		if _, err := tx.ExecContext(ctx, `DELETE FROM partner_programs WHERE partner_id = $1`, id); err != nil {
			return fmt.Errorf("delete enrolments: %w", err)
		}
		for _, e := range p.Enrolments {
			if _, err := tx.ExecContext(ctx, `INSERT INTO partner_programs (partner_id, program, enrolled_at) VALUES ($1, $2, $3)`,
				id, string(e.Program), store.Time(e.Time)); err != nil {
				return fmt.Errorf("insert enrolment: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE partners SET legal_name = $2, etag = $3, updated_at = $4 WHERE id = $1`,
			id, p.LegalName, p.Etag, store.Time(p.UpdateTime)); err != nil {
			return fmt.Errorf("update partner: %w", err)
		}
		out = p
		return nil
	})
	return out, err
}

// Org implements app.OrgRepo: an ID is looked up among partners and customers.
func (r *Repo) Org(ctx context.Context, id string) (domain.Org, error) {
	o := domain.Org{ID: id}
	var kind string
	err := r.db.QueryRowContext(ctx, `
		SELECT 'PARTNER', '' FROM partners WHERE id = $1
		UNION ALL
		SELECT 'CUSTOMER', default_domain FROM customers WHERE id = $1`, id).Scan(&kind, &o.DefaultDomain)
	if err != nil {
		return domain.Org{}, notFound(err)
	}
	o.Kind = auth.OrgKind(kind)
	return o, nil
}

// ActiveReseller implements app.OrgRepo.
func (r *Repo) ActiveReseller(ctx context.Context, partnerID, customerID string) (bool, error) {
	var n int
	err := r.db.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM reseller_relationships WHERE partner_id = $1 AND customer_id = $2 AND state = 'ACTIVE'`,
		partnerID, customerID).Scan(&n)
	if err != nil {
		return false, store.MapError(fmt.Errorf("reseller relationship: %w", err))
	}
	return n > 0, nil
}

// AddUser implements app.OrgRepo.
func (r *Repo) AddUser(ctx context.Context, u domain.User) error {
	return userNameTaken(insertUser(ctx, r.db, u), u.UserName)
}

// userNameTaken turns the unique violation of a user insert into USER_NAME_TAKEN: the user ID is
// a fresh UUID, so users.user_name is the only unique key such an insert can hit.
func userNameTaken(err error, name string) error {
	if store.IsUniqueViolation(err) {
		return domain.ErrUserNameTaken(name)
	}
	return store.MapError(err)
}

// ListUsers implements app.OrgRepo.
func (r *Repo) ListUsers(ctx context.Context, f app.UserFilter, limit int) ([]domain.User, error) {
	var a store.Args
	where := []string{"org_id = " + a.Arg(f.OrgID)}
	if f.Role != "" {
		where = append(where, fmt.Sprintf(holdsRole, a.Arg(rolePattern(f.Role))))
	}
	if f.Disabled != nil {
		where = append(where, "disabled = "+a.Arg(*f.Disabled))
	}
	if f.AfterUserName != "" {
		where = append(where, "user_name > "+a.Arg(f.AfterUserName))
	}
	rows, err := r.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+strings.Join(where, " AND ")+
		` ORDER BY user_name LIMIT `+a.Arg(limit), a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list users: %w", err))
	}
	return store.Collect(rows, "users", scanUser)
}

// UpdateUser implements app.OrgRepo. The count of the other active top admins is read in the
// same transaction as the write (SERIALIZABLE on PostgreSQL, the write lock on SQLite), so two
// admins demoting each other at once cannot both succeed.
func (r *Repo) UpdateUser(ctx context.Context, id string, update func(u *domain.User, otherTopAdmins int) (bool, error)) (domain.User, error) {
	var out domain.User
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
		if err != nil {
			return notFound(err)
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE org_id = $1 AND id <> $2 AND disabled = FALSE AND `+
			fmt.Sprintf(holdsRole, "$3"), u.OrgID, u.ID, rolePattern(domain.TopAdminRole(u.OrgKind))).Scan(&others); err != nil {
			return fmt.Errorf("count admins: %w", err)
		}
		changed, err := update(&u, others)
		if err != nil || !changed {
			out = u
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE users SET display_name = $2, email = $3, roles = $4, disabled = $5, disabled_at = $6, etag = $7, updated_at = $8
			WHERE id = $1`,
			u.ID, u.DisplayName, u.Email, domain.JoinNames(u.Roles), u.Disabled, store.NullTime(u.DisableTime), u.Etag,
			store.Time(u.UpdateTime)); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		out = u
		return nil
	})
	return out, err
}

// CredentialByID implements app.OrgRepo.
func (r *Repo) CredentialByID(ctx context.Context, id string) (domain.Credential, error) {
	c, err := scanCredential(r.db.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE id = $1`, id))
	if err != nil {
		return domain.Credential{}, notFound(err)
	}
	return c, nil
}

// AddCredential implements app.OrgRepo.
func (r *Repo) AddCredential(ctx context.Context, c domain.Credential) error {
	return store.MapError(insertCredential(ctx, r.db, c))
}

// ListCredentials implements app.OrgRepo. The state filter is StateAt in SQL, at f.Now:
// revoked wins over expired, expired means expires_at <= now, and a NULL expires_at (credentials
// older than expiry, e.g. the demo's) never expires.
func (r *Repo) ListCredentials(ctx context.Context, f app.CredentialFilter, limit int) ([]domain.Credential, error) {
	var a store.Args
	where := []string{"user_id = " + a.Arg(f.UserID)}
	switch f.State {
	case domain.CredentialRevoked:
		where = append(where, "revoked_at IS NOT NULL")
	case domain.CredentialExpired:
		where = append(where, "revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= "+a.Arg(store.Time(f.Now)))
	case domain.CredentialActive:
		where = append(where, "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > "+a.Arg(store.Time(f.Now))+")")
	}
	if !f.BeforeCreateTime.IsZero() {
		t, id := a.Arg(store.Time(f.BeforeCreateTime)), a.Arg(f.BeforeID)
		where = append(where, fmt.Sprintf("(created_at < %s OR (created_at = %s AND id < %s))", t, t, id))
	}
	rows, err := r.db.QueryContext(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT `+a.Arg(limit), a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list credentials: %w", err))
	}
	return store.Collect(rows, "credentials", scanCredential)
}

// UpdateCredential implements app.OrgRepo.
func (r *Repo) UpdateCredential(ctx context.Context, id string, update func(c *domain.Credential) (bool, error)) (domain.Credential, error) {
	var out domain.Credential
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		c, err := scanCredential(tx.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE id = $1`, id))
		if err != nil {
			return notFound(err)
		}
		changed, err := update(&c)
		if err != nil || !changed {
			out = c
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE credentials SET display_name = $2, expires_at = $3, revoked_at = $4, etag = $5, updated_at = $6 WHERE id = $1`,
			c.ID, c.DisplayName, store.NullTime(c.ExpireTime), store.NullTime(c.RevokeTime), c.Etag, store.Time(c.UpdateTime)); err != nil {
			return fmt.Errorf("update credential: %w", err)
		}
		out = c
		return nil
	})
	return out, err
}

// TouchCredential implements app.OrgRepo. It changes neither etag nor update time: using a
// credential is not a change anyone could conflict with.
func (r *Repo) TouchCredential(ctx context.Context, id string, at time.Time) error {
	_, err := r.db.ExecContext(ctx, `UPDATE credentials SET last_used_at = $2 WHERE id = $1`, id, store.Time(at))
	return store.MapError(err)
}
