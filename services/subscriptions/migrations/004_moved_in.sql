-- +goose Up
-- When a subscription came to its partner of record by a direct transfer (SU-12); NULL when that
-- partner bought it. The previous partner paid for the term and its seats, so the new partner's
-- cancellation window and seat refunds end at the move (domain.Subscription.MovedInTime).
ALTER TABLE subscriptions ADD COLUMN moved_in TIMESTAMP;

-- +goose Down
ALTER TABLE subscriptions DROP COLUMN moved_in;
