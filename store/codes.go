package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.CodeService = (*Catalog)(nil)

// partnerCodes finds code ($1) among the codes members hold, of partner $2
// ("" for every partner's): offer bookings with a code of their own (by
// offer_bookings_personal_code) and claims of vouchers that name a partner
// (by gift_claims_code). A voucher code is unique within its pool only, so
// two rows may read alike; two is enough to know.
const partnerCodes = `
	SELECT 'offer', b.id, b.code, o.partner, b.msisdn, o.valid_until, b.redeemed_at, coalesce(b.redeemed_by, '')
	FROM offer_bookings b JOIN offers o ON o.id = b.offer_id
	WHERE b.code = $1 AND b.personal AND ($2 = '' OR o.partner = $2)
	UNION ALL
	SELECT 'voucher', k.id, k.code, g.partner, k.msisdn, g.valid_until, k.redeemed_at, coalesce(k.redeemed_by, '')
	FROM gift_claims k JOIN gifts g ON g.id = k.gift_id
	WHERE k.code = $1 AND k.code_id IS NOT NULL AND k.status <> 'failed' AND g.partner <> '' AND ($2 = '' OR g.partner = $2)
	LIMIT 2`

// codeTables are where each kind of code is redeemed.
var codeTables = map[care360.CodeKind]string{care360.CodeOffer: "offer_bookings", care360.CodeVoucher: "gift_claims"}

// CheckCode returns a code partner may see, with Valid as of now.
func (c *Catalog) CheckCode(ctx context.Context, code, partner string) (pc *care360.PartnerCode, err error) {
	defer wrap(&err, "check code")
	if code, err = care360.CleanCode(code); err != nil {
		return nil, err
	}
	pc, _, err = c.findCode(ctx, code, partner, c.db.now())
	return pc, err
}

// RedeemCode marks a code used. The UPDATE's condition (redeemed_at IS
// NULL) is what makes it happen once: concurrent redemptions queue on the
// row's lock, and every one after the first finds it redeemed and changes
// nothing.
func (c *Catalog) RedeemCode(ctx context.Context, code, partner string, by care360.Actor) (pc *care360.PartnerCode, err error) {
	defer wrap(&err, "redeem code")
	if code, err = care360.CleanCode(code); err != nil {
		return nil, err
	}
	now := c.db.now()
	pc, id, err := c.findCode(ctx, code, partner, now)
	if err != nil {
		return nil, err
	}
	if pc.RedeemedAt == nil && pc.Expired(now) {
		return nil, care360.Refused(care360.ReasonExpired, "code %s expired at %s", pc.Code, pc.ExpiresAt.In(c.db.loc).Format(time.RFC3339))
	}
	var at time.Time
	err = c.db.pool.QueryRow(ctx, `UPDATE `+codeTables[pc.Kind]+` SET redeemed_at = $2, redeemed_by = $3
		WHERE id = $1 AND redeemed_at IS NULL RETURNING redeemed_at`, id, now, by.Name).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		if pc, _, err = c.findCode(ctx, code, partner, now); err != nil {
			return nil, err
		}
		return nil, redeemed(pc, c.db.loc)
	}
	if err != nil {
		return nil, err
	}
	pc.RedeemedAt, pc.RedeemedBy, pc.Valid = &at, by.Name, false
	c.db.log.Info("code redeemed", "kind", pc.Kind, "id", id, "partner", pc.Partner, "msisdn", pc.MSISDN.Masked(), "by", by.Name)
	return pc, nil
}

func redeemed(pc *care360.PartnerCode, loc *time.Location) error {
	if pc.RedeemedAt == nil { // a redemption cannot be undone; be safe anyway
		return care360.Errorf(care360.ECONFLICT, "code %s is being redeemed by another request", pc.Code)
	}
	return care360.Errorf(care360.ECONFLICT, "code %s was redeemed already, at %s", pc.Code, pc.RedeemedAt.In(loc).Format(time.RFC3339))
}

// findCode reads a code partner may see and the id of its row. A code
// that reads like two of them cannot be told apart, nor redeemed: the
// caller is told so rather than shown either.
func (c *Catalog) findCode(ctx context.Context, code, partner string, now time.Time) (*care360.PartnerCode, int64, error) {
	rows, err := c.db.pool.Query(ctx, partnerCodes, code, partner)
	if err != nil {
		return nil, 0, err
	}
	type found struct {
		pc care360.PartnerCode
		id int64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (f found, err error) {
		err = r.Scan(&f.pc.Kind, &f.id, &f.pc.Code, &f.pc.Partner, &f.pc.MSISDN, &f.pc.ExpiresAt, &f.pc.RedeemedAt, &f.pc.RedeemedBy)
		return f, err
	})
	switch {
	case err != nil:
		return nil, 0, err
	case len(list) == 0:
		return nil, 0, care360.Errorf(care360.ENOTFOUND, "no code %s", code)
	case len(list) > 1:
		return nil, 0, care360.Errorf(care360.ECONFLICT, "more than one voucher has code %s: they cannot be told apart", code)
	}
	pc := &list[0].pc
	pc.Valid = pc.RedeemedAt == nil && !pc.Expired(now)
	return pc, list[0].id, nil
}
