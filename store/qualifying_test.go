package store_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// everyEntrySQL is the qualifying total as PRODUCT.md §4.1 defines it, from
// every ledger entry: what store.QualifyingSQL must always equal.
const everyEntrySQL = `
	SELECT greatest(coalesce(sum(points), 0), 0)::bigint FROM points_ledger
	WHERE msisdn = $1 AND kind = 'qualifying' AND (points > 0 OR refund) AND earned_at > $2`

// addMember inserts a member with no entries.
func addMember(t *testing.T, conn *pgx.Conn, msisdn string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), `
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
		VALUES ($1, 'Qualifying', current_date, now(), now())`, msisdn); err != nil {
		t.Fatal(err)
	}
}

// qualifyingBothWays is msisdn's qualifying total since since as the
// store reads it (got) and from every entry (want).
func qualifyingBothWays(t *testing.T, conn *pgx.Conn, msisdn string, since time.Time) (got, want int64) {
	t.Helper()
	if err := conn.QueryRow(t.Context(), store.QualifyingSQL, msisdn, since).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(t.Context(), everyEntrySQL, msisdn, since).Scan(&want); err != nil {
		t.Fatal(err)
	}
	return got, want
}

// A member's qualifying total is read from a total per month and the
// entries of the month the window opens in, not from every entry of the
// year: a member's usage is posted as a credit per local hour with usage,
// so a busy number holds thousands a year, and the total is read on every
// points screen and, in posting, for every member each take credits
// (docs/benchmarks.md, "A member's year of credits").
func TestQualifyingTotalReadsMonthsNotEntries(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const msisdn, entries = "84930000001", 5000
	addMember(t, conn, msisdn)
	now := time.Now()
	// 5,000 credits evenly over 13 months, in one statement as a posting
	// pass writes them.
	if _, err := conn.Exec(ctx, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
		SELECT $1, 'qualifying', 3, 3, 'usage', 'usage:q' || g, $2::timestamptz - g * interval '2 hours 20 minutes',
			$2::timestamptz + interval '1 year'
		FROM generate_series(1, $3::int) g`, msisdn, now, entries); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE points_ledger`); err != nil {
		t.Fatal(err)
	}
	since := now.AddDate(-1, 0, 0)
	got, want := qualifyingBothWays(t, conn, msisdn, since)
	if got != want {
		t.Fatalf("qualifying %d, want %d", got, want)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var plan []struct{ Plan planNode }
	if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+store.QualifyingSQL, msisdn, since).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var read int64
	plan[0].Plan.walk(func(n planNode) {
		if strings.HasSuffix(n.Type, "Scan") && strings.HasPrefix(n.Relation+n.Index, "points_ledger") {
			read += n.Rows
		}
	})
	// A month holds about 320 of the credits; the year about 3,750.
	if read > 600 {
		t.Errorf("the total read %d ledger entries of the member's %d", read, entries)
	}
}

