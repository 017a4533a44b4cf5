package store_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// An outbox claim finds its messages through the queue's index and their
// keys, whatever the statistics say. A sender polls the empty outbox of a
// new deployment (or a queue that was empty when last analyzed) several
// times a second, so its connections cache the claim's generic plan while
// the queue is empty: without the settings that plan sorted the whole
// queue for each claim and scanned sms_messages once for every message it
// claimed, up to 2.2 s a claim of 1,000 once a campaign sent.
func TestOutboxClaimReadsByIndexOnEmptyStatistics(t *testing.T) {
	t.Parallel()
	for _, transactional := range []bool{false, true} {
		if read := claimPlanReads(t, false, transactional); read["sms_messages"] <= 100 && read["sms_queue"] <= 100 {
			t.Logf("this server plans the claim by index even without the settings: %v", read)
		} else {
			t.Logf("transactional only %v: without the settings a claim of 10 read %v rows", transactional, read)
		}
		if read := claimPlanReads(t, true, transactional); read["sms_messages"] > 100 || read["sms_queue"] > 100 {
			t.Errorf("transactional only %v: with the claim's settings a claim of 10 of 20,000 queued still read %v rows", transactional, read)
		}
	}
}

// claimPlanReads is how many rows of each table the claim of 10 messages
// read, on a database of its own, with the plan a connection caches: chosen
// at the statement's sixth run, on the empty outbox; explained once 20,000
// messages are queued. settings: in a transaction with KeyedPlans and
// ClaimPlans, as the claim runs.
func claimPlanReads(t *testing.T, settings, transactional bool) map[string]int64 {
	t.Helper()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	if _, err := conn.Exec(ctx, `ANALYZE sms_queue; ANALYZE sms_messages; ANALYZE sms_parts`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if settings {
		if _, err := tx.Exec(ctx, store.KeyedPlans+"; "+store.ClaimPlans); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `PREPARE claim (timestamptz, int, text, timestamptz) AS `+store.ClaimSQL(transactional)); err != nil {
		t.Fatal(err)
	}
	const execute = `EXECUTE claim (now(), 10, 'plan', now() + interval '1 minute')`
	for range 6 {
		if _, err := tx.Exec(ctx, execute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `
		WITH m AS (
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at)
			SELECT '8490' || lpad(g::text, 7, '0'), 'offer ' || g, CASE WHEN g % 2 = 0 THEN 'marketing' ELSE 'transactional' END, 'plan-' || g, now(), now()
			FROM generate_series(1, 20000) g RETURNING id, kind
		)
		INSERT INTO sms_queue (message_id, priority, not_before) SELECT id, CASE kind WHEN 'marketing' THEN 1 ELSE 0 END, now() - interval '1 minute' FROM m`); err != nil {
		t.Fatal(err)
	}
	text := explain(t, tx, "(ANALYZE, FORMAT JSON) "+execute)
	var doc []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(text), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("plan: %v\n%s", err, text)
	}
	read := map[string]int64{}
	doc[0].Plan.walk(func(n planNode) {
		if n.Relation != "" && n.Type != "ModifyTable" {
			read[n.Relation] += n.Rows * n.Loops
		}
	})
	return read
}

// A claim reads the queue in its index's order even when the statistics
// count a few rows on pages a burst has since filled again. The queue
// empties between bursts, and autovacuum may analyze it then: a few
// hundred rows left on every page the last burst used. The next burst
// fills those pages, so the planner's count stays at those few hundred,
// and the claim read every due row by bitmap and sorted them, on disk, for
// each batch: 30–47 ms a claim of 1,000 of 100,000 queued, a third of
// what an MT message cost Postgres.
func TestOutboxClaimReadsByIndexAfterTheQueueEmptied(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const burst = 20000
	fill := func(tag string, n int) {
		t.Helper()
		if _, err := conn.Exec(ctx, `
			WITH m AS (
				INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at)
				SELECT '8490' || lpad(g::text, 7, '0'), 'code ' || g, 'transactional', $1 || g, clock_timestamp(), now()
				FROM generate_series(1, $2::int) g RETURNING id, scheduled_at
			)
			INSERT INTO sms_queue (message_id, priority, not_before) SELECT id, 0, scheduled_at FROM m`, tag, n); err != nil {
			t.Fatal(err)
		}
	}
	fill("first-", burst)
	// The burst is sent but its last few hundred, and the queue analyzed.
	for _, sql := range []string{
		`ANALYZE sms_queue`,
		`DELETE FROM sms_queue WHERE message_id < (SELECT max(message_id) - 300 FROM sms_queue)`,
		`VACUUM ANALYZE sms_queue`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	fill("second-", burst)
	for _, transactional := range []bool{false, true} {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, store.KeyedPlans+"; "+store.ClaimPlans); err != nil {
			t.Fatal(err)
		}
		text := explain(t, tx, `(ANALYZE, FORMAT JSON) `+strings.NewReplacer(
			"$1", "now()", "$2", "1000", "$3", "'plan'", "$4", "now() + interval '1 minute'").Replace(store.ClaimSQL(transactional)))
		tx.Rollback(ctx)
		var doc []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(text), &doc); err != nil || len(doc) != 1 {
			t.Fatalf("plan: %v\n%s", err, text)
		}
		var queued int64
		var sorted bool
		doc[0].Plan.walk(func(n planNode) {
			if n.Relation == "sms_queue" && n.Type != "ModifyTable" {
				queued += n.Rows * n.Loops
			}
			sorted = sorted || n.Type == "Sort"
		})
		// Each message leased is read twice: in the index's order, then by
		// its key to be updated.
		if queued > 2100 || sorted {
			t.Errorf("transactional only %v: a claim of 1,000 of %d queued read %d queue rows (sorted: %v); want them in the index's order\n%s",
				transactional, burst+300, queued, sorted, text)
		}
	}
}
