-- The audit log stays append-only, except for the retention sweep
-- (PRODUCT.md §7: kept 5 years by default). The sweep says so for its own
-- transaction (SET LOCAL care360.retention_sweep = 'on'), and even then
-- only entries older than a year may go: no setting makes recent history
-- disappear.

-- +goose Up
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'check_violation';
END;
$$;
-- +goose StatementEnd