// The total per month gives the same qualifying total as the entries, at
// every moment the window can open: on an entry, a microsecond either
// side of it, and on the edges of months (which are UTC months: the local
// month's edge falls within one), with refunds that outlive the credits
// they took from and entries dated ahead.
func TestQualifyingTotalIsExactWhereverTheWindowOpens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const msisdn = "84930000002"
	addMember(t, conn, msisdn)
	utc := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	type entry struct {
		points int64
		at     time.Time
		refund bool
	}
	entries := []entry{
		{100, utc(2025, 1, 31, 23), false},
		{200, utc(2025, 2, 1, 0), false},  // a UTC month's first instant
		{40, utc(2025, 1, 31, 17), false}, // 00:00 on 1 Feb in Hanoi
		{300, utc(2025, 2, 14, 9), false},
		{-250, utc(2025, 2, 20, 9), true}, // a usage refund
		{-1000, utc(2025, 3, 2, 0), true}, // takes the total below zero for a while
		{50, utc(2025, 3, 31, 23).Add(time.Hour - time.Microsecond), false},
		{700, utc(2025, 6, 15, 12), false},
		{90, utc(2026, 1, 1, 0), false},
		{10, utc(2030, 1, 1, 0), false}, // ahead (a clock that is wrong)
	}
	for i, e := range entries {
		var err error
		if e.points > 0 {
			_, err = conn.Exec(ctx, `
				INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
				VALUES ($1, 'qualifying', $2, $2, 'usage', 'usage:e' || $3, $4, $4::timestamptz + interval '1 year')`,
				msisdn, e.points, fmt.Sprint(i), e.at)
		} else {
			_, err = conn.Exec(ctx, `
				INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, refund)
				VALUES ($1, 'qualifying', $2, 'usage refund', 'usage:e' || $3, $4, $5)`,
				msisdn, e.points, fmt.Sprint(i), e.at, e.refund)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A bonus credit and a debit that is no refund count for nothing.
	for _, q := range []string{`
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
		VALUES ($1, 'bonus', 5000, 5000, 'gift', 'bonus:1', $2, $2::timestamptz + interval '1 year')`, `
		INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at)
		VALUES ($1, 'qualifying', -7, 'claim', 'claim:1', $2)`} {
		if _, err := conn.Exec(ctx, q, msisdn, utc(2025, 5, 5, 5)); err != nil {
			t.Fatal(err)
		}
	}
	var windows []time.Time
	for _, e := range entries {
		windows = append(windows, e.at, e.at.Add(-time.Microsecond), e.at.Add(time.Microsecond))
	}
	for m := utc(2024, 12, 1, 0); m.Before(utc(2030, 3, 1, 0)); m = m.AddDate(0, 1, 0) {
		windows = append(windows, m, m.Add(-time.Microsecond), m.Add(-7*time.Hour), m.Add(17*24*time.Hour))
	}
	for _, since := range windows {
		got, want := qualifyingBothWays(t, conn, msisdn, since)
		if got != want {
			t.Errorf("since %s: qualifying %d, want %d", since.Format(time.RFC3339Nano), got, want)
		}
	}
}

// A number change carries the member's months with it, as it carries the
// ledger.
func TestQualifyingMonthsFollowANumberChange(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const before, after = "84930000003", "84930000004"
	addMember(t, conn, before)
	if _, err := conn.Exec(ctx, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
		SELECT $1, 'qualifying', 10, 10, 'usage', 'usage:n' || g, now() - g * interval '20 days', now() + interval '1 year'
		FROM generate_series(1, 30) g`, before); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE subscribers SET msisdn = $2 WHERE msisdn = $1`, before, after); err != nil {
		t.Fatal(err)
	}
	since := time.Now().AddDate(-1, 0, 0)
	got, want := qualifyingBothWays(t, conn, after, since)
	if got != want || want == 0 {
		t.Errorf("after the number change: qualifying %d, want %d", got, want)
	}
}

// A ledger written before the months were kept gets them from its
// entries when it is migrated, while credits keep coming: each entry is
// counted once, by the migration's batches or by the trigger, whichever
// side of the trigger's creation it falls.
func TestQualifyingMonthsOfAnOlderLedger(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyDB(t)
	ctx := t.Context()
	if err := store.MigrateTo(ctx, url, 47, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	const members = 25_000 // three of the migration's batches
	for _, q := range []string{`
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
		SELECT '849310' || lpad(g::text, 5, '0'), 'Older', current_date, now(), now() FROM generate_series(1, $1::int) g`, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
		SELECT '849310' || lpad((g % $1 + 1)::text, 5, '0'), 'qualifying', g % 17 + 1, g % 17 + 1, 'usage', 'usage:o' || g,
			now() - g * interval '7 minutes', now() + interval '1 year'
		FROM generate_series(1, 3 * $1) g`, `
		INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, refund)
		SELECT '849310' || lpad(g::text, 5, '0'), 'qualifying', -5, 'usage refund', 'usage:r' || g, now() - g * interval '9 minutes', true
		FROM generate_series(1, $1 / 10) g`} {
		if _, err := conn.Exec(ctx, q, members); err != nil {
			t.Fatal(err)
		}
	}
	// Credits in batches of 200 members while the migration runs.
	writer := connect(t, url)
	done := make(chan struct{})
	wrote := make(chan int)
	go func() {
		n := 0
		defer func() { wrote <- n }()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := writer.Exec(ctx, `
				INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
				SELECT '849310' || lpad((($2::int * 7919 + g) % $1 + 1)::text, 5, '0'), 'qualifying', 11, 11, 'usage',
					'usage:w' || $2::int || '-' || g, now(), now() + interval '1 year'
				FROM generate_series(1, 200) g`, members, n); err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()
	err := store.Migrate(ctx, url)
	close(done)
	batches := <-wrote
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d batches of credits written while migrating", batches)
	var wrong int
	var first string
	if err := conn.QueryRow(ctx, `
		WITH w AS (SELECT s.msisdn, (`+store.QualifyingOf("s.msisdn", "$1")+`) AS got,
			(SELECT greatest(coalesce(sum(points), 0), 0)::bigint FROM points_ledger
			 WHERE msisdn = s.msisdn AND kind = 'qualifying' AND (points > 0 OR refund) AND earned_at > $1) AS want
			FROM subscribers s)
		SELECT count(*), coalesce(min(msisdn || ': ' || got || ' against ' || want), '') FROM w WHERE got <> want`,
		time.Now().AddDate(-1, 0, 0)).Scan(&wrong, &first); err != nil {
		t.Fatal(err)
	}
	if wrong > 0 {
		t.Errorf("%d members' qualifying totals differ from their entries, first %s", wrong, first)
	}
	var left bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('qualifying_months_backfill') IS NOT NULL`).Scan(&left); err != nil || left {
		t.Errorf("the migration's progress table is left (%v)", err)
	}
}
