-- Idempotency keys for what a USSD step does (menus: a dialogue and its
-- step number), so that a step run again acts once: spins and draw
-- entries take a key as claims, bookings and e-codes already do, and a
-- confirmed transfer remembers the key that confirmed it. NULL for rows
-- made without one. Unique per subscriber, like the ledger's keys.

-- +goose Up
ALTER TABLE spins ADD COLUMN idempotency_key text CHECK (length(idempotency_key) <= 200);
CREATE UNIQUE INDEX spins_key ON spins (msisdn, idempotency_key) WHERE idempotency_key IS NOT NULL;
ALTER TABLE draw_entries ADD COLUMN idempotency_key text CHECK (length(idempotency_key) <= 200);
ALTER TABLE points_transfers ADD COLUMN confirm_key text CHECK (length(confirm_key) <= 200);
CREATE UNIQUE INDEX points_transfers_confirm_key ON points_transfers (sender, confirm_key) WHERE confirm_key IS NOT NULL;

-- +goose Down
DROP INDEX points_transfers_confirm_key;
ALTER TABLE points_transfers DROP COLUMN confirm_key;
ALTER TABLE draw_entries DROP COLUMN idempotency_key;
DROP INDEX spins_key;
ALTER TABLE spins DROP COLUMN idempotency_key;
