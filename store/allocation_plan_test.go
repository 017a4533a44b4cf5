package store_test

import (
	"strconv"
	"testing"

	"github.com/care360/care360/internal/pgtest"
)

// Allocating a statement's debits checks each allocation's debit and
// credit by key, whatever the statistics say. A ledger analyzed while it
// held only credits (a new deployment's, or one loaded by an import)
// counts no debits, so the check's plan read the ledger's debits once into
// memory and then compared every allocation with every debit: 8,500,000
// comparisons for a churn batch of 1,000 once the ledger held 8,500
// debits, 0.5–2 s a batch and growing, and 20 s for the forfeiture of an
// erased member's 10,000 entries. A ledger analyzed empty (a new
// deployment's) must not mislead it either.
func TestAllocationCheckProbesByKeyOnYoungStatistics(t *testing.T) {
	t.Parallel()
	for _, empty := range []bool{false, true} {
		allocateOnYoungStatistics(t, empty)
	}
}

// allocateOnYoungStatistics forfeits 1,000 members' credits in one
// statement on a ledger analyzed when it held only credits, or nothing
// (empty), and fails the test if the allocation read ledger rows other
// than by key.
func allocateOnYoungStatistics(t *testing.T, empty bool) {
	t.Helper()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const members, debits = 1000, 20000
	if empty {
		if _, err := conn.Exec(ctx, `ANALYZE points_ledger`); err != nil {
			t.Fatal(err)
		}
	}
	for _, sql := range []string{
		`INSERT INTO subscribers (msisdn, status, tier, member_since, language, marketing_consent)
		 SELECT '8492' || lpad(g::text, 7, '0'), 'active', 'dong', '2020-01-01', 'vi', true FROM generate_series(1, 2000) g`,
		`INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
		 SELECT '8492' || lpad(g::text, 7, '0'), 'bonus', 100, 100, 'welcome', 'welcome', now(), now() + interval '1 year', now()
		 FROM generate_series(1, 2000) g`,
		map[bool]string{false: `ANALYZE points_ledger`, true: `SELECT 1`}[empty],
		// Debits the statistics have not seen, of the other members.
		`INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
		 SELECT '8492' || lpad((1001 + g % 1000)::text, 7, '0'), 'bonus', -1, 'spent', 'spent:' || g, now(), now()
		 FROM generate_series(1, ` + strconv.Itoa(debits) + `) g`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// The first members forfeit their credits in one statement, as a churn
	// batch does.
	if _, err := tx.Exec(ctx, `
		WITH d AS (
			INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
			SELECT '8492' || lpad(g::text, 7, '0'), 'bonus', -100, 'forfeited', 'forfeit:bonus', now(), now()
			FROM generate_series(1, $1::int) g
			RETURNING id, msisdn
		)
		INSERT INTO points_allocations (debit_id, credit_id, points)
		SELECT d.id, c.id, 100 FROM d JOIN points_ledger c ON c.msisdn = d.msisdn AND c.points > 0`, members); err != nil {
		t.Fatal(err)
	}
	var fetched, spent int64
	if err := tx.QueryRow(ctx, `SELECT idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = 'points_ledger'`).Scan(&fetched); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM points_ledger WHERE msisdn <= '84920001000' AND remaining = 0`).Scan(&spent); err != nil || spent != members {
		t.Fatalf("credits spent: %d, %v; want %d", spent, err, members)
	}
	// Each allocation reads its debit and its credit for the check, again
	// for the foreign keys, and its credit once more to take the points.
	if fetched > 6*members {
		t.Errorf("analyzed empty %v: allocating %d debits fetched %d ledger rows by index; want at most %d, each allocation's by key", empty, members, fetched, 6*members)
	}
}
