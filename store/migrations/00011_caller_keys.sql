-- Idempotency keys chosen by API callers, and the daily allowance of points
-- adjustments staff below admin may make (PRODUCT.md §6, §9).
--
-- A caller's key is stored as 'api:' || key, apart from the keys the system
-- gives its own work ('draw:7', 'transfer:3', 'gift-announce:…'). Tables
-- whose rows are created from several fields keep request_hash, the
-- SHA-256 of the request that created the row, so that the same key sent
-- with a different request is refused (409) instead of answered as a
-- replay. The ledger needs none: its row is the whole request (kind,
-- points, reason).

-- +goose Up

-- Points adjusted per staff account and local day. The change's transaction
-- adds to its row (the upsert holds the row lock until commit), so that
-- concurrent requests of one account are counted one after another and
-- never add up past the allowance.
CREATE TABLE staff_points_daily (
    staff_id bigint NOT NULL REFERENCES staff (id),
    day      date NOT NULL,
    points   bigint NOT NULL CHECK (points >= 0),
    PRIMARY KEY (staff_id, day)
);

ALTER TABLE gifts ADD COLUMN request_hash bytea CHECK (octet_length(request_hash) = 32);
ALTER TABLE offers ADD COLUMN request_hash bytea CHECK (octet_length(request_hash) = 32);
ALTER TABLE draws ADD COLUMN request_hash bytea CHECK (octet_length(request_hash) = 32);
ALTER TABLE spin_tables ADD COLUMN request_hash bytea CHECK (octet_length(request_hash) = 32);
ALTER TABLE sms_campaigns ADD COLUMN request_hash bytea CHECK (octet_length(request_hash) = 32);

-- Keys callers chose before keep working: in these tables only callers
-- chose keys, except the gift announcements the system files as campaigns.
-- A key too long for the prefix (over 196 bytes) is left as it was; no
-- caller can send it again.
UPDATE gifts SET idempotency_key = 'api:' || idempotency_key WHERE octet_length(idempotency_key) <= 196;
UPDATE offers SET idempotency_key = 'api:' || idempotency_key WHERE octet_length(idempotency_key) <= 196;
UPDATE draws SET idempotency_key = 'api:' || idempotency_key WHERE octet_length(idempotency_key) <= 196;
UPDATE spin_tables SET idempotency_key = 'api:' || idempotency_key WHERE octet_length(idempotency_key) <= 196;
UPDATE spin_grants SET idempotency_key = 'api:' || idempotency_key WHERE octet_length(idempotency_key) <= 196;
UPDATE sms_campaigns SET idempotency_key = 'api:' || idempotency_key
    WHERE octet_length(idempotency_key) <= 196 AND idempotency_key NOT LIKE 'gift-announce:%';

-- +goose Down
UPDATE sms_campaigns SET idempotency_key = substr(idempotency_key, 5) WHERE idempotency_key LIKE 'api:%';
UPDATE spin_grants SET idempotency_key = substr(idempotency_key, 5) WHERE idempotency_key LIKE 'api:%';
UPDATE spin_tables SET idempotency_key = substr(idempotency_key, 5) WHERE idempotency_key LIKE 'api:%';
UPDATE draws SET idempotency_key = substr(idempotency_key, 5) WHERE idempotency_key LIKE 'api:%';
UPDATE offers SET idempotency_key = substr(idempotency_key, 5) WHERE idempotency_key LIKE 'api:%';
UPDATE gifts SET idempotency_key = substr(idempotency_key, 5) WHERE idempotency_key LIKE 'api:%';
ALTER TABLE sms_campaigns DROP COLUMN request_hash;
ALTER TABLE spin_tables DROP COLUMN request_hash;
ALTER TABLE draws DROP COLUMN request_hash;
ALTER TABLE offers DROP COLUMN request_hash;
ALTER TABLE gifts DROP COLUMN request_hash;
DROP TABLE staff_points_daily;
