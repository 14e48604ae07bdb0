package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// The tenant side of identity: customers (ID-2), reseller relationships (ID-4), invitations and
// customer moves (ID-5, ID-7). Every read-check-write runs in store.InTx, which serialises it
// against concurrent writers on both engines, so the closures from the app see a stable row.

// --- customers ---

const customerColumns = `c.id, c.organisation_name, c.country_code, c.default_domain, c.admin_user_id,
	c.created_by_partner_id, c.partner_managed, c.contact_name, c.contact_email, c.contact_phone, c.etag,
	c.created_at, c.updated_at`

func scanCustomer(row store.Scanner) (domain.Customer, error) {
	var c domain.Customer
	err := row.Scan(&c.ID, &c.OrganisationName, &c.CountryCode, &c.DefaultDomain, &c.AdminUserID,
		&c.CreatedByPartnerID, &c.PartnerManaged, &c.Contact.Name, &c.Contact.Email, &c.Contact.Phone, &c.Etag,
		&c.CreateTime, &c.UpdateTime)
	return c, err
}

func insertCustomer(ctx context.Context, db store.Querier, c domain.Customer) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO customers (id, organisation_name, name_folded, country_code, default_domain, admin_user_id,
			created_by_partner_id, partner_managed, contact_name, contact_email, contact_phone, etag, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, c.OrganisationName, domain.FoldOrganisationName(c.OrganisationName), c.CountryCode, c.DefaultDomain,
		c.AdminUserID, c.CreatedByPartnerID, c.PartnerManaged, c.Contact.Name, c.Contact.Email, c.Contact.Phone,
		c.Etag, store.Time(c.CreateTime), store.Time(c.UpdateTime))
	if err != nil {
		return fmt.Errorf("insert customer: %w", err)
	}
	return nil
}

// countsAny runs a SELECT COUNT(*) and reports whether it counted anything.
func countsAny(ctx context.Context, db store.Querier, query string, args ...any) (bool, error) {
	var n int64
	if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("count: %w", err)
	}
	return n > 0, nil
}

// CreateCustomer implements app.TenantRepo. The domain and user name are checked before the
// inserts so the answer names the conflict; the unique indexes still decide a race between two
// creations, and the statement that hits one says which conflict it was.
func (r *Repo) CreateCustomer(ctx context.Context, c domain.Customer, admin domain.User, cred domain.Credential, rel *domain.Relationship) error {
	return store.MapError(r.db.InTx(ctx, func(tx *sql.Tx) error {
		if taken, err := countsAny(ctx, tx, `SELECT COUNT(*) FROM customers WHERE default_domain = $1`, c.DefaultDomain); err != nil {
			return err
		} else if taken {
			return domain.CustomerDomainTaken(c.DefaultDomain)
		}
		if taken, err := countsAny(ctx, tx, `SELECT COUNT(*) FROM users WHERE user_name = $1`, admin.UserName); err != nil {
			return err
		} else if taken {
			return domain.ErrUserNameTaken(admin.UserName)
		}
		if err := insertCustomer(ctx, tx, c); err != nil {
			if store.IsUniqueViolation(err) {
				return domain.CustomerDomainTaken(c.DefaultDomain)
			}
			return err
		}
		if err := insertUser(ctx, tx, admin); err != nil {
			if store.IsUniqueViolation(err) {
				return domain.ErrUserNameTaken(admin.UserName)
			}
			return err
		}
		if err := insertCredential(ctx, tx, cred); err != nil {
			return err
		}
		if rel != nil {
			return insertRelationship(ctx, tx, *rel)
		}
		return nil
	}))
}

