-- +goose Up
-- Subscriptions, the events feed and the provisioning saga's steps. Portable dialect: see
-- pkg/store (one script for SQLite and PostgreSQL; both have partial indexes and RETURNING).
-- Enum columns hold the domain's value names. What lists filter or sort on is a column, and so is
-- every scalar field. Lists read whole with their row are text: a subscription's seat lots and
-- reminders sent in a compact delimited form (the lifecycle sweep decodes them for every row it
-- claims, and JSON would cost more than the rest of the row); an event's payload and a step's
-- snapshot as JSON.
--
-- The enum CHECKs are OR chains, not IN lists: SQLite evaluates a CHECK with an IN list of more
-- than two values through a temporary b-tree that it builds on every INSERT and UPDATE.

CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL,
    partner_id           TEXT NOT NULL, -- '' when bought directly (SU-8)
    sku_id               TEXT NOT NULL,
    product_id           TEXT NOT NULL,
    display_name         TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind = 'ONLINE_SERVICE' OR kind = 'SOFTWARE_SUBSCRIPTION'
                             OR kind = 'PERPETUAL_SOFTWARE' OR kind = 'AZURE_RESERVATION' OR kind = 'SOFTWARE_PLAN'
                             OR kind = 'SERVER_SUBSCRIPTION'),
    state                TEXT NOT NULL CHECK (state = 'ACTIVE' OR state = 'SUSPENDED' OR state = 'EXPIRED'
                             OR state = 'DISABLED' OR state = 'DELETED' OR state = 'CANCELLED'),
    channel              TEXT NOT NULL CHECK (channel = 'CSP' OR channel = 'WEB_DIRECT' OR channel = 'OPEN'
                             OR channel = 'DIRECT'),
    quantity             BIGINT NOT NULL,
    max_quantity         BIGINT NOT NULL,
    -- Oldest first, ';' between lots: id,quantity,add time (Unix microseconds),order ID,unit price
    -- minor,currency; e.g. 'l1,3,1741944413589793,o1,24000,EUR;l2,2,1742030813000000,,24000,EUR'
    lots                 TEXT NOT NULL,
    billing_plan         TEXT NOT NULL,
    term                 TEXT NOT NULL,
    term_start           TIMESTAMP NOT NULL,
    term_end             TIMESTAMP NOT NULL,
    auto_renew           BOOLEAN NOT NULL,
    unit_price_minor     BIGINT NOT NULL,
    currency_code        TEXT NOT NULL,
    cancellation_policy  TEXT NOT NULL,
    window_days          BIGINT NOT NULL,
    order_id             TEXT NOT NULL,
    purchase_time        TIMESTAMP NOT NULL,
    state_time           TIMESTAMP NOT NULL,
    reminders_sent       TEXT NOT NULL, -- days before expiry, e.g. '60,30'; '' for none
    pending_transfer_id  TEXT NOT NULL,
    version              BIGINT NOT NULL CHECK (version >= 1),
    -- When the lifecycle engine must look at the row next (domain.NextDue), written by the store on
    -- every insert and update; NULL: never.
    next_due             TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
-- Lists of a customer and of a partner in keyset order (CountActive: 007_active_by_customer.sql).
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, created_at, id);
CREATE INDEX subscriptions_partner ON subscriptions (partner_id, created_at, id);
-- ClaimDue. Most rows are final (never due again) and leave the index.
CREATE INDEX subscriptions_next_due ON subscriptions (next_due, id) WHERE next_due IS NOT NULL;

-- The feed. sequence comes from event_counter (see adapters/sql), never from an engine sequence:
-- it must follow commit order.
CREATE TABLE events (
    sequence         BIGINT PRIMARY KEY,
    event_id         TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    partner_id       TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    subscription_id  TEXT NOT NULL,
    event_time       TIMESTAMP NOT NULL,
    request_id       TEXT NOT NULL,
    state            TEXT NOT NULL,
    payload          TEXT NOT NULL -- JSON of the payload struct that matches type
);
CREATE INDEX events_partner ON events (partner_id, sequence);
CREATE INDEX events_customer ON events (customer_id, sequence);
CREATE INDEX events_subscription ON events (subscription_id, sequence);

-- One row: the last sequence handed out.
CREATE TABLE event_counter (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
    last_sequence  BIGINT NOT NULL
);
INSERT INTO event_counter (id, last_sequence) VALUES (1, 0);

-- Provisioning saga steps by request ID, with what compensation needs (domain.Step).
CREATE TABLE provisioning_steps (
    request_id           TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL, -- '' for a tombstone
    subscription_id      TEXT NOT NULL,
    lot_id               TEXT NOT NULL,
    before_subscription  TEXT, -- JSON of the subscription before the step; NULL for none
    compensated          BOOLEAN NOT NULL,
    created_at           TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE provisioning_steps;
DROP TABLE event_counter;
DROP TABLE events;
DROP TABLE subscriptions;
