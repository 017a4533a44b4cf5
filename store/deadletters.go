package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

var _ care360.DeadLetterService = (*DB)(nil)

// setAside records a queue row that keeps failing, inside tx: the caller
// takes the row off its queue in the same transaction, so it is in exactly
// one of the two places. firstFailed is when the row began to fail (zero:
// unknown, now is shown).
func setAside(ctx context.Context, tx pgx.Tx, kind, ref, reason string, payload any, attempts int, firstFailed, now time.Time) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	var first *time.Time
	if !firstFailed.IsZero() {
		first = &firstFailed
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO dead_letters (kind, ref, reason, payload, attempts, first_failed_at, set_aside_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		kind, ref, reason, raw, attempts, first, now)
	return err
}

// isDataError reports whether err is the database refusing this data (a
// constraint, a value out of range, a missing row it points to), which
// trying again will not change, as opposed to a lost connection or a
// timeout, which it may.
func isDataError(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || len(pg.Code) < 2 {
		return false
	}
	switch pg.Code[:2] {
	case "22", "23": // data exception, integrity constraint violation
		return true
	}
	return false
}

// DeadLetters lists what was set aside, newest first.
func (db *DB) DeadLetters(ctx context.Context, f care360.DeadLetterFilter) (ds []care360.DeadLetter, err error) {
	defer wrap(&err, "list dead letters")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	rows, err := db.pool.Query(ctx, `
		SELECT id, kind, ref, reason, payload, attempts, coalesce(first_failed_at, set_aside_at), set_aside_at FROM dead_letters
		WHERE ($1 = '' OR kind = $1) AND ($2 = 0 OR id < $2)
		ORDER BY id DESC LIMIT $3`, f.Kind, f.Before, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.DeadLetter, error) {
		var d care360.DeadLetter
		err := r.Scan(&d.ID, &d.Kind, &d.Ref, &d.Reason, &d.Payload, &d.Attempts, &d.FirstFailedAt, &d.SetAsideAt)
		return d, err
	})
}

// DeadLetterCounts counts what is set aside, per kind.
func (db *DB) DeadLetterCounts(ctx context.Context) (counts map[string]int64, err error) {
	defer wrap(&err, "count dead letters")
	rows, err := db.pool.Query(ctx, `SELECT kind, count(*) FROM dead_letters GROUP BY kind`)
	if err != nil {
		return nil, err
	}
	counts = map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		counts[k] = n
	}
	return counts, rows.Err()
}
