-- A gift's stock is spread over 64 stripes, where it was 16: the claims of
-- one item in flight at once (one per database connection a gateway holds,
-- 64 by default) each find a stripe no other claim holds, instead of
-- waiting for one until the holder commits. Existing gifts get the new
-- stripes empty, so that their stock is unchanged; every statement that
-- spreads stock (a new gift, a stock update, new codes) spreads it over 64
-- from now on, and a refund returns a unit to stripe claim id mod 64.

-- +goose Up
INSERT INTO gift_stock (gift_id, stripe, stock)
SELECT g.id, s, 0 FROM gifts g, generate_series(16, 63) s
ON CONFLICT (gift_id, stripe) DO NOTHING;

-- +goose Down
UPDATE gift_stock s SET stock = s.stock + f.stock
FROM (SELECT gift_id, stripe % 16 AS stripe, sum(stock) AS stock FROM gift_stock WHERE stripe >= 16 GROUP BY 1, 2) f
WHERE s.gift_id = f.gift_id AND s.stripe = f.stripe;
DELETE FROM gift_stock WHERE stripe >= 16;
