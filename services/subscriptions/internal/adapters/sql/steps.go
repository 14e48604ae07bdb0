package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Provisioning saga steps (domain.Step), one row per request ID.

// Step implements app.Tx.
func (t *tx) Step(ctx context.Context, requestID string) (domain.Step, bool, error) {
	var st domain.Step
	var kind string
	var before sql.NullString
	err := t.q.QueryRowContext(ctx, `SELECT request_id, kind, subscription_id, lot_id, before_subscription,
		compensated, created_at FROM provisioning_steps WHERE request_id = $1`, requestID).
		Scan(&st.RequestID, &kind, &st.SubscriptionID, &st.LotID, &before, &st.Compensated, &st.CreateTime)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Step{}, false, nil
	}
	if err != nil {
		return domain.Step{}, false, store.MapError(fmt.Errorf("read step %s: %w", requestID, err))
	}
	st.Kind, st.CreateTime = domain.StepKind(kind), st.CreateTime.UTC()
	if before.Valid {
		st.Before = new(domain.Subscription)
		if err := json.Unmarshal([]byte(before.String), st.Before); err != nil {
			return domain.Step{}, false, fmt.Errorf("snapshot of step %s: %w", requestID, err)
		}
	}
	return st, true, nil
}

// PutStep implements app.Tx. The snapshot is the domain type's own JSON: it lives only as long as
// a saga may compensate, so it need not survive renamed fields the way table columns must.
func (t *tx) PutStep(ctx context.Context, st domain.Step) error {
	var before any // NULL: no snapshot
	if st.Before != nil {
		b, err := json.Marshal(st.Before)
		if err != nil {
			return fmt.Errorf("encode snapshot of step %s: %w", st.RequestID, err)
		}
		before = string(b)
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO provisioning_steps (request_id, kind, subscription_id, lot_id,
		before_subscription, compensated, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (request_id) DO UPDATE SET kind = excluded.kind, subscription_id = excluded.subscription_id,
		lot_id = excluded.lot_id, before_subscription = excluded.before_subscription,
		compensated = excluded.compensated, created_at = excluded.created_at`,
		st.RequestID, string(st.Kind), st.SubscriptionID, st.LotID, before, st.Compensated, store.Time(st.CreateTime))
	if err != nil {
		return store.MapError(fmt.Errorf("write step %s: %w", st.RequestID, err))
	}
	return nil
}
