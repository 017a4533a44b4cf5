package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.Leaver = (*DB)(nil)

// RequestLeave records a HUY (care360.Leaver).
func (db *DB) RequestLeave(ctx context.Context, msisdn care360.MSISDN) (err error) {
	defer wrap(&err, "leave request of %s", msisdn.Masked())
	tag, err := db.pool.Exec(ctx, `UPDATE subscribers SET leave_requested_at = $2 WHERE msisdn = $1 AND status <> 'closed'`, msisdn, db.now())
	if err == nil && tag.RowsAffected() == 0 {
		return care360.Errorf(care360.ENOTFOUND, "no member %s", msisdn.Masked())
	}
	return err
}

// CancelLeave forgets a pending HUY.
func (db *DB) CancelLeave(ctx context.Context, msisdn care360.MSISDN) (cancelled bool, err error) {
	defer wrap(&err, "cancel the leave request of %s", msisdn.Masked())
	tag, err := db.pool.Exec(ctx, `UPDATE subscribers SET leave_requested_at = NULL WHERE msisdn = $1 AND leave_requested_at IS NOT NULL`, msisdn)
	return err == nil && tag.RowsAffected() > 0, err
}

// ConfirmLeave closes the membership on the Y to a HUY made within the
// window: the programme consent is withdrawn (by SMS) and the membership
// closes as a churn, with every effect of one (closeMembership), recorded
// as a lifecycle event keyed by ref.
func (db *DB) ConfirmLeave(ctx context.Context, msisdn care360.MSISDN, ref string, within time.Duration) (pending bool, err error) {
	defer wrap(&err, "confirm the leave request of %s", msisdn.Masked())
	now := db.now()
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		pending = false
		var memberID int64
		var asked *time.Time
		err := tx.QueryRow(ctx, `SELECT member_id, leave_requested_at FROM subscribers WHERE msisdn = $1 AND status <> 'closed' FOR UPDATE`, msisdn).Scan(&memberID, &asked)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (asked == nil || now.Sub(*asked) > within)) {
			return nil
		}
		if err != nil {
			return err
		}
		pending = true
		if _, err := tx.Exec(ctx, `
			INSERT INTO consents (msisdn, purpose, granted, channel, text_version, at) VALUES ($1, 'programme', false, 'sms', $2, $3)`, msisdn, care360.ConsentTextVersion, now); err != nil {
			return err
		}
		ev := care360.LifecycleEvent{ID: "huy:" + ref, MSISDN: msisdn, Event: care360.EventChurn, At: now}
		if _, err := tx.Exec(ctx, `
			INSERT INTO lifecycle_events (id, msisdn, event, at, status, received_at) VALUES ($1, $2, 'churn', $3, 'applied', $3)
			ON CONFLICT (id) DO NOTHING`, ev.ID, msisdn, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE subscribers SET leave_requested_at = NULL WHERE member_id = $1`, memberID); err != nil {
			return err
		}
		return closeMembership(ctx, tx, memberID, ev, now)
	})
	return pending, err
}
