package store_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A batch of receipts finds its parts by their SMSC ids even while the
// parts have only an empty table's statistics, as on a new deployment or
// a bench's fresh database until autovacuum first analyzes them: without
// store.CustomPlans' settings the planner took "= ANY" of 500 ids for most of the
// table and scanned every part for each batch.
func TestReceiptBatchFindsPartsByIndexOnEmptyStatistics(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	// Statistics of the empty table, then the rows of a busy minute.
	if _, err := conn.Exec(ctx, `ANALYZE sms_parts`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `
		WITH m AS (
			INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, parts, created_at, submitted_at)
			SELECT '8490' || lpad(g::text, 7, '0'), 'Ma OTP', 'transactional', 'submitted', 'plan:' || g, now(), 1, now(), now()
			FROM generate_series(1, 50000) g
			RETURNING id
		)
		INSERT INTO sms_parts (message_id, part, smsc_id, submitted_at) SELECT id, 1, 'S' || id, now() FROM m`); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, err := conn.Query(ctx, `SELECT smsc_id FROM sms_parts ORDER BY message_id DESC LIMIT 500`)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	n := len(ids)
	states, errs, ats := make([]string, n), make([]string, n), make([]time.Time, n)
	for i := range n {
		states[i], ats[i] = "delivered", time.Now()
	}
	plan := func(settings bool) string {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if settings {
			if err := store.CustomPlans(ctx, tx); err != nil {
				t.Fatal(err)
			}
		}
		return explain(t, tx, store.ReceiptPartsSQL, ids, states, errs, ats)
	}
	if p := plan(false); !strings.Contains(p, "Seq Scan on sms_parts") {
		t.Logf("this server plans the batch by index even without the settings:\n%s", p)
	}
	if p := plan(true); strings.Contains(p, "Seq Scan on sms_parts") {
		t.Errorf("with CustomPlans the batch still scans every part:\n%s", p)
	} else if !strings.Contains(p, "sms_parts_smsc_id") {
		t.Errorf("with CustomPlans the batch does not use the SMSC id index:\n%s", p)
	}
}

