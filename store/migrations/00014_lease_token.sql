-- Fenced leases on the SMS outbox (PRODUCT.md §8 "Nothing twice"). Every
-- claim takes the row's next lease token; a sender settles only with the
-- token it was given, so an outcome that comes back after the lease lapsed
-- and the message was claimed again (by another process, or by the same one)
-- changes nothing. A constant default: adding the column rewrites nothing.

-- +goose Up
ALTER TABLE sms_queue ADD COLUMN lease_token bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sms_queue DROP COLUMN lease_token;
