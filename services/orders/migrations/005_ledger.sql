-- +goose Up
-- The ledger's read paths (BI-1…BI-3; adapters/sql/ledger_queries.go) and the feed's lookup of
-- the order line behind a subscription (app/billing.Feed).
--
-- ListLedgerEntries pages a partner's entries oldest first, (created_at, entry_key), with an
-- optional customer or subscription filter; each has its index so that a page is an index seek
-- whatever the partner's history. The invoice month filter uses ledger_entries_invoice (002).
CREATE INDEX ledger_entries_partner ON ledger_entries (partner_id, created_at, entry_key);
CREATE INDEX ledger_entries_customer ON ledger_entries (partner_id, customer_id, created_at, entry_key);
CREATE INDEX ledger_entries_subscription ON ledger_entries (partner_id, subscription_id, created_at, entry_key);
-- The feed finds the order line that provisioned a subscription (its SKU, term, plan and tax
-- treatment, CA-4), and else the customer's newest order (its tax treatment).
CREATE INDEX order_lines_subscription ON order_lines (subscription_id);

-- +goose Down
DROP INDEX order_lines_subscription;
DROP INDEX ledger_entries_subscription;
DROP INDEX ledger_entries_customer;
DROP INDEX ledger_entries_partner;
