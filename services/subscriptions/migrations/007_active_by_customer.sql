-- +goose Up
-- CountActive (the tenant limit, SU-13: CheckTenantCapacity in every order's review and again in
-- ProvisionSubscription) counts a customer's ACTIVE and SUSPENDED subscriptions. Through
-- subscriptions_customer it read every one of the customer's rows from the table to see its
-- state, a page read each: with a tenant of 250 subscriptions that was half of the service's
-- CPU in a 10-minute soak, and orders got slower as tenants grew. Here the count is read from
-- the index alone.
CREATE INDEX subscriptions_customer_state ON subscriptions (customer_id, state);

-- +goose Down
DROP INDEX subscriptions_customer_state;
