package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

const ledgerColumns = `id, msisdn, kind, points, reason, idempotency_key, earned_at, expires_at, created_at`

// ChangePoints appends a credit or a debit in one transaction that holds the
// subscriber's row lock, so that changes to one subscriber run one at a time
// and a debit sees every credit and debit committed before it. A debit
// consumes the earliest-expiring unexpired credits first. A qualifying credit
// that earns a higher tier upgrades the subscriber at once. The upgrade is
// recorded but not announced by SMS: changes made here are the operator's
// adjustments (loading members from an old system, compensations), and
// congratulating a member on the tier they already held would be noise;
// tiers earned by usage are announced when the usage is posted.
func (db *DB) ChangePoints(ctx context.Context, msisdn care360.MSISDN, c care360.PointsChange) (e *care360.LedgerEntry, replay bool, err error) {
	defer wrap(&err, "change points of %s", msisdn.Masked())
	if err := c.Validate(); err != nil {
		return nil, false, err
	}
	now := db.now()
	at := now
	if !c.At.IsZero() {
		at = c.At.Truncate(time.Microsecond)
	}
	// The caller's key, in the callers' namespace: whatever it is, it can
	// never be the key of an entry the system makes (draw:7, transfer:3…).
	c.IdempotencyKey = care360.CallerKey(c.IdempotencyKey)
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		e, replay = nil, false
		// The row lock makes the key's check, the quota and the entry one
		// step for this subscriber: a retry racing its original waits and
		// then finds the entry.
		var seen struct {
			id     *int64
			kind   *care360.PointsKind
			points *int64
			reason *string
		}
		err := tx.QueryRow(ctx, `
			SELECT l.id, l.kind, l.points, l.reason FROM subscribers s
			LEFT JOIN points_ledger l ON l.msisdn = s.msisdn AND l.idempotency_key = $2
			WHERE s.msisdn = $1 FOR UPDATE OF s`, msisdn, c.IdempotencyKey).Scan(&seen.id, &seen.kind, &seen.points, &seen.reason)
		if err != nil {
			return notFound(err, "no subscriber %s", msisdn.Masked())
		}
		if seen.id != nil {
			// The entry is the whole request: the same key with another
			// kind, amount or reason is another request.
			if *seen.kind != c.Kind || *seen.points != c.Points || *seen.reason != c.Reason {
				return care360.KeyReused(c.IdempotencyKey)
			}
			e, replay, err = byKey(ctx, tx, msisdn, c.IdempotencyKey)
			return err
		}
		if c.Quota != nil {
			if err := db.countQuota(ctx, tx, c.Quota, c.Points, now); err != nil {
				return err
			}
		}
		if c.Points > 0 {
			e, replay, err = db.credit(ctx, tx, msisdn, c, at, now)
			if err == nil && !replay && c.Kind == care360.PointsQualifying {
				_, err = db.upgradeTiers(ctx, tx, []string{string(msisdn)}, now, false)
			}
			return err
		}
		e, replay, err = db.debit(ctx, tx, msisdn, c, at, now)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return e, replay, nil
}

