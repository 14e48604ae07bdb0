-- +goose Up
-- Identity complete: program enrolments with their times (ID-1), users with e-mail and disable
-- time, API credentials as resources (ID, label, expiry, last use), customers (ID-2), reseller
-- relationships and their invitations (ID-4), and the record of customer moves (ID-5, ID-7).
-- Portable dialect: see pkg/store.

-- ID-1: one row per enrolment, so each program keeps its enrolment time.
CREATE TABLE partner_programs (
    partner_id   TEXT NOT NULL REFERENCES partners (id),
    program      TEXT NOT NULL CHECK (program IN ('CSP_DIRECT', 'CSP_INDIRECT_RESELLER', 'OPEN', 'DELEGATED_ADMIN')),
    enrolled_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (partner_id, program)
);
INSERT INTO partner_programs (partner_id, program, enrolled_at)
    SELECT id, 'CSP_DIRECT', created_at FROM partners WHERE ',' || programs || ',' LIKE '%,CSP_DIRECT,%';
INSERT INTO partner_programs (partner_id, program, enrolled_at)
    SELECT id, 'CSP_INDIRECT_RESELLER', created_at FROM partners WHERE ',' || programs || ',' LIKE '%,CSP_INDIRECT_RESELLER,%';
INSERT INTO partner_programs (partner_id, program, enrolled_at)
    SELECT id, 'OPEN', created_at FROM partners WHERE ',' || programs || ',' LIKE '%,OPEN,%';
INSERT INTO partner_programs (partner_id, program, enrolled_at)
    SELECT id, 'DELEGATED_ADMIN', created_at FROM partners WHERE ',' || programs || ',' LIKE '%,DELEGATED_ADMIN,%';
ALTER TABLE partners DROP COLUMN programs;
CREATE INDEX partners_created ON partners (created_at, id);

ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
CREATE INDEX users_org_name ON users (org_id, user_name);

-- API credentials become resources with an ID, a label, an expiry and a last use. The secret is
-- stored as its SHA-256 only (256-bit random secrets: no dictionary to attack). expires_at NULL
-- means "never" and exists only for credentials created before this migration (the demo).
CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id),
    org_id        TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    secret_hash   BYTEA NOT NULL,
    expires_at    TIMESTAMP,
    revoked_at    TIMESTAMP,
    last_used_at  TIMESTAMP,
    etag          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX credentials_user ON credentials (user_id, created_at);
INSERT INTO credentials (id, client_id, user_id, org_id, display_name, secret_hash, expires_at, revoked_at, last_used_at, etag, created_at, updated_at)
    SELECT c.client_id, c.client_id, c.user_id, u.org_id, '', c.secret_hash, NULL, c.revoked_at, NULL, c.client_id, c.created_at, c.created_at
    FROM api_credentials c JOIN users u ON u.id = c.user_id;
DROP TABLE api_credentials;

-- ID-2: a customer tenant. default_domain is unique across partnerhub; country and domain never
-- change.
CREATE TABLE customers (
    id                     TEXT PRIMARY KEY,
    organisation_name      TEXT NOT NULL,
    name_folded            TEXT NOT NULL, -- lower-cased organisation_name, for name_contains
    country_code           TEXT NOT NULL,
    default_domain         TEXT NOT NULL UNIQUE,
    admin_user_id          TEXT NOT NULL,
    created_by_partner_id  TEXT NOT NULL DEFAULT '',
    partner_managed        BOOLEAN NOT NULL,
    contact_name           TEXT NOT NULL DEFAULT '',
    contact_email          TEXT NOT NULL DEFAULT '',
    contact_phone          TEXT NOT NULL DEFAULT '',
    etag                   TEXT NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX customers_name ON customers (organisation_name, id);

-- ID-4: a partner and a customer; at most one ACTIVE row per pair (multi-partner per customer).
CREATE TABLE reseller_relationships (
    id                  TEXT PRIMARY KEY,
    partner_id          TEXT NOT NULL REFERENCES partners (id),
    customer_id         TEXT NOT NULL REFERENCES customers (id),
    state               TEXT NOT NULL CHECK (state IN ('ACTIVE', 'REMOVED', 'MOVED')),
    origin              TEXT NOT NULL CHECK (origin IN ('CUSTOMER_CREATED', 'INVITATION_ACCEPTED')),
    invitation_id       TEXT NOT NULL DEFAULT '',
    started_at          TIMESTAMP NOT NULL,
    ended_at            TIMESTAMP,
    removed_by_user_id  TEXT NOT NULL DEFAULT '',
    etag                TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX reseller_relationships_active ON reseller_relationships (partner_id, customer_id) WHERE state = 'ACTIVE';
CREATE INDEX reseller_relationships_partner ON reseller_relationships (partner_id, started_at, id);
CREATE INDEX reseller_relationships_customer ON reseller_relationships (customer_id, started_at, id);

-- ID-4: the single-use invitation a partner sends; code is stored upper case.
CREATE TABLE invitations (
    id                       TEXT PRIMARY KEY,
    partner_id               TEXT NOT NULL REFERENCES partners (id),
    code                     TEXT NOT NULL UNIQUE,
    message                  TEXT NOT NULL,
    state                    TEXT NOT NULL CHECK (state IN ('PENDING', 'ACCEPTED', 'WITHDRAWN', 'EXPIRED')),
    expires_at               TIMESTAMP NOT NULL,
    accepted_by_customer_id  TEXT NOT NULL DEFAULT '',
    accepted_at              TIMESTAMP,
    relationship_id          TEXT NOT NULL DEFAULT '',
    created_by_user_id       TEXT NOT NULL,
    etag                     TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL
);
CREATE INDEX invitations_partner ON invitations (partner_id, created_at, id);

-- ID-5, ID-7: a move is a record only.
CREATE TABLE customer_moves (
    id                      TEXT PRIMARY KEY,
    customer_id             TEXT NOT NULL REFERENCES customers (id),
    source_partner_id       TEXT NOT NULL,
    target_partner_id       TEXT NOT NULL,
    source_relationship_id  TEXT NOT NULL,
    target_relationship_id  TEXT NOT NULL,
    country_code            TEXT NOT NULL,
    moved_by_user_id        TEXT NOT NULL,
    moved_at                TIMESTAMP NOT NULL
);
CREATE INDEX customer_moves_customer ON customer_moves (customer_id, moved_at);

-- +goose Down
DROP TABLE customer_moves;
DROP TABLE invitations;
DROP TABLE reseller_relationships;
DROP TABLE customers;
CREATE TABLE api_credentials (
    client_id     TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    secret_hash   BYTEA NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
INSERT INTO api_credentials (client_id, user_id, secret_hash, created_at, revoked_at)
    SELECT client_id, user_id, secret_hash, created_at, revoked_at FROM credentials;
DROP TABLE credentials;
DROP INDEX users_org_name;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN email;
DROP INDEX partners_created;
ALTER TABLE partners ADD COLUMN programs TEXT NOT NULL DEFAULT '';
DROP TABLE partner_programs;
