package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

// DialogueLog writes dialogue records (care360.DialogueRecorder) in
// batches: RecordDialogue only appends to a bounded buffer, and a writer
// adds what is there every interval (or sooner, once a batch is full) in
// one statement. A step never waits for it. When Postgres is away the
// buffer keeps up to its bound, then drops the newest and counts them:
// records are statistics, and a step must not slow down for them. What is
// buffered when the process dies is lost (at most one interval's).
type DialogueLog struct {
	db      *DB
	pending batches[care360.DialogueRecord]
	loop    *flusher
}

const (
	recordBatch  = 1000    // records a statement writes
	recordBuffer = 100_000 // records kept while Postgres is away (about 30 MB)
)

// NewDialogueLog returns a log that writes every interval (1 s if zero)
// once started.
func (db *DB) NewDialogueLog(every time.Duration) *DialogueLog {
	if every <= 0 {
		every = time.Second
	}
	l := &DialogueLog{db: db, pending: batches[care360.DialogueRecord]{max: recordBuffer, batch: recordBatch}}
	l.loop = newFlusher(every, db.log, "dialogue records", l.Flush)
	return l
}

// RecordDialogue buffers r for the next write.
func (l *DialogueLog) RecordDialogue(r care360.DialogueRecord) {
	if l.pending.add(r) {
		l.loop.Kick()
	}
}

// Dropped is how many records the full buffer turned away.
func (l *DialogueLog) Dropped() int64 { return l.pending.droppedCount() }

// Start runs the writer until Stop. Safe to call twice.
func (l *DialogueLog) Start() { l.loop.Start() }

// Stop ends the writer and writes what is left. Safe to call twice, and
// without Start.
func (l *DialogueLog) Stop(ctx context.Context) error { return l.loop.Stop(ctx) }

