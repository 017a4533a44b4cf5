-- Lucky draws and lucky spins (PRODUCT.md §4.4–4.5). What must never
-- happen under any concurrency is a constraint or a trigger here: a second
-- entry of one subscriber in one draw, an entry after the close, a changed
-- entry, a prize awarded twice, stock below zero.

-- +goose Up

-- A draw. seed is secret until status = 'drawn' (the API shows only the
-- commitment, hex SHA-256(seed), before); receipt_key is never shown: it
-- keys the short hash on each receipt, so that a masked MSISDN cannot be
-- recovered from a published receipt by trying every number.
-- tickets[i] is the weight of an entry of tier i (dong, bac, titan, vang,
-- kim_cuong); 0 means that tier cannot enter.
CREATE TABLE draws (
    id              bigserial PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{2,12}$'),
    name            text NOT NULL CHECK (name <> ''),
    name_en         text NOT NULL DEFAULT '',
    opens_at        timestamptz NOT NULL,
    closes_at       timestamptz NOT NULL,
    entry_cost      bigint NOT NULL CHECK (entry_cost >= 0),
    tickets         int[] NOT NULL CHECK (cardinality(tickets) = 5 AND 0 <= ALL (tickets)),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'drawn')),
    algorithm       text NOT NULL,
    seed            bytea NOT NULL CHECK (octet_length(seed) = 32),
    commitment      text NOT NULL,
    receipt_key     bytea NOT NULL CHECK (octet_length(receipt_key) = 32),
    entries_count   bigint CHECK (entries_count >= 0),
    entries_digest  text,
    witness         text,
    idempotency_key text UNIQUE CHECK (octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    drawn_at        timestamptz,
    CHECK (closes_at > opens_at),
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK ((status = 'open') = (entries_digest IS NULL)),
    CHECK ((status = 'drawn') = (drawn_at IS NOT NULL AND witness IS NOT NULL))
);

CREATE TABLE draw_prizes (
    draw_id    bigint NOT NULL REFERENCES draws (id),
    rank       int NOT NULL CHECK (rank >= 1),
    name       text NOT NULL CHECK (name <> ''),
    name_en    text NOT NULL DEFAULT '',
    quantity   int NOT NULL CHECK (quantity >= 1),
    collect    text NOT NULL DEFAULT '',
    collect_en text NOT NULL DEFAULT '',
    PRIMARY KEY (draw_id, rank)
);

-- One entry per subscriber per draw. The id is the entry number on the
-- receipt; debit_id is the points it cost (NULL when free).
CREATE TABLE draw_entries (
    id         bigserial PRIMARY KEY,
    draw_id    bigint NOT NULL REFERENCES draws (id),
    msisdn     text NOT NULL REFERENCES subscribers (msisdn),
    tier       text NOT NULL,
    tickets    int NOT NULL CHECK (tickets >= 1),
    cost       bigint NOT NULL CHECK (cost >= 0),
    debit_id   bigint REFERENCES points_ledger (id),
    receipt    text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (draw_id, msisdn),
    CHECK ((cost = 0) = (debit_id IS NULL))
);
CREATE INDEX draw_entries_draw ON draw_entries (draw_id, id) INCLUDE (tickets);
CREATE INDEX draw_entries_msisdn ON draw_entries (msisdn, id);
CREATE INDEX draw_entries_created ON draw_entries (created_at);

-- +goose StatementBegin
-- Entries are frozen at the close: only an open draw takes one, and none
-- is ever changed or removed. The entry transaction also holds the draw's
-- advisory entry lock shared (store/draws.go), so a close waits for
-- entries in flight; this trigger is the second line of defence against
-- any other writer.
CREATE FUNCTION draw_entries_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM draws WHERE id = NEW.draw_id AND status = 'open') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'draw entries are frozen: % refused', TG_OP USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER draw_entries_frozen BEFORE INSERT OR UPDATE OR DELETE ON draw_entries
    FOR EACH ROW EXECUTE FUNCTION draw_entries_frozen();

-- The result of a run: position n is the n-th entry drawn. UNIQUE
-- (entry_id) is "one prize per entry", hence per subscriber.
CREATE TABLE draw_winners (
    draw_id    bigint NOT NULL REFERENCES draws (id),
    position   int NOT NULL CHECK (position >= 1),
    prize_rank int NOT NULL,
    entry_id   bigint NOT NULL UNIQUE REFERENCES draw_entries (id),
    PRIMARY KEY (draw_id, position),
    FOREIGN KEY (draw_id, prize_rank) REFERENCES draw_prizes (draw_id, rank)
);

