-- Staff change offers, spin tables and draws after creating them, and take
-- them off the menus without deleting them (PATCH, PRODUCT.md §6): offers
-- had active already; spin tables and draws get it. A draw that has not
-- been run may be cancelled: its entries are frozen as at a close (closed_at
-- and entries_digest are set, so the checks of 00005 hold unchanged), every
-- entry's points come back in the cancelling transaction, and cancelled_at
-- says when. No entry is taken after: the draw_entries_frozen trigger only
-- lets entries into an open draw.

-- +goose Up
ALTER TABLE spin_tables ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE draws ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE draws ADD COLUMN cancelled_at timestamptz;
ALTER TABLE draws DROP CONSTRAINT draws_status_check;
ALTER TABLE draws ADD CONSTRAINT draws_status_check CHECK (status IN ('open', 'closed', 'drawn', 'cancelled'));
ALTER TABLE draws ADD CONSTRAINT draws_cancelled_check CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL));

-- +goose Down
ALTER TABLE draws DROP CONSTRAINT draws_cancelled_check;
ALTER TABLE draws DROP CONSTRAINT draws_status_check;
ALTER TABLE draws ADD CONSTRAINT draws_status_check CHECK (status IN ('open', 'closed', 'drawn'));
ALTER TABLE draws DROP COLUMN cancelled_at;
ALTER TABLE draws DROP COLUMN active;
ALTER TABLE spin_tables DROP COLUMN active;
