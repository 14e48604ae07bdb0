package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Transfers (migrations/003_transfers.sql): one row per transfer, its items a JSON array in the
// row. The JSON has its own field names (itemRow), so renaming a domain field does not silently
// lose stored data.

const transferCols = `id, customer_id, source_partner_id, target_partner_id, method, state, items, tenant_limit,
	tenant_active, tenant_peak, repurchase_deadline, created_by, decided_by, note, complete_time, version,
	created_at, updated_at`

// itemRow is a transfer item as stored in the items column.
type itemRow struct {
	SubscriptionID              string    `json:"subscription_id"`
	SourceSkuID                 string    `json:"source_sku_id"`
	TargetSkuID                 string    `json:"target_sku_id"`
	TargetProductID             string    `json:"target_product_id,omitempty"`
	TargetDisplayName           string    `json:"target_display_name,omitempty"`
	TargetMaxQuantity           int32     `json:"target_max_quantity,omitempty"`
	Quantity                    int32     `json:"quantity"`
	LicenseReassignmentRequired bool      `json:"license_reassignment_required"`
	State                       string    `json:"state"`
	TargetSubscriptionID        string    `json:"target_subscription_id,omitempty"`
	SourceTermEnd               time.Time `json:"source_term_end"`
}

func encodeItems(items []domain.TransferItem) (string, error) {
	rows := make([]itemRow, len(items))
	for i, it := range items {
		rows[i] = itemRow{SubscriptionID: it.SubscriptionID, SourceSkuID: it.SourceSkuID, TargetSkuID: it.TargetSkuID,
			TargetProductID: it.TargetProductID, TargetDisplayName: it.TargetDisplayName,
			TargetMaxQuantity: it.TargetMaxQuantity, Quantity: it.Quantity,
			LicenseReassignmentRequired: it.LicenseReassignmentRequired, State: string(it.State),
			TargetSubscriptionID: it.TargetSubscriptionID, SourceTermEnd: store.Time(it.SourceTermEnd)}
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

func decodeItems(s string) ([]domain.TransferItem, error) {
	var rows []itemRow
	if err := json.Unmarshal([]byte(s), &rows); err != nil {
		return nil, err
	}
	var items []domain.TransferItem
	for _, r := range rows {
		items = append(items, domain.TransferItem{SubscriptionID: r.SubscriptionID, SourceSkuID: r.SourceSkuID,
			TargetSkuID: r.TargetSkuID, TargetProductID: r.TargetProductID, TargetDisplayName: r.TargetDisplayName,
			TargetMaxQuantity: r.TargetMaxQuantity, Quantity: r.Quantity,
			LicenseReassignmentRequired: r.LicenseReassignmentRequired, State: domain.ItemState(r.State),
			TargetSubscriptionID: r.TargetSubscriptionID, SourceTermEnd: r.SourceTermEnd.UTC()})
	}
	return items, nil
}

// transferValues returns the values of transferCols for t, in order.
func transferValues(t domain.Transfer) ([]any, error) {
	items, err := encodeItems(t.Items)
	if err != nil {
		return nil, fmt.Errorf("encode items of transfer %s: %w", t.ID, err)
	}
	return []any{t.ID, t.CustomerID, t.SourcePartnerID, t.TargetPartnerID, string(t.Method), string(t.State), items,
		t.Limit.Limit, t.Limit.Active, t.Limit.Peak, store.Time(t.RepurchaseDeadline), t.CreatedBy, t.DecidedBy,
		t.Note, store.Time(t.CompleteTime), t.Version, store.Time(t.CreateTime), store.Time(t.UpdateTime)}, nil
}

func scanTransfer(row store.Scanner) (domain.Transfer, error) {
	var t domain.Transfer
	var method, state, items string
	if err := row.Scan(&t.ID, &t.CustomerID, &t.SourcePartnerID, &t.TargetPartnerID, &method, &state, &items,
		&t.Limit.Limit, &t.Limit.Active, &t.Limit.Peak, &t.RepurchaseDeadline, &t.CreatedBy, &t.DecidedBy, &t.Note,
		&t.CompleteTime, &t.Version, &t.CreateTime, &t.UpdateTime); err != nil {
		return domain.Transfer{}, err
	}
	t.Method, t.State = domain.TransferMethod(method), domain.TransferState(state)
	for _, p := range []*time.Time{&t.RepurchaseDeadline, &t.CompleteTime, &t.CreateTime, &t.UpdateTime} {
		*p = p.UTC()
	}
	var err error
	if t.Items, err = decodeItems(items); err != nil {
		return domain.Transfer{}, fmt.Errorf("items of transfer %s: %w", t.ID, err)
	}
	return t, nil
}

func getTransfer(ctx context.Context, q store.Querier, id, lock string) (domain.Transfer, error) {
	return store.GetByID(ctx, q, "transfer", `SELECT `+transferCols+` FROM transfers WHERE id = $1`+lock, id, scanTransfer)
}

// Transfer implements app.Store.
func (s *Store) Transfer(ctx context.Context, id string) (domain.Transfer, error) {
	return getTransfer(ctx, s.db, id, "")
}

// Transfers implements app.Store, newest first. A partner's transfers come from the target and
// source indexes, a customer's from the customer index; each also gives the keyset order.
func (s *Store) Transfers(ctx context.Context, q app.TransferQuery) ([]domain.Transfer, error) {
	var a store.Args
	var where []string
	if q.CustomerID != "" {
		where = append(where, "customer_id = "+a.Arg(q.CustomerID))
	}
	if q.PartnerID != "" {
		switch q.Direction {
		case domain.DirectionIncoming:
			where = append(where, "target_partner_id = "+a.Arg(q.PartnerID))
		case domain.DirectionOutgoing:
			where = append(where, "source_partner_id = "+a.Arg(q.PartnerID))
		default:
			where = append(where, "(target_partner_id = "+a.Arg(q.PartnerID)+" OR source_partner_id = "+a.Arg(q.PartnerID)+")")
		}
	}
	if q.DirectOnly {
		where = append(where, "source_partner_id = ''")
	}
	if len(q.States) > 0 {
		in := make([]string, len(q.States))
		for i, st := range q.States {
			in[i] = a.Arg(string(st))
		}
		where = append(where, "state IN ("+strings.Join(in, ", ")+")")
	}
	if !q.BeforeCreateTime.IsZero() || q.BeforeID != "" {
		where = append(where, "(created_at, id) < ("+a.Arg(store.Time(q.BeforeCreateTime))+", "+a.Arg(q.BeforeID)+")")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+transferCols+` FROM transfers`+store.Where(where)+
		` ORDER BY created_at DESC, id DESC`+store.Limit(&a, q.Limit), a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list transfers: %w", err))
	}
	return store.Collect(rows, "transfers", scanTransfer)
}

// Transfer implements app.Tx (PostgreSQL: FOR UPDATE).
func (t *tx) Transfer(ctx context.Context, id string) (domain.Transfer, error) {
	return getTransfer(ctx, t.q, id, t.s.forUpdate)
}

// InsertTransfer implements app.Tx. A transfer ID in use is ALREADY_EXISTS.
func (t *tx) InsertTransfer(ctx context.Context, tr domain.Transfer) error {
	if tr.Version != 1 {
		return fmt.Errorf("insert transfer %s: version %d, want 1", tr.ID, tr.Version)
	}
	vals, err := transferValues(tr)
	if err != nil {
		return err
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO transfers (`+transferCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
		$9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`, vals...)
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "transfer %q already exists", tr.ID).Wrap(err)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("insert transfer %s: %w", tr.ID, err))
	}
	return nil
}

