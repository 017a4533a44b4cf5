-- The ledger's jobs: usage ingest from the billing feed, refunds, the
-- expiry sweep, the monthly tier review with its grace period, and bulk
-- subscriber imports.
--
-- Usage is journaled first and posted to the ledger by a job (usage.go in
-- store explains why): usage_events remembers every accepted event id, so a
-- retried event never counts twice, and usage_pending holds what is still to
-- be posted. Posting deletes pending rows and appends ledger entries in one
-- transaction, so an event is posted exactly once or not at all.

-- +goose Up

-- A refund takes qualifying points back: a debit of qualifying credits that
-- also lowers the qualifying total tiers use. Other debits (spending,
-- expiry, transfers) leave that total alone, hence the flag.
ALTER TABLE points_ledger ADD COLUMN refund boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT points_ledger_refund CHECK (NOT refund OR (points < 0 AND kind = 'qualifying'));

-- Tier: qualifying credits and refunds of the last 12 months.
DROP INDEX points_ledger_qualifying;
CREATE INDEX points_ledger_qualifying ON points_ledger (msisdn, earned_at)
    INCLUDE (points) WHERE kind = 'qualifying' AND (points > 0 OR refund);

-- The expiry sweep finds credits with something left past their expiry.
-- expires_at takes one value per month, so this index stays compact and
-- its inserts land on a few pages.
CREATE INDEX points_ledger_expiring ON points_ledger (expires_at) WHERE remaining > 0;

-- Every usage event ever accepted, by the billing system's id. No foreign
-- key: the subscriber is checked set-based when the batch arrives, and an
-- RI check per event would cost as much as the insert itself.
CREATE TABLE usage_events (
    id          text PRIMARY KEY CHECK (id <> '' AND octet_length(id) <= 200),
    msisdn      text NOT NULL,
    amount_vnd  bigint NOT NULL,
    points      bigint NOT NULL, -- what the event earns (negative: a refund asks back)
    at          timestamptz NOT NULL,
    received_at timestamptz NOT NULL
);

-- Accepted events not yet posted to the ledger. bucket (a hash of the
-- MSISDN) lets the poster take all pending events of a slice of subscribers
-- at once, so that a subscriber's events aggregate into few ledger entries
-- and each posting transaction holds few row locks.
CREATE TABLE usage_pending (
    bucket   smallint NOT NULL,
    msisdn   text NOT NULL,
    points   bigint NOT NULL CHECK (points <> 0),
    at       timestamptz NOT NULL,
    event_id text NOT NULL
);
CREATE INDEX usage_pending_bucket ON usage_pending (bucket);

-- tier_rank is the 1-based rank (1 = dong) of the highest of the five
-- tiers whose threshold q reaches; thresholds come from the configuration.
-- A plain expression, so that the planner inlines it: it runs once per
-- subscriber in set-based tier changes.
CREATE FUNCTION tier_rank(q bigint, t bigint[]) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN q >= t[5] THEN 5 WHEN q >= t[4] THEN 4 WHEN q >= t[3] THEN 3 WHEN q >= t[2] THEN 2 ELSE 1 END;

-- Monthly reviews done: one row per cycle (the 1st of a month, local), so a
-- review runs once however many instances or restarts try.
CREATE TABLE tier_reviews (
    cycle       date PRIMARY KEY,
    reviewed_at timestamptz NOT NULL,
    pending     int NOT NULL
);

-- A downgrade waiting out its grace period. One per subscriber; it goes
-- away when applied or when the points recover.
CREATE TABLE tier_downgrades (
    msisdn     text PRIMARY KEY REFERENCES subscribers (msisdn),
    from_tier  text NOT NULL,
    to_tier    text NOT NULL,
    cycle      date NOT NULL,
    due_at     timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX tier_downgrades_due ON tier_downgrades (due_at);

-- Every tier event, for the record and as the idempotency key of its SMS.
CREATE TABLE tier_changes (
    id         bigserial PRIMARY KEY,
    msisdn     text NOT NULL REFERENCES subscribers (msisdn),
    kind       text NOT NULL CHECK (kind IN ('upgrade', 'pending', 'downgrade', 'kept')),
    from_tier  text NOT NULL,
    to_tier    text NOT NULL,
    qualifying bigint NOT NULL,
    due_at     timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX tier_changes_msisdn ON tier_changes (msisdn, id);

-- Subscriber imports: progress while they run (updated from outside the
-- importing transaction, so any instance can answer GET), and the report
-- once done, so that repeating the request returns it.
CREATE TABLE subscriber_imports (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,100}$'),
    status       text NOT NULL CHECK (status IN ('reading', 'writing', 'done', 'failed')),
    rows_read    bigint NOT NULL DEFAULT 0,
    rows_written bigint NOT NULL DEFAULT 0,
    rejected     bigint NOT NULL DEFAULT 0,
    report       jsonb,
    error        text,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz
);

-- +goose Down
DROP TABLE subscriber_imports;
DROP TABLE tier_changes;
DROP TABLE tier_downgrades;
DROP TABLE tier_reviews;
DROP FUNCTION tier_rank(bigint, bigint[]);
DROP TABLE usage_pending;
DROP TABLE usage_events;
DROP INDEX points_ledger_expiring;
DROP INDEX points_ledger_qualifying;
CREATE INDEX points_ledger_qualifying ON points_ledger (msisdn, earned_at)
    INCLUDE (points) WHERE kind = 'qualifying' AND points > 0;
ALTER TABLE points_ledger DROP CONSTRAINT points_ledger_refund, DROP COLUMN refund;
