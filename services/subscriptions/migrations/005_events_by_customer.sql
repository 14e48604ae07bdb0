-- +goose Up
-- A subscription's events are found through its customer's index (events_customer), with the
-- subscription as a filter: the lifecycle engine appends an event for almost every subscription it
-- advances, and a third secondary index on the feed cost the sweep more than it saved the
-- (rare, and bounded by one customer's events) reads by subscription.
DROP INDEX events_subscription;

-- +goose Down
CREATE INDEX events_subscription ON events (subscription_id, sequence);
