package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// taskJSON is domain.Task as stored in sagas.tasks; RetryAt in store.Time, omitted when zero.
type taskJSON struct {
	Step                 string     `json:"step"`
	LineID               string     `json:"line_id,omitempty"`
	Status               string     `json:"status"`
	Attempts             int        `json:"attempts,omitempty"`
	Uncertain            bool       `json:"uncertain,omitempty"`
	CompensationAttempts int        `json:"compensation_attempts,omitempty"`
	RetryAt              *time.Time `json:"retry_at,omitempty"`
	ResultID             string     `json:"result_id,omitempty"`
}

func encodeTasks(tasks []domain.Task) (string, error) {
	js := make([]taskJSON, len(tasks))
	for i, t := range tasks {
		js[i] = taskJSON{Step: string(t.Step), LineID: t.LineID, Status: string(t.Status), Attempts: t.Attempts,
			Uncertain: t.Uncertain, CompensationAttempts: t.CompensationAttempts, RetryAt: nullTimePtr(t.RetryAt),
			ResultID: t.ResultID}
	}
	b, err := json.Marshal(js)
	if err != nil {
		return "", fmt.Errorf("encode tasks: %w", err)
	}
	return string(b), nil
}

// decodeTasks is the inverse of encodeTasks; no tasks read back as nil.
func decodeTasks(s string) ([]domain.Task, error) {
	var js []taskJSON
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		return nil, fmt.Errorf("decode tasks: %w", err)
	}
	if len(js) == 0 {
		return nil, nil
	}
	tasks := make([]domain.Task, len(js))
	for i, j := range js {
		tasks[i] = domain.Task{Step: domain.Step(j.Step), LineID: j.LineID, Status: domain.TaskStatus(j.Status),
			Attempts: j.Attempts, Uncertain: j.Uncertain, CompensationAttempts: j.CompensationAttempts,
			RetryAt: timeOfPtr(j.RetryAt), ResultID: j.ResultID}
	}
	return tasks, nil
}

// sagaCols are the columns scanSaga reads, in the order sagaValues binds them ($1..$8).
const sagaCols = `order_id, status, tasks, failure, next_run, lease_owner, lease_until, version, principal,
	cancel_principal`

