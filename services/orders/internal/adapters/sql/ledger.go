package sql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// entryCols are the columns scanEntry reads, in the order entryValues binds them ($1..$23).
const entryCols = `entry_key, partner_id, customer_id, kind, amount_minor, currency, tax_inclusive, source_kind,
	installment, order_id, line_id, subscription_id, event_id, support_request_id, sku_id, quantity, term, plan,
	service_period_start, service_period_end, invoice_month, description, created_at`

func entryValues(e ledger.Entry) []any {
	src := e.Source
	return []any{e.Key.String(), e.PartnerID, e.CustomerID, int64(e.Kind), e.Amount.Minor, e.Amount.Currency,
		e.TaxInclusive, int64(src.Kind), e.Key.Installment, src.OrderID, src.LineID, src.SubscriptionID, src.EventID,
		src.SupportRequestID, e.SKUID, e.Quantity, int64(e.Term), int64(e.Plan), store.NullTime(e.ServicePeriodStart),
		store.NullTime(e.ServicePeriodEnd), e.InvoiceMonth.String(), e.Description, store.Time(e.CreateTime)}
}

// scanEntry reads an entry and rebuilds its key from the stored source and installment; a key
// that does not derive to the stored string (or a month that does not parse) is a corrupt row.
func scanEntry(row store.Scanner) (ledger.Entry, error) {
	var e ledger.Entry
	var key, month string
	var kind, sourceKind, term, plan int32
	var installment int
	var start, end sql.NullTime
	if err := row.Scan(&key, &e.PartnerID, &e.CustomerID, &kind, &e.Amount.Minor, &e.Amount.Currency,
		&e.TaxInclusive, &sourceKind, &installment, &e.Source.OrderID, &e.Source.LineID, &e.Source.SubscriptionID,
		&e.Source.EventID, &e.Source.SupportRequestID, &e.SKUID, &e.Quantity, &term, &plan, &start, &end, &month,
		&e.Description, &e.CreateTime); err != nil {
		return ledger.Entry{}, err
	}
	e.Kind, e.Source.Kind, e.Term, e.Plan = ledger.Kind(kind), ledger.SourceKind(sourceKind), ledger.Term(term),
		ledger.BillingPlan(plan)
	e.ServicePeriodStart, e.ServicePeriodEnd, e.CreateTime = store.TimeOf(start), store.TimeOf(end), e.CreateTime.UTC()
	k, err := ledger.DeriveKey(e.Source, installment)
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("corrupt ledger entry %q: %w", key, err)
	}
	if k.String() != key {
		return ledger.Entry{}, fmt.Errorf("corrupt ledger entry %q: its source derives key %q", key, k)
	}
	e.Key = k
	if e.InvoiceMonth, err = ledger.ParseMonth(month); err != nil {
		return ledger.Entry{}, fmt.Errorf("corrupt ledger entry %q: %w", key, err)
	}
	return e, nil
}

// InsertEntry implements app.Tx. The entry is checked first (ledger.Entry.Validate: its key is
// the one its source derives, amounts have their kind's sign). The key's PRIMARY KEY is the
// conflict target: an entry whose key is stored changes nothing and reports false, on both
// engines without failing the statement (BI-2, OR-7).
func (t *tx) InsertEntry(ctx context.Context, e ledger.Entry) (bool, error) {
	if err := e.Validate(); err != nil {
		return false, fmt.Errorf("insert ledger entry %q: %w", e.Key, err)
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO ledger_entries (`+entryCols+`) VALUES ($1, $2, $3, $4, $5, $6,
		$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
		ON CONFLICT (entry_key) DO NOTHING`, entryValues(e)...)
	n, err := store.Affected(res, err, "insert ledger entry "+e.Key.String())
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// Entries implements app.Store from the (partner_id, invoice_month, created_at, entry_key) index.
func (s *Store) Entries(ctx context.Context, partnerID string, month ledger.Month) ([]ledger.Entry, error) {
	return store.ListRows(ctx, s.db, "ledger entries", scanEntry, `SELECT `+entryCols+` FROM ledger_entries
		WHERE partner_id = $1 AND invoice_month = $2 ORDER BY created_at, entry_key`, partnerID, month.String())
}
