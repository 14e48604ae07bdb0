package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// The ledger's read paths for LedgerService and the events feed (app/billing; BI-1…BI-3).

var (
	_ billing.LedgerStore = (*Store)(nil)
	_ billing.FeedStore   = (*Store)(nil)
)

// LedgerEntries implements billing.LedgerStore: a partner's entries in (created_at, entry_key)
// order after the keyset position, from the indexes of migration 005 (partner, partner +
// customer, partner + subscription) or ledger_entries_invoice when a month is given.
func (s *Store) LedgerEntries(ctx context.Context, q billing.EntryQuery) ([]ledger.Entry, error) {
	if q.PartnerID == "" {
		return nil, errors.New("list ledger entries: no partner")
	}
	var a store.Args
	where := store.Equalities(&a, nil, store.Filter{Col: "partner_id", Value: q.PartnerID},
		store.Filter{Col: "customer_id", Value: q.CustomerID}, store.Filter{Col: "order_id", Value: q.OrderID},
		store.Filter{Col: "subscription_id", Value: q.SubscriptionID})
	if !q.Month.IsZero() {
		where = append(where, "invoice_month = "+a.Arg(q.Month.String()))
	}
	if len(q.Kinds) > 0 {
		kinds := make([]int64, len(q.Kinds))
		for i, k := range q.Kinds {
			kinds[i] = int64(k)
		}
		where = append(where, "kind IN ("+store.InList(&a, kinds)+")")
	}
	if !q.From.IsZero() {
		where = append(where, "created_at >= "+a.Arg(store.Time(q.From)))
	}
	if !q.To.IsZero() {
		where = append(where, "created_at < "+a.Arg(store.Time(q.To)))
	}
	if !q.AfterTime.IsZero() || q.AfterKey != "" {
		where = append(where, "(created_at, entry_key) > ("+a.Arg(store.Time(q.AfterTime))+", "+a.Arg(q.AfterKey)+")")
	}
	query := `SELECT ` + entryCols + ` FROM ledger_entries` + store.Where(where) +
		` ORDER BY created_at, entry_key` + store.Limit(&a, q.Limit)
	return store.ListRows(ctx, s.db, "ledger entries", scanEntry, query, a...)
}

// PurchaseOf implements billing.FeedStore: the newest order line that provisioned subscriptionID
// (its SKU, term, plan and tax treatment), else the tax treatment of customerID's newest order
// (a customer's market, hence CA-4's treatment, is the customer's country); false when neither.
func (s *Store) PurchaseOf(ctx context.Context, subscriptionID, customerID string) (billing.Purchase, bool, error) {
	if subscriptionID != "" {
		p, ok, err := store.FindOne(ctx, s.db, "order line of subscription "+subscriptionID, scanPurchase,
			`SELECT l.sku_id, l.term, l.plan, l.tax_inclusive FROM order_lines l JOIN orders o ON o.id = l.order_id
			WHERE l.subscription_id = $1 ORDER BY o.created_at DESC, o.id DESC LIMIT 1`, subscriptionID)
		if err != nil || ok {
			return p, ok, err
		}
	}
	if customerID == "" {
		return billing.Purchase{}, false, nil
	}
	var inclusive bool
	err := s.db.QueryRowContext(ctx, `SELECT tax_inclusive FROM orders WHERE customer_id = $1
		ORDER BY created_at DESC, id DESC LIMIT 1`, customerID).Scan(&inclusive)
	if errors.Is(err, sql.ErrNoRows) {
		return billing.Purchase{}, false, nil
	}
	if err != nil {
		return billing.Purchase{}, false, store.MapError(fmt.Errorf("read tax treatment of customer %s: %w", customerID, err))
	}
	return billing.Purchase{TaxInclusive: inclusive}, true, nil
}

// scanPurchase reads an order line's SKU, term, plan (domain names → ledger enums) and tax flag.
func scanPurchase(row store.Scanner) (billing.Purchase, error) {
	var p billing.Purchase
	var term, plan string
	if err := row.Scan(&p.SKUID, &term, &plan, &p.TaxInclusive); err != nil {
		return billing.Purchase{}, err
	}
	p.Term, p.Plan = ledger.TermNamed(term), ledger.PlanNamed(plan)
	return p, nil
}
