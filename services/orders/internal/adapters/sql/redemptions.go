package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// Key redemptions and their sagas (migrations/004_redemptions.sql; redeem.Store, redeem.Tx).
// A redemption's scalar fields are columns; its key reviews, groups, outcomes, SKU snapshot,
// target tenant, actor and failure are JSON text read and written with the row. The saga is
// stored like an order's (sagas.go): tasks and failure JSON, next_run and the lease as columns,
// version-guarded writes. Times are store.Time (UTC microseconds, inside JSON too).

var (
	_ redeem.Store = (*Store)(nil)
	_ redeem.Tx    = (*tx)(nil)
)

// RedemptionTx implements redeem.Store like Tx: one transaction (SERIALIZABLE on PostgreSQL,
// SQLite's write lock from BEGIN), fn run again on a serialization failure.
func (s *Store) RedemptionTx(ctx context.Context, fn func(ctx context.Context, tx redeem.Tx) error) error {
	return s.db.InTx(ctx, func(sqlTx *sql.Tx) error {
		return fn(ctx, &tx{s: s, q: sqlTx})
	})
}

// ---- JSON of the redemption's parts ----

type newTenantJSON struct {
	OrganisationName string `json:"organisation_name"`
	CountryCode      string `json:"country_code"`
	DefaultDomain    string `json:"default_domain"`
	GivenName        string `json:"admin_given_name"`
	FamilyName       string `json:"admin_family_name"`
	UserName         string `json:"admin_user_name,omitempty"`
	ContactEmail     string `json:"admin_contact_email"`
}

type problemJSON struct {
	Reason   string            `json:"reason"`
	Field    string            `json:"field,omitempty"`
	Message  string            `json:"message,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type keyReviewJSON struct {
	Index       int           `json:"index"`
	Masked      string        `json:"masked,omitempty"`
	Status      string        `json:"status"`
	SkuID       string        `json:"sku_id,omitempty"`
	Seats       int32         `json:"seats,omitempty"`
	Term        string        `json:"term,omitempty"`
	DisplayName string        `json:"display_name,omitempty"`
	Problems    []problemJSON `json:"problems,omitempty"`
}

type groupJSON struct {
	ID      string `json:"id"`
	SkuID   string `json:"sku_id"`
	Term    string `json:"term"`
	Seats   int32  `json:"seats"`
	Indexes []int  `json:"indexes"`
}

type outcomeJSON struct {
	GroupID        string     `json:"group_id"`
	SubscriptionID string     `json:"subscription_id,omitempty"`
	SkuID          string     `json:"sku_id"`
	DisplayName    string     `json:"display_name,omitempty"`
	Kind           string     `json:"kind"`
	Seats          int32      `json:"seats"`
	TotalQuantity  int32      `json:"total_quantity"`
	TermStart      *time.Time `json:"term_start,omitempty"`
	TermEnd        *time.Time `json:"term_end,omitempty"`
	DaysForfeited  int32      `json:"days_forfeited,omitempty"`
	AdminLicensed  bool       `json:"admin_licensed,omitempty"`
}

type skuJSON struct {
	ProductID   string `json:"product_id,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Kind        string `json:"kind,omitempty"`
	MaxQuantity int32  `json:"max_quantity,omitempty"`
	Unavailable string `json:"unavailable,omitempty"`
	Policy      string `json:"policy,omitempty"`
	WindowDays  int32  `json:"window_days,omitempty"`
	AutoRenew   bool   `json:"auto_renew,omitempty"`
	Currency    string `json:"currency,omitempty"`
}

type actorJSON struct {
	Subject string   `json:"subject"`
	OrgID   string   `json:"org_id"`
	OrgKind string   `json:"org_kind"`
	Roles   []string `json:"roles,omitempty"`
}

// redemptionJSON gathers the JSON columns, encoded and decoded together.
type redemptionJSON struct {
	newTenant *newTenantJSON
	keys      []keyReviewJSON
	groups    []groupJSON
	outcomes  []outcomeJSON
	skus      map[string]skuJSON
	actor     actorJSON
}

func problemsJSON(ps []domain.Problem) []problemJSON {
	var out []problemJSON
	for _, p := range ps {
		out = append(out, problemJSON{Reason: string(p.Reason), Field: p.Field, Message: p.Message, Metadata: p.Metadata})
	}
	return out
}

