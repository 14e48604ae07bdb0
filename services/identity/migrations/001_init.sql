-- +goose Up
-- Identity's first tables: what the token path needs. Portable dialect: see pkg/store.
CREATE TABLE signing_keys (
    id           TEXT PRIMARY KEY,
    private_key  BYTEA NOT NULL,
    public_key   BYTEA NOT NULL,
    not_before   TIMESTAMP NOT NULL,
    sign_until   TIMESTAMP NOT NULL,
    not_after    TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE partners (
    id            TEXT PRIMARY KEY,
    legal_name    TEXT NOT NULL,
    country_code  TEXT NOT NULL,
    programs      TEXT NOT NULL, -- comma-separated Program names (ID-1)
    etag          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    org_kind      TEXT NOT NULL CHECK (org_kind IN ('PARTNER', 'CUSTOMER')),
    user_name     TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    roles         TEXT NOT NULL, -- comma-separated role names
    disabled      BOOLEAN NOT NULL,
    etag          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE api_credentials (
    client_id     TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    secret_hash   BYTEA NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);

-- +goose Down
DROP TABLE api_credentials;
DROP TABLE users;
DROP TABLE partners;
DROP TABLE signing_keys;
