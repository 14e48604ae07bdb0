-- +goose Up
-- Delegated-admin relationships (DA-1, DA-5, DA-6). Portable dialect: see pkg/store.
--
-- The state and times are facts as of updated_at; the service computes the state at its clock's
-- now on every read, and the sweeper persists clock-driven transitions (offer lapse, EXPIRING,
-- EXPIRED, auto-extension) when next_transition_at is due.
CREATE TABLE relationships (
    id                  TEXT PRIMARY KEY,
    partner_id          TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    -- Admin role names, comma-separated in contract order; every role for legacy full admin.
    roles               TEXT NOT NULL,
    -- The same roles as bits (1 << position in the contract enum, GLOBAL_ADMINISTRATOR = bit 0),
    -- so ListRelationships' role filter is one AND in SQL on both engines.
    role_mask           BIGINT NOT NULL,
    legacy_full_admin   BOOLEAN NOT NULL,
    duration_days       BIGINT NOT NULL CHECK (duration_days BETWEEN 0 AND 730),
    auto_extend_days    BIGINT NOT NULL CHECK (auto_extend_days IN (0, 180)),
    message             TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('PENDING', 'ACTIVE', 'EXPIRING', 'EXPIRED', 'TERMINATED', 'REJECTED')),
    approval_link       TEXT NOT NULL,
    offer_expires_at    TIMESTAMP NOT NULL,
    activated_at        TIMESTAMP,
    ends_at             TIMESTAMP,
    extend_count        BIGINT NOT NULL DEFAULT 0,
    last_extended_at    TIMESTAMP,
    closed_at           TIMESTAMP,
    terminated_by       TEXT NOT NULL DEFAULT '' CHECK (terminated_by IN ('', 'PARTNER', 'CUSTOMER')),
    created_by_user_id  TEXT NOT NULL,
    decided_by_user_id  TEXT NOT NULL DEFAULT '',
    close_reason        TEXT NOT NULL DEFAULT '',
    -- When the clock next changes the row; NULL when it never will (final states, legacy full
    -- admin). The sweeper reads only rows due by now, through relationships_due.
    next_transition_at  TIMESTAMP,
    etag                TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
-- CheckAccess: every relationship of one partner and one customer (DA-6).
CREATE INDEX relationships_pair ON relationships (partner_id, customer_id);
-- ListRelationships, newest first, for a partner's and for a customer's callers (ID-8).
CREATE INDEX relationships_partner_created ON relationships (partner_id, created_at, id);
CREATE INDEX relationships_customer_created ON relationships (customer_id, created_at, id);
-- The sweeper: due rows in time order; rows that never change again are not indexed.
CREATE INDEX relationships_due ON relationships (next_transition_at, id) WHERE next_transition_at IS NOT NULL;

-- +goose Down
DROP TABLE relationships;
