-- An allocation's check reads its debit and its credit by key, one row
-- each, whatever the statistics say. As joins (00039) the check was planned
-- from the ledger's statistics: analyzed while the ledger held no debits
-- (a new deployment's, or one filled by an import), "points < 0" looked to
-- match one row, so the planner read every debit once into memory and
-- compared each allocation with all of them. A churn batch of 1,000 then
-- took seconds, more as debits grew, and an erasure's forfeiture of 10,000
-- entries 20 s. Correlated subqueries are run for each allocation with its
-- keys, so each is one primary-key lookup. The checks are those of 00039.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION points_allocate_all() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT a.debit_id, a.credit_id INTO bad FROM new_allocations a
    WHERE NOT coalesce(
        (SELECT c.msisdn FROM points_ledger c WHERE c.id = a.credit_id AND c.points > 0) =
        (SELECT d.msisdn FROM points_ledger d WHERE d.id = a.debit_id AND d.points < 0),
        false)
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION points_allocate_all() RETURNS trigger LANGUAGE plpgsql
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
