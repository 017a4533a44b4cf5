package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
