-- +goose Up
-- CountActive (the tenant limit, SU-13: CheckTenantCapacity in every order's review and again in
-- ProvisionSubscription) counts a customer's ACTIVE and SUSPENDED subscriptions. Through
-- subscriptions_customer it read every one of the customer's rows from the table to see its
-- state, a page read each: with tenants of 250 subscriptions that was half of the service's CPU
-- in a 10-minute soak, and orders got slower as tenants grew. Here the count is read from the
-- index alone. Partial: a subscription leaves it when it expires or is cancelled, and the
-- lifecycle sweep pays one index deletion for that (a full (customer_id, state) index cost it a
-- deletion and an insertion: a fifth of a 100,000-subscription expiry sweep). The queries must
-- spell the condition with these literals for either engine to use it; state is in the key so
-- that SQLite needs no table read to check it.
CREATE INDEX subscriptions_active ON subscriptions (customer_id, state) WHERE state IN ('ACTIVE', 'SUSPENDED');

-- +goose Down
DROP INDEX subscriptions_active;
