-- +goose Up
-- Orders with their lines, the order sagas' state, the ledger and consumer cursors (OR-1…OR-7,
-- BI-1…BI-3). Portable dialect: see pkg/store (one script for SQLite and PostgreSQL; both have
-- partial indexes and row-value comparisons; times are bound from Go, never now()). Enum columns
-- of the orders domain hold the domain's value names; the ledger's enums are its proto numbers
-- (ledger.Kind, SourceKind, Term, BillingPlan are int32 types). Money is BIGINT minor units plus
-- a currency column, never a float.
--
-- The enum CHECKs are OR chains, not IN lists: SQLite evaluates a CHECK with an IN list of more
-- than two values through a temporary b-tree that it builds on every INSERT and UPDATE.

-- One order per row; every scalar field is a column, so lists filter and sort in SQL. The
-- failure (reason, message, metadata map, step) is JSON text: it is read and written whole and
-- never filtered on; NULL when the order has none.
CREATE TABLE orders (
    id                    TEXT PRIMARY KEY,
    -- The PlaceOrder request that created the order, within the caller's organisation (scope,
    -- "KIND:ID" as the idempotency interceptor's), so a retried request finds its order (OR-7)
    -- and two concurrent ones cannot both insert.
    scope                 TEXT NOT NULL,
    request_id            TEXT NOT NULL,
    partner_id            TEXT NOT NULL,
    customer_id           TEXT NOT NULL,
    country_code          TEXT NOT NULL,
    placed_by             TEXT NOT NULL, -- user ID
    state                 TEXT NOT NULL CHECK (state = 'PENDING' OR state = 'PROVISIONING' OR state = 'COMPLETED'
                              OR state = 'COMPENSATING' OR state = 'FAILED' OR state = 'CANCELLING'
                              OR state = 'CANCELLED' OR state = 'PARTIALLY_CANCELLED'),
    tax_inclusive         BOOLEAN NOT NULL,
    failure               TEXT, -- JSON of domain.Failure; NULL for none
    cancellation_pending  BOOLEAN NOT NULL, -- OR-4
    partner_reference     TEXT NOT NULL,
    version               BIGINT NOT NULL CHECK (version >= 1),
    created_at            TIMESTAMP NOT NULL, -- the purchase time (OR-2, OR-3)
    updated_at            TIMESTAMP NOT NULL,
    complete_time         TIMESTAMP, -- NULL until COMPLETED or FAILED
    UNIQUE (scope, request_id)
);
-- Lists of a partner and of a customer, newest first in keyset order (created_at, id): read
-- backwards, the index gives both the filter and the order.
CREATE INDEX orders_partner ON orders (partner_id, created_at, id);
CREATE INDEX orders_customer ON orders (customer_id, created_at, id);

-- The lines of an order, in the order they were given (position 0, 1, ...). The primary key reads
-- an order's lines in order; a list reads the lines of a whole page with one IN-list query.
-- Product kind, key type and policy admit '' as well: they are the catalog's snapshot, which a
-- line may not have yet. The line's failure and cancellation are JSON text (NULL for none): they
-- are read and written with the line, never filtered on.
CREATE TABLE order_lines (
    order_id              TEXT NOT NULL REFERENCES orders (id),
    position              BIGINT NOT NULL CHECK (position >= 0),
    id                    TEXT NOT NULL,
    sku_id                TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind = '' OR kind = 'ONLINE_SERVICE' OR kind = 'SOFTWARE_SUBSCRIPTION'
                              OR kind = 'PERPETUAL_SOFTWARE' OR kind = 'AZURE_RESERVATION' OR kind = 'SOFTWARE_PLAN'
                              OR kind = 'SERVER_SUBSCRIPTION'),
    quantity              BIGINT NOT NULL,
    term                  TEXT NOT NULL CHECK (term = 'P1M' OR term = 'P1Y' OR term = 'P3Y' OR term = 'PERPETUAL'),
    plan                  TEXT NOT NULL CHECK (plan = 'MONTHLY' OR plan = 'ANNUAL' OR plan = 'TRIENNIAL' OR plan = 'ONE_TIME'),
    auto_renew            BOOLEAN NOT NULL,
    key_type              TEXT NOT NULL CHECK (key_type = '' OR key_type = 'NONE' OR key_type = 'MAK'),
    has_downloads         BOOLEAN NOT NULL,
    unit_period_minor     BIGINT NOT NULL,
    unit_period_currency  TEXT NOT NULL,
    unit_term_minor       BIGINT NOT NULL,
    unit_term_currency    TEXT NOT NULL,
    tax_inclusive         BOOLEAN NOT NULL,
    policy                TEXT NOT NULL CHECK (policy = '' OR policy = 'PRORATED_REFUND_WINDOW'
                              OR policy = 'FULL_CREDIT_WINDOW' OR policy = 'NEVER'),
    window_days           BIGINT NOT NULL,
    state                 TEXT NOT NULL CHECK (state = 'PENDING' OR state = 'PROVISIONING' OR state = 'PROVISIONED'
                              OR state = 'FAILED' OR state = 'COMPENSATED' OR state = 'CANCELLING'
                              OR state = 'CANCELLED'),
    subscription_id       TEXT NOT NULL, -- '' until the saga made it (and after compensation)
    entitlement_id        TEXT NOT NULL,
    charge_id             TEXT NOT NULL,
    complete_time         TIMESTAMP, -- NULL while not complete
    failure               TEXT, -- JSON of domain.Failure; NULL for none
    cancellation          TEXT, -- JSON of domain.LineCancellation; NULL when not cancelled
    PRIMARY KEY (order_id, position),
    UNIQUE (order_id, id)
);

