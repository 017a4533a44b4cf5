-- What the operations dashboard draws (PRODUCT.md §6 /api/v1/dashboard).
--
-- traffic_slots: USSD steps and SMS outcomes per 10-second slot, summed over
-- every gateway instance. Instances count in memory and add their counts
-- here with the hourly USSD counts, in the same idempotent flush (one
-- statement carrying the flush id), so a busy minute costs a few upserts,
-- not one per step or message. Slots are statistics for the last hour's
-- charts: the flushes sweep slots older than a day, a hundred at a time.
--
-- job_runs: the last run of each scheduled job on each instance (every
-- instance runs every job; the database decides who does the work), so the
-- dashboard can say when each job last ran and how it ended. One upsert per
-- run; rows of instances gone for a week are swept by the same upserts.

-- +goose Up
CREATE TABLE traffic_slots (
    at            timestamptz PRIMARY KEY, -- start of a 10-second slot
    ussd_dials    bigint NOT NULL DEFAULT 0 CHECK (ussd_dials >= 0),
    ussd_steps    bigint NOT NULL DEFAULT 0 CHECK (ussd_steps >= 0),
    ussd_failures bigint NOT NULL DEFAULT 0 CHECK (ussd_failures >= 0),
    sms_submitted bigint NOT NULL DEFAULT 0 CHECK (sms_submitted >= 0),
    sms_delivered bigint NOT NULL DEFAULT 0 CHECK (sms_delivered >= 0),
    sms_failed    bigint NOT NULL DEFAULT 0 CHECK (sms_failed >= 0)
);

CREATE TABLE job_runs (
    job         text NOT NULL,
    instance    text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    ok          boolean NOT NULL,
    error       text NOT NULL DEFAULT '' CHECK (octet_length(error) <= 1000),
    PRIMARY KEY (job, instance)
);

-- +goose Down
DROP TABLE job_runs;
DROP TABLE traffic_slots;
