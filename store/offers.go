package store

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/care360/care360"
)

const offerColumns = `id, kind, category, partner, title, title_en, tiers, code, price, card_price, card_name,
	valid_from, valid_until, active, created_at`

// CreateOffer stores an offer; a resort offer without dates gets the
// season (June–August by default). A repeated idempotency key returns the
// first offer with replay=true.
func (c *Catalog) CreateOffer(ctx context.Context, o *care360.Offer, key string) (out *care360.Offer, replay bool, err error) {
	defer wrap(&err, "create offer %q", o.Title)
	if o.Kind == care360.OfferResort && o.ValidFrom.IsZero() && o.ValidUntil.IsZero() {
		o.ValidFrom, o.ValidUntil = c.offers.Season(c.db.now(), c.db.loc)
	}
	if err := o.Validate(); err != nil {
		return nil, false, err
	}
	if len(key) > 200 {
		return nil, false, care360.Errorf(care360.EINVALID, "idempotency_key is longer than 200 bytes")
	}
	var k *string
	if key != "" {
		k = &key
	}
	err = c.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		out, err = scanOffer(tx.QueryRow(ctx, `
			INSERT INTO offers (kind, category, partner, title, title_en, tiers, code, price, card_price, card_name,
				valid_from, valid_until, active, idempotency_key, request_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING `+offerColumns,
			o.Kind, o.Category, o.Partner, o.Title, o.TitleEn, strs(o.Tiers), o.Code, o.Price, o.CardPrice, o.CardName,
			o.ValidFrom, o.ValidUntil, o.Active, k, o.RequestHash, c.db.now()))
		if errors.Is(err, pgx.ErrNoRows) {
			replay = true
			var stored []byte
			if err := tx.QueryRow(ctx, `SELECT request_hash FROM offers WHERE idempotency_key = $1`, key).Scan(&stored); err != nil {
				return err
			}
			if err := sameRequest(key, stored, o.RequestHash); err != nil {
				return err
			}
			out, err = scanOffer(tx.QueryRow(ctx, `SELECT `+offerColumns+` FROM offers WHERE idempotency_key = $1`, key))
		}
		return err
	})
	return out, replay, err
}

// Offers lists offers by kind and category, in menu order (oldest first).
func (c *Catalog) Offers(ctx context.Context, f care360.OfferFilter) (os []care360.Offer, err error) {
	defer wrap(&err, "list offers")
	return c.offersWhere(ctx, c.db.pool, f, false)
}

// Offer returns one offer.
func (c *Catalog) Offer(ctx context.Context, id int64) (o *care360.Offer, err error) {
	defer wrap(&err, "offer %d", id)
	o, err = scanOffer(c.db.pool.QueryRow(ctx, `SELECT `+offerColumns+` FROM offers WHERE id = $1`, id))
	return o, notFound(err, "no offer %d", id)
}