func sagaValues(r app.SagaRecord) ([]any, error) {
	tasks, err := encodeTasks(r.Saga.Tasks)
	if err != nil {
		return nil, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	failure, err := encodeFailure(r.Saga.Failure)
	if err != nil {
		return nil, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	principal, err := encodePrincipal(r.Principal)
	if err != nil {
		return nil, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	cancelPrincipal, err := encodePrincipal(r.CancelPrincipal)
	if err != nil {
		return nil, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	return []any{r.Saga.OrderID, string(r.Saga.Status), tasks, nullJSON(failure), store.NullTime(r.NextRun),
		r.LeaseOwner, store.NullTime(r.LeaseUntil), r.Version, principal, cancelPrincipal}, nil
}

func scanSaga(row store.Scanner) (app.SagaRecord, error) {
	var r app.SagaRecord
	var status, tasks string
	var failure sql.NullString
	var nextRun, leaseUntil sql.NullTime
	var principal, cancelPrincipal string
	if err := row.Scan(&r.Saga.OrderID, &status, &tasks, &failure, &nextRun, &r.LeaseOwner, &leaseUntil,
		&r.Version, &principal, &cancelPrincipal); err != nil {
		return app.SagaRecord{}, err
	}
	var err error
	if r.Principal, err = decodePrincipal(principal); err != nil {
		return app.SagaRecord{}, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	if r.CancelPrincipal, err = decodePrincipal(cancelPrincipal); err != nil {
		return app.SagaRecord{}, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	if r.Saga.Tasks, err = decodeTasks(tasks); err != nil {
		return app.SagaRecord{}, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	if r.Saga.Failure, err = decodeFailure(failure); err != nil {
		return app.SagaRecord{}, fmt.Errorf("saga of order %s: %w", r.Saga.OrderID, err)
	}
	r.Saga.Status, r.NextRun, r.LeaseUntil = domain.SagaStatus(status), store.TimeOf(nextRun), store.TimeOf(leaseUntil)
	return r, nil
}

// insertSaga writes a new saga record (InsertOrder).
func (t *tx) insertSaga(ctx context.Context, r app.SagaRecord) error {
	vals, err := sagaValues(r)
	if err != nil {
		return err
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO sagas (`+sagaCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, vals...)
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "order %q already has a saga", r.Saga.OrderID).Wrap(err)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("insert saga of order %s: %w", r.Saga.OrderID, err))
	}
	return nil
}

// Saga implements app.Tx (PostgreSQL: FOR UPDATE).
func (t *tx) Saga(ctx context.Context, orderID string) (app.SagaRecord, error) {
	r, ok, err := store.FindOne(ctx, t.q, "saga of order "+orderID, scanSaga,
		`SELECT `+sagaCols+` FROM sagas WHERE order_id = $1`+t.s.forUpdate, orderID)
	if err == nil && !ok {
		return app.SagaRecord{}, errs.NotFoundf("saga", orderID)
	}
	return r, err
}

// PutSaga implements app.Tx: the record is written only if the stored one still has version
// r.Version-1; otherwise NOT_FOUND (no saga) or ABORTED / ETAG_MISMATCH (a concurrent change,
// e.g. another replica that took the lease).
func (t *tx) PutSaga(ctx context.Context, r app.SagaRecord) error {
	vals, err := sagaValues(r)
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `UPDATE sagas SET status = $2, tasks = $3, failure = $4, next_run = $5,
		lease_owner = $6, lease_until = $7, version = $8, principal = $9, cancel_principal = $10
		WHERE order_id = $1 AND version = $11`, append(vals, r.Version-1)...)
	if n, err := store.Affected(res, err, "put saga of order "+r.Saga.OrderID); err != nil {
		return err
	} else if n != 1 {
		return staleError(ctx, t.q, "saga", "sagas", "order_id", r.Saga.OrderID, r.Version-1)
	}
	return nil
}

// DueSagas implements app.Store from the partial index sagas_due (its WHERE is the status
// condition here, literally): sagas in flight whose next run (NULL: now) is at or before now and
// whose lease, if any, has run out, earliest first (NULL first: "now" is the earliest).
func (s *Store) DueSagas(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var a store.Args
	n := a.Arg(store.Time(now))
	query := `SELECT order_id FROM sagas
		WHERE (status = 'RUNNING' OR status = 'COMPENSATING')
		AND (next_run IS NULL OR next_run <= ` + n + `)
		AND (lease_until IS NULL OR lease_until <= ` + n + `)
		ORDER BY next_run NULLS FIRST, order_id` + store.Limit(&a, limit)
	return store.ListRows(ctx, s.db, "due sagas", func(row store.Scanner) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	}, query, a...)
}

// storedPrincipal is the stored form of a saga's principal: who, of which organisation, with
// which roles. Never a token.
type storedPrincipal struct {
	Subject string   `json:"subject"`
	OrgID   string   `json:"org_id"`
	OrgKind string   `json:"org_kind"`
	Roles   []string `json:"roles,omitempty"`
}

// encodePrincipal stores p's effective principal; "" for none.
func encodePrincipal(p auth.Principal) (string, error) {
	e := p.Effective()
	if e.Subject == "" && e.OrgID == "" {
		return "", nil
	}
	sp := storedPrincipal{Subject: e.Subject, OrgID: e.OrgID, OrgKind: string(e.OrgKind)}
	for _, r := range e.Roles {
		sp.Roles = append(sp.Roles, string(r))
	}
	b, err := json.Marshal(sp)
	if err != nil {
		return "", fmt.Errorf("encode principal: %w", err)
	}
	return string(b), nil
}

func decodePrincipal(s string) (auth.Principal, error) {
	if s == "" {
		return auth.Principal{}, nil
	}
	var sp storedPrincipal
	if err := json.Unmarshal([]byte(s), &sp); err != nil {
		return auth.Principal{}, fmt.Errorf("decode principal: %w", err)
	}
	p := auth.Principal{Subject: sp.Subject, OrgID: sp.OrgID, OrgKind: auth.OrgKind(sp.OrgKind)}
	for _, r := range sp.Roles {
		p.Roles = append(p.Roles, auth.Role(r))
	}
	return p, nil
}
