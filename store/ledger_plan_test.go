package store_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A member's account (the points screen, and what every debit reads) finds
// the member's open credits by number also while the statistics have seen
// none: analyzed while every credit was spent, the ledger looked to hold no
// open credit, so reading all of the expiry sweep's partial index of open
// credits by time looked free, and the planner took it, reading every
// member's open credits for one member's balance (20,000 rows for 2, in
// this test). A new deployment's ledger is analyzed empty, and stays so
// until autovacuum next looks.
func TestAccountReadsByNumberBeforeOpenCreditsAreAnalyzed(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	b.exec(t, `INSERT INTO subscribers (msisdn, status, tier, member_since, language, marketing_consent)
		SELECT '8491' || lpad(g::text, 7, '0'), 'active', 'dong', '2020-01-01', 'vi', true FROM generate_series(1, 10000) g`)
	now := b.clock.Now()
	credits := func(key string, remaining, n int) {
		t.Helper()
		b.exec(t, `INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
			SELECT '8491' || lpad((g % 10000 + 1)::text, 7, '0'), 'qualifying', 10, $1, 'usage (1 event)', $2 || g, $3, $4, $3
			FROM generate_series(1, $5::int) g`, remaining, key, now, now.AddDate(0, 10, 0), n)
	}
	credits("spent:", 0, 30000)
	b.exec(t, `ANALYZE points_ledger`)
	credits("open:", 10, 20000)
	conn, err := b.db.Pool().Acquire(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	plan := explainAnalyze(t, conn.Conn(), store.AccountSQL, "84910000005", now.AddDate(-1, 0, 0), now)
	for _, m := range regexp.MustCompile(`Rows Removed by Filter: (\d+)`).FindAllStringSubmatch(plan, -1) {
		if n, _ := strconv.Atoi(m[1]); n > 10 {
			t.Errorf("the account of a member with 2 open credits read %d rows it did not need:\n%s", n, plan)
		}
	}
}

// The expiry sweep still finds expired credits by time, through the index
// only it can use.
func TestSweepReadsExpiredCreditsByTime(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	err := pgx.BeginFunc(b.ctx, b.db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(b.ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		if plan := explain(t, tx, store.SweepDueSQL, b.clock.Now(), 5000); !strings.Contains(plan, "points_ledger_expiring_by_time") {
			t.Errorf("the sweep does not read by time:\n%s", plan)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