// Customer implements app.TenantRepo.
func (r *Repo) Customer(ctx context.Context, id string) (domain.Customer, error) {
	c, err := scanCustomer(r.db.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers c WHERE c.id = $1`, id))
	if err != nil {
		return domain.Customer{}, notFound(err)
	}
	return c, nil
}

// DefaultDomainInUse implements app.TenantRepo.
func (r *Repo) DefaultDomainInUse(ctx context.Context, defaultDomain string) (bool, error) {
	taken, err := countsAny(ctx, r.db, `SELECT COUNT(*) FROM customers WHERE default_domain = $1`, defaultDomain)
	return taken, store.MapError(err)
}

// tenantWhere builds a WHERE clause with numbered placeholders (Arg).
type tenantWhere struct {
	store.Args
	conds []string
}

func (q *tenantWhere) where(cond string) { q.conds = append(q.conds, cond) }

func (q *tenantWhere) clause() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}

// likeContains is a LIKE pattern matching s anywhere, with LIKE's wildcards in s escaped.
// Patterns run only against lower-cased columns with a lower-cased s, where LIKE behaves the
// same on both engines (see pkg/store).
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// ListCustomers implements app.TenantRepo.
func (r *Repo) ListCustomers(ctx context.Context, f app.CustomerFilter, limit int) ([]domain.Customer, error) {
	var q tenantWhere
	if f.PartnerID != "" {
		q.where(`EXISTS (SELECT 1 FROM reseller_relationships r WHERE r.customer_id = c.id AND r.partner_id = ` +
			q.Arg(f.PartnerID) + ` AND r.state = 'ACTIVE')`)
	}
	if f.CustomerID != "" {
		q.where(`c.id = ` + q.Arg(f.CustomerID))
	}
	if f.CountryCode != "" {
		q.where(`c.country_code = ` + q.Arg(f.CountryCode))
	}
	if f.DefaultDomain != "" {
		q.where(`c.default_domain = ` + q.Arg(f.DefaultDomain))
	}
	if f.NameContains != "" {
		q.where(`c.name_folded LIKE ` + q.Arg(likeContains(f.NameContains)) + ` ESCAPE '\'`)
	}
	if f.AfterID != "" {
		name := q.Arg(f.AfterName)
		q.where(`(c.organisation_name > ` + name + ` OR (c.organisation_name = ` + name + ` AND c.id > ` + q.Arg(f.AfterID) + `))`)
	}
	rows, err := r.db.QueryContext(ctx, `SELECT `+customerColumns+` FROM customers c`+q.clause()+
		` ORDER BY c.organisation_name, c.id LIMIT `+q.Arg(limit), q.Args...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list customers: %w", err))
	}
	return store.Collect(rows, "customers", scanCustomer)
}