// Flush writes the buffered records, a batch per statement. A batch that
// fails goes back to the front of the buffer; ids make a batch that did
// commit (its answer lost) add nothing the second time.
func (l *DialogueLog) Flush(ctx context.Context) error {
	return l.pending.flush(ctx, func(ctx context.Context, rs []care360.DialogueRecord) error {
		return insertRecords(ctx, l.db.pool, rs)
	})
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertRecords adds rs in one statement; ids already there are skipped.
func insertRecords(ctx context.Context, q execer, rs []care360.DialogueRecord) error {
	if len(rs) == 0 {
		return nil
	}
	var (
		ids, msisdns, codes, channels, binds, paths, outcomes, lasts []string
		starts, ends                                                 []time.Time
		steps                                                        []int32
	)
	for _, r := range rs {
		p, _ := json.Marshal(r.Path)
		if r.Path == nil {
			p = []byte("[]")
		}
		ids, msisdns, codes = append(ids, clipText(r.ID, 64)), append(msisdns, string(r.MSISDN)), append(codes, plainText(r.Code))
		channels, binds, paths = append(channels, r.Channel), append(binds, plainText(r.Bind)), append(paths, string(p))
		outcomes, lasts = append(outcomes, r.Outcome), append(lasts, r.LastScreen)
		starts, ends, steps = append(starts, r.StartedAt), append(ends, r.EndedAt), append(steps, int32(r.Steps))
	}
	_, err := q.Exec(ctx, `
		INSERT INTO dialogue_records (id, msisdn, code, channel, bind, started_at, ended_at, steps, path, outcome, last_screen)
		SELECT r.id, r.msisdn, r.code, r.channel, r.bind, r.started_at, r.ended_at, r.steps,
			ARRAY(SELECT jsonb_array_elements_text(r.path)), r.outcome, r.last_screen
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
			$8::int[], $9::jsonb[], $10::text[], $11::text[])
			AS r (id, msisdn, code, channel, bind, started_at, ended_at, steps, path, outcome, last_screen)
		ON CONFLICT (id) DO NOTHING`,
		ids, msisdns, codes, channels, binds, starts, ends, steps, paths, outcomes, lasts)
	return interpretError(err)
}

// EndIdleDialogues deletes up to limit dialogues idle since before cutoff
// and, in the same transaction, writes the records record makes of them
// (those it returns ok for; a dropped dialogue kept for resuming is not
// one). Rows are skipped, not waited for, when a step holds them.
func (db *DB) EndIdleDialogues(ctx context.Context, cutoff time.Time, limit int,
	record func(care360.Dialogue) (care360.DialogueRecord, bool)) (n int, err error) {
	defer wrap(&err, "end idle dialogues")
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			DELETE FROM ussd_dialogues WHERE key = ANY(ARRAY(
				SELECT key FROM ussd_dialogues WHERE updated_at < $1 AND key NOT LIKE 'resume/%'
				LIMIT $2 FOR UPDATE SKIP LOCKED)) AND updated_at < $1
			RETURNING key, msisdn, state, updated_at`, cutoff, limit)
		if err != nil {
			return err
		}
		var rs []care360.DialogueRecord
		n = 0
		for rows.Next() {
			var d care360.Dialogue
			if err := rows.Scan(&d.Key, &d.MSISDN, &d.State, &d.UpdatedAt); err != nil {
				return err
			}
			n++
			if r, ok := record(d); ok {
				rs = append(rs, r)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return insertRecords(ctx, tx, rs)
	})
	return n, err
}

// DialogueRecords streams the records q selects (care360.DialogueRecordService).
func (db *DB) DialogueRecords(ctx context.Context, q care360.DialogueQuery, fn func(*care360.DialogueRecord) error) (err error) {
	defer wrap(&err, "read dialogue records")
	rows, err := db.pool.Query(ctx, `
		SELECT id, msisdn, code, channel, bind, started_at, ended_at, steps, path, outcome, last_screen
		FROM dialogue_records
		WHERE ended_at >= $1 AND ended_at < $2 AND ($3 = '' OR msisdn = $3) AND ($4 = '' OR code = $4) AND ($5 = '' OR outcome = $5)
		ORDER BY ended_at, id`, q.From, q.To, string(q.MSISDN), q.Code, q.Outcome)
	if err != nil {
		return interpretError(err)
	}
	defer rows.Close()
	var r care360.DialogueRecord
	for rows.Next() {
		var msisdn string
		if err := rows.Scan(&r.ID, &msisdn, &r.Code, &r.Channel, &r.Bind, &r.StartedAt, &r.EndedAt, &r.Steps, &r.Path,
			&r.Outcome, &r.LastScreen); err != nil {
			return err
		}
		r.MSISDN = care360.MSISDN(msisdn)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return interpretError(rows.Err())
}

// Funnel counts per screen (care360.DialogueRecordService): the dialogues
// that entered it, those that went on from it to another screen, and those
// that ended on it, by outcome. A screen entered twice in one dialogue
// (going back) counts once.
func (db *DB) Funnel(ctx context.Context, from, to time.Time, code string) (fs []care360.FunnelStep, err error) {
	defer wrap(&err, "funnel report")
	rows, err := db.pool.Query(ctx, `
		WITH r AS (
			SELECT id, path, outcome, last_screen FROM dialogue_records
			WHERE ended_at >= $1 AND ended_at < $2 AND ($3 = '' OR code = $3)
		), seen AS (
			SELECT s.screen, bool_or(s.i < cardinality(r.path)) AS answered
			FROM r CROSS JOIN LATERAL unnest(r.path) WITH ORDINALITY AS s (screen, i)
			GROUP BY r.id, s.screen
		), reached AS (
			SELECT screen, count(*) AS reached, count(*) FILTER (WHERE answered) AS answered FROM seen GROUP BY screen
		), ended AS (
			SELECT last_screen AS screen, outcome, count(*) AS n FROM r GROUP BY 1, 2
		)
		SELECT coalesce(a.screen, e.screen), coalesce(a.reached, 0), coalesce(a.answered, 0), coalesce(e.outcome, ''), coalesce(e.n, 0)
		FROM reached a FULL JOIN ended e ON e.screen = a.screen
		ORDER BY 2 DESC, 1, 4`, from, to, code)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	at := map[string]int{}
	for rows.Next() {
		var f care360.FunnelStep
		var outcome string
		var n int64
		if err := rows.Scan(&f.Screen, &f.Reached, &f.Answered, &outcome, &n); err != nil {
			return nil, err
		}
		i, ok := at[f.Screen]
		if !ok {
			f.Ended = map[string]int64{}
			at[f.Screen], i = len(fs), len(fs)
			fs = append(fs, f)
		}
		if outcome != "" {
			fs[i].Ended[outcome] += n
		}
	}
	return fs, interpretError(rows.Err())
}
