-- Erasure (PRODUCT.md §7): a member erased on request is closed, its name,
-- birthday and gender cleared, and its number replaced wherever it is kept:
-- rows keyed by the member already carry its retired key 'c<member_id>'
-- (00036); the rest get that key, or, in draw entries, a pseudonym that
-- keeps what the published audit file shows of the number (its length and
-- last three digits), so that the draw's digest and `draw verify` still
-- hold. Texts are redacted.
--
-- The ledger, the audit log and frozen draw entries refuse changes; the
-- erasing transaction alone may make these ones, having said so with the
-- transaction-local setting care360.erasing (as the retention sweep says
-- care360.retention_sweep, 00017, whose exception is kept). It guards against mistakes in
-- the application, not against someone with the database's own rights.

-- +goose Up
ALTER TABLE subscribers ADD COLUMN erased_at timestamptz;
ALTER TABLE subscribers DROP CONSTRAINT subscribers_msisdn_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_msisdn_check CHECK (CASE WHEN status = 'closed'
    THEN msisdn = 'c' || member_id AND closed_at IS NOT NULL AND CASE closed_reason
        WHEN 'erased' THEN closed_msisdn IS NULL AND erased_at IS NOT NULL
        ELSE closed_reason IN ('churn', 'port_out') AND closed_msisdn ~ '^[0-9]{8,15}$' END
    ELSE msisdn ~ '^[0-9]{8,15}$' AND closed_at IS NULL AND closed_reason IS NULL AND closed_msisdn IS NULL END) NOT VALID;
ALTER TABLE subscribers VALIDATE CONSTRAINT subscribers_msisdn_check;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('care360.retention_sweep', true) = 'on'
       AND OLD.at < now() - interval '1 year' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND current_setting('care360.erasing', true) = 'on'
       AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.actor_name = OLD.actor_name AND NEW.action = OLD.action THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'check_violation';
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION points_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The columns are compared one by one, not as JSON: closing or erasing
    -- a member of many years updates thousands of entries, and building
    -- two JSON documents per entry was most of the cost. store's
    -- TestLedgerTriggerComparesEveryColumn fails when a column is added to
    -- the ledger and not here.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'points_ledger' THEN
        IF (NEW.id, NEW.kind, NEW.points, NEW.earned_at, NEW.expires_at, NEW.created_at, NEW.refund)
               IS NOT DISTINCT FROM (OLD.id, OLD.kind, OLD.points, OLD.earned_at, OLD.expires_at, OLD.created_at, OLD.refund) THEN
            IF (NEW.reason, NEW.idempotency_key) IS NOT DISTINCT FROM (OLD.reason, OLD.idempotency_key)
               AND (NEW.remaining IS NOT DISTINCT FROM OLD.remaining OR NEW.remaining < OLD.remaining) THEN
                IF NEW.msisdn = OLD.msisdn THEN
                    RETURN NEW;
                END IF;
                -- The key follows its member's (a cascade from
                -- subscribers), when no member holds the old key any more.
                IF EXISTS (SELECT 1 FROM subscribers WHERE msisdn = NEW.msisdn)
                   AND NOT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = OLD.msisdn) THEN
                    RETURN NEW;
                END IF;
            END IF;
            -- An erasure rewrites the number out of an entry's key and reason.
            IF NEW.msisdn = OLD.msisdn AND NEW.remaining IS NOT DISTINCT FROM OLD.remaining
               AND current_setting('care360.erasing', true) = 'on' THEN
                RETURN NEW;
            END IF;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
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
    -- An erasure replaces the number by a pseudonym that masks the same.
    IF TG_OP = 'UPDATE' AND current_setting('care360.erasing', true) = 'on'
       AND (to_jsonb(NEW) - 'msisdn' - 'idempotency_key') = (to_jsonb(OLD) - 'msisdn' - 'idempotency_key') AND NEW.msisdn ~ '^e'
       AND length(NEW.msisdn) = length(OLD.msisdn) AND right(NEW.msisdn, 3) = right(OLD.msisdn, 3) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'draw entries are frozen: % refused', TG_OP USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE subscribers DROP CONSTRAINT subscribers_msisdn_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_msisdn_check CHECK (CASE WHEN status = 'closed'
    THEN msisdn = 'c' || member_id AND closed_at IS NOT NULL AND closed_reason IN ('churn', 'port_out')
         AND closed_msisdn ~ '^[0-9]{8,15}$'
    ELSE msisdn ~ '^[0-9]{8,15}$' AND closed_at IS NULL AND closed_reason IS NULL AND closed_msisdn IS NULL END);
ALTER TABLE subscribers DROP COLUMN erased_at;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('care360.retention_sweep', true) = 'on'
       AND OLD.at < now() - interval '1 year' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'check_violation';
END;
$$;
-- +goose StatementEnd
