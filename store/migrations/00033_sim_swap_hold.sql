-- SIM-swap holds and the lifecycle events that set them (PRODUCT.md §7).
--
-- sim_swap_until: after a SIM swap the member cannot move value out (give
-- points, claim vouchers or airtime, pay points for draws and spins) until
-- then. It is a column of the subscriber's row because every one of those
-- actions already reads and locks that row: the check costs no query.
-- Adding a nullable column without a default rewrites nothing, so this is
-- instant on a table of any size.
--
-- lifecycle_events: every event the operator's CRM or billing sent, by its
-- id, with what it did; an id sent again is answered from here and changes
-- nothing.

-- +goose Up
ALTER TABLE subscribers ADD COLUMN sim_swap_until timestamptz;

CREATE TABLE lifecycle_events (
    id          text PRIMARY KEY CHECK (id <> '' AND octet_length(id) <= 200),
    msisdn      text NOT NULL,
    event       text NOT NULL,
    at          timestamptz NOT NULL,
    new_msisdn  text,
    status      text NOT NULL CHECK (status IN ('applied', 'rejected')),
    error       text,
    received_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE lifecycle_events;
ALTER TABLE subscribers DROP COLUMN sim_swap_until;
