-- +goose Up
-- Who a saga acts for. The order saga's calls carry a service token on behalf of the principal
-- that placed the order (svc.OnBehalfOf), and a cancellation's calls on behalf of the admin
-- agent that cancelled it; a saga resumed after a crash, or a cancellation applied in the
-- background, has no caller to take them from, so they are stored with the saga (JSON of
-- auth.Principal: subject, organisation, roles; no token, no secret). '' for none.
ALTER TABLE sagas ADD COLUMN principal TEXT NOT NULL DEFAULT '';
ALTER TABLE sagas ADD COLUMN cancel_principal TEXT NOT NULL DEFAULT '';

-- The cancellation applier (OR-4) looks for orders with a cancellation still pending; they are
-- few among all orders, so only they are indexed.
CREATE INDEX orders_cancelling ON orders (updated_at) WHERE cancellation_pending;

-- +goose Down
DROP INDEX orders_cancelling;
ALTER TABLE sagas DROP COLUMN cancel_principal;
ALTER TABLE sagas DROP COLUMN principal;
