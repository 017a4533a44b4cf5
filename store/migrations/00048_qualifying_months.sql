-- Each member's qualifying points per month (a UTC month), kept by every
-- insert into the ledger, whoever makes it (this release, the previous one
-- during a rollout, an operator by hand): the qualifying total of the last
-- 12 months is then the months after the one the window opens in, plus
-- that month's entries after the window's start, read from the ledger. It
-- was the sum of every entry of the year, and a member's usage is posted
-- as a credit per local hour with usage: a busy number holds thousands a
-- year, read on every points screen and, in posting, for every member a
-- take credits (docs/benchmarks.md, "A member's year of credits").
--
-- A month's row is updated by each posting that credits the member in it:
-- the pages keep room for those updates to stay on them (HOT), which no
-- index covers.
--
-- Safe on a ledger of hundreds of millions of entries: run outside one
-- transaction. The trigger is created in a transaction that also notes the
-- last entry it will not see (creating it waits for the inserts in flight,
-- and holds off new ones only for that moment); the entries up to that one
-- are then added a batch of members at a time, each batch committing with
-- how far it got, so writers wait on a batch's members at most. Every step
-- can run again after a failure, and carries on where it stopped.

-- +goose NO TRANSACTION

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_month(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', at AT TIME ZONE 'UTC')::date
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_month_end(at timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
$$;
-- +goose StatementEnd

CREATE TABLE IF NOT EXISTS qualifying_months (
    msisdn text NOT NULL REFERENCES subscribers (msisdn) ON UPDATE CASCADE,
    month  date NOT NULL,
    points bigint NOT NULL,
    PRIMARY KEY (msisdn, month)
) WITH (fillfactor = 70);

-- The entries it adds are those the qualifying total counts (tiers.go's
-- qualifyingWhere): qualifying credits, and the usage refunds that took
-- some back. In order, so that two statements crediting the same members
-- lock their months in the same order.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION qualifying_months_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO qualifying_months (msisdn, month, points)
    SELECT msisdn, ledger_month(earned_at), sum(points) FROM added
    WHERE kind = 'qualifying' AND (points > 0 OR refund)
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (msisdn, month) DO UPDATE SET points = qualifying_months.points + excluded.points;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- up_to: the last entry the trigger did not see; done_through: the last
-- member (by member_id) whose entries up to it are in their months.
CREATE TABLE IF NOT EXISTS qualifying_months_backfill (
    up_to        bigint NOT NULL,
    done_through bigint NOT NULL
);
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgname = 'points_ledger_qualifying_months') THEN
        CREATE TRIGGER points_ledger_qualifying_months AFTER INSERT ON points_ledger
            REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION qualifying_months_add();
        INSERT INTO qualifying_months_backfill SELECT coalesce(max(id), 0), -1 FROM points_ledger;
    END IF;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE PROCEDURE care360_fill_qualifying_months() LANGUAGE plpgsql AS $$
DECLARE
    up bigint;
    last bigint;
    upto bigint;
BEGIN
    LOOP
        SELECT up_to, done_through INTO up, last FROM qualifying_months_backfill;
        EXIT WHEN NOT FOUND;
        SELECT max(member_id) INTO upto FROM (
            SELECT member_id FROM subscribers WHERE member_id > last ORDER BY member_id LIMIT 10000) b;
        IF upto IS NULL THEN
            DELETE FROM qualifying_months_backfill;
            COMMIT;
            EXIT;
        END IF;
        -- Each member's entries by the qualifying index, member by member.
        INSERT INTO qualifying_months (msisdn, month, points)
        SELECT s.msisdn, e.month, e.points
        FROM subscribers s, LATERAL (
            SELECT ledger_month(l.earned_at) AS month, sum(l.points) AS points FROM points_ledger l
            WHERE l.msisdn = s.msisdn AND l.kind = 'qualifying' AND (l.points > 0 OR l.refund) AND l.id <= up
            GROUP BY 1) e
        WHERE s.member_id > last AND s.member_id <= upto
        ORDER BY 1, 2
        ON CONFLICT (msisdn, month) DO UPDATE SET points = qualifying_months.points + excluded.points;
        UPDATE qualifying_months_backfill SET done_through = upto;
        COMMIT;
    END LOOP;
END
$$;
-- +goose StatementEnd
CALL care360_fill_qualifying_months();
DROP PROCEDURE care360_fill_qualifying_months();
DROP TABLE qualifying_months_backfill;

-- +goose Down
DROP TRIGGER IF EXISTS points_ledger_qualifying_months ON points_ledger;
DROP FUNCTION IF EXISTS qualifying_months_add();
DROP TABLE IF EXISTS qualifying_months_backfill;
DROP TABLE IF EXISTS qualifying_months;
DROP FUNCTION IF EXISTS ledger_month_end(timestamptz);
DROP FUNCTION IF EXISTS ledger_month(timestamptz);
