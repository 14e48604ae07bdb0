// Package sql is delegatedadmin's repository on pkg/store (SQLite or PostgreSQL, one dialect).
package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// Repo implements app.Repository.
type Repo struct{ db *store.DB }

// New returns the repository over db.
func New(db *store.DB) *Repo { return &Repo{db: db} }

var _ app.Repository = (*Repo)(nil)

// execer is a *sql.Tx or *store.DB.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func notFound(id string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFoundf("relationship", id)
	}
	return store.MapError(fmt.Errorf("read relationship %s: %w", id, err))
}

// columns is the column list scan reads.
const columns = `id, partner_id, customer_id, display_name, roles, legacy_full_admin, duration_days,
	auto_extend_days, message, state, approval_link, offer_expires_at, activated_at, ends_at, extend_count,
	last_extended_at, closed_at, terminated_by, created_by_user_id, decided_by_user_id, close_reason, etag,
	created_at, updated_at`

func scan(row store.Scanner) (domain.Relationship, error) {
	var r domain.Relationship
	var roles, state, terminatedBy string
	var activated, ends, lastExtended, closed sql.NullTime
	if err := row.Scan(&r.ID, &r.PartnerID, &r.CustomerID, &r.DisplayName, &roles, &r.LegacyFullAdmin,
		&r.DurationDays, &r.AutoExtendDays, &r.Message, &state, &r.ApprovalLink, &r.OfferExpireTime,
		&activated, &ends, &r.ExtendCount, &lastExtended, &closed, &terminatedBy, &r.CreatedByUserID,
		&r.DecidedByUserID, &r.CloseReason, &r.Etag, &r.CreateTime, &r.UpdateTime); err != nil {
		return domain.Relationship{}, err
	}
	r.Roles = splitRoles(roles)
	r.State, r.TerminatedBy = domain.State(state), domain.Party(terminatedBy)
	r.ActivateTime, r.EndTime = store.TimeOf(activated), store.TimeOf(ends)
	r.LastExtendTime, r.CloseTime = store.TimeOf(lastExtended), store.TimeOf(closed)
	r.OfferExpireTime, r.CreateTime, r.UpdateTime = r.OfferExpireTime.UTC(), r.CreateTime.UTC(), r.UpdateTime.UTC()
	return r, nil
}

func scanAll(rows *sql.Rows) ([]domain.Relationship, error) {
	return store.Collect(rows, "relationships", scan)
}

// Add implements app.Repository.
func (r *Repo) Add(ctx context.Context, rel domain.Relationship) error {
	_, err := r.db.ExecContext(ctx, `
		INSERT INTO relationships (id, partner_id, customer_id, display_name, roles, role_mask, legacy_full_admin,
			duration_days, auto_extend_days, message, state, approval_link, offer_expires_at, activated_at, ends_at,
			extend_count, last_extended_at, closed_at, terminated_by, created_by_user_id, decided_by_user_id,
			close_reason, next_transition_at, etag, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
			$22, $23, $24, $25, $26)`,
		rel.ID, rel.PartnerID, rel.CustomerID, rel.DisplayName, joinRoles(rel.Roles), roleMask(rel.Roles...),
		rel.LegacyFullAdmin, rel.DurationDays, rel.AutoExtendDays, rel.Message, string(rel.State), rel.ApprovalLink,
		store.Time(rel.OfferExpireTime), store.NullTime(rel.ActivateTime), store.NullTime(rel.EndTime), rel.ExtendCount,
		store.NullTime(rel.LastExtendTime), store.NullTime(rel.CloseTime), string(rel.TerminatedBy), rel.CreatedByUserID,
		rel.DecidedByUserID, rel.CloseReason, nextTransition(rel), rel.Etag, store.Time(rel.CreateTime),
		store.Time(rel.UpdateTime))
	if err != nil {
		// IDs are fresh UUIDs: a duplicate is a bug, not a conflict a client could resolve.
		return store.MapError(fmt.Errorf("insert relationship %s: %w", rel.ID, err))
	}
	return nil
}

// Get implements app.Repository.
func (r *Repo) Get(ctx context.Context, id string) (domain.Relationship, error) {
	return get(ctx, r.db, id)
}

func get(ctx context.Context, db execer, id string) (domain.Relationship, error) {
	rel, err := scan(db.QueryRowContext(ctx, `SELECT `+columns+` FROM relationships WHERE id = $1`, id))
	if err != nil {
		return domain.Relationship{}, notFound(id, err)
	}
	return rel, nil
}

