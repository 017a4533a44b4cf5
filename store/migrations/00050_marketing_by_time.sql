-- The week's marketing by time, for the SMS report and a push segment's
-- daily cap, under a predicate that a look-up by number does not state
-- (created_at IS NOT NULL, true of every row): those queries state it, and
-- a member's marketing of the week, looked up for each recipient of a
-- campaign's part, a push's fallback or one Send, can then only be found
-- through an index led by the number (sms_messages_marketing_by_number,
-- migration 00049).
--
-- While the statistics have seen no marketing (a table analyzed after
-- transactional traffic alone: a new deployment, or one whose sample of a
-- large outbox held no marketing), a partial index's row count is zero,
-- and reading all of sms_messages_marketing looked free: the planner took
-- it for each recipient, reading every marketing SMS of the week. Each
-- part of a campaign then read all the parts queued before it: in the
-- bench, a second campaign's first part took 15–47 s and a third's 26–77 s,
-- against 1.5 s (docs/benchmarks.md, "Marketing by number whatever the
-- statistics").
--
-- Built CONCURRENTLY, outside a transaction, so that the outbox keeps
-- accepting messages meanwhile. A build that failed leaves an invalid
-- index behind: the DROP clears it before the migration runs again. The
-- new index is built before the old one goes, so the report always has one.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_marketing_by_time;
CREATE INDEX CONCURRENTLY sms_messages_marketing_by_time ON sms_messages (scheduled_at)
    WHERE kind = 'marketing' AND created_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_marketing;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_marketing;
CREATE INDEX CONCURRENTLY sms_messages_marketing ON sms_messages (scheduled_at) INCLUDE (msisdn) WHERE kind = 'marketing';
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_marketing_by_time;
