-- Staff accounts with roles, the audit log of changes made through the admin
-- API, and what the reports read: a daily rollup of the points ledger and an
-- hourly USSD traffic counter.

-- +goose Up

-- A staff account. Only the SHA-256 of its token's random secret is kept:
-- the token is shown once, when the account is created. Names are unique
-- because the audit log names actors by them.
CREATE TABLE staff (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (btrim(name) <> '' AND octet_length(name) <= 100),
    role        text NOT NULL CHECK (role IN ('admin', 'marketer', 'support')),
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    disabled_at timestamptz
);

-- Who changed what, when, with the object before and after. The actor's name
-- and role are copied, not joined, so that an entry says what was true when
-- it was written; actor_id is null for the built-in admin.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint REFERENCES staff (id),
    actor_name text NOT NULL,
    actor_role text NOT NULL,
    action     text NOT NULL CHECK (action <> '' AND octet_length(action) <= 200),
    target     text NOT NULL DEFAULT '' CHECK (octet_length(target) <= 500),
    before     jsonb,
    after      jsonb
);
-- The console filters by object and by actor, newest first.
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_actor ON audit_log (actor_name, id);

-- An audit log that can be edited proves nothing.
-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'check_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

-- The points report reads the ledger by the time an entry was booked. Only
-- the last two days are read from the ledger itself, through this index
-- (index-only: kind and points ride along); older days come from
-- points_daily, which is filled the first time a report asks for them.
-- Booking time, unlike earned_at, is never in the past (the ledger is
-- append-only and created_at is the inserting transaction's start), so a day
-- that ended more than a day ago can never change and its totals can be
-- kept for good. No trigger on the ledger: points writes pay for one more
-- index entry and nothing else, and never contend on a shared total.
CREATE INDEX points_ledger_created ON points_ledger (created_at) INCLUDE (kind, points);

CREATE TABLE points_daily (
    day               date PRIMARY KEY,
    issued_qualifying bigint NOT NULL,
    issued_bonus      bigint NOT NULL,
    spent             bigint NOT NULL, -- positive
    entries           bigint NOT NULL
);

-- points_days totals the ledger for every day in [first, last] in time zone
-- tz, zeros included, in one range scan of the created_at index (or of the
-- table, when the range is most of it). Both the rollup and the live part of
-- the report use it, so they cannot disagree. JIT compilation costs more
-- than it saves on a query this simple (about 0.8 s on 3 million rows).
-- +goose StatementBegin
CREATE FUNCTION points_days(first date, last date, tz text)
RETURNS TABLE (day date, issued_qualifying bigint, issued_bonus bigint, spent bigint, entries bigint)
LANGUAGE sql STABLE SET jit = off AS $$
    SELECT d.day::date, coalesce(a.iq, 0), coalesce(a.ib, 0), coalesce(a.spent, 0), coalesce(a.n, 0)
    FROM generate_series(first, last, interval '1 day') AS d(day)
    LEFT JOIN (
        SELECT (l.created_at AT TIME ZONE tz)::date AS day,
               sum(l.points) FILTER (WHERE l.points > 0 AND l.kind = 'qualifying') AS iq,
               sum(l.points) FILTER (WHERE l.points > 0 AND l.kind = 'bonus') AS ib,
               -sum(l.points) FILTER (WHERE l.points < 0) AS spent,
               count(*) AS n
        FROM points_ledger l
        WHERE l.created_at >= (first::timestamp AT TIME ZONE tz)
          AND l.created_at < ((last + 1)::timestamp AT TIME ZONE tz)
        GROUP BY 1
    ) AS a ON a.day = d.day::date
$$;
-- +goose StatementEnd

-- USSD steps per hour, summed over every gateway instance: each instance
-- counts in memory and adds its counts here every few seconds, so a busy
-- hour costs a handful of upserts, not one per step.
CREATE TABLE ussd_traffic (
    hour     timestamptz PRIMARY KEY,
    dials    bigint NOT NULL DEFAULT 0 CHECK (dials >= 0),
    answers  bigint NOT NULL DEFAULT 0 CHECK (answers >= 0),
    aborts   bigint NOT NULL DEFAULT 0 CHECK (aborts >= 0),
    failures bigint NOT NULL DEFAULT 0 CHECK (failures >= 0)
);

-- +goose Down
DROP TABLE ussd_traffic;
DROP FUNCTION points_days(date, date, text);
DROP TABLE points_daily;
DROP INDEX points_ledger_created;
DROP TABLE audit_log;
DROP FUNCTION audit_append_only();
DROP TABLE staff;
