-- Two more VIP privileges (PRODUCT.md §3.3 item 5): priority booking and
-- the extra baggage allowance, with quotas like the others. Only the
-- CHECK's list changes. privilege_uses holds a few e-codes per VIP member
-- a year, so checking it again under the migration's lock is brief.

-- +goose Up
ALTER TABLE privilege_uses DROP CONSTRAINT privilege_uses_privilege_check,
    ADD CONSTRAINT privilege_uses_privilege_check CHECK (privilege IN ('priority', 'lounge', 'booking', 'baggage'));

-- +goose Down
ALTER TABLE privilege_uses DROP CONSTRAINT privilege_uses_privilege_check,
    ADD CONSTRAINT privilege_uses_privilege_check CHECK (privilege IN ('priority', 'lounge'));
