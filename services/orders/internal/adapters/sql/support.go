package sql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
)

// Support requests (OR-6; migrations/003_support_requests.sql): one row per request, every field
// a column. The *Store methods below implement support.Store together with Store.Order.

var _ support.Store = (*Store)(nil)

const supportCols = `id, request_id, customer_id, customer_domain, partner_id, opened_by_kind, opened_by,
	order_id, subscription_id, refund_reason, reason_details, amount_minor, currency,
	contact_name, contact_email, contact_phone, title, state, resolution, version, created_at, updated_at`

func supportValues(r support.Request) []any {
	return []any{r.ID, r.RequestID, r.CustomerID, r.CustomerDomain, r.PartnerID, string(r.OpenedByKind),
		r.OpenedBy, r.OrderID, r.SubscriptionID, string(r.RefundReason), r.ReasonDetails, r.Amount.Minor,
		r.Amount.Currency, r.Contact.Name, r.Contact.Email, r.Contact.Phone, r.Title, string(r.State),
		r.Resolution, r.Version, store.Time(r.CreateTime), store.Time(r.UpdateTime)}
}

func scanSupport(row store.Scanner) (support.Request, error) {
	var r support.Request
	var kind, reason, state string
	err := row.Scan(&r.ID, &r.RequestID, &r.CustomerID, &r.CustomerDomain, &r.PartnerID, &kind, &r.OpenedBy,
		&r.OrderID, &r.SubscriptionID, &reason, &r.ReasonDetails, &r.Amount.Minor, &r.Amount.Currency,
		&r.Contact.Name, &r.Contact.Email, &r.Contact.Phone, &r.Title, &state, &r.Resolution, &r.Version,
		&r.CreateTime, &r.UpdateTime)
	if err != nil {
		return support.Request{}, err
	}
	r.OpenedByKind = auth.OrgKind(kind)
	r.RefundReason = support.RefundReason(reason)
	r.State = support.State(state)
	r.CreateTime, r.UpdateTime = r.CreateTime.UTC(), r.UpdateTime.UTC()
	return r, nil
}

// InsertSupportRequest implements support.Store. The (scope, request_id) UNIQUE constraint is the
// conflict target, so that on both engines a second request of the same request ID inserts
// nothing without failing the statement; the first one is then read back and returned. A
// support request ID in use (a bug: IDs are fresh UUIDs) is ALREADY_EXISTS.
func (s *Store) InsertSupportRequest(ctx context.Context, scope string, r support.Request) (support.Request, bool, error) {
	if r.Version != 1 {
		return support.Request{}, false, fmt.Errorf("insert support request %s: version %d, want 1", r.ID, r.Version)
	}
	var (
		out      support.Request
		inserted bool
	)
	err := s.db.InTx(ctx, func(q *sql.Tx) error {
		res, err := q.ExecContext(ctx, `INSERT INTO support_requests (`+supportCols+`, scope)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			$20, $21, $22, $23)
			ON CONFLICT (scope, request_id) DO NOTHING`, append(supportValues(r), scope)...)
		if store.IsUniqueViolation(err) {
			return errs.New(errs.AlreadyExists, "", "support request %q already exists", r.ID).Wrap(err)
		}
		n, err := store.Affected(res, err, "insert support request "+r.ID)
		if err != nil {
			return err
		}
		inserted = n == 1
		// Read back in both cases: the inserted row as stored (times at the engines' precision),
		// or the request's first one.
		got, ok, err := supportOfRequest(ctx, q, scope, r.RequestID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("insert support request %s: request %s has no row after the insert", r.ID, r.RequestID)
		}
		out = got
		return nil
	})
	if err != nil {
		return support.Request{}, false, err
	}
	return out, inserted, nil
}

// SupportRequestOfRequest implements support.Store, from the (scope, request_id) UNIQUE index.
func (s *Store) SupportRequestOfRequest(ctx context.Context, scope, requestID string) (support.Request, bool, error) {
	return supportOfRequest(ctx, s.db, scope, requestID)
}

func supportOfRequest(ctx context.Context, q store.Querier, scope, requestID string) (support.Request, bool, error) {
	return store.FindOne(ctx, q, "support request of request "+requestID, scanSupport,
		`SELECT `+supportCols+` FROM support_requests WHERE scope = $1 AND request_id = $2`, scope, requestID)
}

// SupportRequests implements support.Store, newest first. The partner and customer filters use
// the (partner_id | customer_id, created_at, id) indexes, read backwards, which also give the
// keyset order.
func (s *Store) SupportRequests(ctx context.Context, q support.Query) ([]support.Request, error) {
	var a store.Args
	where := store.Equalities(&a, nil,
		store.Filter{Col: "partner_id", Value: q.PartnerID},
		store.Filter{Col: "customer_id", Value: q.CustomerID},
		store.Filter{Col: "order_id", Value: q.OrderID},
		store.Filter{Col: "subscription_id", Value: q.SubscriptionID})
	if len(q.States) > 0 {
		states := make([]string, len(q.States))
		for i, st := range q.States {
			states[i] = string(st)
		}
		where = append(where, "state IN ("+store.InList(&a, states)+")")
	}
	if !q.Start.IsZero() {
		where = append(where, "created_at >= "+a.Arg(store.Time(q.Start)))
	}
	if !q.End.IsZero() {
		where = append(where, "created_at < "+a.Arg(store.Time(q.End)))
	}
	if cond, ok := store.Keyset(&a, "created_at", "<", q.BeforeTime, q.BeforeID); ok {
		where = append(where, cond)
	}
	query := `SELECT ` + supportCols + ` FROM support_requests` + store.Where(where) +
		` ORDER BY created_at DESC, id DESC` + store.Limit(&a, q.Limit)
	return store.ListRows(ctx, s.db, "support requests", scanSupport, query, a...)
}
