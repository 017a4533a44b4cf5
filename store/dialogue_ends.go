package store

import (
	"context"
	"sync"
	"time"

	"github.com/care360/care360"
)

// DialogueEnds forgets ended dialogues off the hot path
// (care360.DialogueEnder): EndDialogue only notes the key and the version
// that ended, and a writer deletes what is noted every interval (at once
// when a batch is full) in one statement. The screen that ends a dialogue
// need not wait for its row to go:
//
//   - the centre sends nothing more for a dialogue the gateway ended; an
//     answer delivered twice meets its dialogue as it was before that
//     answer and runs the step again, which the action keys make
//     harmless, as when a save is lost;
//   - a new dial under the same key saves a newer version, which the delete
//     leaves alone: each delete names the version it ends;
//   - a new dial under another key replaces the row (its second record has
//     the id of the first, which the records skip);
//   - rows noted when the process dies, or while Postgres is away beyond
//     the buffer, idle out as any dialogue does.
type DialogueEnds struct {
	db *DB

	mu      sync.Mutex
	keys    []string
	at      []time.Time
	dropped int64

	loop *flusher
}

const (
	endBatch  = 500     // ended dialogues a statement deletes
	endBuffer = 100_000 // kept while Postgres is away
)

// NewDialogueEnds returns a writer that deletes every interval (10 ms if
// zero) once started.
func (db *DB) NewDialogueEnds(every time.Duration) *DialogueEnds {
	if every <= 0 {
		every = 10 * time.Millisecond
	}
	e := &DialogueEnds{db: db}
	e.loop = newFlusher(every, db.log, "ended dialogues", e.Flush)
	return e
}

var _ care360.DialogueEnder = (*DialogueEnds)(nil)

// EndDialogue notes that the dialogue under key ended at the version
// updated (the UpdatedAt it was loaded or saved with).
func (e *DialogueEnds) EndDialogue(key string, updated time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.keys) >= endBuffer {
		e.dropped++ // it idles out
		return
	}
	e.keys, e.at = append(e.keys, key), append(e.at, updated)
	if len(e.keys) == endBatch {
		e.loop.Kick()
	}
}

// Start runs the writer until Stop. Safe to call twice.
func (e *DialogueEnds) Start() { e.loop.Start() }

// Stop ends the writer and deletes what is left. Safe to call twice, and
// without Start.
func (e *DialogueEnds) Stop(ctx context.Context) error { return e.loop.Stop(ctx) }

// Flush deletes the noted dialogues, a batch per statement; a batch that
// fails is noted again, and deleting twice deletes nothing more.
func (e *DialogueEnds) Flush(ctx context.Context) error {
	for {
		e.mu.Lock()
		n := min(len(e.keys), endBatch)
		keys, at := e.keys[:n:n], e.at[:n:n]
		e.keys, e.at = e.keys[n:], e.at[n:]
		e.mu.Unlock()
		if n == 0 {
			return nil
		}
		// key = ANY keeps the plan on the primary key whatever the
		// table's statistics say; the pairs then pick the versions.
		_, err := e.db.pool.Exec(ctx, `
			DELETE FROM ussd_dialogues WHERE key = ANY($1::text[])
			AND (key, updated_at) IN (SELECT * FROM unnest($1::text[], $2::timestamptz[]))
			AND `+asyncCommit, keys, at)
		if err != nil {
			e.mu.Lock()
			e.keys, e.at = append(keys, e.keys...), append(at, e.at...)
			e.mu.Unlock()
			return err
		}
	}
}
