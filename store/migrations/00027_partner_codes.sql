-- Partners check and redeem the codes members show them (PRODUCT.md §6
-- codes:check, codes:redeem). A partner's staff account names the partner
-- it belongs to, as offers and gifts name theirs; a code is redeemed once,
-- and it is the conditional UPDATE of redeemed_at (… WHERE redeemed_at IS
-- NULL) that makes a second redemption impossible, on any instance.

-- +goose Up

-- A partner account sees the codes of its own partner only: the name must
-- equal the offers' and gifts' partner exactly.
ALTER TABLE staff ADD COLUMN partner text
    CHECK (partner IS NULL OR (btrim(partner) = partner AND partner <> '' AND octet_length(partner) <= 200));
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN ('admin', 'marketer', 'support', 'partner'));
ALTER TABLE staff ADD CONSTRAINT staff_partner_role CHECK ((role = 'partner') = (partner IS NOT NULL));

-- A voucher whose codes a partner honours names that partner.
ALTER TABLE gifts ADD COLUMN partner text NOT NULL DEFAULT '' CHECK (octet_length(partner) <= 200);

-- Bookings made before this change sent a code offer's shared promotion
-- code, the same to every member: nobody's own, so nothing a partner can
-- redeem once. Bookings from now on get a code of their own (personal),
-- unique like the booking codes of nights always were.
ALTER TABLE offer_bookings
    ADD COLUMN personal boolean NOT NULL DEFAULT true,
    ADD COLUMN redeemed_at timestamptz,
    ADD COLUMN redeemed_by text;
UPDATE offer_bookings SET personal = false WHERE nights = 0;
ALTER TABLE offer_bookings ADD CONSTRAINT offer_bookings_redeemed CHECK (personal OR redeemed_at IS NULL);
CREATE UNIQUE INDEX offer_bookings_personal_code ON offer_bookings (code) WHERE personal;
DROP INDEX offer_bookings_code;

-- A voucher code is unique within its gift's pool only, so the lookup by
-- code may find more than one claim; the index finds them.
ALTER TABLE gift_claims
    ADD COLUMN redeemed_at timestamptz,
    ADD COLUMN redeemed_by text;
CREATE INDEX gift_claims_code ON gift_claims (code);

-- +goose Down
DROP INDEX gift_claims_code;
ALTER TABLE gift_claims DROP COLUMN redeemed_by, DROP COLUMN redeemed_at;
CREATE UNIQUE INDEX offer_bookings_code ON offer_bookings (code) WHERE nights > 0;
DROP INDEX offer_bookings_personal_code;
ALTER TABLE offer_bookings DROP CONSTRAINT offer_bookings_redeemed;
ALTER TABLE offer_bookings DROP COLUMN redeemed_by, DROP COLUMN redeemed_at, DROP COLUMN personal;
ALTER TABLE gifts DROP COLUMN partner;
ALTER TABLE staff DROP CONSTRAINT staff_partner_role;
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN ('admin', 'marketer', 'support'));
ALTER TABLE staff DROP COLUMN partner;
