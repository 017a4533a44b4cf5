-- The outbox's rows change within moments of being written: a queue row is
-- claimed (its lease) and deleted, a message is marked submitted, then
-- delivered, a part gets its receipt. Each change is a heap-only update,
-- writing no index, only when the row's page has room for the new version;
-- at fillfactor 80, pages filled by a burst (a campaign's part, a batch of
-- notifications) had room for one row in four or five, and the rest of the
-- updates went to other pages with a new entry in every index of the table
-- (five for a message). At 50, 84-95 % of these updates stay on their page
-- (the bench's MT runs), and Postgres spends about a tenth less a message.
-- The price is space: new pages of messages and parts hold half the rows
-- they held, for as long as the history is kept (texts are redacted after
-- 90 days, rows stay). Existing pages are not rewritten.

-- +goose Up
ALTER TABLE sms_messages SET (fillfactor = 50);
ALTER TABLE sms_parts SET (fillfactor = 50);
ALTER TABLE sms_queue SET (fillfactor = 50);

-- +goose Down
ALTER TABLE sms_messages SET (fillfactor = 80);
ALTER TABLE sms_parts SET (fillfactor = 80);
ALTER TABLE sms_queue SET (fillfactor = 80);
