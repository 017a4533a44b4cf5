package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/care360/care360"
)

// Catalog is the redemption catalogue, campaign gifts and their claims,
// mConnect and resort offers, VIP privileges and the provisioning queue.
// It shares the DB's pool, clock and location.
type Catalog struct {
	db         *DB
	sms        *SMS
	offers     care360.OfferRules
	privileges care360.PrivilegeRules
	ussdCode   string
	groups     *groups[care360.ClaimRequest, claimResult]
}

var (
	_ care360.GiftService      = (*Catalog)(nil)
	_ care360.GiftAnnouncer    = (*Catalog)(nil)
	_ care360.OfferService     = (*Catalog)(nil)
	_ care360.PrivilegeService = (*Catalog)(nil)
	_ care360.ProvisionQueue   = (*Catalog)(nil)
)

// CatalogOptions configure a Catalog; zero values are the product's defaults.
type CatalogOptions struct {
	Offers     care360.OfferRules
	Privileges care360.PrivilegeRules
	USSDCode   string // named in gift announcements ("*090#")
}

// NewCatalog returns the catalogue on db; sms schedules the gift
// announcements under the anti-spam rules.
func NewCatalog(db *DB, sms *SMS, opt CatalogOptions) *Catalog {
	if opt.USSDCode == "" {
		opt.USSDCode = "*090#"
	}
	c := &Catalog{db: db, sms: sms, offers: opt.Offers.WithDefaults(), privileges: opt.Privileges.WithDefaults(), ussdCode: opt.USSDCode}
	c.groups = newClaimGroups(c)
	return c
}

// giftStripes is how many rows a gift's stock is spread over: about the
// number of claims of one gift that may be in flight at once (a gateway's
// connections), so that a claim rarely waits for a stripe. Migration 00040
// gave existing gifts the stripes beyond the first 16.
const giftStripes = 64

// giftColumns read a gift (as g) with its stock and its claims counted.
// giftListColumns, for listing gifts in a USSD step and for claims, read
// only whether any stock is left (Stock 1 or 0), at the first stripe with
// some, and leave the count out: a sum over the stripes walked the rows
// every claim of the gift was updating, and a count, every claim ever
// made. Their Stock is for "out of stock" only.
const (
	giftBase = `g.id, g.name, g.name_en, g.kind, g.occasion, g.cost, g.tiers, g.segment, g.claim_limit,
	g.valid_from, g.valid_until, g.active, g.value, g.provision_endpoint, g.partner, g.created_at, g.updated_at`
	giftColumns = giftBase + `, (SELECT coalesce(sum(s.stock), 0)::bigint FROM gift_stock s WHERE s.gift_id = g.id),
	(SELECT count(*) FROM gift_claims k WHERE k.gift_id = g.id AND k.status <> 'failed')`
	giftListColumns = giftBase + `, (EXISTS (SELECT 1 FROM gift_stock s WHERE s.gift_id = g.id AND s.stock > 0))::int::bigint, 0::bigint`
)

// CreateGift stores a new gift; a repeated idempotency key returns the
// first one with replay=true.
func (c *Catalog) CreateGift(ctx context.Context, g *care360.Gift, key string) (out *care360.Gift, replay bool, err error) {
	defer wrap(&err, "create gift %q", g.Name)
	g.WithDefaults()
	if err := g.Validate(); err != nil {
		return nil, false, err
	}
	if g.Kind == care360.GiftVoucher && g.Stock != 0 {
		return nil, false, care360.Errorf(care360.EINVALID, "a voucher's stock is its code pool: upload codes instead")
	}
	if len(key) > 200 {
		return nil, false, care360.Errorf(care360.EINVALID, "idempotency_key is longer than 200 bytes")
	}
	var k *string
	if key != "" {
		k = &key
	}
	now := c.db.now()
	err = c.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO gifts (name, name_en, kind, occasion, cost, tiers, segment, claim_limit,
				valid_from, valid_until, active, value, provision_endpoint, partner, idempotency_key, request_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
			g.Name, g.NameEn, g.Kind, g.Occasion, g.Cost, strs(g.Tiers), segmentJSON(g.Segment), g.Limit,
			g.ValidFrom, g.ValidUntil, g.Active, g.Value, g.ProvisionEndpoint, g.Partner, k, g.RequestHash, now).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			replay = true
			var stored []byte
			if err = tx.QueryRow(ctx, `SELECT id, request_hash FROM gifts WHERE idempotency_key = $1`, key).Scan(&id, &stored); err == nil {
				err = sameRequest(key, stored, g.RequestHash)
			}
		case err == nil:
			_, err = tx.Exec(ctx, `
				INSERT INTO gift_stock (gift_id, stripe, stock)
				SELECT $1, i, $2::bigint / $3 + (i < $2::bigint % $3)::int FROM generate_series(0, $3 - 1) i`, id, g.Stock, giftStripes)
		}
		if err != nil {
			return err
		}
		out, err = giftIn(ctx, tx, id, "")
		return err
	})
	return out, replay, err
}