// A settle finds the queue row of each outcome by its key, once. Joined
// the other way round (each leased row against every outcome of the
// batch) a batch of 128 compared 16,384 pairs, about half of what a
// settle cost Postgres, and twice the batch four times the work.
func TestSettleFindsEachQueueRowOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const queued, leased = 20000, 128
	if _, err := conn.Exec(ctx, `
		WITH m AS (
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at)
			SELECT '8490' || lpad(g::text, 7, '0'), 'Ma OTP', 'transactional', 'settle:' || g, now(), now()
			FROM generate_series(1, $1) g
			RETURNING id
		)
		INSERT INTO sms_queue (message_id, priority, not_before, owner, lease_until, lease_token)
		SELECT id, 0, now(), CASE WHEN id <= $2 THEN 's1' END, CASE WHEN id <= $2 THEN now() + interval '1 minute' END, 1
		FROM m`, queued, leased); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE sms_queue; ANALYZE sms_messages`); err != nil {
		t.Fatal(err)
	}
	var outcomes []care360.Outcome
	for id := int64(1); id <= leased; id++ {
		o := care360.Outcome{ID: id, Token: 1, Kind: care360.OutcomeSubmitted, TotalParts: 1,
			Parts: []care360.SubmittedPart{{Part: 1, SMSCID: fmt.Sprint("S", id)}}}
		if id%10 == 0 {
			o = care360.Outcome{ID: id, Token: 1, Kind: care360.OutcomeRetry, RetryAfter: time.Minute, Error: "throttled"}
		}
		outcomes = append(outcomes, o)
	}
	_, args := store.SettleArgs("s1", outcomes, time.Now())
	wantJoinedByKey(t, explainAnalyze(t, conn, store.SettleSQL, args...), leased, "sms_queue_pkey")
}

// A batch of pushes sent finds each target by its key, once (as a settle
// does its queue rows).
func TestPushSentFindsEachTargetOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const targets, leased = 200000, 128
	if _, err := conn.Exec(ctx, `
		WITH p AS (
			INSERT INTO ussd_pushes (kind, segment, marketing, fallback_sms, expires_at, created_at)
			VALUES ('notify', '{}', false, false, now() + interval '1 hour', now()) RETURNING id
		)
		INSERT INTO ussd_push_targets (push_id, msisdn, marketing, not_before, expires_at, owner, lease_until, lease_token)
		SELECT p.id, '849' || lpad(g::text, 8, '0'), false, now(), now() + interval '1 hour',
			CASE WHEN g <= $2 THEN 'p1' END, CASE WHEN g <= $2 THEN now() + interval '1 minute' END, 1
		FROM p, generate_series(1, $1) g`, targets, leased); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE ussd_push_targets`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT id FROM ussd_push_targets WHERE owner = 'p1'`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	tokens, refs := make([]int64, len(ids)), make([]int32, len(ids))
	for i := range ids {
		tokens[i], refs[i] = 1, int32(i+1)
	}
	plan := explainAnalyze(t, conn, store.PushSentSQL, ids, "p1", time.Now(), tokens, refs)
	wantJoinedByKey(t, plan, leased, "ussd_push_targets_pkey")
}

// A batch of notification endings ends each target through its key: the
// statement they were written with joined the endings to the locked
// targets inside one statement, and compared 49,062 pairs to end 222
// (auto_explain, in a bench run of pushes).
func TestNotificationEndingsEndEachTargetOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const targets, ending = 100000, 500
	ids, _ := sentNotification(t, conn, "849", targets)
	ids = ids[:ending]
	states, ats := make([]string, len(ids)), make([]time.Time, len(ids))
	for i := range ids {
		states[i], ats[i] = care360.PushCompleted, time.Now()
	}
	// As the writer runs it: in a transaction with sequential scans off,
	// on a table the planner has no statistics of.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, store.KeyedPlans); err != nil {
		t.Fatal(err)
	}
	plan := explain(t, tx, "(ANALYZE) "+store.NotificationEndSQL, ids, states, ats)
	wantJoinedByKey(t, plan, ending, "ussd_push_targets_pkey")
}

var removedByJoin = regexp.MustCompile(`Rows Removed by Join Filter: (\d+)`)

// wantJoinedByKey fails unless plan (EXPLAIN ANALYZE of a statement that
// joins a batch of n to a table) found the rows through index and threw
// away no more pairs than the batch holds: a join that compares every
// row of the batch with every other is the defect.
func wantJoinedByKey(t *testing.T, plan string, n int, index string) {
	t.Helper()
	for _, m := range removedByJoin.FindAllStringSubmatch(plan, -1) {
		if k, _ := strconv.Atoi(m[1]); k > n {
			t.Errorf("a join of a batch of %d compared %d pairs it threw away:\n%s", n, k, plan)
		}
	}
	if !strings.Contains(plan, index) {
		t.Errorf("the rows are not found through %s:\n%s", index, plan)
	}
}

// PushSent relies on this: a setting made for the transaction by the
// first statement of a batch sent without BEGIN holds for the batch's
// other statements, which share its implicit transaction, and not after.
func TestBatchSettingHoldsForTheBatchOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	b := &pgx.Batch{}
	b.Queue(store.KeyedPlans)
	b.Queue(`SHOW enable_seqscan`)
	br := conn.SendBatch(ctx, b)
	var in string
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	if err := br.QueryRow().Scan(&in); err != nil {
		t.Fatal(err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	var after string
	if err := conn.QueryRow(ctx, `SHOW enable_seqscan`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if in != "off" || after != "on" {
		t.Fatalf("enable_seqscan %q in the batch and %q after it, want off and on", in, after)
	}
}
