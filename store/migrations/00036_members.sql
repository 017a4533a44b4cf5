-- Members, not numbers (PRODUCT.md §7). A member has its own id; the
-- MSISDN is its current number. Every row that belongs to a person is keyed
-- by the member's key, which is its number while the membership is open:
-- the foreign keys to subscribers cascade, so changing a number
-- (msisdn_change) moves the member's whole history in its transaction, and
-- closing a membership (churn, port_out) moves it to the retired key
-- 'c<member_id>', which no number can be. The number is then free: the next
-- member to join with it starts a row of its own, with nothing inherited.
--
-- Draw entries are the exception: a printed receipt and a published audit
-- file name the number an entry was taken with, so entries keep it.
-- Entries in draws still open follow a number change or are withdrawn at a
-- closing; those in closed draws stay as they were, and member_numbers says
-- whose they are.
--
-- member_numbers: every number a member held and until when; a closing or
-- a number change ends the period. It is how a late event about a number
-- (a usage event dated before a closing) finds the membership it belongs to.
--
-- Safe on a table of 20,000,000 members: run outside one transaction, the
-- new id is filled in batches that each commit (subscribers' rows are
-- locked a batch at a time, never all at once), and the constraints are
-- added NOT VALID and validated after, which reads the tables without
-- blocking their writers. Every step can run again after a failure.

-- +goose NO TRANSACTION

-- +goose Up
CREATE SEQUENCE IF NOT EXISTS members_id_seq;
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS member_id bigint;
ALTER TABLE subscribers ALTER COLUMN member_id SET DEFAULT nextval('members_id_seq');
ALTER SEQUENCE members_id_seq OWNED BY subscribers.member_id;

-- +goose StatementBegin
CREATE OR REPLACE PROCEDURE care360_fill_member_ids() LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    LOOP
        UPDATE subscribers SET member_id = nextval('members_id_seq')
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM subscribers WHERE member_id IS NULL LIMIT 20000));
        GET DIAGNOSTICS n = ROW_COUNT;
        COMMIT;
        EXIT WHEN n = 0;
    END LOOP;
END
$$;
-- +goose StatementEnd
CALL care360_fill_member_ids();
DROP PROCEDURE care360_fill_member_ids();

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS subscribers_member_id ON subscribers (member_id);
ALTER TABLE subscribers DROP CONSTRAINT IF EXISTS subscribers_member_id_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_member_id_check CHECK (member_id IS NOT NULL) NOT VALID;
ALTER TABLE subscribers VALIDATE CONSTRAINT subscribers_member_id_check;

-- A closed membership: when, why, and the number it had.
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS closed_at timestamptz;
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS closed_reason text;
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS closed_msisdn text;
ALTER TABLE subscribers DROP CONSTRAINT IF EXISTS subscribers_status_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_status_check CHECK (status IN ('active', 'suspended', 'closed')) NOT VALID;
ALTER TABLE subscribers VALIDATE CONSTRAINT subscribers_status_check;
ALTER TABLE subscribers DROP CONSTRAINT IF EXISTS subscribers_msisdn_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_msisdn_check CHECK (CASE WHEN status = 'closed'
    THEN msisdn = 'c' || member_id AND closed_at IS NOT NULL AND closed_reason IN ('churn', 'port_out')
         AND closed_msisdn ~ '^[0-9]{8,15}$'
    ELSE msisdn ~ '^[0-9]{8,15}$' AND closed_at IS NULL AND closed_reason IS NULL AND closed_msisdn IS NULL END) NOT VALID;
ALTER TABLE subscribers VALIDATE CONSTRAINT subscribers_msisdn_check;
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscribers_closed ON subscribers (closed_msisdn, closed_at) WHERE status = 'closed';

-- Feedback moves with its member too.
ALTER TABLE feedback DROP CONSTRAINT IF EXISTS feedback_msisdn_check;
ALTER TABLE feedback ADD CONSTRAINT feedback_msisdn_check CHECK (msisdn ~ '^([0-9]{8,15}|c[0-9]+)$') NOT VALID;
ALTER TABLE feedback VALIDATE CONSTRAINT feedback_msisdn_check;

CREATE TABLE IF NOT EXISTS member_numbers (
    member_id bigint NOT NULL REFERENCES subscribers (member_id),
    msisdn    text NOT NULL CHECK (msisdn ~ '^[0-9]{8,15}$'),
    until     timestamptz NOT NULL,
    reason    text NOT NULL CHECK (reason IN ('churn', 'port_out', 'msisdn_change')),
    PRIMARY KEY (msisdn, until)
);
CREATE INDEX IF NOT EXISTS member_numbers_member ON member_numbers (member_id);

-- +goose StatementBegin
-- member_key_at is the key of the member who held number at time at: the
-- one that released it later (a closing, a number change), else the member
-- holding it now if it had joined by then; NULL when nobody did. It is how
-- a draw entry, which keeps its number, finds its member: a refund or a
-- winner's SMS must never reach whoever holds the number now.
CREATE OR REPLACE FUNCTION member_key_at(number text, at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT s.msisdn FROM member_numbers n JOIN subscribers s USING (member_id)
         WHERE n.msisdn = number AND n.until > at ORDER BY n.until LIMIT 1),
        (SELECT s.msisdn FROM subscribers s WHERE s.msisdn = number AND s.created_at <= at))
$$;
-- +goose StatementEnd

-- The foreign keys follow the member's key. Re-created NOT VALID, then
-- validated: what they held before still holds.
ALTER TABLE points_ledger DROP CONSTRAINT IF EXISTS points_ledger_msisdn_fkey,
    ADD CONSTRAINT points_ledger_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE points_ledger VALIDATE CONSTRAINT points_ledger_msisdn_fkey;
