-- +goose Up
-- One row per (scope, request_id): the claim of the first caller, then the response it produced.
CREATE TABLE idempotency_keys (
    scope       TEXT      NOT NULL,
    request_id  TEXT      NOT NULL,
    fingerprint BYTEA     NOT NULL,               -- sha256 of the request that claimed the ID
    state       TEXT      NOT NULL CHECK (state IN ('pending', 'done')),
    claim       BIGINT    NOT NULL,               -- +1 each time an expired claim is taken over
    lease_until TIMESTAMP NOT NULL,               -- a pending claim older than this is abandoned
    response    BYTEA,                            -- set when done
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, request_id)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