func problemsOf(ps []problemJSON) []domain.Problem {
	var out []domain.Problem
	for _, p := range ps {
		out = append(out, domain.Problem{Reason: errs.Reason(p.Reason), Field: p.Field, Message: p.Message, Metadata: p.Metadata})
	}
	return out
}

func toJSON(r domain.Redemption) redemptionJSON {
	var j redemptionJSON
	if t := r.Target.NewTenant; t != nil {
		j.newTenant = &newTenantJSON{OrganisationName: t.OrganisationName, CountryCode: t.CountryCode,
			DefaultDomain: t.DefaultDomain, GivenName: t.Admin.GivenName, FamilyName: t.Admin.FamilyName,
			UserName: t.Admin.UserName, ContactEmail: t.Admin.ContactEmail}
	}
	j.keys = []keyReviewJSON{}
	for _, k := range r.Keys {
		j.keys = append(j.keys, keyReviewJSON{Index: k.Index, Masked: k.Masked, Status: string(k.Status), SkuID: k.SkuID,
			Seats: k.Seats, Term: string(k.Term), DisplayName: k.DisplayName, Problems: problemsJSON(k.Problems)})
	}
	j.groups = []groupJSON{}
	for _, g := range r.Groups {
		j.groups = append(j.groups, groupJSON{ID: g.ID, SkuID: g.SkuID, Term: string(g.Term), Seats: g.Seats, Indexes: g.Indexes})
	}
	j.outcomes = []outcomeJSON{}
	for _, o := range r.Outcomes {
		j.outcomes = append(j.outcomes, outcomeJSON{GroupID: o.GroupID, SubscriptionID: o.SubscriptionID, SkuID: o.SkuID,
			DisplayName: o.DisplayName, Kind: string(o.Kind), Seats: o.Seats, TotalQuantity: o.TotalQuantity,
			TermStart: nullTimePtr(o.TermStart), TermEnd: nullTimePtr(o.TermEnd), DaysForfeited: o.DaysForfeited,
			AdminLicensed: o.AdminLicensed})
	}
	j.skus = map[string]skuJSON{}
	for id, s := range r.SKUs {
		j.skus[id] = skuJSON{ProductID: s.ProductID, DisplayName: s.DisplayName, Kind: string(s.Kind),
			MaxQuantity: s.MaxQuantity, Unavailable: string(s.Unavailable), Policy: string(s.Policy),
			WindowDays: s.WindowDays, AutoRenew: s.AutoRenew, Currency: s.Currency}
	}
	j.actor = actorJSON{Subject: r.Actor.Subject, OrgID: r.Actor.OrgID, OrgKind: r.Actor.OrgKind, Roles: r.Actor.Roles}
	return j
}

// fromJSON fills r's JSON-backed fields.
func fromJSON(r *domain.Redemption, j redemptionJSON) {
	if t := j.newTenant; t != nil {
		r.Target.NewTenant = &domain.NewTenant{OrganisationName: t.OrganisationName, CountryCode: t.CountryCode,
			DefaultDomain: t.DefaultDomain, Admin: domain.TenantAdmin{GivenName: t.GivenName, FamilyName: t.FamilyName,
				UserName: t.UserName, ContactEmail: t.ContactEmail}}
	}
	for _, k := range j.keys {
		r.Keys = append(r.Keys, domain.KeyReview{KeyVerdict: domain.KeyVerdict{Index: k.Index, Masked: k.Masked,
			Status: domain.KeyStatus(k.Status), SkuID: k.SkuID, Seats: k.Seats, Term: domain.Term(k.Term)},
			DisplayName: k.DisplayName, Problems: problemsOf(k.Problems)})
	}
	for _, g := range j.groups {
		r.Groups = append(r.Groups, domain.KeyGroup{ID: g.ID, SkuID: g.SkuID, Term: domain.Term(g.Term), Seats: g.Seats,
			Indexes: g.Indexes})
	}
	for _, o := range j.outcomes {
		r.Outcomes = append(r.Outcomes, domain.Outcome{GroupID: o.GroupID, SubscriptionID: o.SubscriptionID, SkuID: o.SkuID,
			DisplayName: o.DisplayName, Kind: domain.RedemptionKind(o.Kind), Seats: o.Seats, TotalQuantity: o.TotalQuantity,
			TermStart: timeOfPtr(o.TermStart), TermEnd: timeOfPtr(o.TermEnd), DaysForfeited: o.DaysForfeited,
			AdminLicensed: o.AdminLicensed})
	}
	if len(j.skus) > 0 {
		r.SKUs = map[string]domain.SKUFacts{}
		for id, s := range j.skus {
			r.SKUs[id] = domain.SKUFacts{SkuID: id, ProductID: s.ProductID, DisplayName: s.DisplayName,
				Kind: domain.ProductKind(s.Kind), MaxQuantity: s.MaxQuantity, Unavailable: errs.Reason(s.Unavailable),
				Policy: domain.CancellationPolicy(s.Policy), WindowDays: s.WindowDays, AutoRenew: s.AutoRenew,
				Currency: s.Currency}
		}
	}
	r.Actor = domain.Actor{Subject: j.actor.Subject, OrgID: j.actor.OrgID, OrgKind: j.actor.OrgKind, Roles: j.actor.Roles}
}

