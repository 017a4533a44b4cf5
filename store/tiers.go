package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// qualifyingWhere selects the ledger entries that make up the qualifying
// total tiers use: qualifying credits, less the usage refunds that took
// some back. Its text matches the partial index points_ledger_qualifying.
const qualifyingWhere = `kind = 'qualifying' AND (points > 0 OR refund)`

// qualifyingSQL is one subscriber's qualifying total since $2.
var qualifyingSQL = qualifyingOf("$1", "$2")

// qualifyingOf is the query of msisdn's qualifying total since since (SQL
// expressions), as a column q, never below zero: a refund can outlive, in
// the window, the credit it took from. It is the member's months after the
// one the window opens in (qualifying_months, which every insert into the
// ledger keeps), plus that month's entries after since: a dozen rows and a
// month's entries at most, where summing the year's entries read
// thousands for a busy number (migration 00048). qualifyingWhere's
// columns are the ledger's (pl), whatever the query around it reads.
func qualifyingOf(msisdn, since string) string {
	return `SELECT greatest(
			coalesce((SELECT sum(m.points) FROM qualifying_months m
				WHERE m.msisdn = ` + msisdn + ` AND m.month > ledger_month(` + since + `)), 0)
			+ coalesce((SELECT sum(pl.points) FROM points_ledger pl
				WHERE pl.msisdn = ` + msisdn + ` AND ` + qualifyingWhere + `
				AND pl.earned_at > ` + since + ` AND pl.earned_at < ledger_month_end(` + since + `)), 0),
		0)::bigint AS q`
}

// tierNames are the tiers in rank order, as SQL arrays take them
// (tier_rank's 1-based ranks index it).
func tierNames() []string {
	out := make([]string, len(care360.Tiers))
	for i, t := range care360.Tiers {
		out[i] = string(t)
	}
	return out
}

// floor is the tier long membership guarantees on now, for a member since
// the given date (stored as a calendar date).
func (db *DB) floor(since, now time.Time) care360.Tier {
	local := time.Date(since.Year(), since.Month(), since.Day(), 0, 0, 0, 0, db.loc)
	return db.rules.Floor(local, now)
}

// upgradeTiersSQL raises the tier of each member of $1 whose qualifying
// total since $2 earns more ($3: the thresholds, $4: the tier names, $5:
// now), cancels their pending downgrades and records the changes. q reads
// each member's tier with its total, once; the update then names by key
// only the members q found a higher tier for, and checks the tier again
// on the row it updates (a concurrent change re-checked, as any update's
// condition is). Joined to q alone, the planner read every member into a
// hash for each pass's take, while the member base was small enough for
// that to look cheaper than a key each; naming all of $1 read each
// credited member a second time, a quarter of the statement, for the few
// that rise (TestUpgradeCheckFindsItsMembersByKey).
var upgradeTiersSQL = `
	WITH q AS MATERIALIZED (
		SELECT s.msisdn, s.tier, l.q FROM subscribers s, LATERAL (` + qualifyingOf("s.msisdn", "$2") + `) l
		WHERE s.msisdn = ANY($1)
	), u AS (
		UPDATE subscribers s SET tier = ($4::text[])[tier_rank(q.q, $3)], tier_since = $5, updated_at = $5
		FROM q
		WHERE s.msisdn = ANY (ARRAY(SELECT msisdn FROM q WHERE tier_rank(q, $3) > array_position($4::text[], tier)))
			AND s.msisdn = q.msisdn AND tier_rank(q.q, $3) > array_position($4::text[], s.tier)
		RETURNING s.msisdn, q.tier AS old, s.tier AS new, s.language, s.member_since, q.q
	), d AS (
		DELETE FROM tier_downgrades WHERE msisdn IN (SELECT msisdn FROM u)
	), c AS (
		INSERT INTO tier_changes (msisdn, kind, from_tier, to_tier, qualifying, created_at)
		SELECT msisdn, 'upgrade', old, new, q, $5 FROM u
		RETURNING id, msisdn
	)
	SELECT c.id, u.msisdn, u.old, u.new, u.q, u.language, u.member_since FROM c JOIN u USING (msisdn)`

// upgradeTiers raises the stored tier of those msisdns whose qualifying
// points of the last 12 months earn a higher one, at once, cancels any
// downgrade they were waiting for and records each change; with announce,
// it congratulates the subscriber by SMS in the same transaction. It is
// set-based, for the usage poster; one subscriber's change is the same call
// with one MSISDN. Downgrades wait for the monthly review, so a lower
// result changes nothing.
func (db *DB) upgradeTiers(ctx context.Context, tx pgx.Tx, msisdns []string, now time.Time, announce bool) (int, error) {
	if len(msisdns) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, upgradeTiersSQL, msisdns, db.yearAgo(now), db.rules.Thresholds[:], tierNames(), now)
	if err != nil {
		return 0, err
	}
	changes, err := db.scanChanges(rows, care360.TierUpgraded, now)
	if err != nil {
		return 0, err
	}
	shown := visible
	if !announce {
		shown = func(care360.TierChange) bool { return false }
	}
	return len(changes), db.tell(ctx, tx, changes, shown, now)
}

