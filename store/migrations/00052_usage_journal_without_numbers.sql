-- The usage journal keeps no number. It remembers each accepted event's id
-- to answer a replay (PRODUCT.md §4.1, §6): a duplicate when it is the same
-- event again, an id conflict when another event reuses the id. For that
-- it needs to know whether a replay names the same number, not the number
-- itself: each row keeps a digest of the number keyed by a secret of the
-- member the event went to (subscribers.usage_salt), the first 8 bytes of
-- SHA-256 over the salt and the number (usage_number_digest).
--
-- Erasure (§7) then changes the member's salt instead of rewriting the
-- journal: what the rows keep can no longer be tied to the number by
-- anyone, the operator included. Before, erasure rewrote the number in
-- every row of each holding, found through an index by number that every
-- event of the billing feed entered: a random leaf of an index as large as
-- the member base, about 4 µs of Postgres an event, a tenth of what an
-- event costs the machine under a steady feed (docs/benchmarks.md, "A
-- journal without numbers"). The index goes with the column.
--
-- Safe on a journal of hundreds of millions of events: run outside one
-- transaction. Salts and digests are filled a batch at a time, each batch
-- committing, so that writers wait on a batch's rows at most, and every
-- step can run again after a failure. A row whose number no member holds
-- any more (an erased member's: its number was replaced by the member's
-- key) gets no digest: a replay of it is refused as an id conflict, as it
-- was. The release before this one journals the number: its instances
-- fail to ingest (nothing is acknowledged, the feed sends again) until
-- they are replaced.

-- +goose NO TRANSACTION

-- +goose Up
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS usage_salt uuid;
ALTER TABLE subscribers ALTER COLUMN usage_salt SET DEFAULT gen_random_uuid();

-- +goose StatementBegin
DO $$
DECLARE
    last bigint := -1;
    upto bigint;
BEGIN
    LOOP
        SELECT max(member_id) INTO upto FROM (
            SELECT member_id FROM subscribers WHERE member_id > last ORDER BY member_id LIMIT 10000) b;
        EXIT WHEN upto IS NULL;
        UPDATE subscribers SET usage_salt = gen_random_uuid()
        WHERE member_id > last AND member_id <= upto AND usage_salt IS NULL;
        last := upto;
        COMMIT;
    END LOOP;
END $$;
-- +goose StatementEnd
ALTER TABLE subscribers ALTER COLUMN usage_salt SET NOT NULL;

-- STABLE (convert_to is), so that Postgres inlines it into the statements
-- that call it rather than calling a function for each event.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION usage_number_digest(salt uuid, msisdn text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT substr(sha256(uuid_send(salt) || convert_to(msisdn, 'UTF8')), 1, 8)
$$;
-- +goose StatementEnd

ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS number_digest bytea;

-- Each event's member is found as the ingest finds it (store/usage.go's
-- ingestSQL): the member that released the number after the event, else
-- the one holding it now.
-- +goose StatementBegin
DO $$
DECLARE
    last text := '';
    upto text;
BEGIN
    IF NOT EXISTS (SELECT FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'usage_events' AND column_name = 'msisdn') THEN
        RETURN; -- done before
    END IF;
    LOOP
        SELECT max(id) INTO upto FROM (
            SELECT id FROM usage_events WHERE id > last ORDER BY id LIMIT 10000) b;
        EXIT WHEN upto IS NULL;
        UPDATE usage_events e SET number_digest = (
            SELECT usage_number_digest(s.usage_salt, e.msisdn) FROM subscribers s
            WHERE s.member_id = coalesce(
                (SELECT n.member_id FROM member_numbers n
                 WHERE n.msisdn = e.msisdn AND n.until > e.at ORDER BY n.until LIMIT 1),
                (SELECT c.member_id FROM subscribers c WHERE c.msisdn = e.msisdn)))
        WHERE e.id > last AND e.id <= upto AND e.number_digest IS NULL;
        last := upto;
        COMMIT;
    END LOOP;
END $$;
-- +goose StatementEnd
DROP INDEX CONCURRENTLY IF EXISTS usage_events_number;
ALTER TABLE usage_events DROP COLUMN IF EXISTS msisdn;

-- +goose Down
-- The numbers cannot come back from their digests: the events journalled
-- meanwhile keep an empty number, so that a replay of one is refused as an
-- id conflict rather than counted again.
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS msisdn text NOT NULL DEFAULT '';
ALTER TABLE usage_events ALTER COLUMN msisdn DROP DEFAULT;
CREATE INDEX CONCURRENTLY IF NOT EXISTS usage_events_number ON usage_events (msisdn);
ALTER TABLE usage_events DROP COLUMN IF EXISTS number_digest;
DROP FUNCTION IF EXISTS usage_number_digest(uuid, text);
ALTER TABLE subscribers DROP COLUMN IF EXISTS usage_salt;