func marshal(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", what, err)
	}
	return string(b), nil
}

// redemptionCols are the columns scanRedemption reads, in the order redemptionValues binds them
// ($1..$22); scope is bound after them on insert.
const redemptionCols = `id, request_id, fingerprint, partner_id, customer_id, kind, state, target_customer_id,
	target_subscription_id, new_tenant, tenant_created, admin_user_id, key_reviews, key_groups, outcomes, skus,
	failure, actor, version, created_at, updated_at, complete_time`

func redemptionValues(r domain.Redemption) ([]any, error) {
	j := toJSON(r)
	var newTenant any
	if j.newTenant != nil {
		s, err := marshal("new tenant", j.newTenant)
		if err != nil {
			return nil, err
		}
		newTenant = s
	}
	enc := map[string]any{"key reviews": j.keys, "key groups": j.groups, "outcomes": j.outcomes, "skus": j.skus, "actor": j.actor}
	out := map[string]string{}
	for what, v := range enc {
		s, err := marshal(what, v)
		if err != nil {
			return nil, fmt.Errorf("redemption %s: %w", r.ID, err)
		}
		out[what] = s
	}
	failure, err := encodeFailure(r.Failure)
	if err != nil {
		return nil, fmt.Errorf("redemption %s: %w", r.ID, err)
	}
	return []any{r.ID, r.RequestID, r.Fingerprint, r.PartnerID, r.CustomerID, string(r.Kind), string(r.State),
		r.Target.CustomerID, r.Target.SubscriptionID, newTenant, r.TenantCreated, r.AdminUserID,
		out["key reviews"], out["key groups"], out["outcomes"], out["skus"], nullJSON(failure), out["actor"],
		r.Version, store.Time(r.CreateTime), store.Time(r.UpdateTime), store.NullTime(r.CompleteTime)}, nil
}

func scanRedemption(row store.Scanner) (domain.Redemption, error) {
	var r domain.Redemption
	var kind, state, keys, groups, outcomes, skus, actor string
	var newTenant, failure sql.NullString
	var complete sql.NullTime
	if err := row.Scan(&r.ID, &r.RequestID, &r.Fingerprint, &r.PartnerID, &r.CustomerID, &kind, &state,
		&r.Target.CustomerID, &r.Target.SubscriptionID, &newTenant, &r.TenantCreated, &r.AdminUserID,
		&keys, &groups, &outcomes, &skus, &failure, &actor, &r.Version, &r.CreateTime, &r.UpdateTime, &complete); err != nil {
		return domain.Redemption{}, err
	}
	r.Kind, r.State, r.Target.Kind = domain.RedemptionKind(kind), domain.RedemptionState(state), domain.RedemptionKind(kind)
	r.CreateTime, r.UpdateTime, r.CompleteTime = r.CreateTime.UTC(), r.UpdateTime.UTC(), store.TimeOf(complete)
	var j redemptionJSON
	for _, c := range []struct {
		what string
		src  string
		dst  any
	}{{"key reviews", keys, &j.keys}, {"key groups", groups, &j.groups}, {"outcomes", outcomes, &j.outcomes},
		{"skus", skus, &j.skus}, {"actor", actor, &j.actor}} {
		if err := json.Unmarshal([]byte(c.src), c.dst); err != nil {
			return domain.Redemption{}, fmt.Errorf("redemption %s: decode %s: %w", r.ID, c.what, err)
		}
	}
	if newTenant.Valid {
		j.newTenant = &newTenantJSON{}
		if err := json.Unmarshal([]byte(newTenant.String), j.newTenant); err != nil {
			return domain.Redemption{}, fmt.Errorf("redemption %s: decode new tenant: %w", r.ID, err)
		}
	}
	fromJSON(&r, j)
	var err error
	if r.Failure, err = decodeFailure(failure); err != nil {
		return domain.Redemption{}, fmt.Errorf("redemption %s: %w", r.ID, err)
	}
	return r, nil
}