// UpdateOffer applies u under the offer's row lock and checks the result
// as a whole, as UpdateGift does; a booking in flight (which reads the
// offer in its own transaction) sees the offer before or after, never half.
func (c *Catalog) UpdateOffer(ctx context.Context, id int64, u care360.OfferUpdate) (o *care360.Offer, err error) {
	defer wrap(&err, "update offer %d", id)
	err = c.db.Transact(ctx, func(tx pgx.Tx) error {
		o, err = scanOffer(tx.QueryRow(ctx, `SELECT `+offerColumns+` FROM offers WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err, "no offer %d", id)
		}
		u.Apply(o)
		if err := o.Validate(); err != nil {
			return err
		}
		o, err = scanOffer(tx.QueryRow(ctx, `
			UPDATE offers SET category = $2, partner = $3, title = $4, title_en = $5, tiers = $6, code = $7,
				price = $8, card_price = $9, card_name = $10, valid_from = $11, valid_until = $12, active = $13
			WHERE id = $1 RETURNING `+offerColumns,
			id, o.Category, o.Partner, o.Title, o.TitleEn, strs(o.Tiers), o.Code, o.Price, o.CardPrice, o.CardName,
			o.ValidFrom, o.ValidUntil, o.Active))
		return err
	})
	return o, err
}

func (c *Catalog) offersWhere(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, f care360.OfferFilter, activeOnly bool) ([]care360.Offer, error) {
	rows, err := q.Query(ctx, `SELECT `+offerColumns+` FROM offers
		WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR category = $2) AND (active OR NOT $3)
		ORDER BY id LIMIT 1000`, f.Kind, f.Category, activeOnly)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.Offer, error) {
		o, err := scanOffer(r)
		if err != nil {
			return care360.Offer{}, err
		}
		return *o, nil
	})
}

// AvailableOffers lists the offers msisdn may take now. Resorts are for the
// resort tiers (refused: tier) and their season (refused: window, when
// there are resort offers but none is open).
func (c *Catalog) AvailableOffers(ctx context.Context, msisdn care360.MSISDN, f care360.OfferFilter) (out []care360.Offer, err error) {
	defer wrap(&err, "offers for %s", msisdn.Masked())
	sub, err := c.db.Subscriber(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	if err := c.resortTier(sub, f.Kind); err != nil {
		return nil, err
	}
	all, err := c.offersWhere(ctx, c.db.pool, f, true)
	if err != nil {
		return nil, err
	}
	now := c.db.now()
	var window error
	for _, o := range all {
		switch err := o.Eligible(sub, now); care360.ErrorReason(err) {
		case "":
			out = append(out, o)
		case care360.ReasonWindow:
			window = err
		}
	}
	if len(out) == 0 && window != nil && f.Kind == care360.OfferResort {
		return nil, care360.Refused(care360.ReasonWindow, "no resort offer is in season")
	}
	return out, nil
}

func (c *Catalog) resortTier(sub *care360.Subscriber, kind care360.OfferKind) error {
	if kind == care360.OfferResort && !slices.Contains(c.offers.ResortTiers, sub.Tier) {
		return care360.Refused(care360.ReasonTier, "summer resort offers are not for tier %s", sub.Tier)
	}
	return nil
}

// Book takes an offer for msisdn under its row lock: a code of the
// subscriber's own once per offer, or nights within the month's cap for the
// kind (hotel or resort), the SMS queued in the same transaction.
func (c *Catalog) Book(ctx context.Context, r care360.BookRequest) (b *care360.Booking, replay bool, err error) {
	defer wrap(&err, "book offer %d for %s", r.OfferID, r.MSISDN.Masked())
	if r.IdempotencyKey == "" {
		r.IdempotencyKey = "book:" + newCode("")
	}
	now := c.db.now()
	err = c.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		sub, err := c.db.lockSubscriber(ctx, tx, r.MSISDN)
		if err != nil {
			return err
		}
		o, err := scanOffer(tx.QueryRow(ctx, `SELECT `+offerColumns+` FROM offers WHERE id = $1`, r.OfferID))
		if err != nil {
			return notFound(err, "no offer %d", r.OfferID)
		}
		b = &care360.Booking{OfferID: o.ID, MSISDN: sub.MSISDN, Offer: o}
		found, err := c.findBooking(ctx, tx, b, r.IdempotencyKey, o.Nightly())
		if found || err != nil {
			replay = found
			return err
		}
		if err := c.resortTier(sub, o.Kind); err != nil {
			return err
		}
		if err := o.Eligible(sub, now); err != nil {
			return err
		}
		// Every take gets a code of its own, which its partner redeems once
		// (codes.go); a code offer's own code leads it, so that the partner
		// recognises its promotion.
		cap, month := "", c.db.monthOf(now)
		b.Code = o.Code + "-" + newCode("")
		if o.Nightly() {
			if cap = "hotel"; o.Kind == care360.OfferResort {
				cap = "resort"
			}
			if err := c.checkNights(ctx, tx, sub.MSISDN, cap, month, r.Nights); err != nil {
				return err
			}
			b.Nights, b.Code = r.Nights, newCode("KNDL")
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO offer_bookings (offer_id, msisdn, cap, month, nights, code, idempotency_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, created_at`,
			o.ID, sub.MSISDN, cap, month, b.Nights, b.Code, r.IdempotencyKey, now).Scan(&b.ID, &b.CreatedAt)
		if err != nil {
			return err
		}
		return insertTransactional(ctx, tx, now, []care360.OutgoingSMS{b.BookingSMS(sub.Language)})
	})
	if err != nil {
		return nil, false, err
	}
	return b, replay, nil
}

// findBooking fills b with the booking this request repeats: the same
// idempotency key, or for a code offer the subscriber's earlier take.
func (c *Catalog) findBooking(ctx context.Context, tx pgx.Tx, b *care360.Booking, key string, nightly bool) (bool, error) {
	err := tx.QueryRow(ctx, `
		SELECT id, nights, code, created_at FROM offer_bookings
		WHERE idempotency_key = $1 OR (NOT $4 AND offer_id = $2 AND msisdn = $3 AND nights = 0)
		ORDER BY idempotency_key = $1 DESC LIMIT 1`, key, b.OfferID, b.MSISDN, nightly).
		Scan(&b.ID, &b.Nights, &b.Code, &b.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// checkNights refuses a stay that is not 1 to the cap, or that would take
// the month's nights of this kind beyond it.
func (c *Catalog) checkNights(ctx context.Context, tx pgx.Tx, msisdn care360.MSISDN, cap string, month pgtype.Date, nights int) error {
	max := c.offers.MonthlyNights
	if nights < 1 || nights > 31 {
		return care360.Errorf(care360.EINVALID, "nights must be 1 to 31")
	}
	var booked int
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(nights), 0) FROM offer_bookings WHERE msisdn = $1 AND cap = $2 AND month = $3`,
		msisdn, cap, month).Scan(&booked); err != nil {
		return err
	}
	if booked+nights > max {
		return care360.Refused(care360.ReasonLimitReached, "%d of %d nights this month already booked", booked, max)
	}
	return nil
}

// MonthlyNights is the nights cap in force.
func (c *Catalog) MonthlyNights() int { return c.offers.MonthlyNights }

func scanOffer(row pgx.Row) (*care360.Offer, error) {
	var o care360.Offer
	var tiers []string
	err := row.Scan(&o.ID, &o.Kind, &o.Category, &o.Partner, &o.Title, &o.TitleEn, &tiers, &o.Code, &o.Price, &o.CardPrice,
		&o.CardName, &o.ValidFrom, &o.ValidUntil, &o.Active, &o.CreatedAt)
	if err != nil {
		return nil, err
	}
	o.Tiers = tierList(tiers)
	return &o, nil
}