// UpdateCustomer implements app.TenantRepo. Only the changeable fields are written: country and
// default domain never change (ID-2).
func (r *Repo) UpdateCustomer(ctx context.Context, id string, update func(c *domain.Customer) (bool, error)) (domain.Customer, error) {
	var out domain.Customer
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		c, err := scanCustomer(tx.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers c WHERE c.id = $1`, id))
		if err != nil {
			return notFound(err)
		}
		changed, err := update(&c)
		if err != nil {
			return err
		}
		if changed {
			if _, err := tx.ExecContext(ctx, `
				UPDATE customers SET organisation_name = $2, name_folded = $3, contact_name = $4, contact_email = $5,
					contact_phone = $6, etag = $7, updated_at = $8
				WHERE id = $1`,
				c.ID, c.OrganisationName, domain.FoldOrganisationName(c.OrganisationName), c.Contact.Name, c.Contact.Email,
				c.Contact.Phone, c.Etag, store.Time(c.UpdateTime)); err != nil {
				return fmt.Errorf("update customer: %w", err)
			}
		}
		out = c
		return nil
	})
	return out, store.MapError(err)
}

// --- reseller relationships ---

// relationshipSelect reads relationships with their display names; the foreign keys guarantee
// the joined rows.
const relationshipSelect = `
	SELECT r.id, r.partner_id, p.legal_name, r.customer_id, c.organisation_name, r.state, r.origin, r.invitation_id,
		r.started_at, r.ended_at, r.removed_by_user_id, r.etag, r.created_at, r.updated_at
	FROM reseller_relationships r
	JOIN partners p ON p.id = r.partner_id
	JOIN customers c ON c.id = r.customer_id`

func scanRelationship(row store.Scanner) (domain.Relationship, error) {
	var rel domain.Relationship
	var state, origin string
	var ended sql.NullTime
	err := row.Scan(&rel.ID, &rel.PartnerID, &rel.PartnerLegalName, &rel.CustomerID, &rel.CustomerOrganisationName,
		&state, &origin, &rel.InvitationID, &rel.StartTime, &ended, &rel.RemovedByUserID, &rel.Etag,
		&rel.CreateTime, &rel.UpdateTime)
	rel.State, rel.Origin, rel.EndTime = domain.RelationshipState(state), domain.RelationshipOrigin(origin), store.TimeOf(ended)
	return rel, err
}

func insertRelationship(ctx context.Context, db store.Querier, rel domain.Relationship) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO reseller_relationships (id, partner_id, customer_id, state, origin, invitation_id, started_at,
			ended_at, removed_by_user_id, etag, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		rel.ID, rel.PartnerID, rel.CustomerID, string(rel.State), string(rel.Origin), rel.InvitationID,
		store.Time(rel.StartTime), store.NullTime(rel.EndTime), rel.RemovedByUserID, rel.Etag,
		store.Time(rel.CreateTime), store.Time(rel.UpdateTime))
	if err != nil {
		if store.IsUniqueViolation(err) { // the partial index: one ACTIVE relationship per pair
			return domain.RelationshipExists(rel.PartnerID, rel.CustomerID)
		}
		return fmt.Errorf("insert relationship: %w", err)
	}
	return nil
}

// writeRelationship stores the changeable fields of a relationship.
func writeRelationship(ctx context.Context, db store.Querier, rel domain.Relationship) error {
	if _, err := db.ExecContext(ctx, `
		UPDATE reseller_relationships SET state = $2, ended_at = $3, removed_by_user_id = $4, etag = $5, updated_at = $6
		WHERE id = $1`,
		rel.ID, string(rel.State), store.NullTime(rel.EndTime), rel.RemovedByUserID, rel.Etag, store.Time(rel.UpdateTime)); err != nil {
		return fmt.Errorf("update relationship: %w", err)
	}
	return nil
}

// latestRelationship returns the pair's ACTIVE relationship, else the one that ended last. Times
// may tie under a fake clock, so the ACTIVE one is found by its state, not by its start time.
func latestRelationship(ctx context.Context, db store.Querier, partnerID, customerID string) (domain.Relationship, error) {
	rel, err := scanRelationship(db.QueryRowContext(ctx, relationshipSelect+`
		WHERE r.partner_id = $1 AND r.customer_id = $2
		ORDER BY CASE WHEN r.state = 'ACTIVE' THEN 0 ELSE 1 END, r.ended_at DESC, r.started_at DESC, r.id DESC
		LIMIT 1`, partnerID, customerID))
	return rel, notFound(err)
}

// Relationship implements app.TenantRepo.
func (r *Repo) Relationship(ctx context.Context, id string) (domain.Relationship, error) {
	rel, err := scanRelationship(r.db.QueryRowContext(ctx, relationshipSelect+` WHERE r.id = $1`, id))
	if err != nil {
		return domain.Relationship{}, notFound(err)
	}
	return rel, nil
}

// LatestRelationship implements app.TenantRepo.
func (r *Repo) LatestRelationship(ctx context.Context, partnerID, customerID string) (domain.Relationship, error) {
	rel, err := latestRelationship(ctx, r.db, partnerID, customerID)
	return rel, store.MapError(err)
}

// ListRelationships implements app.TenantRepo.
func (r *Repo) ListRelationships(ctx context.Context, f app.RelationshipFilter, limit int) ([]domain.Relationship, error) {
	var q tenantWhere
	if f.PartnerID != "" {
		q.where(`r.partner_id = ` + q.Arg(f.PartnerID))
	}
	if f.CustomerID != "" {
		q.where(`r.customer_id = ` + q.Arg(f.CustomerID))
	}
	states := make([]string, len(f.States))
	for i, s := range f.States {
		states[i] = q.Arg(string(s))
	}
	q.where(`r.state IN (` + strings.Join(states, ", ") + `)`)
	if f.AfterID != "" {
		t := q.Arg(store.Time(f.AfterStartTime))
		q.where(`(r.started_at > ` + t + ` OR (r.started_at = ` + t + ` AND r.id > ` + q.Arg(f.AfterID) + `))`)
	}
	rows, err := r.db.QueryContext(ctx, relationshipSelect+q.clause()+` ORDER BY r.started_at, r.id LIMIT `+q.Arg(limit), q.Args...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list relationships: %w", err))
	}
	return store.Collect(rows, "relationships", scanRelationship)
}

// UpdateRelationship implements app.TenantRepo.
func (r *Repo) UpdateRelationship(ctx context.Context, id string, update func(r *domain.Relationship) (bool, error)) (domain.Relationship, error) {
	var out domain.Relationship
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		rel, err := scanRelationship(tx.QueryRowContext(ctx, relationshipSelect+` WHERE r.id = $1`, id))
		if err != nil {
			return notFound(err)
		}
		changed, err := update(&rel)
		if err != nil {
			return err
		}
		if changed {
			if err := writeRelationship(ctx, tx, rel); err != nil {
				return err
			}
		}
		out = rel
		return nil
	})
	return out, store.MapError(err)
}

// --- invitations ---

const invitationSelect = `
	SELECT i.id, i.partner_id, p.legal_name, p.country_code, i.code, i.message, i.state, i.expires_at,
		i.accepted_by_customer_id, i.accepted_at, i.relationship_id, i.created_by_user_id, i.etag, i.created_at, i.updated_at
	FROM invitations i
	JOIN partners p ON p.id = i.partner_id`

func scanInvitation(row store.Scanner) (domain.Invitation, error) {
	var inv domain.Invitation
	var state string
	var accepted sql.NullTime
	err := row.Scan(&inv.ID, &inv.PartnerID, &inv.PartnerLegalName, &inv.PartnerCountryCode, &inv.Code, &inv.Message,
		&state, &inv.ExpireTime, &inv.AcceptedByCustomerID, &accepted, &inv.RelationshipID, &inv.CreatedByUserID,
		&inv.Etag, &inv.CreateTime, &inv.UpdateTime)
	inv.State, inv.AcceptTime = domain.InvitationState(state), store.TimeOf(accepted)
	return inv, err
}

// AddInvitation implements app.TenantRepo.
func (r *Repo) AddInvitation(ctx context.Context, inv domain.Invitation) error {
	_, err := r.db.ExecContext(ctx, `
		INSERT INTO invitations (id, partner_id, code, message, state, expires_at, accepted_by_customer_id, accepted_at,
			relationship_id, created_by_user_id, etag, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		inv.ID, inv.PartnerID, inv.Code, inv.Message, string(inv.State), store.Time(inv.ExpireTime),
		inv.AcceptedByCustomerID, store.NullTime(inv.AcceptTime), inv.RelationshipID, inv.CreatedByUserID, inv.Etag,
		store.Time(inv.CreateTime), store.Time(inv.UpdateTime))
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "the invitation code is in use").Wrap(err)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("insert invitation: %w", err))
	}
	return nil
}

