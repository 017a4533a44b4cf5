-- One record per ended USSD dialogue (PRODUCT.md §3.8). Gateways write them
-- in batches, off the hot path; the idle sweep writes the timed-out ones in
-- the transaction that deletes their state, so each is written once. ids
-- are the engine's random dialogue ids: a batch sent again after a lost
-- answer adds nothing twice.
--
-- Records arrive roughly in ended_at order and are read by time range, so
-- a BRIN index (a few pages for millions of rows) finds a range; a number's
-- records (access and erasure requests, a support call) are found by the
-- btree on msisdn.

-- +goose Up
CREATE TABLE dialogue_records (
    id          text PRIMARY KEY CHECK (octet_length(id) <= 64),
    msisdn      text NOT NULL DEFAULT '',
    code        text NOT NULL DEFAULT '',
    channel     text NOT NULL DEFAULT '',
    bind        text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL,
    steps       int NOT NULL CHECK (steps >= 0),
    path        text[] NOT NULL DEFAULT '{}',
    outcome     text NOT NULL CHECK (outcome IN ('completed', 'user_abort', 'network_abort', 'timeout', 'replaced',
                                                 'invalid', 'error', 'no_answer', 'busy')),
    last_screen text NOT NULL DEFAULT ''
);
CREATE INDEX dialogue_records_ended ON dialogue_records USING brin (ended_at);
CREATE INDEX dialogue_records_msisdn ON dialogue_records (msisdn, ended_at);

-- +goose Down
DROP TABLE dialogue_records;
