-- Gifts and redemption, mConnect and resort offers, VIP privileges, and the
-- provisioning calls that fulfil airtime and data gifts (PRODUCT.md §4.3,
-- §3.3 items 2, 4, 5, 6). What must never happen twice or go negative is a
-- constraint here, so that it holds across gateway instances whatever Go
-- does: stock >= 0 (per stripe), one claim per code, one claim per slot of the
-- per-subscriber limit, one booking code and one e-code per row.

-- +goose Up

-- A catalogue item (occasion '') bought with points, or a free campaign
-- gift. What is left of it is in gift_stock; claims are counted in
-- gift_claims, so that a claim never writes the gift's own row, which every
-- claim of the gift would then queue behind.
CREATE TABLE gifts (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL CHECK (name <> '' AND octet_length(name) <= 200),
    name_en         text NOT NULL DEFAULT '' CHECK (octet_length(name_en) <= 200),
    kind            text NOT NULL CHECK (kind IN ('voucher', 'airtime', 'data', 'partner', 'physical')),
    occasion        text NOT NULL DEFAULT '' CHECK (occasion IN ('', 'birthday', 'womens_day', 'tet', 'segment')),
    cost            bigint NOT NULL CHECK (cost >= 0 AND (cost = 0) = (occasion <> '')),
    tiers           text[] NOT NULL DEFAULT '{}',
    segment         jsonb NOT NULL DEFAULT '{}',
    claim_limit     int NOT NULL CHECK (claim_limit >= 1),
    valid_from      timestamptz NOT NULL,
    valid_until     timestamptz NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    value           bigint NOT NULL DEFAULT 0 CHECK (value >= 0),
    provision_url   text NOT NULL DEFAULT '',
    idempotency_key text UNIQUE CHECK (octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK (valid_until > valid_from)
);

-- A gift's stock, striped over a few rows: a claim takes one unit from a
-- stripe it can lock at once (SKIP LOCKED), so claims of one gift commit in
-- parallel instead of one after another behind a single row lock. The sum is
-- the stock; no stripe goes below zero. For vouchers it is the unclaimed
-- codes.
CREATE TABLE gift_stock (
    gift_id bigint NOT NULL REFERENCES gifts (id),
    stripe  smallint NOT NULL,
    stock   bigint NOT NULL CHECK (stock >= 0),
    PRIMARY KEY (gift_id, stripe)
);

-- A voucher's code pool. taken flips once, inside the claim's transaction;
-- the claim's UNIQUE code_id is what makes a code impossible to give twice.
CREATE TABLE gift_codes (
    id      bigserial PRIMARY KEY,
    gift_id bigint NOT NULL REFERENCES gifts (id),
    code    text NOT NULL CHECK (octet_length(code) BETWEEN 4 AND 64),
    taken   boolean NOT NULL DEFAULT false,
    UNIQUE (gift_id, code)
);
-- The free codes of a gift, in upload order: what SKIP LOCKED scans.
CREATE INDEX gift_codes_free ON gift_codes (gift_id, id) WHERE NOT taken;

-- One gift given to one subscriber. slot numbers the subscriber's claims of
-- the gift in the period (the year for birthday gifts, else 0): two claims
-- racing for the same slot cannot both commit (gift_claims_slot), and a slot
-- beyond the limit (copied from the gift at claim time) cannot exist.
CREATE TABLE gift_claims (
    id              bigserial PRIMARY KEY,
    gift_id         bigint NOT NULL REFERENCES gifts (id),
    msisdn          text NOT NULL REFERENCES subscribers (msisdn),
    period          int NOT NULL,
    slot            int NOT NULL,
    claim_limit     int NOT NULL,
    points          bigint NOT NULL CHECK (points >= 0),
    debit_id        bigint REFERENCES points_ledger (id),
    code_id         bigint UNIQUE REFERENCES gift_codes (id),
    code            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('done', 'pending', 'failed')),
    idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key <> '' AND octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK (slot BETWEEN 1 AND claim_limit),
    CHECK ((points = 0) = (debit_id IS NULL))
);
-- A failed claim (its provisioning refused, points refunded) gives its slot
-- back. The index also counts a subscriber's claims of a gift.
CREATE UNIQUE INDEX gift_claims_slot ON gift_claims (gift_id, msisdn, period, slot) WHERE status <> 'failed';

