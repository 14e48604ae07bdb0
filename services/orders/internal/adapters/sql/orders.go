package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// ---- JSON of failures and cancellations ----

// failureJSON is domain.Failure as stored in a failure column.
type failureJSON struct {
	Reason   string            `json:"reason"`
	Message  string            `json:"message,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Step     string            `json:"step,omitempty"`
}

// encodeFailure is the JSON of f, nil for none. An empty metadata map reads back as nil.
func encodeFailure(f *domain.Failure) ([]byte, error) {
	if f == nil {
		return nil, nil
	}
	b, err := json.Marshal(failureJSON{Reason: string(f.Reason), Message: f.Message, Metadata: f.Metadata,
		Step: string(f.Step)})
	if err != nil {
		return nil, fmt.Errorf("encode failure: %w", err)
	}
	return b, nil
}

// decodeFailure is the inverse of encodeFailure for a scanned column.
func decodeFailure(s sql.NullString) (*domain.Failure, error) {
	if !s.Valid {
		return nil, nil
	}
	var j failureJSON
	if err := json.Unmarshal([]byte(s.String), &j); err != nil {
		return nil, fmt.Errorf("decode failure: %w", err)
	}
	return &domain.Failure{Reason: errs.Reason(j.Reason), Message: j.Message, Metadata: j.Metadata,
		Step: domain.Step(j.Step)}, nil
}

// cancellationJSON is domain.LineCancellation as stored in order_lines.cancellation; times in
// store.Time, omitted when zero.
type cancellationJSON struct {
	Route                 string     `json:"route"`
	RequestTime           *time.Time `json:"request_time,omitempty"`
	CompleteTime          *time.Time `json:"complete_time,omitempty"`
	SubscriptionCancelled bool       `json:"subscription_cancelled"`
	EntitlementsRevoked   bool       `json:"entitlements_revoked"`
	CreditRecorded        bool       `json:"credit_recorded"`
	CreditMinor           int64      `json:"credit_minor"`
	CreditCurrency        string     `json:"credit_currency,omitempty"`
	Reason                string     `json:"reason,omitempty"`
}

func encodeCancellation(c *domain.LineCancellation) ([]byte, error) {
	if c == nil {
		return nil, nil
	}
	b, err := json.Marshal(cancellationJSON{Route: string(c.Route), RequestTime: nullTimePtr(c.RequestTime),
		CompleteTime: nullTimePtr(c.CompleteTime), SubscriptionCancelled: c.SubscriptionCancelled,
		EntitlementsRevoked: c.EntitlementsRevoked, CreditRecorded: c.CreditRecorded, CreditMinor: c.Credit.Minor,
		CreditCurrency: c.Credit.Currency, Reason: c.Reason})
	if err != nil {
		return nil, fmt.Errorf("encode cancellation: %w", err)
	}
	return b, nil
}

func decodeCancellation(s sql.NullString) (*domain.LineCancellation, error) {
	if !s.Valid {
		return nil, nil
	}
	var j cancellationJSON
	if err := json.Unmarshal([]byte(s.String), &j); err != nil {
		return nil, fmt.Errorf("decode cancellation: %w", err)
	}
	return &domain.LineCancellation{Route: domain.CancelRoute(j.Route), RequestTime: timeOfPtr(j.RequestTime),
		CompleteTime: timeOfPtr(j.CompleteTime), SubscriptionCancelled: j.SubscriptionCancelled,
		EntitlementsRevoked: j.EntitlementsRevoked, CreditRecorded: j.CreditRecorded,
		Credit: domain.Money{Minor: j.CreditMinor, Currency: j.CreditCurrency}, Reason: j.Reason}, nil
}

// ---- orders ----

// orderCols are the columns scanOrder reads, in the order orderValues binds them ($1..$15);
// scope and request_id are bound apart (InsertOrder).
const orderCols = `id, partner_id, customer_id, country_code, placed_by, state, tax_inclusive, failure,
	cancellation_pending, partner_reference, request_id, version, created_at, updated_at, complete_time`

func orderValues(o domain.Order) ([]any, error) {
	failure, err := encodeFailure(o.Failure)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.ID, err)
	}
	return []any{o.ID, o.PartnerID, o.CustomerID, o.CountryCode, o.PlacedBy, string(o.State), o.TaxInclusive,
		nullJSON(failure), o.CancellationPending, o.PartnerReference, o.RequestID, o.Version,
		store.Time(o.CreateTime), store.Time(o.UpdateTime), store.NullTime(o.CompleteTime)}, nil
}

// scanOrder reads an order's row; its lines come from loadLines.
func scanOrder(row store.Scanner) (domain.Order, error) {
	var o domain.Order
	var state string
	var failure sql.NullString
	var complete sql.NullTime
	if err := row.Scan(&o.ID, &o.PartnerID, &o.CustomerID, &o.CountryCode, &o.PlacedBy, &state, &o.TaxInclusive,
		&failure, &o.CancellationPending, &o.PartnerReference, &o.RequestID, &o.Version, &o.CreateTime,
		&o.UpdateTime, &complete); err != nil {
		return domain.Order{}, err
	}
	f, err := decodeFailure(failure)
	if err != nil {
		return domain.Order{}, fmt.Errorf("order %s: %w", o.ID, err)
	}
	o.State, o.Failure = domain.OrderState(state), f
	o.CreateTime, o.UpdateTime, o.CompleteTime = o.CreateTime.UTC(), o.UpdateTime.UTC(), store.TimeOf(complete)
	return o, nil
}

// lineCols are the columns of order_lines, in the order lineValues binds them.
const lineCols = `order_id, position, id, sku_id, display_name, kind, quantity, term, plan, auto_renew, key_type,
	has_downloads, unit_period_minor, unit_period_currency, unit_term_minor, unit_term_currency, tax_inclusive,
	policy, window_days, state, subscription_id, entitlement_id, charge_id, complete_time, failure, cancellation`

func lineValues(orderID string, position int, l domain.OrderLine) ([]any, error) {
	failure, err := encodeFailure(l.Failure)
	if err != nil {
		return nil, fmt.Errorf("line %s of order %s: %w", l.ID, orderID, err)
	}
	cancellation, err := encodeCancellation(l.Cancellation)
	if err != nil {
		return nil, fmt.Errorf("line %s of order %s: %w", l.ID, orderID, err)
	}
	return []any{orderID, position, l.ID, l.SkuID, l.DisplayName, string(l.Kind), l.Quantity, string(l.Term),
		string(l.Plan), l.AutoRenew, string(l.KeyType), l.HasDownloads, l.UnitPeriodPrice.Minor,
		l.UnitPeriodPrice.Currency, l.UnitTermPrice.Minor, l.UnitTermPrice.Currency, l.TaxInclusive,
		string(l.Policy), l.WindowDays, string(l.State), l.SubscriptionID, l.EntitlementID, l.ChargeID,
		store.NullTime(l.CompleteTime), nullJSON(failure), nullJSON(cancellation)}, nil
}

// scanLine reads a line (the columns of lineCols but position) and the ID of its order.
func scanLine(row store.Scanner) (string, domain.OrderLine, error) {
	var orderID, kind, term, plan, keyType, policy, state string
	var l domain.OrderLine
	var complete sql.NullTime
	var failure, cancellation sql.NullString
	if err := row.Scan(&orderID, &l.ID, &l.SkuID, &l.DisplayName, &kind, &l.Quantity, &term, &plan, &l.AutoRenew,
		&keyType, &l.HasDownloads, &l.UnitPeriodPrice.Minor, &l.UnitPeriodPrice.Currency, &l.UnitTermPrice.Minor,
		&l.UnitTermPrice.Currency, &l.TaxInclusive, &policy, &l.WindowDays, &state, &l.SubscriptionID,
		&l.EntitlementID, &l.ChargeID, &complete, &failure, &cancellation); err != nil {
		return "", domain.OrderLine{}, err
	}
	l.Kind, l.Term, l.Plan, l.KeyType = domain.ProductKind(kind), domain.Term(term), domain.BillingPlan(plan),
		domain.KeyType(keyType)
	l.Policy, l.State, l.CompleteTime = domain.CancellationPolicy(policy), domain.LineState(state),
		store.TimeOf(complete)
	var err error
	if l.Failure, err = decodeFailure(failure); err != nil {
		return "", domain.OrderLine{}, fmt.Errorf("line %s of order %s: %w", l.ID, orderID, err)
	}
	if l.Cancellation, err = decodeCancellation(cancellation); err != nil {
		return "", domain.OrderLine{}, fmt.Errorf("line %s of order %s: %w", l.ID, orderID, err)
	}
	return orderID, l, nil
}

// loadLines fills in the lines of orders, in position order: one query per idsPerQuery orders,
// so that a page of a list is one query, not one per order.
func loadLines(ctx context.Context, q store.Querier, orders []domain.Order) error {
	if len(orders) == 0 {
		return nil
	}
	at := make(map[string]int, len(orders))
	for i, o := range orders {
		at[o.ID] = i
	}
	for start := 0; start < len(orders); start += idsPerQuery {
		ids := make([]string, 0, idsPerQuery)
		for _, o := range orders[start:min(len(orders), start+idsPerQuery)] {
			ids = append(ids, o.ID)
		}
		var a store.Args
		rows, err := q.QueryContext(ctx, `SELECT order_id, id, sku_id, display_name, kind, quantity, term, plan,
			auto_renew, key_type, has_downloads, unit_period_minor, unit_period_currency, unit_term_minor,
			unit_term_currency, tax_inclusive, policy, window_days, state, subscription_id, entitlement_id, charge_id,
			complete_time, failure, cancellation
			FROM order_lines WHERE order_id IN (`+store.InList(&a, ids)+`) ORDER BY order_id, position`, a...)
		if err != nil {
			return store.MapError(fmt.Errorf("read order lines: %w", err))
		}
		if err := collectLines(rows, func(orderID string, l domain.OrderLine) {
			orders[at[orderID]].Lines = append(orders[at[orderID]].Lines, l)
		}); err != nil {
			return err
		}
	}
	return nil
}

func collectLines(rows *sql.Rows, add func(orderID string, l domain.OrderLine)) error {
	defer rows.Close()
	for rows.Next() {
		orderID, l, err := scanLine(rows)
		if err != nil {
			return fmt.Errorf("scan order line: %w", err)
		}
		add(orderID, l)
	}
	if err := rows.Err(); err != nil {
		return store.MapError(fmt.Errorf("read order lines: %w", err))
	}
	return nil
}

// listOrders reads the orders of query whole: their rows, then the lines of all of them.
func listOrders(ctx context.Context, q store.Querier, query string, args ...any) ([]domain.Order, error) {
	orders, err := store.ListRows(ctx, q, "orders", scanOrder, query, args...)
	if err != nil {
		return nil, err
	}
	if err := loadLines(ctx, q, orders); err != nil {
		return nil, err
	}
	return orders, nil
}

// findOrder reads the order of query whole, if there is one.
func findOrder(ctx context.Context, q store.Querier, what, query string, args ...any) (domain.Order, bool, error) {
	o, ok, err := store.FindOne(ctx, q, what, scanOrder, query, args...)
	if err != nil || !ok {
		return domain.Order{}, ok, err
	}
	orders := []domain.Order{o}
	if err := loadLines(ctx, q, orders); err != nil {
		return domain.Order{}, false, err
	}
	return orders[0], true, nil
}

// getOrder reads order id whole with query (whose $1 is id); NOT_FOUND when there is none.
func getOrder(ctx context.Context, q store.Querier, query, id string) (domain.Order, error) {
	o, ok, err := findOrder(ctx, q, "order "+id, query, id)
	if err == nil && !ok {
		return domain.Order{}, errs.NotFoundf("order", id)
	}
	return o, err
}

// Order implements app.Store, on one snapshot (the row and its lines).
func (s *Store) Order(ctx context.Context, id string) (domain.Order, error) {
	var o domain.Order
	err := s.db.ReadSnapshot(ctx, func(q store.Querier) error {
		var err error
		o, err = getOrder(ctx, q, `SELECT `+orderCols+` FROM orders WHERE id = $1`, id)
		return err
	})
	return o, err
}

// Orders implements app.Store, newest first. The partner and customer filters use the
// (partner_id | customer_id, created_at, id) indexes, read backwards, which also give the keyset
// order; the lines of the page come with one more query.
func (s *Store) Orders(ctx context.Context, q app.OrderQuery) ([]domain.Order, error) {
	var a store.Args
	where := store.Equalities(&a, nil, store.Filter{Col: "partner_id", Value: q.PartnerID},
		store.Filter{Col: "customer_id", Value: q.CustomerID})
	if len(q.States) > 0 {
		where = append(where, "state IN ("+store.InList(&a, statesOf(q.States))+")")
	}
	if !q.StartTime.IsZero() {
		where = append(where, "created_at >= "+a.Arg(store.Time(q.StartTime)))
	}
	if !q.EndTime.IsZero() {
		where = append(where, "created_at < "+a.Arg(store.Time(q.EndTime)))
	}
	if q.SkuID != "" {
		where = append(where, "id IN (SELECT order_id FROM order_lines WHERE sku_id = "+a.Arg(q.SkuID)+")")
	}
	if cond, ok := store.Keyset(&a, "created_at", "<", q.BeforeCreateTime, q.BeforeID); ok {
		where = append(where, cond)
	}
	query := `SELECT ` + orderCols + ` FROM orders` + store.Where(where) + ` ORDER BY created_at DESC, id DESC` +
		store.Limit(&a, q.Limit)
	var out []domain.Order
	err := s.db.ReadSnapshot(ctx, func(db store.Querier) error {
		var err error
		out, err = listOrders(ctx, db, query, a...)
		return err
	})
	return out, err
}

func statesOf(states []domain.OrderState) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// Order implements app.Tx (PostgreSQL: FOR UPDATE on the order's row; its lines change only
// with it).
func (t *tx) Order(ctx context.Context, id string) (domain.Order, error) {
	return getOrder(ctx, t.q, `SELECT `+orderCols+` FROM orders WHERE id = $1`+t.s.forUpdate, id)
}

// OrderOfRequest implements app.Tx, from the (scope, request_id) UNIQUE index.
// OrderOfRequest implements app.Store: committed data, no transaction (PlaceOrder's retries look
// here first). Most requests are new: one indexed lookup of the ID answers them; only a found
// order is read whole, in a snapshot.
func (s *Store) OrderOfRequest(ctx context.Context, scope, requestID string) (domain.Order, bool, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM orders WHERE scope = $1 AND request_id = $2`, scope, requestID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Order{}, false, nil
	}
	if err != nil {
		return domain.Order{}, false, store.MapError(fmt.Errorf("order of request %s: %w", requestID, err))
	}
	o, err := s.Order(ctx, id)
	return o, err == nil, err
}

