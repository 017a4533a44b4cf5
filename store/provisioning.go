package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// ClaimCalls leases up to max due provisioning calls to owner: SKIP LOCKED
// lets several workers, in several processes, take disjoint calls, and the
// lease (not_before moved forward) makes a call whose worker died due again.
func (c *Catalog) ClaimCalls(ctx context.Context, owner string, max int, lease time.Duration) (cs []care360.ProvisionCall, err error) {
	defer wrap(&err, "claim provisioning calls")
	now := c.db.now()
	rows, err := c.db.pool.Query(ctx, `
		UPDATE provision_calls p SET owner = $1, not_before = $2::timestamptz + $4::interval, attempts = p.attempts + 1, updated_at = $2
		FROM (
			SELECT id FROM provision_calls WHERE status = 'pending' AND not_before <= $2
			ORDER BY not_before LIMIT $3 FOR UPDATE SKIP LOCKED
		) d, gift_claims k
		WHERE p.id = d.id AND k.id = p.claim_id
		RETURNING p.id, p.claim_id, p.msisdn, p.kind, p.value, p.endpoint, p.attempts, k.code`, owner, now, max, lease)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.ProvisionCall, error) {
		var pc care360.ProvisionCall
		err := r.Scan(&pc.ID, &pc.ClaimID, &pc.MSISDN, &pc.Kind, &pc.Value, &pc.Endpoint, &pc.Attempts, &pc.Reference)
		return pc, err
	})
}

// SettleCall records an attempt of a call still leased to owner (a late
// report from a worker whose lease lapsed is ignored). Success completes
// the claim; a retry makes the call due at RetryAt; a final failure fails
// the claim and gives everything back in one transaction: the points (as
// bonus credits keeping the spent credits' expiry dates), the stock, the
// limit slot, and an SMS saying so.
func (c *Catalog) SettleCall(ctx context.Context, owner string, o care360.ProvisionOutcome) (err error) {
	defer wrap(&err, "settle provisioning call %d", o.ID)
	now := c.db.now()
	// The operator's words, quoted: a NUL or a character cut in two would
	// keep the outcome from ever being recorded, and the call from ending.
	o.Error = plainText(o.Error)
	status := "failed"
	switch {
	case o.OK:
		status = "done"
	case o.Retry:
		status = "pending"
	}
	retryAt := o.RetryAt
	if retryAt.IsZero() {
		retryAt = now
	}
	return c.db.Transact(ctx, func(tx pgx.Tx) error {
		var claimID int64
		err := tx.QueryRow(ctx, `
			UPDATE provision_calls SET status = $3, owner = NULL, not_before = $4, last_status = $5, last_error = $6, updated_at = $7
			WHERE id = $1 AND owner = $2 AND status = 'pending' AND ($8 = 0 OR attempts = $8) RETURNING claim_id`,
			o.ID, owner, status, retryAt, o.Status, o.Error, now, o.Attempt).Scan(&claimID)
		if errors.Is(err, pgx.ErrNoRows) {
			c.db.log.Warn("provisioning outcome for a call no longer leased to this claim; fenced off", "call", o.ID)
			return nil
		}
		switch {
		case err != nil:
			return err
		case status == "pending":
			return nil
		case status == "done":
			_, err := tx.Exec(ctx, `UPDATE gift_claims SET status = 'done', updated_at = $2 WHERE id = $1`, claimID, now)
			return err
		}
		// It kept failing: refunded, and set aside where staff look for
		// what the queues gave up on.
		if err := setAside(ctx, tx, care360.DeadLetterProvisioning, strconv.FormatInt(o.ID, 10),
			fmt.Sprintf("HTTP %d: %s", o.Status, o.Error), map[string]any{"call": o.ID, "claim": claimID}, o.Attempt, time.Time{}, now); err != nil {
			return err
		}
		return c.refund(ctx, tx, claimID, now)
	})
}

// refund undoes a claim whose gift could not be delivered.
func (c *Catalog) refund(ctx context.Context, tx pgx.Tx, claimID int64, now time.Time) error {
	cl := &care360.Claim{ID: claimID, Status: care360.ClaimFailed}
	var debitID *int64
	var key string
	err := tx.QueryRow(ctx, `
		UPDATE gift_claims SET status = 'failed', updated_at = $2 WHERE id = $1 AND status = 'pending'
		RETURNING gift_id, msisdn, points, debit_id, code, idempotency_key, created_at`, claimID, now).
		Scan(&cl.GiftID, &cl.MSISDN, &cl.Points, &debitID, &cl.Code, &key, &cl.CreatedAt)
	if err != nil {
		return err
	}
	var lang care360.Language
	if err := tx.QueryRow(ctx, `SELECT language FROM subscribers WHERE msisdn = $1 FOR UPDATE`, cl.MSISDN).Scan(&lang); err != nil {
		return err
	}
	if debitID != nil {
		if err := creditBack(ctx, tx, *debitID, cl.MSISDN, "refund of gift claim", key+":refund", now); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE gift_stock SET stock = stock + 1 WHERE gift_id = $1 AND stripe = $2`,
		cl.GiftID, claimID%giftStripes); err != nil {
		return err
	}
	if cl.Gift, err = giftIn(ctx, tx, cl.GiftID, ""); err != nil {
		return err
	}
	c.db.log.Info("gift claim refunded", "claim", claimID, "msisdn", cl.MSISDN.Masked(), "points", cl.Points)
	return insertTransactional(ctx, tx, now, []care360.OutgoingSMS{cl.RefundSMS(lang)})
}

// creditBack credits to with the points a debit took, as bonus points
// (they never buy a tier), one credit per expiry date of the credits the
// debit consumed, so that nothing lives longer than it would have: a
// transfer's recipient (transfer.go) and a refunded claim (refund).
func creditBack(ctx context.Context, tx pgx.Tx, debitID int64, to care360.MSISDN, reason, key string, now time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
		SELECT $2, 'bonus', a.points, a.points, $3, $4 || ':' || row_number() OVER (ORDER BY a.expires_at), $5, a.expires_at, $5
		FROM (
			SELECT c.expires_at, sum(x.points) AS points FROM points_allocations x
			JOIN points_ledger c ON c.id = x.credit_id
			WHERE x.debit_id = $1 GROUP BY c.expires_at
		) a`, debitID, to, reason, key, now)
	return err
}