func (db *DB) credit(ctx context.Context, tx pgx.Tx, msisdn care360.MSISDN, c care360.PointsChange, at, now time.Time) (*care360.LedgerEntry, bool, error) {
	row := tx.QueryRow(ctx, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
		VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (msisdn, idempotency_key) DO NOTHING
		RETURNING `+ledgerColumns,
		msisdn, c.Kind, c.Points, c.Reason, c.IdempotencyKey, at, care360.Expiry(at, db.loc), now)
	e, err := scanEntry(row)
	if errors.Is(err, pgx.ErrNoRows) {
		// The row lock serializes writers of one subscriber, so this is
		// only a second line of defence; the key's entry is the answer.
		return byKey(ctx, tx, msisdn, c.IdempotencyKey)
	}
	return e, false, err
}

// debit appends a debit of |c.Points| with its allocations to the open
// credits, earliest expiry first, in one statement (debitSQL).
func (db *DB) debit(ctx context.Context, tx pgx.Tx, msisdn care360.MSISDN, c care360.PointsChange, at, now time.Time) (*care360.LedgerEntry, bool, error) {
	var have int64
	var id *int64
	if err := tx.QueryRow(ctx, debitSQL, debitArgs(msisdn, c, at, now)...).Scan(&have, &id); err != nil {
		return nil, false, err
	}
	return db.debitResult(ctx, tx, have, id, msisdn, c, at, now)
}

// debitSQL appends a debit and its allocations in one statement: the
// credits it needs (those whose predecessors, earliest expiry first, leave
// the need unmet) are read by the statement that inserts, so a debit is
// one round trip, and one a pipeline can carry beside the caller's other
// writes. It inserts nothing when the credits fall short. It returns the
// points spendable and the new entry's id, NULL when it inserted nothing
// (short, or the key was taken). The caller holds the subscriber's row
// lock, so the statement's snapshot, taken after the lock was granted,
// sees every change to the subscriber's points committed before.
const debitSQL = `
	WITH c AS (
		SELECT id, least(remaining, -$3::bigint - before) AS take FROM (
			SELECT id, remaining, sum(remaining) OVER (ORDER BY expires_at, id) - remaining AS before
			FROM points_ledger WHERE msisdn = $1 AND remaining > 0 AND expires_at > $7
		) o WHERE before < -$3::bigint
	), h AS (
		SELECT coalesce(sum(take), 0)::bigint AS have FROM c
	), d AS (
		INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
		SELECT $1, $2, $3, $4, $5, $6, $7 FROM h WHERE h.have >= -$3::bigint
		ON CONFLICT (msisdn, idempotency_key) DO NOTHING
		RETURNING id
	), a AS (
		INSERT INTO points_allocations (debit_id, credit_id, points) SELECT d.id, c.id, c.take FROM d, c
	)
	SELECT h.have, (SELECT id FROM d) FROM h`

// debitsSQL is debitSQL for many members at once, one debit each (a
// group of claims, claim_groups.go): $1 the members (each once), $2 the
// points (negative), $3 the reasons, $4 the keys, $5 the kind, $6 now. The
// caller holds every member's row lock and has seen each cover its debit;
// it returns how many debits were appended, which is all of them unless
// the points or a key changed under a lock, which cannot be.
const debitsSQL = `
	WITH r AS (
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS r (msisdn, points, reason, key)
	), c AS (
		SELECT r.msisdn, o.id, least(o.remaining, -r.points - o.before) AS take
		FROM r CROSS JOIN LATERAL (
			SELECT id, remaining, sum(remaining) OVER (ORDER BY expires_at, id) - remaining AS before
			FROM points_ledger WHERE msisdn = r.msisdn AND remaining > 0 AND expires_at > $6
		) o WHERE o.before < -r.points
	), h AS (
		SELECT r.msisdn, r.points, r.reason, r.key, (SELECT coalesce(sum(take), 0) FROM c WHERE c.msisdn = r.msisdn) AS have FROM r
	), d AS (
		INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
		SELECT msisdn, $5, points, reason, key, $6, $6 FROM h WHERE have >= -points
		ON CONFLICT (msisdn, idempotency_key) DO NOTHING
		RETURNING id, msisdn
	), a AS (
		INSERT INTO points_allocations (debit_id, credit_id, points) SELECT d.id, c.id, c.take FROM d JOIN c ON c.msisdn = d.msisdn
	)
	SELECT count(*) FROM d`

func debitArgs(msisdn care360.MSISDN, c care360.PointsChange, at, now time.Time) []any {
	return []any{msisdn, c.Kind, c.Points, c.Reason, c.IdempotencyKey, at, now}
}

// pipelinedDebit is a debit queued on a pipeline beside the writes that
// depend on it (which find it by its key): queueDebit queues it when there
// is something to pay, read takes its row in the pipeline's order, and
// settle, once the pipeline is closed, gives the debit's id, the refusal
// of a debit the points do not cover, or the debit made before under the
// key.
type pipelinedDebit struct {
	msisdn care360.MSISDN
	change care360.PointsChange
	now    time.Time
	have   int64
	id     *int64
	err    error
}

func queueDebit(b *pgx.Batch, msisdn care360.MSISDN, c care360.PointsChange, now time.Time) *pipelinedDebit {
	if c.Points >= 0 {
		return nil
	}
	b.Queue(debitSQL, debitArgs(msisdn, c, now, now)...)
	return &pipelinedDebit{msisdn: msisdn, change: c, now: now}
}

// read scans the debit's row from br; nothing when none was queued.
func (d *pipelinedDebit) read(br pgx.BatchResults) {
	if d != nil {
		d.err = br.QueryRow().Scan(&d.have, &d.id)
	}
}

// settle returns the debit's id (nil when none was queued).
func (d *pipelinedDebit) settle(ctx context.Context, db *DB, tx pgx.Tx) (*int64, error) {
	switch {
	case d == nil:
		return nil, nil
	case d.err != nil:
		return nil, d.err
	case d.id != nil:
		return d.id, nil
	}
	e, _, err := db.debitResult(ctx, tx, d.have, d.id, d.msisdn, d.change, d.now, d.now)
	if err != nil {
		return nil, err
	}
	return &e.ID, nil
}

// debitResult makes of debitSQL's row (the points spendable and the new
// entry's id) the entry it appended, the entry appended before under the
// same key (replay: a query on tx, so a pipeline that carried the debit
// must be closed first), or the refusal of a debit the credits do not
// cover.
func (db *DB) debitResult(ctx context.Context, tx pgx.Tx, have int64, id *int64, msisdn care360.MSISDN, c care360.PointsChange, at, now time.Time) (*care360.LedgerEntry, bool, error) {
	switch {
	case id != nil:
		return &care360.LedgerEntry{ID: *id, MSISDN: msisdn, Kind: c.Kind, Points: c.Points, Reason: c.Reason,
			IdempotencyKey: c.IdempotencyKey, EarnedAt: at, CreatedAt: now}, false, nil
	case have < -c.Points:
		return nil, false, insufficient(have, -c.Points)
	default:
		// The key's entry: the row lock serialises writers of one
		// subscriber, so only an entry committed before can hold it.
		return byKey(ctx, tx, msisdn, c.IdempotencyKey)
	}
}

// insufficient refuses a debit of asked points that have do not cover.
func insufficient(have, asked int64) error {
	return care360.Refused(care360.ReasonInsufficientPoints, "not enough points: %d spendable, %d asked", have, asked)
}

// spendableSQL reads the spendable points of each of the members $1 at $2
// (msisdn, points): what a group's debits (debitsSQL) may take, read
// under the members' locks.
const spendableSQL = `
	SELECT u.m, (SELECT coalesce(sum(remaining), 0)::bigint FROM points_ledger
		WHERE msisdn = u.m AND remaining > 0 AND expires_at > $2)
	FROM unnest($1::text[]) AS u (m)`

// readSpendable reads spendableSQL's rows from br.
func readSpendable(br pgx.BatchResults) (map[care360.MSISDN]int64, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	out := make(map[care360.MSISDN]int64)
	var m string
	var have int64
	_, err = pgx.ForEachRow(rows, []any{&m, &have}, func() error { out[care360.MSISDN(m)] = have; return nil })
	return out, err
}

// countQuota adds |points| to the staff account's total of the local day,
// refusing the change when the total would pass the allowance. The upsert
// locks the account's row for the day until the change commits or rolls
// back, so concurrent changes by one account are counted one at a time and
// the refusal of one leaves the total as it was.
func (db *DB) countQuota(ctx context.Context, tx pgx.Tx, q *care360.PointsQuota, points int64, now time.Time) error {
	n := max(points, -points)
	y, m, d := now.In(db.loc).Date()
	var total int64
	err := tx.QueryRow(ctx, `
		INSERT INTO staff_points_daily AS t (staff_id, day, points) VALUES ($1, $2, $3)
		ON CONFLICT (staff_id, day) DO UPDATE SET points = t.points + EXCLUDED.points
		RETURNING points`, q.StaffID, time.Date(y, m, d, 0, 0, 0, 0, time.UTC), n).Scan(&total)
	if err != nil {
		return err
	}
	if total > q.PerDay {
		return q.Exceeded(total - n)
	}
	return nil
}

// yearAgo is 12 calendar months before now, counted in local time.
func (db *DB) yearAgo(now time.Time) time.Time { return now.In(db.loc).AddDate(0, -12, 0) }

func byKey(ctx context.Context, tx pgx.Tx, msisdn care360.MSISDN, key string) (*care360.LedgerEntry, bool, error) {
	e, err := scanEntry(tx.QueryRow(ctx, `SELECT `+ledgerColumns+` FROM points_ledger WHERE msisdn = $1 AND idempotency_key = $2`, msisdn, key))
	return e, err == nil, err
}

func scanEntry(row pgx.Row) (*care360.LedgerEntry, error) {
	var e care360.LedgerEntry
	if err := row.Scan(&e.ID, &e.MSISDN, &e.Kind, &e.Points, &e.Reason, &e.IdempotencyKey, &e.EarnedAt, &e.ExpiresAt, &e.CreatedAt); err != nil {
		return nil, err
	}
	return &e, nil
}