// Invitation implements app.TenantRepo.
func (r *Repo) Invitation(ctx context.Context, id string) (domain.Invitation, error) {
	inv, err := scanInvitation(r.db.QueryRowContext(ctx, invitationSelect+` WHERE i.id = $1`, id))
	if err != nil {
		return domain.Invitation{}, notFound(err)
	}
	return inv, nil
}

// InvitationByCode implements app.TenantRepo.
func (r *Repo) InvitationByCode(ctx context.Context, code string) (domain.Invitation, error) {
	inv, err := scanInvitation(r.db.QueryRowContext(ctx, invitationSelect+` WHERE i.code = $1`, code))
	if err != nil {
		return domain.Invitation{}, notFound(err)
	}
	return inv, nil
}

// ListInvitations implements app.TenantRepo. A PENDING row past its expiry counts as EXPIRED,
// as domain.Invitation.StateAt says, so the filter agrees with the states shown.
func (r *Repo) ListInvitations(ctx context.Context, f app.InvitationFilter, limit int) ([]domain.Invitation, error) {
	var q tenantWhere
	q.where(`i.partner_id = ` + q.Arg(f.PartnerID))
	switch f.State {
	case "":
	case domain.InvitationPending:
		q.where(`i.state = 'PENDING' AND i.expires_at > ` + q.Arg(store.Time(f.Now)))
	case domain.InvitationExpired:
		q.where(`(i.state = 'EXPIRED' OR (i.state = 'PENDING' AND i.expires_at <= ` + q.Arg(store.Time(f.Now)) + `))`)
	default:
		q.where(`i.state = ` + q.Arg(string(f.State)))
	}
	if f.BeforeID != "" {
		t := q.Arg(store.Time(f.BeforeCreateTime))
		q.where(`(i.created_at < ` + t + ` OR (i.created_at = ` + t + ` AND i.id < ` + q.Arg(f.BeforeID) + `))`)
	}
	rows, err := r.db.QueryContext(ctx, invitationSelect+q.clause()+` ORDER BY i.created_at DESC, i.id DESC LIMIT `+q.Arg(limit), q.Args...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list invitations: %w", err))
	}
	return store.Collect(rows, "invitations", scanInvitation)
}

// writeInvitation stores the changeable fields of an invitation, only while it is PENDING: the
// conditional update is what makes a code single use whatever the isolation level (ID-4). It
// reports whether the row was still PENDING.
func writeInvitation(ctx context.Context, db store.Querier, inv domain.Invitation) (bool, error) {
	res, err := db.ExecContext(ctx, `
		UPDATE invitations SET state = $2, accepted_by_customer_id = $3, accepted_at = $4, relationship_id = $5,
			etag = $6, updated_at = $7
		WHERE id = $1 AND state = 'PENDING'`,
		inv.ID, string(inv.State), inv.AcceptedByCustomerID, store.NullTime(inv.AcceptTime), inv.RelationshipID, inv.Etag,
		store.Time(inv.UpdateTime))
	if err != nil {
		return false, fmt.Errorf("update invitation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update invitation: %w", err)
	}
	return n == 1, nil
}

