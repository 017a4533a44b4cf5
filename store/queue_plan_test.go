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
	removed := regexp.MustCompile(`Rows Removed by Join Filter: (\d+)`)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	p := explain(t, tx, "(ANALYZE) "+store.SettleSQL, args...)
	for _, m := range removed.FindAllStringSubmatch(p, -1) {
		if n, _ := strconv.Atoi(m[1]); n > leased {
			t.Errorf("a join of the batch of %d compared %d pairs it threw away:\n%s", leased, n, p)
		}
	}
	if !strings.Contains(p, "sms_queue_pkey") {
		t.Errorf("the queue rows are not found by key:\n%s", p)
	}
}