-- A lucky-spin prize table; no_prize_weight is the "no prize" slot.
CREATE TABLE spin_tables (
    id              bigserial PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{2,12}$'),
    name            text NOT NULL CHECK (name <> ''),
    name_en         text NOT NULL DEFAULT '',
    cost_points     bigint NOT NULL CHECK (cost_points >= 0),
    daily_cap       int NOT NULL CHECK (daily_cap >= 1),
    no_prize_weight bigint NOT NULL CHECK (no_prize_weight >= 0),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    idempotency_key text UNIQUE CHECK (octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);

-- A table's prizes; inventory is what was stocked.
CREATE TABLE spin_prizes (
    id         bigserial PRIMARY KEY,
    table_id   bigint NOT NULL REFERENCES spin_tables (id),
    slot       int NOT NULL CHECK (slot >= 1),
    name       text NOT NULL CHECK (name <> ''),
    name_en    text NOT NULL DEFAULT '',
    weight     bigint NOT NULL CHECK (weight >= 1),
    inventory  bigint NOT NULL CHECK (inventory >= 0),
    collect    text NOT NULL DEFAULT '',
    collect_en text NOT NULL DEFAULT '',
    UNIQUE (table_id, slot)
);

-- A prize's stock left, striped over 16 rows like gift_stock: a winning
-- spin takes one unit from a stripe it can lock at once (SKIP LOCKED), in
-- its own transaction, so winning spins of one prize commit in parallel
-- instead of queueing on one row through each durable commit. The CHECK
-- makes overselling impossible even for SQL written by hand.
CREATE TABLE spin_stock (
    prize_id  bigint NOT NULL REFERENCES spin_prizes (id),
    stripe    smallint NOT NULL,
    remaining bigint NOT NULL CHECK (remaining >= 0),
    PRIMARY KEY (prize_id, stripe)
);

-- Free spins a campaign gave; a spin uses the earliest-expiring first.
CREATE TABLE spin_grants (
    id              bigserial PRIMARY KEY,
    table_id        bigint NOT NULL REFERENCES spin_tables (id),
    msisdn          text NOT NULL REFERENCES subscribers (msisdn),
    spins           int NOT NULL CHECK (spins >= 1),
    remaining       int NOT NULL CHECK (remaining BETWEEN 0 AND spins),
    reason          text NOT NULL CHECK (reason <> ''),
    idempotency_key text NOT NULL CHECK (idempotency_key <> '' AND octet_length(idempotency_key) <= 200),
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (msisdn, idempotency_key)
);
CREATE INDEX spin_grants_open ON spin_grants (msisdn, table_id, expires_at) WHERE remaining > 0;

-- Every spin. prize_id is what was awarded (NULL: no prize); landed_id is
-- the prize the random number pointed at, kept when it had run out, so the
-- record shows every fall to "no prize".
CREATE TABLE spins (
    id        bigserial PRIMARY KEY,
    table_id  bigint NOT NULL REFERENCES spin_tables (id),
    msisdn    text NOT NULL REFERENCES subscribers (msisdn),
    landed_id bigint REFERENCES spin_prizes (id),
    prize_id  bigint REFERENCES spin_prizes (id),
    grant_id  bigint REFERENCES spin_grants (id),
    points    bigint NOT NULL CHECK (points >= 0),
    debit_id  bigint REFERENCES points_ledger (id),
    spun_at   timestamptz NOT NULL,
    CHECK (prize_id IS NULL OR prize_id = landed_id),
    CHECK ((points = 0) = (debit_id IS NULL)),
    CHECK (grant_id IS NULL OR points = 0)
);
CREATE INDEX spins_msisdn ON spins (msisdn, table_id, spun_at);
CREATE INDEX spins_table ON spins (table_id, spun_at);
CREATE INDEX spins_spun ON spins (spun_at);

-- +goose Down
DROP TABLE spins;
DROP TABLE spin_grants;
DROP TABLE spin_stock;
DROP TABLE spin_prizes;
DROP TABLE spin_tables;
DROP TABLE draw_winners;
DROP TABLE draw_entries;
DROP FUNCTION draw_entries_frozen();
DROP TABLE draw_prizes;
DROP TABLE draws;
