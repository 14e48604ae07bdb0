package sql

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Updating subscriptions. Every change of a subscription is read-modify-write inside one
// transaction (app.Tx), and the row's version says whether it is still the row that was read. So
// the transaction remembers the column values of every row it reads (tx.read), and an update
// writes only the columns whose values differ, guarded by the version: a lifecycle step that
// expires a subscription writes state, state time, version, update time and next due, not the
// thirty-two columns of the row. That is most of the cost of a lifecycle sweep on both engines:
// SQLite binds every parameter through its C API, PostgreSQL parses every array of a batched
// update.

// subColumns are the columns of subValues, in its order, with their PostgreSQL types (the array
// casts of a batched update). Index 0 is the key, which an update never sets. Read-only.
var subColumns = [...]struct{ name, pgType string }{
	{"id", "text"}, {"customer_id", "text"}, {"partner_id", "text"}, {"sku_id", "text"},
	{"product_id", "text"}, {"display_name", "text"}, {"kind", "text"}, {"state", "text"},
	{"channel", "text"}, {"quantity", "bigint"}, {"max_quantity", "bigint"}, {"lots", "text"},
	{"billing_plan", "text"}, {"term", "text"}, {"term_start", "timestamp"}, {"term_end", "timestamp"},
	{"auto_renew", "boolean"}, {"unit_price_minor", "bigint"}, {"currency_code", "text"},
	{"cancellation_policy", "text"}, {"window_days", "bigint"}, {"order_id", "text"},
	{"purchase_time", "timestamp"}, {"state_time", "timestamp"}, {"reminders_sent", "text"},
	{"pending_transfer_id", "text"}, {"version", "bigint"}, {"created_at", "timestamp"},
	{"updated_at", "timestamp"}, {"moved_in", "timestamp"}, {"licensed_users", "text"},
	{"next_due", "timestamp"},
}

// rowValues is a subscription row as stored: its version and subValues.
type rowValues struct {
	version int64
	vals    []any
}

// rowUpdate is one update of a subscription row: set the columns of mask (bit i: subColumns[i])
// to vals (in column order) where the row has ID id and version prev.
type rowUpdate struct {
	id   string
	prev int64
	mask uint64
	vals []any
}

// remember records sub's row as this transaction read it. Its next_due is left unknown, so that
// the first update writes it: it nearly always changes, and computing it costs more than writing
// it.
func (t *tx) remember(sub domain.Subscription) error {
	vals, err := rowOf(sub)
	if err != nil {
		return err
	}
	t.keep(sub.ID, sub.Version, append(vals, unknown{}))
	return nil
}

// unknown stands for a column value a transaction does not know; it equals nothing.
type unknown struct{}

func (t *tx) keep(id string, version int64, vals []any) {
	if t.read == nil {
		t.read = map[string]rowValues{}
	}
	t.read[id] = rowValues{version: version, vals: vals}
}

