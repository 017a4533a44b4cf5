package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// settleApart records a batch of outcomes that the database refused for
// its data one outcome at a time, so that one bad outcome cannot stop the
// sender from recording all the others (PRODUCT.md §8). An outcome still
// refused alone is set aside: its message leaves the queue (it is never
// sent again on an outcome nobody could record) with the reason, and is
// listed as a dead letter.
func (s *SMS) settleApart(ctx context.Context, owner string, outcomes []care360.Outcome) (fenced int, err error) {
	for _, o := range outcomes {
		n, err := s.settleBatch(ctx, owner, []care360.Outcome{o})
		if isDataError(err) {
			n, err = s.setAsideOutcome(ctx, owner, o, err.Error())
		}
		if err != nil {
			return fenced, err
		}
		fenced += n
	}
	return fenced, nil
}

// setAsideOutcome takes o's message off the queue, if still leased to owner
// under o's token, and sets it aside with reason: submitted if the SMSC
// took every part (it was sent: only its record is incomplete), else
// failed. It reports 1 if the lease had passed on (fenced).
func (s *SMS) setAsideOutcome(ctx context.Context, owner string, o care360.Outcome, reason string) (fenced int, err error) {
	defer wrap(&err, "set outbox message %d aside", o.ID)
	now := s.db.now()
	reason = plainText("the outbox could not record its outcome: " + reason)
	status := "failed"
	if o.Kind == care360.OutcomeSubmitted {
		status = "submitted"
	}
	type part struct {
		Part   int    `json:"part"`
		SMSCID string `json:"smsc_id"`
	}
	payload := struct {
		MessageID int64  `json:"message_id"`
		Outcome   string `json:"outcome"`
		Parts     []part `json:"parts,omitempty"`
		Error     string `json:"error,omitempty"`
	}{MessageID: o.ID, Outcome: string(o.Kind), Error: plainText(o.Error)}
	for _, p := range o.Parts {
		payload.Parts = append(payload.Parts, part{p.Part, smscText(p.SMSCID)})
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return 0, err
	}
	var gone bool
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `
			WITH gone AS (
				DELETE FROM sms_queue WHERE message_id = $1 AND owner = $2 AND lease_token = $3 RETURNING attempts
			), m AS (
				UPDATE sms_messages SET status = $4, error = $5,
					submitted_at = CASE WHEN $4 = 'submitted' THEN $6 ELSE submitted_at END
				WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)
			), d AS (
				INSERT INTO dead_letters (kind, ref, reason, payload, attempts, set_aside_at)
				SELECT $7, $1::text, $5, $8, attempts, $6 FROM gone
			)
			SELECT EXISTS (SELECT 1 FROM gone)`,
			o.ID, owner, o.Token, status, reason, now, care360.DeadLetterSMS, raw).Scan(&gone)
	})
	if err != nil || !gone {
		return 1, err
	}
	s.db.log.Warn("outbox message set aside: its outcome cannot be recorded", "message", o.ID, "reason", reason)
	return 0, nil
}
