-- The index that finds a number's usage events (for an erasure, PRODUCT.md
-- §7) on the number alone. Keyed by (msisdn, at), every entry was unique
-- and the index outgrew the table's other parts (150 MB for 3,000,000
-- events, one random leaf an event): under the billing feed, its pages
-- crowded the ledger's out of shared_buffers. Keyed by the number, a
-- number's entries share one key, which B-tree deduplication keeps once
-- with its rows' addresses (23 MB for the same events); the erasure reads
-- the number's events and keeps those of its period by their time.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS usage_events_number;
CREATE INDEX CONCURRENTLY usage_events_number ON usage_events (msisdn);
DROP INDEX CONCURRENTLY IF EXISTS usage_events_msisdn;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS usage_events_msisdn;
CREATE INDEX CONCURRENTLY usage_events_msisdn ON usage_events (msisdn, at);
DROP INDEX CONCURRENTLY IF EXISTS usage_events_number;