// scanChanges reads rows of (id, msisdn, from, to, qualifying, language,
// member_since) as changes of kind, with the tiers as the subscriber sees
// them (floors included).
func (db *DB) scanChanges(rows pgx.Rows, kind care360.TierChangeKind, now time.Time) ([]care360.TierChange, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.TierChange, error) {
		c := care360.TierChange{Kind: kind}
		var since time.Time
		if err := r.Scan(&c.ID, &c.MSISDN, &c.From, &c.To, &c.Qualifying, &c.Language, &since); err != nil {
			return c, err
		}
		f := db.floor(since, now)
		c.From, c.To = care360.MaxTier(c.From, f), care360.MaxTier(c.To, f)
		return c, nil
	})
}

// visible reports whether the subscriber sees a change: one that the
// membership floor hides (Dong to Bac for a member held at Titan) is
// recorded but not announced.
func visible(c care360.TierChange) bool { return c.From != c.To }

// tell logs the changes and queues, in tx, an SMS for each one that shown
// picks.
func (db *DB) tell(ctx context.Context, tx pgx.Tx, changes []care360.TierChange, shown func(care360.TierChange) bool, now time.Time) error {
	var msgs []care360.OutgoingSMS
	for _, c := range changes {
		db.log.Info("tier "+string(c.Kind), "msisdn", c.MSISDN.Masked(), "from", c.From, "to", c.To, "qualifying", c.Qualifying)
		if shown(c) {
			msgs = append(msgs, c.SMS(db.rules.Thresholds[c.From.Rank()], db.loc))
		}
	}
	return insertTransactional(ctx, tx, now, msgs)
}

// ReviewTiers runs the monthly review of the current cycle if no instance
// has (tier_reviews makes it once per cycle), then settles the pending
// downgrades: cancelled where the points recovered, applied where the grace
// ran out. A missed run (the process was down on the 1st) catches up on the
// next one, with the grace still counted from the 1st.
func (l *Ledger) ReviewTiers(ctx context.Context) (r care360.TierReview, err error) {
	defer wrap(&err, "review tiers")
	db := l.db
	now := db.now()
	cycle := care360.ReviewCycle(now, db.loc)
	r.Cycle = db.date(cycle)
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		r.Reviewed, r.Pending = false, 0
		tag, err := tx.Exec(ctx, `INSERT INTO tier_reviews (cycle, reviewed_at, pending) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`,
			pgDate(r.Cycle), now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		r.Reviewed = true
		changes, err := db.reviewCycle(ctx, tx, cycle, now)
		if err != nil {
			return err
		}
		r.Pending = len(changes)
		if _, err := tx.Exec(ctx, `UPDATE tier_reviews SET pending = $2 WHERE cycle = $1`, pgDate(r.Cycle), r.Pending); err != nil {
			return err
		}
		return db.tell(ctx, tx, changes, visible, now)
	})
	if err != nil {
		return r, err
	}
	r.Kept, r.Downgraded, err = db.settleDowngrades(ctx, now)
	if r.Reviewed || r.Kept+r.Downgraded > 0 {
		db.log.Info("tiers reviewed", "cycle", r.Cycle.String(), "reviewed", r.Reviewed, "pending", r.Pending, "kept", r.Kept, "downgraded", r.Downgraded)
	}
	return r, err
}

