-- Consent (PRODUCT.md §7, Decree 13/2023/NĐ-CP): every agreement and
-- withdrawal, per purpose (programme, marketing), with the channel it came
-- through, the version of the text shown, and when. consents is the
-- record; subscribers.marketing_consent is the current state that the
-- campaign fan-out filters on without a join.
--
-- Members who joined before consent was recorded are given both purposes
-- with channel 'legacy' (marketing only if they had not sent TC), which is
-- what the programme did for them until now; a data protection officer can
-- find them by that channel and ask again. Filled in batches that commit,
-- so that no transaction holds all members' rows.

-- +goose NO TRANSACTION

-- +goose Up
CREATE TABLE IF NOT EXISTS consents (
    id           bigserial PRIMARY KEY,
    msisdn       text NOT NULL REFERENCES subscribers (msisdn) ON UPDATE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('programme', 'marketing')),
    granted      boolean NOT NULL,
    channel      text NOT NULL CHECK (channel IN ('ussd', 'sms', 'api', 'import', 'legacy')),
    text_version text NOT NULL CHECK (text_version <> '' AND octet_length(text_version) <= 50),
    at           timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS consents_msisdn ON consents (msisdn, id);
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS marketing_consent boolean NOT NULL DEFAULT false;
-- HUY asks to leave; Y within the confirmation window closes the
-- membership. When the request came, until Y or another keyword.
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS leave_requested_at timestamptz;

-- +goose StatementBegin
CREATE OR REPLACE PROCEDURE care360_legacy_consents() LANGUAGE plpgsql AS $$
DECLARE
    last text := '';
    n bigint;
BEGIN
    LOOP
        WITH b AS (
            SELECT msisdn, NOT EXISTS (SELECT 1 FROM sms_optouts o WHERE o.msisdn = s.msisdn) AS marketing, created_at
            FROM subscribers s WHERE msisdn > last AND status <> 'closed'
              AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.msisdn = s.msisdn)
            ORDER BY msisdn LIMIT 20000
        ), p AS (
            INSERT INTO consents (msisdn, purpose, granted, channel, text_version, at)
            SELECT msisdn, 'programme', true, 'legacy', 'legacy', created_at FROM b
            UNION ALL
            SELECT msisdn, 'marketing', true, 'legacy', 'legacy', created_at FROM b WHERE marketing
        ), u AS (
            UPDATE subscribers s SET marketing_consent = true FROM b WHERE s.msisdn = b.msisdn AND b.marketing
        )
        SELECT count(*), max(msisdn) INTO n, last FROM b;
        COMMIT;
        EXIT WHEN n = 0;
    END LOOP;
END
$$;
-- +goose StatementEnd
CALL care360_legacy_consents();
DROP PROCEDURE care360_legacy_consents();

-- +goose Down
ALTER TABLE subscribers DROP COLUMN IF EXISTS leave_requested_at;
ALTER TABLE subscribers DROP COLUMN IF EXISTS marketing_consent;
DROP TABLE IF EXISTS consents;
