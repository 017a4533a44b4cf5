package store

import (
	"context"
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
	db    *DB
	ended batches[endedDialogue]
	loop  *flusher
}

// endedDialogue is a dialogue's key and the version that ended.
type endedDialogue struct {
	key     string
	updated time.Time
}

const (
	endBatch  = 500     // ended dialogues a statement deletes
	endBuffer = 100_000 // kept while Postgres is away (beyond, they idle out)
)

// NewDialogueEnds returns a writer that deletes every interval (10 ms if
// zero) once started.
func (db *DB) NewDialogueEnds(every time.Duration) *DialogueEnds {
	if every <= 0 {
		every = 10 * time.Millisecond
	}
	e := &DialogueEnds{db: db, ended: batches[endedDialogue]{max: endBuffer, batch: endBatch}}
	e.loop = newFlusher(every, db.log, "ended dialogues", e.Flush)
	return e
}

var _ care360.DialogueEnder = (*DialogueEnds)(nil)

// EndDialogue notes that the dialogue under key ended at the version
// updated (the UpdatedAt it was loaded or saved with).
func (e *DialogueEnds) EndDialogue(key string, updated time.Time) {
	if e.ended.add(endedDialogue{key, updated}) {
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
	return e.ended.flush(ctx, func(ctx context.Context, ds []endedDialogue) error {
		keys, at := make([]string, len(ds)), make([]time.Time, len(ds))
		for i, d := range ds {
			keys[i], at[i] = d.key, d.updated
		}
		// key = ANY keeps the plan on the primary key whatever the
		// table's statistics say; the pairs then pick the versions.
		_, err := e.db.pool.Exec(ctx, `
			DELETE FROM ussd_dialogues WHERE key = ANY($1::text[])
			AND (key, updated_at) IN (SELECT * FROM unnest($1::text[], $2::timestamptz[]))
			AND `+asyncCommit, keys, at)
		return err
	})
}