// reviewCycle records a pending downgrade, due after the grace, for every
// subscriber whose qualifying points of the last 12 months earn less than
// the stored tier, in one statement over all subscribers.
func (db *DB) reviewCycle(ctx context.Context, tx pgx.Tx, cycle, now time.Time) ([]care360.TierChange, error) {
	rows, err := tx.Query(ctx, `
		WITH q AS (
			SELECT msisdn, greatest(sum(points), 0)::bigint AS q FROM points_ledger
			WHERE `+qualifyingWhere+` AND earned_at > $1 GROUP BY msisdn
		), c AS (
			SELECT s.msisdn, s.tier, s.language, s.member_since, coalesce(q.q, 0) AS q, tier_rank(coalesce(q.q, 0), $2) AS rank
			FROM subscribers s LEFT JOIN q USING (msisdn)
			WHERE s.tier <> 'dong' AND s.status <> 'closed' AND NOT EXISTS (SELECT 1 FROM tier_downgrades d WHERE d.msisdn = s.msisdn)
		), p AS (
			INSERT INTO tier_downgrades (msisdn, from_tier, to_tier, cycle, due_at, created_at)
			SELECT msisdn, tier, ($3::text[])[rank], $4, $5, $6 FROM c WHERE rank < array_position($3::text[], tier)
			RETURNING msisdn, from_tier, to_tier
		), h AS (
			INSERT INTO tier_changes (msisdn, kind, from_tier, to_tier, qualifying, due_at, created_at)
			SELECT p.msisdn, 'pending', p.from_tier, p.to_tier, c.q, $5, $6 FROM p JOIN c USING (msisdn)
			RETURNING id, msisdn, from_tier, to_tier, qualifying
		)
		SELECT h.id, h.msisdn, h.from_tier, h.to_tier, h.qualifying, c.language, c.member_since FROM h JOIN c USING (msisdn)`,
		db.yearAgo(now), db.rules.Thresholds[:], tierNames(), pgDate(db.date(cycle)), db.rules.DowngradeDue(cycle, db.loc), now)
	if err != nil {
		return nil, err
	}
	changes, err := db.scanChanges(rows, care360.TierPending, now)
	for i := range changes {
		changes[i].Due = db.rules.DowngradeDue(cycle, db.loc)
	}
	return changes, err
}

// settleDowngrades looks at every pending downgrade: where the points now
// earn the stored tier again it is cancelled (kept); where the grace has
// run out it is applied, to the tier the points earn today. The
// subscribers are locked first, in order, and their points read after, so
// that no credit committed meanwhile is missed.
func (db *DB) settleDowngrades(ctx context.Context, now time.Time) (kept, downgraded int, err error) {
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		kept, downgraded = 0, 0
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, jobLockClass, tierLockObj).Scan(&mine); err != nil || !mine {
			return err
		}
		if _, err := tx.Exec(ctx, `
			SELECT 1 FROM subscribers s JOIN tier_downgrades d USING (msisdn) ORDER BY s.msisdn FOR UPDATE OF s`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			WITH q AS (
				SELECT d.msisdn, s.tier, d.to_tier AS planned, d.due_at <= $1 AS due, s.language, s.member_since,
					l.q, tier_rank(l.q, $3) AS rank
				FROM tier_downgrades d JOIN subscribers s USING (msisdn), LATERAL (`+qualifyingOf("d.msisdn", "$2")+`) l
			), x AS (
				SELECT *, CASE WHEN rank >= array_position($4::text[], tier) THEN 'kept' ELSE 'downgrade' END AS kind
				FROM q WHERE rank >= array_position($4::text[], tier) OR due
			), d AS (
				DELETE FROM tier_downgrades WHERE msisdn IN (SELECT msisdn FROM x)
			), u AS (
				UPDATE subscribers s SET tier = ($4::text[])[x.rank], tier_since = $1, updated_at = $1
				FROM x WHERE s.msisdn = x.msisdn AND x.kind = 'downgrade'
			), h AS (
				INSERT INTO tier_changes (msisdn, kind, from_tier, to_tier, qualifying, created_at)
				SELECT msisdn, kind, tier, CASE WHEN kind = 'kept' THEN tier ELSE ($4::text[])[rank] END, q, $1 FROM x
				RETURNING id, msisdn, kind, from_tier, to_tier, qualifying
			)
			SELECT h.id, h.msisdn, h.kind, h.from_tier, h.to_tier, h.qualifying, x.language, x.member_since, x.planned
			FROM h JOIN x USING (msisdn)`,
			now, db.yearAgo(now), db.rules.Thresholds[:], tierNames())
		if err != nil {
			return err
		}
		warned := map[int64]bool{} // kept changes whose downgrade had been announced
		changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.TierChange, error) {
			var c care360.TierChange
			var since time.Time
			var planned care360.Tier
			err := r.Scan(&c.ID, &c.MSISDN, &c.Kind, &c.From, &c.To, &c.Qualifying, &c.Language, &since, &planned)
			f := db.floor(since, now)
			c.From, c.To = care360.MaxTier(c.From, f), care360.MaxTier(c.To, f)
			if c.Kind == care360.TierKept {
				kept++
				warned[c.ID] = care360.MaxTier(planned, f) != c.From
			} else {
				downgraded++
			}
			return c, err
		})
		if err != nil {
			return err
		}
		return db.tell(ctx, tx, changes, func(c care360.TierChange) bool {
			if c.Kind == care360.TierKept {
				return warned[c.ID]
			}
			return visible(c)
		}, now)
	})
	return kept, downgraded, err
}
