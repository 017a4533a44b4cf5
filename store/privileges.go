package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// Quotas lists the privileges msisdn's tier has, with what is left of this
// year's quota; a tier with none is refused (tier).
func (c *Catalog) Quotas(ctx context.Context, msisdn care360.MSISDN) (qs []care360.PrivilegeQuota, err error) {
	defer wrap(&err, "privilege quotas of %s", msisdn.Masked())
	sub, err := c.db.Subscriber(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	if err := c.vipTier(sub); err != nil {
		return nil, err
	}
	used := map[care360.Privilege]int{}
	rows, err := c.db.pool.Query(ctx, `SELECT privilege, count(*) FROM privilege_uses WHERE msisdn = $1 AND year = $2 GROUP BY privilege`,
		msisdn, c.db.now().In(c.db.loc).Year())
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var p care360.Privilege
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			rows.Close()
			return nil, err
		}
		used[p] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, p := range care360.Privileges {
		if q := c.privileges.QuotaFor(sub.Tier, p); q > 0 {
			qs = append(qs, care360.PrivilegeQuota{Privilege: p, Quota: q, Left: max(q-used[p], 0)})
		}
	}
	return qs, nil
}

func (c *Catalog) vipTier(sub *care360.Subscriber) error {
	switch {
	case sub.Status != care360.StatusActive:
		return care360.Refused(care360.ReasonSuspended, "membership is suspended")
	case len(c.privileges.Quota[sub.Tier]) == 0:
		return care360.Refused(care360.ReasonTier, "VIP privileges are not for tier %s", sub.Tier)
	}
	return nil
}

// UsePrivilege issues one e-code within the year's quota, under the
// subscriber's row lock so that two requests cannot both take the last one.
// Asking again for the same flight returns the first e-code.
func (c *Catalog) UsePrivilege(ctx context.Context, r care360.PrivilegeRequest) (u *care360.PrivilegeUse, replay bool, err error) {
	defer wrap(&err, "%s e-code for %s", r.Privilege, r.MSISDN.Masked())
	if !r.Privilege.Valid() {
		return nil, false, care360.Errorf(care360.EINVALID, "privilege must be priority or lounge")
	}
	now := c.db.now()
	if err := r.Flight.Check(now, c.db.loc); err != nil {
		return nil, false, err
	}
	if r.IdempotencyKey == "" {
		r.IdempotencyKey = "vip:" + newCode("")
	}
	year := now.In(c.db.loc).Year()
	err = c.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		sub, err := c.db.lockSubscriber(ctx, tx, r.MSISDN)
		if err != nil {
			return err
		}
		u = &care360.PrivilegeUse{MSISDN: sub.MSISDN, Privilege: r.Privilege, Flight: r.Flight}
		// One round trip: the e-code this request repeats, if any (its id
		// sorts first), else this year's count of the privilege.
		var used int
		err = tx.QueryRow(ctx, `
			SELECT id, code, created_at, 0 FROM privilege_uses
			WHERE idempotency_key = $1 OR (msisdn = $2 AND privilege = $3 AND flight_date = $4 AND flight = $5)
			UNION ALL SELECT 0, '', now(), count(*)::int FROM privilege_uses WHERE msisdn = $2 AND privilege = $3 AND year = $6
			ORDER BY 1 DESC LIMIT 1`,
			r.IdempotencyKey, sub.MSISDN, r.Privilege, pgDate(r.Flight.Date), r.Flight.Number, year).Scan(&u.ID, &u.Code, &u.CreatedAt, &used)
		if err != nil {
			return err
		}
		quota := c.privileges.QuotaFor(sub.Tier, r.Privilege)
		if u.ID != 0 {
			// What is left now, as the first answer said it (this use
			// counted); a rare path, worth its own round trip.
			replay = true
			if err := tx.QueryRow(ctx, `SELECT count(*)::int FROM privilege_uses WHERE msisdn = $1 AND privilege = $2 AND year = $3`,
				sub.MSISDN, r.Privilege, year).Scan(&used); err != nil {
				return err
			}
			u.Left = max(quota-used, 0)
			return nil
		}
		switch err := c.vipTier(sub); {
		case err != nil:
			return err
		case quota == 0:
			return care360.Refused(care360.ReasonTier, "%s is not for tier %s", r.Privilege, sub.Tier)
		case used >= quota:
			return care360.Refused(care360.ReasonLimitReached, "%d of %d %s e-codes used this year", used, quota, r.Privilege)
		}
		u.Code, u.Left = newCode("VN"), quota-used-1
		err = tx.QueryRow(ctx, `
			INSERT INTO privilege_uses (msisdn, privilege, flight_date, flight, year, code, idempotency_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, created_at`,
			sub.MSISDN, r.Privilege, pgDate(r.Flight.Date), r.Flight.Number, year, u.Code, r.IdempotencyKey, now).Scan(&u.ID, &u.CreatedAt)
		if err != nil {
			return err
		}
		return insertTransactional(ctx, tx, now, []care360.OutgoingSMS{u.UseSMS(sub.Language)})
	})
	if err != nil {
		return nil, false, err
	}
	return u, replay, nil
}
