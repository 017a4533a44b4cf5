-- Idempotent traffic counters (PRODUCT.md §8: counters and reports never
-- count a retried write twice). Every flush of an instance's USSD counts
-- carries a random id, recorded by the very statement that adds the counts:
-- a flush whose answer was lost is sent again with the same id and adds
-- nothing if the first one committed. Ids older than a day are swept by the
-- flushes themselves (a batch is never in doubt for that long).

-- +goose Up
CREATE TABLE ussd_traffic_flushes (
    id         bytea PRIMARY KEY CHECK (octet_length(id) = 16),
    flushed_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE ussd_traffic_flushes;
