-- +goose Up
-- Transfers of subscriptions between partners (TransferService, SU-12..SU-14). Same portable
-- dialect and conventions as 002: enum columns hold the domain's value names (CHECKs as OR
-- chains), what lists filter or sort on is a column, and times never set are the zero time rather
-- than NULL. A transfer's items are read and written whole with it and nothing filters on them
-- (a subscription's own pending_transfer_id says which open transfer holds it), so they are one
-- JSON array.

CREATE TABLE transfers (
    id                   TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL,
    source_partner_id    TEXT NOT NULL, -- '' for the customer's directly bought subscriptions
    target_partner_id    TEXT NOT NULL,
    method               TEXT NOT NULL CHECK (method = 'DIRECT_MOVE' OR method = 'EXPIRE_AND_REPURCHASE'),
    state                TEXT NOT NULL CHECK (state = 'PENDING' OR state = 'ACCEPTED' OR state = 'COMPLETED'
                             OR state = 'CANCELLED' OR state = 'REJECTED' OR state = 'FAILED'),
    -- JSON array of the items in request order: {"subscription_id", "source_sku_id", "target_sku_id",
    -- "target_product_id", "target_display_name", "target_max_quantity", "quantity",
    -- "license_reassignment_required", "state", "target_subscription_id", "source_term_end"}
    items                TEXT NOT NULL,
    -- The tenant maximum figures checked for the transfer (SU-13).
    tenant_limit         BIGINT NOT NULL,
    tenant_active        BIGINT NOT NULL,
    tenant_peak          BIGINT NOT NULL,
    repurchase_deadline  TIMESTAMP NOT NULL, -- zero time for a direct move
    created_by           TEXT NOT NULL,
    decided_by           TEXT NOT NULL,
    note                 TEXT NOT NULL,
    complete_time        TIMESTAMP NOT NULL, -- zero time until a final state
    version              BIGINT NOT NULL CHECK (version >= 1),
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
-- ListTransfers, newest first: a partner's incoming and outgoing ones, a customer's.
CREATE INDEX transfers_target ON transfers (target_partner_id, created_at, id);
CREATE INDEX transfers_source ON transfers (source_partner_id, created_at, id);
CREATE INDEX transfers_customer ON transfers (customer_id, created_at, id);

-- +goose Down
DROP TABLE transfers;
