-- +goose Up
-- subscriptions's schema starts here. The foundation only proves the migration path on SQLite and
-- PostgreSQL (goose records version 1 in subscriptions_schema); the subscriptions issue adds the tables.
SELECT 1;

-- +goose Down
SELECT 1;