// UpdateTransfer implements app.Tx: the row is written only if it still has version
// tr.Version-1; otherwise NOT_FOUND (no row) or ABORTED / ETAG_MISMATCH (a concurrent change).
// The creation fields (customer, sides, creator, creation time) never change and are not written.
func (t *tx) UpdateTransfer(ctx context.Context, tr domain.Transfer) error {
	vals, err := transferValues(tr)
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `UPDATE transfers SET method = $5, state = $6, items = $7, tenant_limit = $8,
		tenant_active = $9, tenant_peak = $10, repurchase_deadline = $11, decided_by = $13, note = $14,
		complete_time = $15, version = $16, updated_at = $18
		WHERE id = $1 AND version = $19 AND customer_id = $2 AND source_partner_id = $3 AND target_partner_id = $4
		AND created_by = $12 AND created_at = $17`, append(vals, tr.Version-1)...)
	if err != nil {
		return store.MapError(fmt.Errorf("update transfer %s: %w", tr.ID, err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.MapError(fmt.Errorf("update transfer %s: %w", tr.ID, err))
	} else if n == 1 {
		return nil
	}
	var version int64
	err = t.q.QueryRowContext(ctx, `SELECT version FROM transfers WHERE id = $1`, tr.ID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFoundf("transfer", tr.ID)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("update transfer %s: %w", tr.ID, err))
	}
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch,
		"transfer %q was changed concurrently (or its creation fields differ): version %d is stored, the update is based on %d",
		tr.ID, version, tr.Version-1)
}
