-- The SMS report (GET /api/v1/reports/sms) counts messages per local day by
-- scheduled_at. Marketing is already indexed on it (sms_messages_marketing);
-- this indexes transactional messages the same way. Partial, so that a
-- campaign's fan-out of a million rows writes no entry here; on columns that
-- never change, so that status updates stay HOT.
--
-- Built CONCURRENTLY, outside a transaction, so that the outbox keeps
-- accepting messages while it is built. A build that failed leaves an
-- invalid index behind: the DROP clears it before the migration runs again.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_transactional;
CREATE INDEX CONCURRENTLY sms_messages_transactional ON sms_messages (scheduled_at) WHERE kind = 'transactional';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS sms_messages_transactional;