// Redemption implements redeem.Store.
func (s *Store) Redemption(ctx context.Context, id string) (domain.Redemption, error) {
	return store.GetByID(ctx, s.db, "redemption", `SELECT `+redemptionCols+` FROM redemptions WHERE id = $1`, id, scanRedemption)
}

// Redemption implements redeem.Tx (PostgreSQL: FOR UPDATE).
func (t *tx) Redemption(ctx context.Context, id string) (domain.Redemption, error) {
	return store.GetByID(ctx, t.q, "redemption", `SELECT `+redemptionCols+` FROM redemptions WHERE id = $1`+t.s.forUpdate,
		id, scanRedemption)
}

// RedemptionOfRequest implements redeem.Tx.
func (t *tx) RedemptionOfRequest(ctx context.Context, scope, requestID string) (domain.Redemption, bool, error) {
	return store.FindOne(ctx, t.q, "redemption of request "+requestID, scanRedemption,
		`SELECT `+redemptionCols+` FROM redemptions WHERE scope = $1 AND request_id = $2`+t.s.forUpdate, scope, requestID)
}

// InsertRedemption implements redeem.Tx: the redemption's row and its saga (version 1). ON
// CONFLICT DO NOTHING keeps a second insert of the request (or of the ID, which is derived from
// it) from failing the statement, which on PostgreSQL would abort the transaction: it is
// ALREADY_EXISTS.
func (t *tx) InsertRedemption(ctx context.Context, r domain.Redemption, scope string, rec redeem.SagaRecord) error {
	if r.Version != 1 {
		return fmt.Errorf("insert redemption %s: version %d, want 1", r.ID, r.Version)
	}
	if rec.Saga.RedemptionID != r.ID {
		return fmt.Errorf("insert redemption %s: the saga is redemption %s's", r.ID, rec.Saga.RedemptionID)
	}
	vals, err := redemptionValues(r)
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO redemptions (`+redemptionCols+`, scope) VALUES ($1, $2, $3, $4, $5,
		$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
		ON CONFLICT DO NOTHING`, append(vals, scope)...)
	if n, err := store.Affected(res, err, "insert redemption "+r.ID); err != nil {
		return err
	} else if n == 0 {
		return errs.New(errs.AlreadyExists, "", "request %q already made a redemption", r.RequestID).
			With("request_id", r.RequestID)
	}
	rec.Version = 1
	vals, err = redemptionSagaValues(rec)
	if err != nil {
		return err
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO redemption_sagas (`+redemptionSagaCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, vals...)
	if err != nil {
		return store.MapError(fmt.Errorf("insert saga of redemption %s: %w", r.ID, err))
	}
	return nil
}

// UpdateRedemption implements redeem.Tx: written only if the stored version is r.Version-1.
// Scope, request and creation time never change.
func (t *tx) UpdateRedemption(ctx context.Context, r domain.Redemption) error {
	vals, err := redemptionValues(r)
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `UPDATE redemptions SET fingerprint = $3, partner_id = $4, customer_id = $5,
		kind = $6, state = $7, target_customer_id = $8, target_subscription_id = $9, new_tenant = $10,
		tenant_created = $11, admin_user_id = $12, key_reviews = $13, key_groups = $14, outcomes = $15, skus = $16,
		failure = $17, actor = $18, version = $19, updated_at = $21, complete_time = $22
		WHERE id = $1 AND request_id = $2 AND created_at = $20 AND version = $23`, append(vals, r.Version-1)...)
	if n, err := store.Affected(res, err, "update redemption "+r.ID); err != nil {
		return err
	} else if n != 1 {
		return staleError(ctx, t.q, "redemption", "redemptions", "id", r.ID, r.Version-1)
	}
	return nil
}

// ---- sagas ----

// redemptionSagaCols are the columns scanRedemptionSaga reads, in redemptionSagaValues' order.
const redemptionSagaCols = `redemption_id, kind, status, tasks, failure, product_keys, next_run, lease_owner,
	lease_until, version`

