-- +goose Up
-- Key redemptions (KD-1, KD-2, SU-4, SU-6, ID-2) and the state of their sagas. Portable dialect as
-- in 002 (times bound from Go, enum CHECKs as OR chains). A redemption is read and written whole:
-- its scalar fields are columns, its key reviews, key groups, outcomes, SKU snapshot, target
-- tenant, actor and failure are JSON text. Product keys are never stored in redemptions (KD-8):
-- the key reviews hold them masked.
CREATE TABLE redemptions (
    id                      TEXT PRIMARY KEY,
    -- The RedeemProductKeys request that created it, within the caller's organisation (scope,
    -- "KIND:ID" as the idempotency interceptor's), so a retried request finds its redemption
    -- (OR-7) and two concurrent ones cannot both insert. fingerprint is a hash of the request's
    -- normalised keys and target: the same request_id with another request is REQUEST_ID_REUSED.
    scope                   TEXT NOT NULL,
    request_id              TEXT NOT NULL,
    fingerprint             TEXT NOT NULL,
    partner_id              TEXT NOT NULL, -- '' when a customer redeemed for its own tenant
    customer_id             TEXT NOT NULL, -- '' until a NEW_TENANT redemption created the tenant
    kind                    TEXT NOT NULL CHECK (kind = 'NEW_TENANT' OR kind = 'NEW_SUBSCRIPTION'
                                OR kind = 'ADD_SEATS' OR kind = 'RENEWAL'),
    state                   TEXT NOT NULL CHECK (state = 'PROCESSING' OR state = 'COMPLETED' OR state = 'FAILED'),
    target_customer_id      TEXT NOT NULL, -- NEW_SUBSCRIPTION: the customer asked for
    target_subscription_id  TEXT NOT NULL, -- ADD_SEATS, RENEWAL: the subscription asked for
    new_tenant              TEXT, -- JSON of domain.NewTenant; NULL unless NEW_TENANT
    tenant_created          BOOLEAN NOT NULL,
    admin_user_id           TEXT NOT NULL, -- NEW_TENANT: the first admin, licensed (ID-2)
    key_reviews             TEXT NOT NULL, -- JSON array of domain.KeyReview (masked keys)
    key_groups              TEXT NOT NULL, -- JSON array of domain.KeyGroup
    outcomes                TEXT NOT NULL, -- JSON array of domain.Outcome
    skus                    TEXT NOT NULL, -- JSON object SKU ID → domain.SKUFacts
    failure                 TEXT, -- JSON of domain.Failure; NULL for none
    actor                   TEXT NOT NULL, -- JSON of domain.Actor: who the saga acts for (no token)
    version                 BIGINT NOT NULL CHECK (version >= 1),
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    complete_time           TIMESTAMP, -- NULL until COMPLETED or FAILED
    UNIQUE (scope, request_id)
);
CREATE INDEX redemptions_partner ON redemptions (partner_id, created_at, id);
CREATE INDEX redemptions_customer ON redemptions (customer_id, created_at, id);

-- The saga of each redemption, written before every call it makes; as the order sagas (002):
-- tasks and failure are JSON, the columns are what the recovery loop selects on (status, next_run
-- NULL for now, the lease: lease_owner '' and lease_until NULL when free), and version guards
-- every write, so that several replicas never run one saga at once. product_keys holds the keys
-- as typed (JSON array) only while the saga is in flight, for a resumed reserve step to repeat its
-- request; it is NULL once the saga is COMPLETED or FAILED (KD-8).
CREATE TABLE redemption_sagas (
    redemption_id  TEXT PRIMARY KEY REFERENCES redemptions (id),
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status = 'RUNNING' OR status = 'COMPENSATING' OR status = 'COMPLETED'
                       OR status = 'FAILED'),
    tasks          TEXT NOT NULL, -- JSON array of domain.Task (line_id: the key group)
    failure        TEXT,
    product_keys   TEXT,
    next_run       TIMESTAMP,
    lease_owner    TEXT NOT NULL,
    lease_until    TIMESTAMP,
    version        BIGINT NOT NULL CHECK (version >= 1)
);
-- DueRedemptions: only sagas in flight are indexed; the WHERE is the query's, word for word.
CREATE INDEX redemption_sagas_due ON redemption_sagas (next_run) WHERE status = 'RUNNING' OR status = 'COMPENSATING';

-- +goose Down
DROP INDEX redemption_sagas_due;
DROP TABLE redemption_sagas;
DROP INDEX redemptions_customer;
DROP INDEX redemptions_partner;
DROP TABLE redemptions;
