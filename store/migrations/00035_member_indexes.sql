-- Indexes on the columns that tie rows to a member, for the tables that
-- had none leading with the number (PRODUCT.md §7): closing a membership
-- or changing its number moves the member's rows (00036), erasing it
-- replaces its number wherever it is kept (00037), and finding them must
-- not scan a table. Built CONCURRENTLY, outside a transaction,
-- so that claims, transfers and spins go on while they are built; a build
-- that failed leaves an invalid index, which the DROP clears first.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS gift_claims_msisdn;
CREATE INDEX CONCURRENTLY gift_claims_msisdn ON gift_claims (msisdn);
DROP INDEX CONCURRENTLY IF EXISTS points_transfers_recipient;
CREATE INDEX CONCURRENTLY points_transfers_recipient ON points_transfers (recipient);
DROP INDEX CONCURRENTLY IF EXISTS points_transfers_sender;
CREATE INDEX CONCURRENTLY points_transfers_sender ON points_transfers (sender);
DROP INDEX CONCURRENTLY IF EXISTS spin_grants_msisdn;
CREATE INDEX CONCURRENTLY spin_grants_msisdn ON spin_grants (msisdn);
DROP INDEX CONCURRENTLY IF EXISTS feedback_msisdn;
CREATE INDEX CONCURRENTLY feedback_msisdn ON feedback (msisdn);
DROP INDEX CONCURRENTLY IF EXISTS usage_events_msisdn;
CREATE INDEX CONCURRENTLY usage_events_msisdn ON usage_events (msisdn, at);
DROP INDEX CONCURRENTLY IF EXISTS lifecycle_events_msisdn;
CREATE INDEX CONCURRENTLY lifecycle_events_msisdn ON lifecycle_events (msisdn, at);
DROP INDEX CONCURRENTLY IF EXISTS provision_calls_msisdn;
CREATE INDEX CONCURRENTLY provision_calls_msisdn ON provision_calls (msisdn);
DROP INDEX CONCURRENTLY IF EXISTS ussd_pushes_msisdn;
CREATE INDEX CONCURRENTLY ussd_pushes_msisdn ON ussd_pushes (msisdn) WHERE msisdn IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS ussd_pushes_msisdn;
DROP INDEX CONCURRENTLY IF EXISTS provision_calls_msisdn;
DROP INDEX CONCURRENTLY IF EXISTS lifecycle_events_msisdn;
DROP INDEX CONCURRENTLY IF EXISTS usage_events_msisdn;
DROP INDEX CONCURRENTLY IF EXISTS feedback_msisdn;
DROP INDEX CONCURRENTLY IF EXISTS spin_grants_msisdn;
DROP INDEX CONCURRENTLY IF EXISTS points_transfers_sender;
DROP INDEX CONCURRENTLY IF EXISTS points_transfers_recipient;
DROP INDEX CONCURRENTLY IF EXISTS gift_claims_msisdn;
