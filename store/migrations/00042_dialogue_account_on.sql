-- An open dialogue names the answers after which its next screen shows the
-- member's points (menu 1 on the main menu): the step that gets one of them
-- reads the account in the round trip that loads the dialogue, instead of
-- one more after it. NULL is none; the column is rewritten with the state
-- at every save, so it needs no index and adding it rewrites nothing.

-- +goose Up
ALTER TABLE ussd_dialogues ADD COLUMN account_on text[];

-- +goose Down
ALTER TABLE ussd_dialogues DROP COLUMN account_on;
