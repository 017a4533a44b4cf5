-- Open credits by expiry, for the expiry sweep, under a predicate that a
-- member's reads do not state (created_at IS NOT NULL, true of every
-- entry), as migration 00050 did for marketing SMS: the sweep states it,
-- and a member's open credits (the points screen, every debit, a
-- transfer's balance) can then only be found through an index led by
-- the number (points_ledger_open_credits).
--
-- While the statistics have seen no open credit (a new deployment's ledger
-- is analyzed empty, and stays so until autovacuum next looks), a partial
-- index's row count is zero and reading all of points_ledger_expiring
-- looked free: the planner took it for one member's balance, reading
-- every member's open credits (TestAccountReadsByNumberBeforeOpenCreditsAreAnalyzed).
--
-- Built CONCURRENTLY, outside a transaction, so that postings and debits
-- go on meanwhile. A build that failed leaves an invalid index behind: the
-- DROP clears it before the migration runs again. The new index is built
-- before the old one goes, so the sweep always has one.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS points_ledger_expiring_by_time;
CREATE INDEX CONCURRENTLY points_ledger_expiring_by_time ON points_ledger (expires_at)
    WHERE remaining > 0 AND created_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS points_ledger_expiring;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS points_ledger_expiring;
CREATE INDEX CONCURRENTLY points_ledger_expiring ON points_ledger (expires_at) WHERE remaining > 0;
DROP INDEX CONCURRENTLY IF EXISTS points_ledger_expiring_by_time;
