-- +goose Up
-- The users of the customer tenant who hold a license (one seat each) of a subscription, in the
-- order they got it (ID-2: the first admin of a tenant created by key redemption); '' for none.
-- Read and written whole with the row like lots and reminders_sent, and in the same compact form,
-- not JSON (the lifecycle sweep decodes every row it claims): user IDs (UUIDs) separated by ','.
ALTER TABLE subscriptions ADD COLUMN licensed_users TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE subscriptions DROP COLUMN licensed_users;
