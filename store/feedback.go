package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var (
	_ care360.FeedbackInbox   = (*SMS)(nil)
	_ care360.FeedbackService = (*SMS)(nil)
)

const feedbackColumns = `id, msisdn, text, received_at, status, coalesce(reply, ''), replied_at, coalesce(replied_by, '')`

func scanFeedback(row pgx.Row) (care360.Feedback, error) {
	var f care360.Feedback
	err := row.Scan(&f.ID, &f.MSISDN, &f.Text, &f.ReceivedAt, &f.Status, &f.Reply, &f.RepliedAt, &f.RepliedBy)
	return f, err
}

// RecordFeedback stores a GY text (migration 00029): a second delivery of
// the same MO meets the open item's unique index and gets the first row.
func (s *SMS) RecordFeedback(ctx context.Context, msisdn care360.MSISDN, text string, at time.Time) (f *care360.Feedback, err error) {
	defer wrap(&err, "record feedback from %s", msisdn.Masked())
	text = care360.FeedbackText(text)
	if text == "" {
		return nil, care360.Errorf(care360.EINVALID, "feedback text is required")
	}
	if at.IsZero() {
		at = s.db.now()
	}
	// Twice at most: the open item the insert collided with may be answered
	// before it is read, and then this text is new again.
	for range 2 {
		got, err := scanFeedback(s.db.pool.QueryRow(ctx, `
			INSERT INTO feedback (msisdn, text, received_at) VALUES ($1, $2, $3)
			ON CONFLICT (msisdn, md5(text)) WHERE status = 'open' DO NOTHING
			RETURNING `+feedbackColumns, msisdn, text, at))
		if err == nil {
			return &got, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		got, err = scanFeedback(s.db.pool.QueryRow(ctx, `SELECT `+feedbackColumns+`
			FROM feedback WHERE msisdn = $1 AND md5(text) = md5($2) AND status = 'open'`, msisdn, text))
		if err == nil {
			got.Replay = true
			return &got, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	return nil, care360.Errorf(care360.ECONFLICT, "feedback from %s changed while it was recorded", msisdn.Masked())
}

// FeedbackList returns feedback newest first (limit 1 to 500, default 50).
func (s *SMS) FeedbackList(ctx context.Context, f care360.FeedbackFilter) (list []care360.Feedback, err error) {
	defer wrap(&err, "list feedback")
	if f.Status != "" && !f.Status.Valid() {
		return nil, care360.Errorf(care360.EINVALID, "status must be \"open\" or \"answered\"")
	}
	limit := f.Page.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+feedbackColumns+` FROM feedback
		WHERE ($1 = '' OR status = $1) AND ($2 = 0 OR id < $2)
		ORDER BY id DESC LIMIT $3`, string(f.Status), f.Page.Before, min(limit, 501))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.Feedback, error) { return scanFeedback(r) })
}

// ReplyFeedback answers an open item once. The conditional UPDATE is the
// guard: of replies racing for one item, one flips it and the others find
// it answered. The SMS is queued in the same transaction under the item's
// own key, so an answer recorded is an answer sent, and never twice.
func (s *SMS) ReplyFeedback(ctx context.Context, id int64, text string, by care360.Actor) (f *care360.Feedback, err error) {
	defer wrap(&err, "reply to feedback %d", id)
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, care360.Errorf(care360.EINVALID, "text is required")
	}
	if by.Name == "" {
		return nil, care360.Errorf(care360.EINVALID, "who replies is required")
	}
	// The recipient is not known yet; any valid number checks the text.
	probe := care360.OutgoingSMS{MSISDN: "0", Text: text, Kind: care360.KindTransactional, IdempotencyKey: feedbackReplyKey(id)}
	if err := probe.Validate(s.rules.MaxParts); err != nil {
		return nil, err
	}
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		got, err := scanFeedback(tx.QueryRow(ctx, `
			UPDATE feedback SET status = 'answered', reply = $2, replied_at = $3, replied_by = $4
			WHERE id = $1 AND status = 'open'
			RETURNING `+feedbackColumns, id, text, s.db.now(), by.Name))
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM feedback WHERE id = $1)`, id).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return care360.Errorf(care360.ECONFLICT, "feedback %d is already answered", id)
			}
			return care360.Errorf(care360.ENOTFOUND, "no feedback %d", id)
		}
		if err != nil {
			return err
		}
		f = &got
		return insertTransactional(ctx, tx, s.db.now(), []care360.OutgoingSMS{{
			MSISDN: got.MSISDN, Text: text, Kind: care360.KindTransactional, IdempotencyKey: feedbackReplyKey(id)}})
	})
	return f, err
}

// feedbackReplyKey keys the answer's SMS: one per item, whoever sends it.
func feedbackReplyKey(id int64) string { return fmt.Sprintf("feedback-reply:%d", id) }
