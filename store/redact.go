package store

import (
	"context"
	"sync"
	"time"

	"github.com/care360/care360"
)

// maxHeld bounds the messages a redaction walk remembers as passed while
// still queued (a campaign paused for months holds its messages' texts).
// Past it, such messages are left to the next process's first walk.
const maxHeld = 100_000

// redactWalk is how far the text redaction has walked sms_messages, in id
// order. Looking for unredacted old texts anew at each batch read every
// message already redacted, each time: with a million of them a batch of
// 1,000 took a quarter of a second, so the cost of a sweep grew with the
// square of the history. A walk reads each message once: below mark every
// message past its retention was redacted, except those still queued then
// (held), which are looked at again at each sweep until they leave the
// queue. It lives in memory: a new process walks the table once from the
// start, which also finds what an earlier one missed.
type redactWalk struct {
	mu   sync.Mutex // one walk at a time in a process
	mark int64
	held map[int64]bool
}

// redactTexts replaces the text of every message created before cutoff and
// no longer queued (its sender still needs the text) with RedactedText, a
// batch of ids per short transaction, and returns how many it redacted.
func (db *DB) redactTexts(ctx context.Context, cutoff time.Time) (n int64, err error) {
	w := &db.redact
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == nil {
		w.held = map[int64]bool{}
	}
	if len(w.held) > 0 {
		ids := make([]int64, 0, len(w.held))
		for id := range w.held {
			ids = append(ids, id)
		}
		var left []int64
		err := db.pool.QueryRow(ctx, `
			WITH u AS (
				UPDATE sms_messages m SET text = $2 WHERE id = ANY($1) AND text <> $2
					AND NOT EXISTS (SELECT 1 FROM sms_queue q WHERE q.message_id = m.id)
				RETURNING id
			)
			SELECT (SELECT count(*) FROM u), ARRAY(SELECT message_id FROM sms_queue WHERE message_id = ANY($1))`,
			ids, care360.RedactedText).Scan(&n, &left)
		if err != nil {
			return 0, err
		}
		clear(w.held)
		for _, id := range left {
			w.held[id] = true
		}
	}
	for {
		// The walk stops at the first message young enough to keep its
		// text: ids and creation times rise together (up to the length of
		// a transaction), so what lies beyond waits for the next sweep.
		var done, last int64
		var queued []int64
		var walked int
		var young *int64
		err := db.pool.QueryRow(ctx, `
			WITH w AS (
				SELECT id, created_at FROM sms_messages WHERE id > $1 ORDER BY id LIMIT $2
			), edge AS (
				SELECT min(id) AS id FROM w WHERE created_at >= $3
			), c AS (
				SELECT w.id, EXISTS (SELECT 1 FROM sms_queue q WHERE q.message_id = w.id) AS queued
				FROM w, edge WHERE edge.id IS NULL OR w.id < edge.id
			), u AS (
				UPDATE sms_messages m SET text = $4 FROM c WHERE m.id = c.id AND NOT c.queued AND m.text <> $4
				RETURNING m.id
			)
			SELECT (SELECT count(*) FROM u), coalesce((SELECT max(id) FROM c), $1),
				ARRAY(SELECT id FROM c WHERE queued), (SELECT count(*) FROM w), (SELECT id FROM edge)`,
			w.mark, retentionBatch, cutoff, care360.RedactedText).Scan(&done, &last, &queued, &walked, &young)
		if err != nil {
			return n, err
		}
		n += done
		w.mark = last
		for _, id := range queued {
			if len(w.held) < maxHeld {
				w.held[id] = true
			}
		}
		if young != nil || walked < retentionBatch {
			return n, nil
		}
	}
}
