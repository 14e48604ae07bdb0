package sql

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// The activity log (KD-6), append-only: nothing here updates or deletes a record. A record holds
// a masked key at most (KD-8).

const activityCols = `id, action, actor_user_id, actor_display_name, actor_org_id, actor_org_kind, actor_roles,
	partner_id, customer_id, entitlement_id, key_id, masked_key, product_name, variant_id, link_id, occur_time,
	peer_address, user_agent, refusal_reason`

// roleSeparator separates the actor's roles in actor_roles. Role names (auth.Role) are upper-case
// words and underscores, so it never occurs in one; a role that holds it is refused rather than
// read back as two.
const roleSeparator = ","

func scanActivity(row store.Scanner) (domain.Activity, error) {
	var a domain.Activity
	var action, roles string
	if err := row.Scan(&a.ID, &action, &a.Actor.UserID, &a.Actor.DisplayName, &a.Actor.OrgID, &a.Actor.OrgKind,
		&roles, &a.PartnerID, &a.CustomerID, &a.EntitlementID, &a.KeyID, &a.MaskedKey, &a.ProductName,
		&a.VariantID, &a.LinkID, &a.Time, &a.PeerAddress, &a.UserAgent, &a.RefusalReason); err != nil {
		return domain.Activity{}, err
	}
	a.Action, a.Time = domain.ActivityAction(action), a.Time.UTC()
	if roles != "" {
		a.Actor.Roles = strings.Split(roles, roleSeparator)
	}
	return a, nil
}

// AppendActivity implements app.Tx. The request is the conflict target (the partial index
// activity_request), so that on both engines a second record of a request is refused without
// failing the statement: PostgreSQL would otherwise abort the whole transaction (SQLite not), and
// the caller could not read the first record (ActivityOfRequest) in it. A record ID in use is
// ALREADY_EXISTS too.
func (t *tx) AppendActivity(ctx context.Context, a domain.Activity, scope, requestID string) error {
	for _, r := range a.Actor.Roles {
		if r == "" || strings.Contains(r, roleSeparator) {
			return fmt.Errorf("append activity %s: role %q is empty or holds %q", a.ID, r, roleSeparator)
		}
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO activity (`+activityCols+`, scope, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		ON CONFLICT (scope, request_id) WHERE request_id <> '' DO NOTHING`,
		a.ID, string(a.Action), a.Actor.UserID, a.Actor.DisplayName, a.Actor.OrgID, a.Actor.OrgKind,
		strings.Join(a.Actor.Roles, roleSeparator), a.PartnerID, a.CustomerID, a.EntitlementID, a.KeyID, a.MaskedKey,
		a.ProductName, a.VariantID, a.LinkID, store.Time(a.Time), a.PeerAddress, a.UserAgent, a.RefusalReason,
		scope, requestID)
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "activity record %q already exists", a.ID).Wrap(err)
	}
	if n, err := store.Affected(res, err, "append activity "+a.ID); err != nil {
		return err
	} else if n == 0 {
		return errs.New(errs.AlreadyExists, "", "request %q already has an activity record", requestID).
			With("request_id", requestID)
	}
	return nil
}

// ActivityOfRequest implements app.Tx, from the activity_request index.
func (t *tx) ActivityOfRequest(ctx context.Context, scope, requestID string) (domain.Activity, bool, error) {
	if requestID == "" {
		return domain.Activity{}, false, nil // records of no request are many, and none is the one
	}
	return store.FindOne(ctx, t.q, "activity of request "+requestID, scanActivity,
		`SELECT `+activityCols+` FROM activity WHERE scope = $1 AND request_id = $2`, scope, requestID)
}

// Activities implements app.Store. The partner and customer filters use the (partner_id |
// customer_id, occur_time, id) indexes, which give the date range and the keyset order too; the
// other filters apply to the rows of that range.
func (s *Store) Activities(ctx context.Context, q app.ActivityQuery) ([]domain.Activity, error) {
	var a store.Args
	where := store.Equalities(&a, nil, store.Filter{Col: "partner_id", Value: q.PartnerID},
		store.Filter{Col: "customer_id", Value: q.CustomerID}, store.Filter{Col: "actor_user_id", Value: q.UserID})
	if len(q.Actions) > 0 {
		actions := make([]string, len(q.Actions))
		for i, act := range q.Actions {
			actions[i] = string(act)
		}
		where = append(where, "action IN ("+store.InList(&a, actions)+")")
	}
	if !q.Start.IsZero() {
		where = append(where, "occur_time >= "+a.Arg(store.Time(q.Start)))
	}
	if !q.End.IsZero() {
		where = append(where, "occur_time < "+a.Arg(store.Time(q.End)))
	}
	if cond, ok := store.KeysetAfter(&a, "occur_time", q.AfterTime, q.AfterID); ok {
		where = append(where, cond)
	}
	return store.ListRows(ctx, s.db, "activity", scanActivity, `SELECT `+activityCols+` FROM activity`+store.Where(where)+
		` ORDER BY occur_time, id`+store.Limit(&a, q.Limit), a...)
}