// UpdateSubscription implements app.Tx: the row is written only if it still has version
// sub.Version-1, and only the columns that differ from the row this transaction read (all of them
// for a row it did not read). When the row has another version, staleError tells a missing row
// (NOT_FOUND) from a concurrent change (ABORTED / ETAG_MISMATCH).
//
// On SQLite the row is written at once. On PostgreSQL, where every statement is a round trip,
// the update waits in the transaction, and flush sends all waiting updates that set the same
// columns in one statement before the next read of subscriptions and before commit; a refused
// update's error then comes from that read or from Tx.
func (t *tx) UpdateSubscription(ctx context.Context, sub domain.Subscription) error {
	vals, err := t.s.subValues(sub)
	if err != nil {
		return err
	}
	u := rowUpdate{id: sub.ID, prev: sub.Version - 1}
	old, known := t.read[sub.ID]
	for i := 1; i < len(vals); i++ {
		if !known || old.version != u.prev || !sameValue(old.vals[i], vals[i]) {
			u.mask |= 1 << i
			u.vals = append(u.vals, vals[i])
		}
	}
	t.keep(sub.ID, sub.Version, vals)
	if t.s.db.Engine() == store.Postgres {
		if t.pendingIDs[sub.ID] { // a second update of the row: a batch holds each row once
			if err := t.flush(ctx); err != nil {
				return err
			}
		}
		if t.pendingIDs == nil {
			t.pendingIDs = map[string]bool{}
		}
		t.pending, t.pendingIDs[sub.ID] = append(t.pending, u), true
		return nil
	}
	query, ok := t.updates[u.mask]
	if !ok { // built once per transaction and set of columns: a sweep's batch shares one
		query = updateSQL(u.mask)
		if t.updates == nil {
			t.updates = map[uint64]string{}
		}
		t.updates[u.mask] = query
	}
	res, err := t.exec(ctx, query, append([]any{u.id, u.prev}, u.vals...)...)
	if err != nil {
		return store.MapError(fmt.Errorf("update subscription %s: %w", sub.ID, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.MapError(fmt.Errorf("update subscription %s: %w", sub.ID, err))
	}
	if n != 1 {
		return t.staleError(ctx, sub.ID, u.prev)
	}
	return nil
}

// sameValue compares two subValues values: times by instant, unknown with nothing, the rest
// (strings, numbers, booleans, nil) by ==.
func sameValue(a, b any) bool {
	if _, ok := a.(unknown); ok {
		return false
	}
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

// setColumn is a column an update sets, with its parameter ("$3").
type setColumn struct{ name, pgType, param string }

// maskColumns lists the columns of mask with their parameters, from $3.
func maskColumns(mask uint64) []setColumn {
	var out []setColumn
	for i, c := range subColumns {
		if mask&(1<<i) != 0 {
			out = append(out, setColumn{c.name, c.pgType, "$" + strconv.Itoa(len(out)+3)})
		}
	}
	return out
}

// updateSQL is the single-row update of the columns of mask: $1 the ID, $2 the version the row
// must have, $3... the columns' values.
func updateSQL(mask uint64) string {
	var set []string
	for _, c := range maskColumns(mask) {
		set = append(set, c.name+" = "+c.param)
	}
	return "UPDATE subscriptions SET " + strings.Join(set, ", ") + " WHERE id = $1 AND version = $2"
}

// batchUpdateSQL is updateSQL for many rows (PostgreSQL): each parameter is the array of that
// parameter over the rows. It returns the IDs of the rows it wrote. The "id = ANY($1)" is for the
// planner: without it, it estimates unnest at a hundred rows and joins them to a scan of the
// whole table.
func batchUpdateSQL(mask uint64) string {
	set := []string{}
	casts := []string{"$1::text[]", "$2::bigint[]"}
	names := []string{"id", "prev_version"}
	for _, c := range maskColumns(mask) {
		set = append(set, c.name+" = v."+c.name)
		casts = append(casts, c.param+"::"+c.pgType+"[]")
		names = append(names, c.name)
	}
	return "UPDATE subscriptions AS s SET " + strings.Join(set, ", ") + " FROM unnest(" + strings.Join(casts, ", ") +
		") AS v(" + strings.Join(names, ", ") + ") WHERE s.id = ANY($1::text[]) AND s.id = v.id AND s.version = v.prev_version" +
		" RETURNING s.id"
}

// flush sends the updates UpdateSubscription keeps waiting on PostgreSQL: one batchUpdateSQL per
// set of columns, in the order the sets first occurred.
func (t *tx) flush(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	pending := t.pending
	t.pending, t.pendingIDs = nil, nil
	var masks []uint64
	byMask := map[uint64][]rowUpdate{}
	for _, u := range pending {
		if _, ok := byMask[u.mask]; !ok {
			masks = append(masks, u.mask)
		}
		byMask[u.mask] = append(byMask[u.mask], u)
	}
	for _, mask := range masks {
		if err := t.sendBatch(ctx, mask, byMask[mask]); err != nil {
			return err
		}
	}
	return nil
}

// sendBatch runs one batchUpdateSQL for updates, which all set the columns of mask.
func (t *tx) sendBatch(ctx context.Context, mask uint64, updates []rowUpdate) error {
	rows := make([][]any, len(updates))
	for i, u := range updates {
		rows[i] = append([]any{u.id, u.prev}, u.vals...)
	}
	res, err := t.q.QueryContext(ctx, batchUpdateSQL(mask), columns(rows)...)
	if err != nil {
		return store.MapError(fmt.Errorf("update %d subscriptions: %w", len(updates), err))
	}
	written, err := store.Collect(res, "updated subscriptions", func(r store.Scanner) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
	if err != nil {
		return fmt.Errorf("update %d subscriptions: %w", len(updates), err)
	}
	if len(written) == len(updates) {
		return nil
	}
	done := make(map[string]bool, len(written))
	for _, id := range written {
		done[id] = true
	}
	for _, u := range updates {
		if !done[u.id] {
			return t.staleError(ctx, u.id, u.prev)
		}
	}
	return nil
}