func (t *tx) OrderOfRequest(ctx context.Context, scope, requestID string) (domain.Order, bool, error) {
	return findOrder(ctx, t.q, "order of request "+requestID, `SELECT `+orderCols+` FROM orders
		WHERE scope = $1 AND request_id = $2`+t.s.forUpdate, scope, requestID)
}

// InsertOrder implements app.Tx: the order's row, its lines and its saga (version 1, due now,
// no lease). The (scope, request_id) UNIQUE constraint is the conflict target, so that on both
// engines another order of the request is refused without failing the statement (PostgreSQL
// would otherwise abort the whole transaction); an order ID in use is ALREADY_EXISTS too.
func (t *tx) InsertOrder(ctx context.Context, o domain.Order, scope string, rec app.SagaRecord) error {
	sg := rec.Saga
	if o.Version != 1 {
		return fmt.Errorf("insert order %s: version %d, want 1", o.ID, o.Version)
	}
	if sg.OrderID != o.ID {
		return fmt.Errorf("insert order %s: the saga is order %s's", o.ID, sg.OrderID)
	}
	vals, err := orderValues(o)
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO orders (`+orderCols+`, scope) VALUES ($1, $2, $3, $4, $5, $6,
		$7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (scope, request_id) DO NOTHING`, append(vals, scope)...)
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "order %q already exists", o.ID).Wrap(err)
	}
	if n, err := store.Affected(res, err, "insert order "+o.ID); err != nil {
		return err
	} else if n == 0 {
		return errs.New(errs.AlreadyExists, "", "request %q already placed an order", o.RequestID).
			With("request_id", o.RequestID)
	}
	if err := t.insertLines(ctx, o); err != nil {
		return err
	}
	rec.Version = 1
	return t.insertSaga(ctx, rec)
}

// insertLines writes the lines of o in their order. A line ID twice in o fails: the app makes
// them unique, so that is a bug, not the caller's conflict.
func (t *tx) insertLines(ctx context.Context, o domain.Order) error {
	err := insertRows(ctx, t.q, "order_lines", lineCols, len(o.Lines), func(i int) ([]any, error) {
		return lineValues(o.ID, i, o.Lines[i])
	})
	if err != nil {
		return store.MapError(fmt.Errorf("insert lines of order %s: %w", o.ID, err))
	}
	return nil
}

// UpdateOrder implements app.Tx: the row is written only if it still has version o.Version-1;
// otherwise NOT_FOUND (no row) or ABORTED / ETAG_MISMATCH (a concurrent change). The scope
// stays as inserted. The lines are then replaced by o's (at most domain.MaxLines).
func (t *tx) UpdateOrder(ctx context.Context, o domain.Order) error {
	vals, err := orderValues(o)
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `UPDATE orders SET partner_id = $2, customer_id = $3, country_code = $4,
		placed_by = $5, state = $6, tax_inclusive = $7, failure = $8, cancellation_pending = $9,
		partner_reference = $10, request_id = $11, version = $12, created_at = $13, updated_at = $14,
		complete_time = $15
		WHERE id = $1 AND version = $16`, append(vals, o.Version-1)...)
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "request %q already placed an order", o.RequestID).
			With("request_id", o.RequestID).Wrap(err)
	}
	if n, err := store.Affected(res, err, "update order "+o.ID); err != nil {
		return err
	} else if n != 1 {
		return staleError(ctx, t.q, "order", "orders", "id", o.ID, o.Version-1)
	}
	// A line's product, price and policy are fixed at placement; the saga and cancellations change
	// only its state, the IDs it was given, its times, failure and cancellation.
	for _, l := range o.Lines {
		failure, err := encodeFailure(l.Failure)
		if err != nil {
			return fmt.Errorf("line %s of order %s: %w", l.ID, o.ID, err)
		}
		cancellation, err := encodeCancellation(l.Cancellation)
		if err != nil {
			return fmt.Errorf("line %s of order %s: %w", l.ID, o.ID, err)
		}
		res, err := t.q.ExecContext(ctx, `UPDATE order_lines SET state = $3, subscription_id = $4,
			entitlement_id = $5, charge_id = $6, complete_time = $7, failure = $8, cancellation = $9
			WHERE order_id = $1 AND id = $2`, o.ID, l.ID, string(l.State), l.SubscriptionID, l.EntitlementID,
			l.ChargeID, store.NullTime(l.CompleteTime), nullJSON(failure), nullJSON(cancellation))
		if n, err := store.Affected(res, err, "update line "+l.ID+" of order "+o.ID); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("update order %s: no line %s", o.ID, l.ID)
		}
	}
	return nil
}

// PendingCancellations implements app.Store from the partial index orders_cancelling (its WHERE
// is the condition here, literally).
func (s *Store) PendingCancellations(ctx context.Context, limit int) ([]string, error) {
	var a store.Args
	query := `SELECT id FROM orders WHERE cancellation_pending ORDER BY updated_at, id` + store.Limit(&a, limit)
	return store.ListRows(ctx, s.db, "pending cancellations", func(row store.Scanner) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	}, query, a...)
}
