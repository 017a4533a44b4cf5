package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.RetentionService = (*DB)(nil)

// retentionBatch bounds one sweep statement: each is its own short
// transaction, so a sweep of millions of rows never holds a lock, or a
// snapshot, that traffic would notice.
const retentionBatch = 1_000

// SweepRetention deletes or redacts what is past its retention (PRODUCT.md
// §7), table by table, a batch per statement until a batch comes back
// short. Safe on several instances at once: each statement re-checks its
// condition on the rows it touches, so two sweeps only share the work.
func (db *DB) SweepRetention(ctx context.Context, r care360.Retention) (s care360.RetentionSweep, err error) {
	defer wrap(&err, "retention sweep")
	r = r.WithDefaults()
	now := db.now()
	steps := []struct {
		n     *int64
		sql   string
		keep  time.Duration
		audit bool // the audit log lets the sweep delete only when told (migration 00017)
	}{
		// A dialogue row is rewritten at every step, so it has no index on
		// updated_at (that would cost every step a non-HOT update); the
		// scan stops at the first batch of old rows.
		{&s.Dialogues, `DELETE FROM ussd_dialogues WHERE key = ANY(ARRAY(
			SELECT key FROM ussd_dialogues WHERE updated_at < $1 LIMIT $2)) AND updated_at < $1`, r.Dialogues, false},
		// Oldest first along the primary key: old rows are the low ids.
		{&s.Inbound, `DELETE FROM sms_inbound WHERE id = ANY(ARRAY(
			SELECT id FROM sms_inbound WHERE received_at < $1 ORDER BY id LIMIT $2))`, r.Inbound, false},
		// Feedback is an inbound SMS too, and its answer an outgoing one
		// (redacted with the others): the item goes whole, answered or not.
		{&s.Feedback, `DELETE FROM feedback WHERE id = ANY(ARRAY(
			SELECT id FROM feedback WHERE received_at < $1 ORDER BY id LIMIT $2))`, r.Inbound, false},
		{&s.Receipts, `DELETE FROM sms_receipts_unmatched WHERE ctid = ANY(ARRAY(
			SELECT ctid FROM sms_receipts_unmatched WHERE received_at < $1 LIMIT $2)) AND received_at < $1`, r.Receipts, false},
		// The BRIN index on ended_at finds the oldest pages.
		{&s.Records, `DELETE FROM dialogue_records WHERE id = ANY(ARRAY(
			SELECT id FROM dialogue_records WHERE ended_at < $1 LIMIT $2)) AND ended_at < $1`, r.Records, false},
		{&s.Audit, `DELETE FROM audit_log WHERE id = ANY(ARRAY(
			SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2))`, r.Audit, true},
	}
	// Texts go, the rest stays: status, times and counts keep reports and
	// the marketing cap right.
	if s.Redacted, err = db.redactTexts(ctx, now.Add(-r.SMSTexts)); err != nil {
		return s, err
	}
	for _, st := range steps {
		cutoff := now.Add(-st.keep)
		for {
			var n int64
			err := db.Transact(ctx, func(tx pgx.Tx) error {
				if st.audit {
					if _, err := tx.Exec(ctx, `SET LOCAL care360.retention_sweep = 'on'`); err != nil {
						return err
					}
				}
				tag, err := tx.Exec(ctx, st.sql, cutoff, retentionBatch)
				n = tag.RowsAffected()
				return err
			})
			if err != nil {
				return s, err
			}
			*st.n += n
			if n < retentionBatch {
				break
			}
		}
	}
	return s, nil
}