// Update implements app.Repository: the read, fn and the write share one transaction
// (SERIALIZABLE on PostgreSQL, the write lock on SQLite), so nothing can change the row between
// fn's decision and its write.
func (r *Repo) Update(ctx context.Context, id string, fn func(domain.Relationship) (domain.Relationship, error)) (domain.Relationship, error) {
	var out domain.Relationship
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if next.ID != cur.ID {
			return fmt.Errorf("update relationship %s: the update changed the ID to %s", cur.ID, next.ID)
		}
		out = next
		if next.Etag == cur.Etag {
			return nil // nothing changed
		}
		ok, err := save(ctx, tx, cur.Etag, next)
		if err != nil {
			return err
		}
		if !ok { // unreachable inside the transaction; refuse rather than lose a write
			return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "relationship %s changed concurrently", id)
		}
		return nil
	})
	if err != nil {
		return domain.Relationship{}, err
	}
	return out, nil
}

// SaveTransition implements app.Repository.
func (r *Repo) SaveTransition(ctx context.Context, oldEtag string, rel domain.Relationship) (bool, error) {
	return save(ctx, r.db, oldEtag, rel)
}

// save writes every field that can change, if the row still carries oldEtag.
func save(ctx context.Context, db execer, oldEtag string, rel domain.Relationship) (bool, error) {
	res, err := db.ExecContext(ctx, `
		UPDATE relationships SET state = $3, activated_at = $4, ends_at = $5, extend_count = $6,
			last_extended_at = $7, closed_at = $8, terminated_by = $9, decided_by_user_id = $10,
			close_reason = $11, next_transition_at = $12, etag = $13, updated_at = $14
		WHERE id = $1 AND etag = $2`,
		rel.ID, oldEtag, string(rel.State), store.NullTime(rel.ActivateTime), store.NullTime(rel.EndTime), rel.ExtendCount,
		store.NullTime(rel.LastExtendTime), store.NullTime(rel.CloseTime), string(rel.TerminatedBy), rel.DecidedByUserID,
		rel.CloseReason, nextTransition(rel), rel.Etag, store.Time(rel.UpdateTime))
	if err != nil {
		return false, store.MapError(fmt.Errorf("update relationship %s: %w", rel.ID, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, store.MapError(fmt.Errorf("update relationship %s: %w", rel.ID, err))
	}
	return n == 1, nil
}

// ForPair implements app.Repository.
func (r *Repo) ForPair(ctx context.Context, partnerID, customerID string) ([]domain.Relationship, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+columns+` FROM relationships
		WHERE partner_id = $1 AND customer_id = $2`, partnerID, customerID)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("relationships of a pair: %w", err))
	}
	return scanAll(rows)
}

// List implements app.Repository. The WHERE clause names only the filters in use, so each query
// shape can use its index (partner or customer, then created_at, id).
func (r *Repo) List(ctx context.Context, f app.ListFilter) ([]domain.Relationship, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.PartnerID != "" {
		where = append(where, "partner_id = "+arg(f.PartnerID))
	}
	if f.CustomerID != "" {
		where = append(where, "customer_id = "+arg(f.CustomerID))
	}
	if len(f.States) > 0 {
		ps := make([]string, len(f.States))
		for i, s := range f.States {
			ps[i] = arg(string(s))
		}
		where = append(where, "state IN ("+strings.Join(ps, ", ")+")")
	}
	if f.Role != "" {
		// GLOBAL_ADMINISTRATOR grants every role, so it matches every role filter.
		where = append(where, "(role_mask & "+arg(roleMask(f.Role, domain.RoleGlobalAdministrator))+") <> 0")
	}
	if f.AfterID != "" {
		t, id := arg(store.Time(f.AfterCreate)), arg(f.AfterID)
		where = append(where, "(created_at < "+t+" OR (created_at = "+t+" AND id < "+id+"))")
	}
	q := `SELECT ` + columns + ` FROM relationships`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(f.Limit)
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list relationships: %w", err))
	}
	return scanAll(rows)
}

// Due implements app.Repository.
func (r *Repo) Due(ctx context.Context, now time.Time, limit int) ([]domain.Relationship, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+columns+` FROM relationships
		WHERE next_transition_at IS NOT NULL AND next_transition_at <= $1
		ORDER BY next_transition_at, id LIMIT $2`, store.Time(now), limit)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("due relationships: %w", err))
	}
	return scanAll(rows)
}

// nextTransition is the next_transition_at column of a relationship: the domain's schedule, or
// NULL when the clock never changes it again.
func nextTransition(rel domain.Relationship) any {
	if t, ok := rel.NextTransition(); ok {
		return store.Time(t)
	}
	return nil
}

// roleMask is the role_mask bits of roles: 1 << the role's position in the contract enum.
func roleMask(roles ...domain.Role) int64 {
	var m int64
	for _, r := range roles {
		if i := domain.RoleIndex(r); i >= 0 {
			m |= 1 << i
		}
	}
	return m
}

func joinRoles(roles []domain.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func splitRoles(s string) []domain.Role {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]domain.Role, len(parts))
	for i, p := range parts {
		out[i] = domain.Role(p)
	}
	return out
}
