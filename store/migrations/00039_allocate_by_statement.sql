-- Allocations take their points from their credits once per statement, not
-- once per allocation: a forfeiture, an expiry batch or a large spend
-- allocates to thousands of credits, and one UPDATE per allocation (with
-- the ledger's own trigger on each) was most of their cost. The checks are
-- those of 00001: every allocation joins a debit and a credit of one
-- subscriber, and the credit's CHECK (remaining BETWEEN 0 AND points)
-- refuses an overspend, now for the sum a statement takes from a credit.
-- Concurrent debits of one credit still meet on its row: the UPDATE waits
-- for the other transaction and re-reads what it left.

-- +goose Up
-- +goose StatementBegin
-- The planner knows nothing of a transition table's size and, guessing it
-- large, would scan the whole ledger to join it; an allocation is always a
-- handful of primary-key lookups per row, so the function plans that way.
CREATE FUNCTION points_allocate_all() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT a.debit_id, a.credit_id INTO bad FROM new_allocations a
    LEFT JOIN points_ledger c ON c.id = a.credit_id AND c.points > 0
    LEFT JOIN points_ledger d ON d.id = a.debit_id AND d.points < 0
    WHERE c.id IS NULL OR d.id IS NULL OR c.msisdn <> d.msisdn
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'allocation % -> %: not a debit and a credit of one subscriber', bad.debit_id, bad.credit_id
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE points_ledger c SET remaining = c.remaining - a.points
    FROM (SELECT credit_id, sum(points) AS points FROM new_allocations GROUP BY credit_id) a
    WHERE c.id = a.credit_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DROP TRIGGER points_allocations_allocate ON points_allocations;
CREATE TRIGGER points_allocations_allocate AFTER INSERT ON points_allocations
    REFERENCING NEW TABLE AS new_allocations
    FOR EACH STATEMENT EXECUTE FUNCTION points_allocate_all();

-- +goose Down
DROP TRIGGER points_allocations_allocate ON points_allocations;
CREATE TRIGGER points_allocations_allocate AFTER INSERT ON points_allocations
    FOR EACH ROW EXECUTE FUNCTION points_allocate();
DROP FUNCTION points_allocate_all();
