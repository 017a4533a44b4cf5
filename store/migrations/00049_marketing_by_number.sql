-- Marketing SMS by number and time, for the daily cap: a campaign's part,
-- a push's fallback SMS and a single marketing Send look up the week's
-- marketing of their own recipients here (recentMarketing). Without it a
-- part of 10,000 read the week's marketing of every member, 0.16–0.18 s after a
-- quiet week and 0.76–0.91 s after a week of 1,000,000 (docs/benchmarks.md,
-- "A part's daily cap, by number"). Partial and on columns that never
-- change, so that transactional SMS write no entry and status updates stay
-- HOT.
--
-- Built CONCURRENTLY, outside a transaction, so that the outbox keeps
-- accepting messages while it is built. A build that failed leaves an
-- invalid index behind: the DROP clears it before the migration runs again.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_marketing_by_number;
CREATE INDEX CONCURRENTLY sms_messages_marketing_by_number ON sms_messages (msisdn, scheduled_at) WHERE kind = 'marketing';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_marketing_by_number;
