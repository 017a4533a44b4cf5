-- SMS: the durable outbox, delivery receipts, keyword MOs, campaigns,
-- marketing opt-outs and the do-not-call list, and points transfers (CD).
--
-- The outbox is two tables. sms_messages is the record of every outgoing
-- SMS (what, to whom, where it got to); its status changes touch no indexed
-- column, so they are HOT updates that write no index. sms_queue holds a row
-- only while a message still has to go out, and is what senders claim: its
-- not_before is both "due at" and the end of a sender's lease, so a message
-- whose sender died is simply due again, with no sweep.

-- +goose Up

CREATE TABLE sms_campaigns (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL CHECK (name <> '' AND octet_length(name) <= 200),
    text            text NOT NULL CHECK (text <> ''),
    text_en         text NOT NULL DEFAULT '',
    segment         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'paused', 'cancelled')),
    send_at         timestamptz NOT NULL,
    recipients      bigint NOT NULL DEFAULT 0 CHECK (recipients >= 0),
    idempotency_key text UNIQUE CHECK (octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- One row per outgoing SMS, kept after it is sent. status 'queued' means
-- "still in sms_queue", whose row says whether it is held or being sent.
-- campaign_id has no foreign key on purpose: a million-row fan-out would run
-- a million RI checks, and campaigns are never deleted.
CREATE TABLE sms_messages (
    id              bigserial PRIMARY KEY,
    msisdn          text NOT NULL,
    text            text NOT NULL CHECK (text <> ''),
    kind            text NOT NULL CHECK (kind IN ('transactional', 'marketing')),
    status          text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'submitted', 'delivered', 'undeliverable', 'expired', 'failed')),
    -- COLLATE "C": byte order, so that a campaign's keys ('c42:…') are one
    -- range of this index, which is how campaign progress finds its messages
    -- (one index fewer to fill for each of a million recipients).
    idempotency_key text COLLATE "C" NOT NULL UNIQUE CHECK (idempotency_key <> '' AND octet_length(idempotency_key) <= 200),
    campaign_id     bigint,
    scheduled_at    timestamptz NOT NULL, -- when it was planned to go (quiet hours and cap applied)
    parts           smallint CHECK (parts BETWEEN 1 AND 255),
    error           text,
    created_at      timestamptz NOT NULL,
    submitted_at    timestamptz,
    delivered_at    timestamptz
) WITH (fillfactor = 80);

CREATE INDEX sms_messages_msisdn ON sms_messages (msisdn, id);
-- The daily cap looks at recent marketing; neither column ever changes, so
-- status updates stay HOT.
CREATE INDEX sms_messages_marketing ON sms_messages (scheduled_at) INCLUDE (msisdn) WHERE kind = 'marketing';

-- The work queue. priority 0 (transactional) always goes before 1
-- (marketing), so a keyword reply never waits behind a campaign. held marks
-- what quiet hours, the daily cap or a paused campaign keep back (paused:
-- not_before = infinity). owner names the sender holding the lease until
-- lease_until; a lapsed lease makes the row claimable again. The lease is
-- its own unindexed column, not a later not_before, so that a claim is a HOT
-- update that writes no index (fillfactor leaves room for it).
-- Neither this table nor sms_parts has a foreign key to sms_messages: each
-- would cost an index probe and a row lock per message on the hottest path
-- (fan-out, claim, settle), only the outbox writes them, and messages are
-- never deleted.
CREATE TABLE sms_queue (
    message_id  bigint PRIMARY KEY,
    priority    smallint NOT NULL CHECK (priority IN (0, 1)),
    not_before  timestamptz NOT NULL,
    held        boolean NOT NULL DEFAULT false,
    owner       text,
    lease_until timestamptz,
    attempts    int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    reclaimed   boolean NOT NULL DEFAULT false, -- the last claim found a lapsed lease
    campaign_id bigint
) WITH (fillfactor = 80);
CREATE INDEX sms_queue_due ON sms_queue (priority, not_before);
-- Campaign progress counts what is held; claims clear held, so this stays small.
CREATE INDEX sms_queue_held ON sms_queue (campaign_id) WHERE held;

