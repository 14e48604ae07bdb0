-- +goose Up
-- Entitlements with their issued keys and download variants, download-link records and the
-- activity log (KD-3…KD-8, CA-7). Portable dialect: see pkg/store (one script for SQLite and
-- PostgreSQL; both have partial indexes and row-value comparisons). Enum columns hold the domain's
-- value names; every scalar field of an entitlement, link and activity record is a column, so that
-- lists filter and sort in SQL.
--
-- An entitlement's keys and variants are rows of their own, not text in the entitlement's row:
-- a key is looked up by its ID alone (EntitlementOfKey, for every reveal), which needs an index
-- on the key ID, and a revocation rewrites the keys without their sealed form.
--
-- The enum CHECKs are OR chains, not IN lists: SQLite evaluates a CHECK with an IN list of more
-- than two values through a temporary b-tree that it builds on every INSERT and UPDATE.

CREATE TABLE entitlements (
    id               TEXT PRIMARY KEY,
    request_id       TEXT NOT NULL, -- the IssueEntitlements request that created it
    customer_id      TEXT NOT NULL,
    partner_id       TEXT NOT NULL, -- '' when bought directly
    order_id         TEXT NOT NULL,
    order_line_id    TEXT NOT NULL,
    subscription_id  TEXT NOT NULL,
    sku_id           TEXT NOT NULL,
    product_id       TEXT NOT NULL,
    product_name     TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind = 'KEY_AND_DOWNLOAD' OR kind = 'KEY_ONLY' OR kind = 'DOWNLOAD_ONLY'
                         OR kind = 'INSTRUCTIONS_ONLY' OR kind = 'LICENSE_ONLY'),
    quantity         BIGINT NOT NULL,
    state            TEXT NOT NULL CHECK (state = 'ACTIVE' OR state = 'REVOKED'),
    instructions     TEXT NOT NULL, -- URL or text; '' for none
    revoke_time      TIMESTAMP, -- NULL until revoked
    revocation       TEXT NOT NULL CHECK (revocation = '' OR revocation = 'ORDER_CANCELLED'
                         OR revocation = 'ORDER_COMPENSATED' OR revocation = 'SUBSCRIPTION_CANCELLED'),
    version          BIGINT NOT NULL CHECK (version >= 1),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    -- One entitlement per order line: a retried IssueEntitlements step finds the first one
    -- (EntitlementOfLine) and two concurrent ones cannot both insert.
    UNIQUE (order_id, order_line_id)
);
-- Lists of a customer, of a partner and of an order in keyset order (created_at, id). The order
-- index also serves EntitlementsOfOrder (a cancellation revokes an order's entitlements, KD-7);
-- the UNIQUE constraint's index serves EntitlementOfLine.
CREATE INDEX entitlements_customer ON entitlements (customer_id, created_at, id);
CREATE INDEX entitlements_partner ON entitlements (partner_id, created_at, id);
CREATE INDEX entitlements_order ON entitlements (order_id, created_at, id);

-- The MAK keys of an entitlement, in the entitlement's order (position 0, 1, ...). The primary
-- key reads an entitlement's keys in order; key_id's UNIQUE index finds the entitlement of a key.
-- sealed is the key as the service's keyring sealed it (KD-8): the store never holds, reads or
-- logs a plain key. It is '' once the entitlement is revoked; masked stays so that a reader can
-- tell which keys were withdrawn.
CREATE TABLE issued_keys (
    entitlement_id    TEXT NOT NULL REFERENCES entitlements (id),
    position          BIGINT NOT NULL CHECK (position >= 0),
    key_id            TEXT NOT NULL UNIQUE,
    -- partnerhub issues MAK keys only (CA-8, KD-5): a KMS key, or any other kind, is refused here
    -- too, whatever the code above does.
    key_type          TEXT NOT NULL CHECK (key_type = 'MAK'),
    masked            TEXT NOT NULL,
    sealed            TEXT NOT NULL,
    activation_limit  BIGINT NOT NULL,
    PRIMARY KEY (entitlement_id, position)
);

-- The download variants of an entitlement (KD-4), in the entitlement's order. A link names its
-- variant by ID, so a variant ID names one variant of its entitlement.
CREATE TABLE variants (
    entitlement_id    TEXT NOT NULL REFERENCES entitlements (id),
    position          BIGINT NOT NULL CHECK (position >= 0),
    variant_id        TEXT NOT NULL,
    product_version   TEXT NOT NULL, -- the product's version offered, e.g. '2021' (not a row version)
    language          TEXT NOT NULL,
    file_type         TEXT NOT NULL,
    operating_system  TEXT NOT NULL,
    file_name         TEXT NOT NULL,
    size_bytes        BIGINT NOT NULL,
    sha256            TEXT NOT NULL,
    PRIMARY KEY (entitlement_id, position),
    UNIQUE (entitlement_id, variant_id)
);

-- Records of the download links handed out (KD-4). The link's token is verified by its signature;
-- the record is what a revocation counts and withdraws (KD-7), by entitlement. The request that
-- created a link is found through its activity record (see adapters/sql, LinkOfRequest): the
-- record carries the caller's organisation, the link does not.
CREATE TABLE download_links (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL, -- the CreateDownloadLink request
    entitlement_id  TEXT NOT NULL REFERENCES entitlements (id),
    variant_id      TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    partner_id      TEXT NOT NULL,
    created_by      TEXT NOT NULL, -- user ID
    expire_time     TIMESTAMP NOT NULL,
    revoked         BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX download_links_entitlement ON download_links (entitlement_id);

-- The append-only activity log (KD-6): who did what to which key or download, when and from
-- where. It holds masked keys only (KD-8). No foreign keys: the log also records refusals, whose
-- entitlement or link may not exist, and it must outlive whatever it cites.
CREATE TABLE activity (
    id                  TEXT PRIMARY KEY,
    action              TEXT NOT NULL CHECK (action = 'KEY_REVEALED' OR action = 'DOWNLOAD_LINK_CREATED'
                            OR action = 'DOWNLOAD_STARTED' OR action = 'DOWNLOAD_REFUSED'),
    actor_user_id       TEXT NOT NULL,
    actor_display_name  TEXT NOT NULL,
    actor_org_id        TEXT NOT NULL,
    actor_org_kind      TEXT NOT NULL, -- PARTNER, CUSTOMER, SERVICE; '' for an anonymous link
    actor_roles         TEXT NOT NULL, -- role names, ',' between them; '' for none
    partner_id          TEXT NOT NULL, -- the entitlement's partner: whose log the record belongs to
    customer_id         TEXT NOT NULL,
    entitlement_id      TEXT NOT NULL,
    key_id              TEXT NOT NULL,
    masked_key          TEXT NOT NULL,
    product_name        TEXT NOT NULL,
    variant_id          TEXT NOT NULL,
    link_id             TEXT NOT NULL,
    occur_time          TIMESTAMP NOT NULL,
    peer_address        TEXT NOT NULL,
    user_agent          TEXT NOT NULL,
    refusal_reason      TEXT NOT NULL, -- the errs.Reason of a refused download; '' otherwise
    -- The request that appended the record, within the caller's organisation (scope), so that a
    -- retried request records once; '' for a record of no request (an anonymous download).
    scope               TEXT NOT NULL,
    request_id          TEXT NOT NULL
);
-- A request records once per organisation. Records of no request are many and share ''.
CREATE UNIQUE INDEX activity_request ON activity (scope, request_id) WHERE request_id <> '';
-- The log of a partner and of a customer by date range, in keyset order (occur_time, id).
CREATE INDEX activity_partner ON activity (partner_id, occur_time, id);
CREATE INDEX activity_customer ON activity (customer_id, occur_time, id);

-- +goose Down
DROP TABLE activity;
DROP TABLE download_links;
DROP TABLE variants;
DROP TABLE issued_keys;
DROP TABLE entitlements;