-- mConnect partner offers (menu 4) and summer resort offers (menu 6).
CREATE TABLE offers (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('mconnect', 'resort')),
    category        text NOT NULL DEFAULT '' CHECK (category IN ('', 'am_thuc', 'giai_tri', 'lam_dep', 'mua_sam', 'du_lich', 'suc_khoe', 'khach_san')),
    partner         text NOT NULL DEFAULT '',
    title           text NOT NULL CHECK (title <> '' AND octet_length(title) <= 200),
    title_en        text NOT NULL DEFAULT '',
    tiers           text[] NOT NULL DEFAULT '{}',
    code            text NOT NULL DEFAULT '',
    price           bigint NOT NULL DEFAULT 0 CHECK (price >= 0),
    card_price      bigint NOT NULL DEFAULT 0 CHECK (card_price >= 0),
    card_name       text NOT NULL DEFAULT '',
    valid_from      timestamptz NOT NULL,
    valid_until     timestamptz NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    idempotency_key text UNIQUE CHECK (octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    CHECK (valid_until > valid_from),
    CHECK ((kind = 'resort') = (category = ''))
);

-- One take of an offer: the partner's code sent (nights 0, once per
-- subscriber and offer) or nights booked under a booking code of our own.
-- cap and month are copied in so that the monthly cap ('hotel' or 'resort')
-- is one indexed sum.
CREATE TABLE offer_bookings (
    id              bigserial PRIMARY KEY,
    offer_id        bigint NOT NULL REFERENCES offers (id),
    msisdn          text NOT NULL REFERENCES subscribers (msisdn),
    cap             text NOT NULL CHECK (cap IN ('', 'hotel', 'resort')),
    month           date NOT NULL,
    nights          int NOT NULL CHECK (nights BETWEEN 0 AND 31),
    code            text NOT NULL,
    idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key <> '' AND octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    CHECK ((nights = 0) = (cap = ''))
);
CREATE INDEX offer_bookings_month ON offer_bookings (msisdn, cap, month) INCLUDE (nights);
CREATE UNIQUE INDEX offer_bookings_code ON offer_bookings (code) WHERE nights > 0;
CREATE UNIQUE INDEX offer_bookings_once ON offer_bookings (offer_id, msisdn) WHERE nights = 0;

-- VIP e-codes. One per privilege per flight of a subscriber; year is the
-- calendar year the quota counts in.
CREATE TABLE privilege_uses (
    id              bigserial PRIMARY KEY,
    msisdn          text NOT NULL REFERENCES subscribers (msisdn),
    privilege       text NOT NULL CHECK (privilege IN ('priority', 'lounge')),
    flight_date     date NOT NULL,
    flight          text NOT NULL CHECK (flight ~ '^VN[1-9][0-9]{0,3}$'),
    year            int NOT NULL,
    code            text NOT NULL UNIQUE,
    idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key <> '' AND octet_length(idempotency_key) <= 200),
    created_at      timestamptz NOT NULL,
    UNIQUE (msisdn, privilege, flight_date, flight)
);
CREATE INDEX privilege_uses_year ON privilege_uses (msisdn, privilege, year);

-- Calls to the operator's provisioning interface, one per airtime or data
-- claim, queued in the claim's transaction. not_before is both "due at" and
-- the end of a worker's lease (as in sms_queue), so a call whose worker died
-- is simply due again.
CREATE TABLE provision_calls (
    id          bigserial PRIMARY KEY,
    claim_id    bigint NOT NULL UNIQUE REFERENCES gift_claims (id),
    msisdn      text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('airtime', 'data')),
    value       bigint NOT NULL CHECK (value > 0),
    url         text NOT NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    attempts    int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    not_before  timestamptz NOT NULL,
    owner       text,
    last_status int,
    last_error  text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX provision_calls_due ON provision_calls (not_before) WHERE status = 'pending';

-- +goose Down
DROP TABLE provision_calls;
DROP TABLE privilege_uses;
DROP TABLE offer_bookings;
DROP TABLE offers;
DROP TABLE gift_claims;
DROP TABLE gift_codes;
DROP TABLE gift_stock;
DROP TABLE gifts;