-- Each part the SMSC accepted, with its message id, so that its receipt
-- finds it. SMSC ids are unique per SMSC only, hence no UNIQUE.
CREATE TABLE sms_parts (
    message_id   bigint NOT NULL,
    part         smallint NOT NULL CHECK (part >= 1),
    smsc_id      text NOT NULL,
    status       text NOT NULL DEFAULT 'submitted'
        CHECK (status IN ('submitted', 'delivered', 'undeliverable', 'expired', 'enroute', 'unknown')),
    error        text,
    submitted_at timestamptz NOT NULL,
    done_at      timestamptz,
    PRIMARY KEY (message_id, part)
) WITH (fillfactor = 80);
CREATE INDEX sms_parts_smsc_id ON sms_parts (smsc_id);

-- Receipts that matched no part: early ones (the SMSC answered faster than
-- we recorded the submit) are applied when the part is recorded; the rest
-- (unknown ids, another system's) are kept for the record.
CREATE TABLE sms_receipts_unmatched (
    smsc_id     text NOT NULL,
    state       text NOT NULL,
    error       text,
    received_at timestamptz NOT NULL
);
CREATE INDEX sms_receipts_unmatched_smsc_id ON sms_receipts_unmatched (smsc_id);

-- Every keyword SMS received, stored before it is answered.
CREATE TABLE sms_inbound (
    id          bigserial PRIMARY KEY,
    msisdn      text NOT NULL,
    from_addr   text NOT NULL,
    to_addr     text NOT NULL,
    text        text NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX sms_inbound_msisdn ON sms_inbound (msisdn, id);

-- Subscribers who sent TC (not necessarily members), and the national
-- do-not-call list staff import. Marketing never goes to either.
CREATE TABLE sms_optouts (
    msisdn     text PRIMARY KEY CHECK (msisdn ~ '^[0-9]{8,15}$'),
    created_at timestamptz NOT NULL
);
CREATE TABLE sms_dnc (
    msisdn      text PRIMARY KEY CHECK (msisdn ~ '^[0-9]{8,15}$'),
    imported_at timestamptz NOT NULL
);

-- A gift of points (CD, menu 7). At most one pending transfer per sender;
-- confirming it flips pending → confirmed exactly once, however often Y
-- arrives.
CREATE TABLE points_transfers (
    id           bigserial PRIMARY KEY,
    sender       text NOT NULL REFERENCES subscribers (msisdn),
    recipient    text NOT NULL REFERENCES subscribers (msisdn),
    points       bigint NOT NULL CHECK (points > 0),
    status       text NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled', 'expired')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    CHECK (sender <> recipient),
    CHECK ((status = 'confirmed') = (confirmed_at IS NOT NULL))
);
CREATE UNIQUE INDEX points_transfers_one_pending ON points_transfers (sender) WHERE status = 'pending';
-- The monthly cap sums a sender's confirmed transfers of the month.
CREATE INDEX points_transfers_sent ON points_transfers (sender, confirmed_at) INCLUDE (points) WHERE status = 'confirmed';

-- +goose StatementBegin
-- sms_window returns t if marketing may go out then (open_at <= local time
-- of day < close_at in tz), else the next opening. Set-based fan-out needs
-- it per recipient; SMSRules.NextWindow is the same rule in Go. One
-- expression without FROM, so that the planner inlines it.
CREATE FUNCTION sms_window(t timestamptz, tz text, open_at interval, close_at interval)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN (t AT TIME ZONE tz) - date_trunc('day', t AT TIME ZONE tz) < open_at
            THEN (date_trunc('day', t AT TIME ZONE tz) + open_at) AT TIME ZONE tz
        WHEN (t AT TIME ZONE tz) - date_trunc('day', t AT TIME ZONE tz) >= close_at
            THEN (date_trunc('day', t AT TIME ZONE tz) + interval '1 day' + open_at) AT TIME ZONE tz
        ELSE t
    END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION sms_window(timestamptz, text, interval, interval);
DROP TABLE points_transfers;
DROP TABLE sms_dnc;
DROP TABLE sms_optouts;
DROP TABLE sms_inbound;
DROP TABLE sms_receipts_unmatched;
DROP TABLE sms_parts;
DROP TABLE sms_queue;
DROP TABLE sms_messages;
DROP TABLE sms_campaigns;
