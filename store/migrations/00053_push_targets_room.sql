-- A push's targets change within moments of being queued: each is claimed
-- (its lease), then sent, then ended. The claim writes only columns no
-- index holds, so it is a heap-only update when the target's page has room
-- for the new version; targets are queued by the thousand into packed
-- pages (fillfactor 100), so 97 % of claims went to another page with a
-- new entry in five of the table's seven indexes: 27 buffers and 7.8 WAL
-- records a target, the costliest statement of a push. At 50, as for the
-- outbox (00043), the claim stays on its page, and the sent and ended
-- updates, which change the state that indexes hold, find room there too.
-- The price is space: new pages of targets hold half the rows, for as long
-- as pushes are kept. Existing pages are not rewritten.

-- +goose Up
ALTER TABLE ussd_push_targets SET (fillfactor = 50);

-- +goose Down
ALTER TABLE ussd_push_targets RESET (fillfactor);