-- The saga of each order (OR-1), written before every call it makes. The saga is read and written
-- whole, so its tasks and failure are JSON text; the columns are what the recovery loop selects
-- on: status, next_run (NULL: now) and the lease (lease_owner '' and lease_until NULL when
-- free), which keeps several replicas from running one saga at once. version guards PutSaga.
CREATE TABLE sagas (
    order_id     TEXT PRIMARY KEY REFERENCES orders (id),
    status       TEXT NOT NULL CHECK (status = 'RUNNING' OR status = 'COMPENSATING' OR status = 'COMPLETED'
                     OR status = 'FAILED'),
    tasks        TEXT NOT NULL, -- JSON array of domain.Task, in execution order
    failure      TEXT, -- JSON of domain.Failure; NULL for none
    next_run     TIMESTAMP,
    lease_owner  TEXT NOT NULL,
    lease_until  TIMESTAMP,
    version      BIGINT NOT NULL CHECK (version >= 1)
);
-- DueSagas: only sagas in flight are indexed (terminal ones are the vast majority and never
-- due), by next run. The index's WHERE is the query's status condition word for word, so that
-- both planners use it.
CREATE INDEX sagas_due ON sagas (next_run) WHERE status = 'RUNNING' OR status = 'COMPENSATING';

-- The ledger (BI-1…BI-3): immutable entries of partners' bills. entry_key is the canonical
-- ledger.EntryKey string; its uniqueness is what keeps a replayed event, a retried saga step or a
-- re-run schedule from adding an entry twice (OR-7), through INSERT ... ON CONFLICT DO NOTHING.
-- The source columns and installment are stored too, so that a read re-derives the key and
-- checks it against entry_key (a mismatch is a corrupt row).
CREATE TABLE ledger_entries (
    entry_key             TEXT PRIMARY KEY,
    partner_id            TEXT NOT NULL,
    customer_id           TEXT NOT NULL,
    kind                  BIGINT NOT NULL CHECK (kind >= 1 AND kind <= 4), -- charge, credit, penalty, refund
    amount_minor          BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    tax_inclusive         BOOLEAN NOT NULL, -- CA-4: never summed with exclusive amounts
    source_kind           BIGINT NOT NULL CHECK (source_kind >= 1 AND source_kind <= 4),
    installment           BIGINT NOT NULL CHECK (installment >= 0), -- order-line charges: 1…n; else 0
    order_id              TEXT NOT NULL,
    line_id               TEXT NOT NULL,
    subscription_id       TEXT NOT NULL,
    event_id              TEXT NOT NULL,
    support_request_id    TEXT NOT NULL,
    sku_id                TEXT NOT NULL,
    quantity              BIGINT NOT NULL CHECK (quantity >= 0),
    term                  BIGINT NOT NULL,
    plan                  BIGINT NOT NULL,
    service_period_start  TIMESTAMP, -- NULL when the entry covers no period
    service_period_end    TIMESTAMP, -- exclusive
    invoice_month         TEXT NOT NULL CHECK (invoice_month <> ''), -- 'YYYY-MM': sorts and compares as text
    description           TEXT NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    -- Credits and refunds are ≤ 0, charges and penalties ≥ 0 (ledger.Entry.Validate).
    CHECK (((kind = 2 OR kind = 4) AND amount_minor <= 0) OR ((kind = 1 OR kind = 3) AND amount_minor >= 0))
);
-- A partner's invoice month in (created_at, entry_key) order: Entries.
CREATE INDEX ledger_entries_invoice ON ledger_entries (partner_id, invoice_month, created_at, entry_key);

-- Named consumer cursors, e.g. the position in the subscriptions events feed: the feed is
-- consumed idempotently by event ID (the ledger's keys), and the cursor says where to resume.
CREATE TABLE cursors (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE cursors;
DROP TABLE ledger_entries;
DROP TABLE sagas;
DROP TABLE order_lines;
DROP TABLE orders;
