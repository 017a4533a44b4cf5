-- Drops spins_table (table_id, spun_at): no statement reads spins by
-- table (reports read them by time, spins_spun; a member's count of the
-- day reads spins_msisdn), and no spin table is ever deleted, so the
-- foreign key never looks spins up by it. On a young table's statistics
-- every index matching a member's count costs the same and the planner
-- took the smallest, this one: each count read every spin of the table
-- that day. The count's bound is written so that only spins_msisdn can
-- serve it (spins.go, spinsToday), and this index no longer competes.
-- It also saves an index insertion a spin.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS spins_table;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS spins_table ON spins (table_id, spun_at);
