-- When a dead letter's row began to fail, where its queue knows (a usage
-- bucket's first refused pass): with set_aside_at it tells how long the row
-- held its queue up before it was set aside. Null where the queue does not
-- know; the API then shows set_aside_at.

-- +goose Up
ALTER TABLE dead_letters ADD COLUMN first_failed_at timestamptz;

-- +goose Down
ALTER TABLE dead_letters DROP COLUMN first_failed_at;
