-- +goose Up
-- keys's schema starts here. The foundation only proves the migration path on SQLite and
-- PostgreSQL (goose records version 1 in keys_schema); the keys issue adds the tables.
SELECT 1;

-- +goose Down
SELECT 1;