func redemptionSagaValues(r redeem.SagaRecord) ([]any, error) {
	id := r.Saga.RedemptionID
	tasks, err := encodeTasks(r.Saga.Tasks)
	if err != nil {
		return nil, fmt.Errorf("saga of redemption %s: %w", id, err)
	}
	failure, err := encodeFailure(r.Saga.Failure)
	if err != nil {
		return nil, fmt.Errorf("saga of redemption %s: %w", id, err)
	}
	var keys any
	if r.ProductKeys != nil {
		s, err := marshal("product keys", r.ProductKeys)
		if err != nil {
			return nil, fmt.Errorf("saga of redemption %s: %w", id, err)
		}
		keys = s
	}
	return []any{id, string(r.Saga.Kind), string(r.Saga.Status), tasks, nullJSON(failure), keys,
		store.NullTime(r.NextRun), r.LeaseOwner, store.NullTime(r.LeaseUntil), r.Version}, nil
}

func scanRedemptionSaga(row store.Scanner) (redeem.SagaRecord, error) {
	var r redeem.SagaRecord
	var kind, status, tasks string
	var failure, keys sql.NullString
	var nextRun, leaseUntil sql.NullTime
	if err := row.Scan(&r.Saga.RedemptionID, &kind, &status, &tasks, &failure, &keys, &nextRun, &r.LeaseOwner,
		&leaseUntil, &r.Version); err != nil {
		return redeem.SagaRecord{}, err
	}
	id := r.Saga.RedemptionID
	var err error
	if r.Saga.Tasks, err = decodeTasks(tasks); err != nil {
		return redeem.SagaRecord{}, fmt.Errorf("saga of redemption %s: %w", id, err)
	}
	if r.Saga.Failure, err = decodeFailure(failure); err != nil {
		return redeem.SagaRecord{}, fmt.Errorf("saga of redemption %s: %w", id, err)
	}
	if keys.Valid {
		if err := json.Unmarshal([]byte(keys.String), &r.ProductKeys); err != nil {
			return redeem.SagaRecord{}, fmt.Errorf("saga of redemption %s: decode product keys: %w", id, err)
		}
	}
	r.Saga.Kind, r.Saga.Status = domain.RedemptionKind(kind), domain.SagaStatus(status)
	r.NextRun, r.LeaseUntil = store.TimeOf(nextRun), store.TimeOf(leaseUntil)
	return r, nil
}

// RedemptionSaga implements redeem.Tx (PostgreSQL: FOR UPDATE).
func (t *tx) RedemptionSaga(ctx context.Context, redemptionID string) (redeem.SagaRecord, error) {
	r, ok, err := store.FindOne(ctx, t.q, "saga of redemption "+redemptionID, scanRedemptionSaga,
		`SELECT `+redemptionSagaCols+` FROM redemption_sagas WHERE redemption_id = $1`+t.s.forUpdate, redemptionID)
	if err == nil && !ok {
		return redeem.SagaRecord{}, errs.NotFoundf("redemption saga", redemptionID)
	}
	return r, err
}

// PutRedemptionSaga implements redeem.Tx: written only if the stored one has version
// r.Version-1; otherwise NOT_FOUND or ABORTED / ETAG_MISMATCH (e.g. another replica took the
// lease).
func (t *tx) PutRedemptionSaga(ctx context.Context, r redeem.SagaRecord) error {
	vals, err := redemptionSagaValues(r)
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `UPDATE redemption_sagas SET kind = $2, status = $3, tasks = $4, failure = $5,
		product_keys = $6, next_run = $7, lease_owner = $8, lease_until = $9, version = $10
		WHERE redemption_id = $1 AND version = $11`, append(vals, r.Version-1)...)
	if n, err := store.Affected(res, err, "put saga of redemption "+r.Saga.RedemptionID); err != nil {
		return err
	} else if n != 1 {
		return staleError(ctx, t.q, "redemption saga", "redemption_sagas", "redemption_id", r.Saga.RedemptionID, r.Version-1)
	}
	return nil
}

// DueRedemptions implements redeem.Store from the partial index redemption_sagas_due (its WHERE
// is the status condition here, literally), earliest first.
func (s *Store) DueRedemptions(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var a store.Args
	n := a.Arg(store.Time(now))
	query := `SELECT redemption_id FROM redemption_sagas
		WHERE (status = 'RUNNING' OR status = 'COMPENSATING')
		AND (next_run IS NULL OR next_run <= ` + n + `)
		AND (lease_until IS NULL OR lease_until <= ` + n + `)
		ORDER BY next_run NULLS FIRST, redemption_id` + store.Limit(&a, limit)
	return store.ListRows(ctx, s.db, "due redemptions", func(row store.Scanner) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	}, query, a...)
}
