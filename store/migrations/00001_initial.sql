-- Care360's first schema: subscribers, the points ledger and open USSD
-- dialogues. Business rules that protect money-like data (points) are
-- constraints and triggers here, so that no bug in Go, and no hand-written
-- SQL in an incident, can overspend or rewrite history.

-- +goose Up

-- A member of the loyalty programme, keyed by canonical MSISDN (84903123456).
-- Tier is the tier earned by points and stored when it changes; the floor that
-- long membership gives is applied when reading, since it depends on today.
CREATE TABLE subscribers (
    msisdn       text PRIMARY KEY CHECK (msisdn ~ '^[0-9]{8,15}$'), -- E.164 without '+'
    name         text NOT NULL DEFAULT '' CHECK (octet_length(name) <= 200),
    gender       text NOT NULL DEFAULT '' CHECK (gender IN ('', 'f', 'm')), -- '' = unknown
    birthday     date,
    language     text NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'vi-unicode', 'en')),
    member_since date NOT NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    tier         text NOT NULL DEFAULT 'dong' CHECK (tier IN ('dong', 'bac', 'titan', 'vang', 'kim_cuong')),
    tier_since   timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The points ledger is append-only: a credit (points > 0) or a debit
-- (points < 0) is never changed or removed, and a retried request finds its
-- entry by idempotency key instead of adding another.
--
-- Each credit carries `remaining`, the part not yet consumed by debits. It is
-- derived data (points - sum of its allocations) kept in the row because
-- every balance and every debit needs it, and summing allocations each time
-- would grow with history. Only the trigger on points_allocations changes it,
-- and CHECK (remaining BETWEEN 0 AND points) makes the database itself refuse
-- an overspent credit: a debit can take only what its allocations took, and
-- an allocation can take only what is left.
CREATE TABLE points_ledger (
    id              bigserial PRIMARY KEY,
    msisdn          text NOT NULL REFERENCES subscribers (msisdn),
    kind            text NOT NULL CHECK (kind IN ('qualifying', 'bonus')), -- for a debit: the kind asked
    points          bigint NOT NULL CHECK (points <> 0),
    remaining       bigint, -- credits only
    reason          text NOT NULL CHECK (reason <> '' AND octet_length(reason) <= 500),
    idempotency_key text NOT NULL CHECK (idempotency_key <> '' AND octet_length(idempotency_key) <= 200),
    earned_at       timestamptz NOT NULL, -- for a debit: when it was made
    expires_at      timestamptz,          -- credits only
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (msisdn, idempotency_key),
    CONSTRAINT points_ledger_credit_fields CHECK (
        CASE WHEN points > 0
            THEN expires_at IS NOT NULL AND remaining IS NOT NULL AND remaining BETWEEN 0 AND points
            ELSE expires_at IS NULL AND remaining IS NULL
        END)
);

-- Ledger pages, newest first.
CREATE INDEX points_ledger_msisdn_id ON points_ledger (msisdn, id);
-- Spending and balances read only credits with something left; consumed
-- credits drop out of this index, so it stays small however long the history.
CREATE INDEX points_ledger_open_credits ON points_ledger (msisdn, expires_at, id)
    INCLUDE (remaining, kind) WHERE remaining > 0;
-- Tier: qualifying points earned in the last 12 months.
CREATE INDEX points_ledger_qualifying ON points_ledger (msisdn, earned_at)
    INCLUDE (points) WHERE kind = 'qualifying' AND points > 0;

-- Which credits each debit consumed, and how much of each (earliest-expiring
-- first). No index on credit_id: nothing reads by credit, and rows are never
-- deleted, so the foreign key needs none.
CREATE TABLE points_allocations (
    debit_id  bigint NOT NULL REFERENCES points_ledger (id),
    credit_id bigint NOT NULL REFERENCES points_ledger (id),
    points    bigint NOT NULL CHECK (points > 0),
    PRIMARY KEY (debit_id, credit_id)
);

-- +goose StatementBegin
-- An allocation takes its points from the credit's remaining. AFTER, so that
-- a debit and its allocations may be inserted by one statement (the trigger
-- then sees the debit row).
CREATE FUNCTION points_allocate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE points_ledger c SET remaining = c.remaining - NEW.points
    FROM points_ledger d
    WHERE c.id = NEW.credit_id AND c.points > 0
      AND d.id = NEW.debit_id AND d.points < 0 AND d.msisdn = c.msisdn;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'allocation % -> %: not a debit and a credit of one subscriber', NEW.debit_id, NEW.credit_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER points_allocations_allocate AFTER INSERT ON points_allocations
    FOR EACH ROW EXECUTE FUNCTION points_allocate();

-- +goose StatementBegin
-- History is not rewritten: the only change a ledger row may see is its
-- remaining going down, and allocations never change at all.
CREATE FUNCTION points_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'points_ledger'
       AND (to_jsonb(NEW) - 'remaining') = (to_jsonb(OLD) - 'remaining')
       AND NEW.remaining <= OLD.remaining THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER points_ledger_append_only BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_append_only();
CREATE TRIGGER points_allocations_append_only BEFORE UPDATE OR DELETE ON points_allocations
    FOR EACH ROW EXECUTE FUNCTION points_append_only();

-- An open USSD dialogue: the engine's state as opaque bytes (bytea, not
-- jsonb: nothing queries inside it, and the store should not parse what it
-- only keeps). Rows live for seconds to minutes and are rewritten at every
-- step, so leave room on each page for HOT updates (no index covers the
-- changing columns); idle rows are found by a rare sequential sweep rather
-- than by an index every step would have to maintain.
CREATE TABLE ussd_dialogues (
    key        text PRIMARY KEY,
    msisdn     text NOT NULL,
    state      bytea NOT NULL,
    updated_at timestamptz NOT NULL
) WITH (fillfactor = 70);

-- +goose Down
DROP TABLE ussd_dialogues;
DROP TABLE points_allocations;
DROP TABLE points_ledger;
DROP FUNCTION points_append_only();
DROP FUNCTION points_allocate();
DROP TABLE subscribers;
