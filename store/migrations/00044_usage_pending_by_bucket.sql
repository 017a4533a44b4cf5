-- Pending usage, one partition per bucket. A posting pass takes the 64
-- buckets one by one, and a batch's events interleave them: in one table,
-- every bucket's events were on every page, so each take read (through
-- the bucket index) and dirtied all of a backlog's pages, 64 times a pass.
-- Under the bench's feed these takes read 2,000,000 blocks from outside
-- shared_buffers in three runs and wrote 1,500,000 back. A partition holds
-- one bucket's events, which a take reads and deletes whole, so it needs no
-- index. A number change finds its events in its bucket's partition; a
-- closing's events are looked for in every partition (the queue holds
-- seconds of the feed).

-- +goose Up
ALTER TABLE usage_pending RENAME TO usage_pending_unsplit;
CREATE TABLE usage_pending (
    bucket   smallint NOT NULL,
    msisdn   text NOT NULL,
    points   bigint NOT NULL CHECK (points <> 0),
    at       timestamptz NOT NULL,
    event_id text NOT NULL
) PARTITION BY LIST (bucket);
-- +goose StatementBegin
DO $$
BEGIN
    FOR b IN 0..63 LOOP
        EXECUTE format('CREATE TABLE usage_pending_%s PARTITION OF usage_pending FOR VALUES IN (%s)', lpad(b::text, 2, '0'), b);
    END LOOP;
END $$;
-- +goose StatementEnd
INSERT INTO usage_pending SELECT * FROM usage_pending_unsplit;
DROP TABLE usage_pending_unsplit;

-- +goose Down
ALTER TABLE usage_pending RENAME TO usage_pending_split;
CREATE TABLE usage_pending (
    bucket   smallint NOT NULL,
    msisdn   text NOT NULL,
    points   bigint NOT NULL CHECK (points <> 0),
    at       timestamptz NOT NULL,
    event_id text NOT NULL
);
CREATE INDEX usage_pending_bucket ON usage_pending (bucket);
INSERT INTO usage_pending SELECT * FROM usage_pending_split;
DROP TABLE usage_pending_split;
