-- +goose Up
-- Support requests (OR-6, DA-4): refund requests where self-service cancellation is not possible,
-- opened by a customer's Global admin or, with delegated admin, by a partner. Portable dialect as
-- in 002 (times bound from Go, enum CHECKs as OR chains). Money is BIGINT minor units plus a
-- currency column.
CREATE TABLE support_requests (
    id               TEXT PRIMARY KEY,
    -- The CreateSupportRequest request that opened it, within the opener's organisation (scope,
    -- "KIND:ID" as the idempotency interceptor's), so a retried request finds its support
    -- request (OR-7) and two concurrent ones cannot both insert.
    scope            TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    customer_domain  TEXT NOT NULL,
    partner_id       TEXT NOT NULL, -- '' when the customer opened it
    opened_by_kind   TEXT NOT NULL CHECK (opened_by_kind = 'PARTNER' OR opened_by_kind = 'CUSTOMER'),
    opened_by        TEXT NOT NULL, -- user ID
    order_id         TEXT NOT NULL, -- exactly one of order_id and subscription_id is not ''
    subscription_id  TEXT NOT NULL,
    refund_reason    TEXT NOT NULL CHECK (refund_reason = 'ACCIDENTAL_PURCHASE' OR refund_reason = 'WRONG_PRODUCT'
                         OR refund_reason = 'CANCELLATION_WINDOW_MISSED' OR refund_reason = 'SERVICE_ISSUE'
                         OR refund_reason = 'OTHER'),
    reason_details   TEXT NOT NULL,
    amount_minor     BIGINT NOT NULL CHECK (amount_minor > 0),
    currency         TEXT NOT NULL,
    contact_name     TEXT NOT NULL,
    contact_email    TEXT NOT NULL,
    contact_phone    TEXT NOT NULL,
    title            TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state = 'OPEN' OR state = 'IN_PROGRESS' OR state = 'GRANTED'
                         OR state = 'REFUSED'),
    resolution       TEXT NOT NULL,
    version          BIGINT NOT NULL CHECK (version >= 1),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (scope, request_id),
    CHECK ((order_id = '') <> (subscription_id = '')),
    -- A partner's request names the partner (ID-8: the partner's list filters on it); a
    -- customer's names none.
    CHECK ((opened_by_kind = 'PARTNER') = (partner_id <> ''))
);
-- The lists of a partner and of a customer, newest first in keyset order (created_at, id): read
-- backwards, the index gives both the filter and the order. The third serves a service's list
-- of every request.
CREATE INDEX support_requests_partner ON support_requests (partner_id, created_at, id);
CREATE INDEX support_requests_customer ON support_requests (customer_id, created_at, id);
CREATE INDEX support_requests_created ON support_requests (created_at, id);

-- +goose Down
DROP TABLE support_requests;