ALTER TABLE points_transfers DROP CONSTRAINT IF EXISTS points_transfers_sender_fkey,
    ADD CONSTRAINT points_transfers_sender_fkey FOREIGN KEY (sender) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE points_transfers VALIDATE CONSTRAINT points_transfers_sender_fkey;
ALTER TABLE points_transfers DROP CONSTRAINT IF EXISTS points_transfers_recipient_fkey,
    ADD CONSTRAINT points_transfers_recipient_fkey FOREIGN KEY (recipient) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE points_transfers VALIDATE CONSTRAINT points_transfers_recipient_fkey;
ALTER TABLE tier_downgrades DROP CONSTRAINT IF EXISTS tier_downgrades_msisdn_fkey,
    ADD CONSTRAINT tier_downgrades_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE ON DELETE CASCADE NOT VALID;
ALTER TABLE tier_downgrades VALIDATE CONSTRAINT tier_downgrades_msisdn_fkey;
ALTER TABLE tier_changes DROP CONSTRAINT IF EXISTS tier_changes_msisdn_fkey,
    ADD CONSTRAINT tier_changes_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE tier_changes VALIDATE CONSTRAINT tier_changes_msisdn_fkey;
ALTER TABLE gift_claims DROP CONSTRAINT IF EXISTS gift_claims_msisdn_fkey,
    ADD CONSTRAINT gift_claims_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE gift_claims VALIDATE CONSTRAINT gift_claims_msisdn_fkey;
ALTER TABLE offer_bookings DROP CONSTRAINT IF EXISTS offer_bookings_msisdn_fkey,
    ADD CONSTRAINT offer_bookings_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE offer_bookings VALIDATE CONSTRAINT offer_bookings_msisdn_fkey;
ALTER TABLE privilege_uses DROP CONSTRAINT IF EXISTS privilege_uses_msisdn_fkey,
    ADD CONSTRAINT privilege_uses_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE privilege_uses VALIDATE CONSTRAINT privilege_uses_msisdn_fkey;
ALTER TABLE spin_grants DROP CONSTRAINT IF EXISTS spin_grants_msisdn_fkey,
    ADD CONSTRAINT spin_grants_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE spin_grants VALIDATE CONSTRAINT spin_grants_msisdn_fkey;
ALTER TABLE spins DROP CONSTRAINT IF EXISTS spins_msisdn_fkey,
    ADD CONSTRAINT spins_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn) ON UPDATE CASCADE NOT VALID;
ALTER TABLE spins VALIDATE CONSTRAINT spins_msisdn_fkey;
-- An entry keeps the number it was taken with (see above).
ALTER TABLE draw_entries DROP CONSTRAINT IF EXISTS draw_entries_msisdn_fkey;

-- +goose StatementBegin
-- History is not rewritten: a ledger row may see its remaining go down,
-- and its key follow its member's (a cascade from subscribers, when no
-- member holds the old key any more). Moving rows from one member to
-- another is refused: the old key would still be held.
CREATE OR REPLACE FUNCTION points_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'points_ledger'
       AND (to_jsonb(NEW) - 'remaining' - 'msisdn') = (to_jsonb(OLD) - 'remaining' - 'msisdn')
       AND (NEW.remaining IS NOT DISTINCT FROM OLD.remaining OR NEW.remaining < OLD.remaining)
       AND (NEW.msisdn = OLD.msisdn OR (
            EXISTS (SELECT 1 FROM subscribers WHERE msisdn = NEW.msisdn)
            AND NOT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = OLD.msisdn))) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Entries are frozen at the close. While a draw is open, an entry may also
-- follow its member's new number, or be withdrawn when its membership
-- closes: in both cases no member holds its number any more.
CREATE OR REPLACE FUNCTION draw_entries_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM draws WHERE id = NEW.draw_id AND status = 'open') THEN
        RETURN NEW;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (SELECT 1 FROM draws WHERE id = OLD.draw_id AND status = 'open')
       AND NOT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = OLD.msisdn) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        IF (to_jsonb(NEW) - 'msisdn') = (to_jsonb(OLD) - 'msisdn')
           AND EXISTS (SELECT 1 FROM subscribers WHERE msisdn = NEW.msisdn AND status <> 'closed') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'draw entries are frozen: % refused', TG_OP USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION draw_entries_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM draws WHERE id = NEW.draw_id AND status = 'open') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'draw entries are frozen: % refused', TG_OP USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION points_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'points_ledger'
       AND (to_jsonb(NEW) - 'remaining') = (to_jsonb(OLD) - 'remaining')
       AND NEW.remaining <= OLD.remaining THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd
ALTER TABLE draw_entries ADD CONSTRAINT draw_entries_msisdn_fkey FOREIGN KEY (msisdn) REFERENCES subscribers (msisdn);
DROP FUNCTION member_key_at(text, timestamptz);
DROP TABLE member_numbers;
DROP INDEX subscribers_closed;
ALTER TABLE subscribers DROP CONSTRAINT subscribers_msisdn_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_msisdn_check CHECK (msisdn ~ '^[0-9]{8,15}$');
ALTER TABLE subscribers DROP CONSTRAINT subscribers_status_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_status_check CHECK (status IN ('active', 'suspended'));
ALTER TABLE subscribers DROP COLUMN closed_msisdn, DROP COLUMN closed_reason, DROP COLUMN closed_at;
ALTER TABLE subscribers DROP CONSTRAINT subscribers_member_id_check;
DROP INDEX subscribers_member_id;
ALTER TABLE subscribers DROP COLUMN member_id;
DROP SEQUENCE IF EXISTS members_id_seq;