// Gift returns one gift.
func (c *Catalog) Gift(ctx context.Context, id int64) (g *care360.Gift, err error) {
	defer wrap(&err, "gift %d", id)
	return giftIn(ctx, c.db.pool, id, "")
}

// giftIn reads one gift; lock may be "FOR UPDATE".
func giftIn(ctx context.Context, q querier, id int64, lock string) (*care360.Gift, error) {
	g, err := scanGift(q.QueryRow(ctx, `SELECT `+giftColumns+` FROM gifts g WHERE g.id = $1 `+lock, id))
	return g, notFound(err, "no gift %d", id)
}

// Gifts lists gifts, newest first.
func (c *Catalog) Gifts(ctx context.Context, f care360.GiftFilter) (gs []care360.Gift, err error) {
	defer wrap(&err, "list gifts")
	rows, err := c.db.pool.Query(ctx, `SELECT `+giftColumns+` FROM gifts g
		WHERE ($1::boolean IS NULL OR (g.occasion <> '') = $1) AND ($2::boolean IS NULL OR g.active = $2)
		ORDER BY g.id DESC LIMIT 1000`, f.Campaign, f.Active)
	if err != nil {
		return nil, err
	}
	return collectGifts(rows)
}

// UpdateGift applies u under the gift's row lock and checks the result as a
// whole, so that no combination of fields a patch leaves behind is invalid.
func (c *Catalog) UpdateGift(ctx context.Context, id int64, u care360.GiftUpdate) (g *care360.Gift, err error) {
	defer wrap(&err, "update gift %d", id)
	err = c.db.Transact(ctx, func(tx pgx.Tx) error {
		if g, err = giftIn(ctx, tx, id, "FOR UPDATE OF g"); err != nil {
			return err
		}
		if g.Kind == care360.GiftVoucher && u.Stock != nil {
			return care360.Errorf(care360.EINVALID, "a voucher's stock is its code pool: upload codes instead")
		}
		u.Apply(g)
		if err := g.Validate(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE gifts SET name = $2, name_en = $3, cost = $4, tiers = $5, claim_limit = $6,
				valid_from = $7, valid_until = $8, active = $9, value = $10, provision_endpoint = $11, partner = $13, updated_at = $12
			WHERE id = $1`,
			id, g.Name, g.NameEn, g.Cost, strs(g.Tiers), g.Limit, g.ValidFrom, g.ValidUntil, g.Active,
			g.Value, g.ProvisionEndpoint, c.db.now(), g.Partner); err != nil {
			return err
		}
		if u.Stock != nil {
			// The stripes are locked in order, as claims hold at most one.
			if _, err := tx.Exec(ctx, `
				WITH l AS (SELECT stripe FROM gift_stock WHERE gift_id = $1 ORDER BY stripe FOR UPDATE)
				UPDATE gift_stock s SET stock = $2::bigint / $3 + (s.stripe < $2::bigint % $3)::int
				FROM l WHERE s.gift_id = $1 AND s.stripe = l.stripe`, id, *u.Stock, giftStripes); err != nil {
				return err
			}
		}
		g, err = giftIn(ctx, tx, id, "")
		return err
	})
	return g, err
}

// AddCodes adds codes to a voucher's pool in one statement and raises its
// stock by the codes accepted. Rows are judged in order: a code seen earlier
// in the upload or already in the pool is a duplicate.
func (c *Catalog) AddCodes(ctx context.Context, giftID int64, codes []string) (rs []care360.CodeResult, err error) {
	defer wrap(&err, "add codes to gift %d", giftID)
	rs = make([]care360.CodeResult, len(codes))
	seen := make(map[string]bool, len(codes))
	var fresh []string
	for i, code := range codes {
		rs[i] = care360.CodeResult{Row: i + 1, Code: code, Result: care360.CodeAccepted}
		switch {
		case !care360.ValidCode(code):
			rs[i].Result, rs[i].Reason = care360.CodeRejected, "a code is 4 to 64 printable characters without spaces"
		case seen[code]:
			rs[i].Result, rs[i].Reason = care360.CodeDuplicate, "repeated in this upload"
		default:
			seen[code] = true
			fresh = append(fresh, code)
		}
	}
	err = c.db.Transact(ctx, func(tx pgx.Tx) error {
		var kind care360.GiftKind
		if err := tx.QueryRow(ctx, `SELECT kind FROM gifts WHERE id = $1 FOR UPDATE`, giftID).Scan(&kind); err != nil {
			return notFound(err, "no gift %d", giftID)
		}
		if kind != care360.GiftVoucher {
			return care360.Errorf(care360.EINVALID, "gift %d is a %s gift: only vouchers have codes", giftID, kind)
		}
		rows, err := tx.Query(ctx, `
			WITH n AS (
				INSERT INTO gift_codes (gift_id, code) SELECT $1, unnest($2::text[])
				ON CONFLICT (gift_id, code) DO NOTHING RETURNING code
			), c AS (SELECT count(*) AS n FROM n), s AS (
				UPDATE gift_stock s SET stock = s.stock + c.n / $3 + (s.stripe < c.n % $3)::int
				FROM c WHERE s.gift_id = $1 AND c.n > 0
			)
			SELECT code FROM n`, giftID, fresh, giftStripes)
		if err != nil {
			return err
		}
		added, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		in := make(map[string]bool, len(added))
		for _, code := range added {
			in[code] = true
		}
		for i := range rs {
			if rs[i].Result == care360.CodeAccepted && !in[rs[i].Code] {
				rs[i].Result, rs[i].Reason = care360.CodeDuplicate, "already in the pool"
			}
		}
		return nil
	})
	return rs, err
}

func scanGift(row pgx.Row) (*care360.Gift, error) {
	var g care360.Gift
	var tiers []string
	var seg segmentDoc
	err := row.Scan(&g.ID, &g.Name, &g.NameEn, &g.Kind, &g.Occasion, &g.Cost, &tiers, &seg, &g.Limit,
		&g.ValidFrom, &g.ValidUntil, &g.Active, &g.Value, &g.ProvisionEndpoint, &g.Partner, &g.CreatedAt, &g.UpdatedAt, &g.Stock, &g.Claimed)
	if err != nil {
		return nil, err
	}
	g.Tiers = tierList(tiers)
	g.Segment = care360.Segment{Tiers: seg.Tiers, Gender: seg.Gender, BirthdayMonth: seg.BirthdayMonth, MSISDNs: seg.MSISDNs}
	return &g, nil
}

func collectGifts(rows pgx.Rows) ([]care360.Gift, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.Gift, error) {
		g, err := scanGift(r)
		if err != nil {
			return care360.Gift{}, err
		}
		return *g, nil
	})
}

func tierList(ts []string) []care360.Tier {
	if len(ts) == 0 {
		return nil
	}
	out := make([]care360.Tier, len(ts))
	for i, t := range ts {
		out[i] = care360.Tier(t)
	}
	return out
}

// lockSubscriber reads msisdn under its row lock, the lock every points
// change takes: what a subscriber spends, claims and books then happens one
// at a time, on every instance.
func (db *DB) lockSubscriber(ctx context.Context, tx pgx.Tx, msisdn care360.MSISDN) (*care360.Subscriber, error) {
	sub, err := db.scanSubscriber(tx.QueryRow(ctx, `SELECT `+subscriberColumns+` FROM subscribers WHERE msisdn = $1 FOR UPDATE`, msisdn))
	if err != nil {
		return nil, notFound(err, "no subscriber %s", msisdn.Masked())
	}
	return sub, nil
}

// monthOf is the first day of t's local calendar month, as a date column
// holds it.
func (db *DB) monthOf(t time.Time) pgtype.Date {
	l := t.In(db.loc)
	return pgtype.Date{Time: time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, time.UTC), Valid: true}
}
