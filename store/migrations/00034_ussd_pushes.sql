-- Network-initiated USSD (PRODUCT.md §3.6): a push request and its targets,
-- one per member, worked through like the SMS outbox (leases fenced by a
-- token, any number of senders in any number of instances).
--
-- marketing is kept on each target too: the daily marketing cap counts
-- pushes that advertise together with marketing SMS, and reads the targets
-- by msisdn without joining their pushes.
--
-- ussd_dialogues gets an index on msisdn: a push waits while its member has
-- a dialogue in progress, and finding one by number must not scan the table.

-- +goose Up
CREATE TABLE ussd_pushes (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('notify', 'menu')),
    msisdn          text,
    segment         jsonb,
    text            text NOT NULL DEFAULT '',
    screen          jsonb NOT NULL DEFAULT '{}',
    marketing       boolean NOT NULL,
    fallback_sms    boolean NOT NULL,
    expires_at      timestamptz NOT NULL,
    idempotency_key text UNIQUE,
    request_hash    bytea,
    created_by      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    targets         bigint NOT NULL DEFAULT 0,
    excluded        bigint NOT NULL DEFAULT 0,
    CHECK ((msisdn IS NULL) <> (segment IS NULL))
);

CREATE TABLE ussd_push_targets (
    id          bigserial PRIMARY KEY,
    push_id     bigint NOT NULL REFERENCES ussd_pushes (id),
    msisdn      text NOT NULL,
    marketing   boolean NOT NULL,
    state       text NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'sent', 'answered', 'completed', 'busy', 'no_answer', 'refused', 'failed')),
    not_before  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    owner       text,
    lease_until timestamptz,
    lease_token bigint NOT NULL DEFAULT 0,
    attempts    int NOT NULL DEFAULT 0,
    busy_seen   boolean NOT NULL DEFAULT false,
    ref         int,
    sent_at     timestamptz,
    answered_at timestamptz,
    ended_at    timestamptz,
    fell_back   boolean NOT NULL DEFAULT false,
    error       text,
    UNIQUE (push_id, msisdn)
);
-- What senders claim: due targets, oldest plan first.
CREATE INDEX ussd_push_targets_due ON ussd_push_targets (not_before) WHERE state = 'queued';
-- What the sweep ends unanswered.
CREATE INDEX ussd_push_targets_sent ON ussd_push_targets (sent_at) WHERE state = 'sent';
-- The marketing cap's look-back by member.
CREATE INDEX ussd_push_targets_marketing ON ussd_push_targets (msisdn, not_before) WHERE marketing;
-- A notification's ending, found by its member and dialogue number.
CREATE INDEX ussd_push_targets_live ON ussd_push_targets (msisdn) WHERE state IN ('queued', 'sent');
-- Counts per push.
CREATE INDEX ussd_push_targets_push ON ussd_push_targets (push_id, state);

CREATE INDEX ussd_dialogues_msisdn ON ussd_dialogues (msisdn);

-- +goose Down
DROP INDEX ussd_dialogues_msisdn;
DROP TABLE ussd_push_targets;
DROP TABLE ussd_pushes;