// UpdateInvitation implements app.TenantRepo.
func (r *Repo) UpdateInvitation(ctx context.Context, id string, update func(inv *domain.Invitation) (bool, error)) (domain.Invitation, error) {
	var out domain.Invitation
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvitation(tx.QueryRowContext(ctx, invitationSelect+` WHERE i.id = $1`, id))
		if err != nil {
			return notFound(err)
		}
		changed, err := update(&inv)
		if err != nil {
			return err
		}
		if changed {
			if ok, err := writeInvitation(ctx, tx, inv); err != nil {
				return err
			} else if !ok {
				return domain.InvitationAlreadyUsed(inv.State)
			}
		}
		out = inv
		return nil
	})
	return out, store.MapError(err)
}

// partnerIn reads a partner with its enrolments inside tx.
func partnerIn(ctx context.Context, tx *sql.Tx, id string) (domain.Partner, error) {
	var p domain.Partner
	err := tx.QueryRowContext(ctx, `
		SELECT id, legal_name, country_code, etag, created_at, updated_at FROM partners WHERE id = $1`, id).
		Scan(&p.ID, &p.LegalName, &p.CountryCode, &p.Etag, &p.CreateTime, &p.UpdateTime)
	if err != nil {
		return domain.Partner{}, notFound(err)
	}
	p.Enrolments, err = enrolments(ctx, tx, id)
	return p, err
}

// AcceptInvitation implements app.TenantRepo.
func (r *Repo) AcceptInvitation(ctx context.Context, code string, c domain.Customer,
	accept func(inv *domain.Invitation, p domain.Partner, hasActive bool) (domain.Relationship, error)) (domain.Invitation, domain.Relationship, error) {
	var outInv domain.Invitation
	var outRel domain.Relationship
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvitation(tx.QueryRowContext(ctx, invitationSelect+` WHERE i.code = $1`, code))
		if err != nil {
			return notFound(err)
		}
		p, err := partnerIn(ctx, tx, inv.PartnerID)
		if err != nil {
			return err
		}
		hasActive, err := countsAny(ctx, tx, `
			SELECT COUNT(*) FROM reseller_relationships WHERE partner_id = $1 AND customer_id = $2 AND state = 'ACTIVE'`,
			inv.PartnerID, c.ID)
		if err != nil {
			return err
		}
		rel, err := accept(&inv, p, hasActive)
		if err != nil {
			return err
		}
		if ok, err := writeInvitation(ctx, tx, inv); err != nil {
			return err
		} else if !ok { // another accept or a withdrawal got there first
			return domain.InvitationAlreadyUsed(domain.InvitationAccepted)
		}
		if err := insertRelationship(ctx, tx, rel); err != nil {
			return err
		}
		outInv, outRel = inv, rel
		return nil
	})
	return outInv, outRel, store.MapError(err)
}

// --- moves ---

// MoveCustomer implements app.TenantRepo.
func (r *Repo) MoveCustomer(ctx context.Context, customerID, sourcePartnerID, targetPartnerID string,
	move func(targetLatest, sourceActive *domain.Relationship) (domain.CustomerMove, error)) (domain.CustomerMove, domain.Relationship, error) {
	var outMove domain.CustomerMove
	var outRel domain.Relationship
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		var target, source *domain.Relationship
		if rel, err := latestRelationship(ctx, tx, targetPartnerID, customerID); err == nil {
			target = &rel
		} else if !errors.Is(err, app.ErrNotFound) {
			return err
		}
		if rel, err := latestRelationship(ctx, tx, sourcePartnerID, customerID); err == nil && rel.State == domain.RelationshipActive {
			source = &rel
		} else if err != nil && !errors.Is(err, app.ErrNotFound) {
			return err
		}
		m, err := move(target, source)
		if err != nil {
			return err
		}
		if target == nil || source == nil { // move refuses both cases; this guards the writes below
			return errors.New("move without the target's and the source's relationships")
		}
		if err := writeRelationship(ctx, tx, *source); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO customer_moves (id, customer_id, source_partner_id, target_partner_id, source_relationship_id,
				target_relationship_id, country_code, moved_by_user_id, moved_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			m.ID, m.CustomerID, m.SourcePartnerID, m.TargetPartnerID, m.SourceRelationshipID, m.TargetRelationshipID,
			m.CountryCode, m.MovedByUserID, store.Time(m.MoveTime)); err != nil {
			return fmt.Errorf("insert customer move: %w", err)
		}
		outMove, outRel = m, *target
		return nil
	})
	return outMove, outRel, store.MapError(err)
}
