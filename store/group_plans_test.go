package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// The statements that admit a group of entries, spins or claims look each
// request up by its key, whatever the statistics say. Plans a connection
// cached while a table was young (its statistics an empty table's) read
// every entry of the table into a hash (the entered check turned into a
// hashed subplan), every claim's key the same way, or every spin of the
// wheel that day (the daily count by the smallest index), for every group,
// until autovacuum next analyzed the table: a busy draw or wheel slowed
// down as it filled. A group's voucher codes were joined to every code of
// the table, whatever the statistics.

// youngPlan is what a group's statement costs once a table has grown under
// a plan cached before. On a database of its own (b), rel is analyzed with
// seed's rows in it (the statistics autovacuum or an ANALYZE left while a
// draw, a wheel or a gift was new); a transaction with KeyedPlans (as
// every group's) caches the statement's generic plan (prepare, run once
// with execute's arguments); grow fills rel inside the same transaction
// and execute is explained (ANALYZE, BUFFERS). It returns the blocks the
// plan's scans of rel read, rel's pages and the plan's nodes.
func youngPlan(t *testing.T, b *bundle, rel, settings, prepare, execute string, seed, grow func(q execer)) (scanned, pages int64, plan string) {
	t.Helper()
	ctx := b.ctx
	seed(b.db.Pool())
	if _, err := b.db.Pool().Exec(ctx, `ANALYZE `+rel); err != nil {
		t.Fatal(err)
	}
	tx, err := b.db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// The generic plan, made at the first run: the server keeps one from
	// the sixth run on where it costs no more than the custom plans did,
	// and the bench's connections were seen running such plans.
	if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	if settings != "" {
		if _, err := tx.Exec(ctx, settings); err != nil {
			t.Fatal(err)
		}
	}
	// Named for the call: a prepared statement outlives the transaction,
	// on a connection the pool keeps.
	name := fmt.Sprint("young", youngPlans.Add(1))
	if _, err := tx.Exec(ctx, `PREPARE `+name+` AS `+prepare); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `EXECUTE `+name+` `+execute); err != nil {
		t.Fatal(err)
	}
	grow(tx)
	var explained []struct{ Plan planNode }
	if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE `+name+` `+execute).Scan(&explained); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int`, rel).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	var lines []string
	explained[0].Plan.walk(func(n planNode) {
		lines = append(lines, fmt.Sprintf("%s on %s %s: %d blocks", n.Type, n.Relation, n.Index, n.Hit+n.Read))
		if strings.HasSuffix(n.Type, "Scan") && (n.Relation == rel || strings.HasPrefix(n.Index, rel)) {
			scanned += n.Hit + n.Read
		}
	})
	return scanned, pages, strings.Join(lines, "\n")
}

// youngPlans numbers youngPlan's prepared statements.
var youngPlans atomic.Int64

// execer runs a statement: the pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// A group's entered check probes the draw's entries by member.
func TestEntryGroupProbesEntriesOnYoungStatistics(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	d := newDraw(t, b, nil)
	m := members(t, b, "8471", 20_050, care360.TierBac, 0)
	// The table grows to 20,000 rows once the plan is cached.
	entries := func(q execer) {
		t.Helper()
		if _, err := q.Exec(b.ctx, `
			INSERT INTO draw_entries (draw_id, msisdn, tier, tickets, cost, receipt, created_at)
			SELECT $1, m, 'bac', 2, 0, 'r', now() FROM unnest($2::text[]) AS m`, d.ID, m[:20_000]); err != nil {
			t.Fatal(err)
		}
	}
	execute := fmt.Sprintf(`(ARRAY[%[1]d, %[1]d], ARRAY['%[2]s', '%[3]s'], ARRAY['k1', 'k2'])`, d.ID, m[20_000], m[20_001])
	scanned, pages, plan := youngPlan(t, b, "draw_entries", store.KeyedPlans, store.EntryAdmissionSQL, execute, func(execer) {}, entries)
	if scanned > 40 {
		t.Errorf("two entries' admission read %d blocks of draw_entries (%d pages):\n%s", scanned, pages, plan)
	}
}

// A group's daily count of each member's spins probes the member's spins.
func TestSpinGroupCountsMembersSpinsOnYoungStatistics(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	tb := newTable(t, b, nil)
	m := members(t, b, "8472", 20_050, care360.TierBac, 0)
	// The table grows to 20,000 rows once the plan is cached.
	spins := func(q execer) {
		t.Helper()
		if _, err := q.Exec(b.ctx, `
			INSERT INTO spins (table_id, msisdn, points, spun_at) SELECT $1, m, 0, $3 FROM unnest($2::text[]) AS m`,
			tb.ID, m[:20_000], b.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	day := b.clock.Now().Add(-10 * time.Hour).Format("2006-01-02 15:04:05-07")
	execute := fmt.Sprintf(`(ARRAY['%[2]s', '%[3]s'], ARRAY[%[1]d, %[1]d], '%[4]s', '%[5]s')`,
		tb.ID, m[20_000], m[20_001], day, b.clock.Now().Format("2006-01-02 15:04:05-07"))
	scanned, pages, plan := youngPlan(t, b, "spins", store.KeyedPlans, store.SpinAdmissionSQL, execute, func(execer) {}, spins)
	if scanned > 40 {
		t.Errorf("two spins' admission read %d blocks of spins (%d pages):\n%s", scanned, pages, plan)
	}
}

// A group's key check probes the claims by key.
func TestClaimGroupProbesKeysOnYoungStatistics(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	m := members(t, b, "8473", 20_050, care360.TierBac, 0)
	var gift int64
	if err := b.db.Pool().QueryRow(b.ctx, `
		INSERT INTO gifts (name, kind, cost, claim_limit, valid_from, valid_until, active, created_at, updated_at)
		VALUES ('Plan', 'physical', 10, 1, now() - interval '1 day', now() + interval '1 day', true, now(), now()) RETURNING id`).Scan(&gift); err != nil {
		t.Fatal(err)
	}
	// The table grows to 20,000 rows once the plan is cached.
	claims := func(q execer) {
		t.Helper()
		if _, err := q.Exec(b.ctx, `
			INSERT INTO gift_claims (gift_id, msisdn, period, slot, claim_limit, points, code, status, idempotency_key, created_at, updated_at)
			SELECT $1, m, 0, 1, 1, 0, '', 'done', 'plan:' || m, now(), now() FROM unnest($2::text[]) AS m`, gift, m[:20_000]); err != nil {
			t.Fatal(err)
		}
	}
	execute := fmt.Sprintf(`(ARRAY['plan:x1', 'plan:x2'], ARRAY[%[1]d, %[1]d], ARRAY['%[2]s', '%[3]s'], 2026)`, gift, m[20_000], m[20_001])
	scanned, pages, plan := youngPlan(t, b, "gift_claims", store.KeyedPlans, store.GroupKeySQL, execute, func(execer) {}, claims)
	if scanned > 40 {
		t.Errorf("two claims' keys and counts read %d blocks of gift_claims (%d pages):\n%s", scanned, pages, plan)
	}
}

// A group's take of voucher codes updates the codes it took by key: the
// planner cannot know how many a group takes (a LIMIT per gift from an
// array), guessed a tenth of each gift's codes, and joined the codes taken
// to every code of the table (a hash or merge join), for each group. In the bench's runs with 100
// gifts that was 100,000 codes and 14,500 blocks a group.
func TestClaimGroupTakesCodesByKey(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	rows, err := b.db.Pool().Query(b.ctx, `
		INSERT INTO gifts (name, kind, cost, claim_limit, valid_from, valid_until, active, created_at, updated_at)
		SELECT 'Plan ' || i, 'voucher', 10, 1, now() - interval '1 day', now() + interval '1 day', true, now(), now()
		FROM generate_series(1, 10) i RETURNING id`)
	if err != nil {
		t.Fatal(err)
	}
	gifts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	seed := func(q execer) {
		t.Helper()
		if _, err := q.Exec(b.ctx, `
			INSERT INTO gift_codes (gift_id, code) SELECT g, 'CODE-' || g || '-' || i FROM unnest($1::bigint[]) AS g, generate_series(1, 10000) i`,
			gifts); err != nil {
			t.Fatal(err)
		}
	}
	execute := fmt.Sprintf(`(ARRAY[%d, %d, %d], ARRAY[1, 1, 1])`, gifts[0], gifts[4], gifts[9])
	scanned, pages, plan := youngPlan(t, b, "gift_codes", store.KeyedPlans, store.TakeCodesSQL, execute, seed, func(execer) {})
	if scanned > 100 {
		t.Errorf("a group's take of three codes read %d blocks of gift_codes (%d pages):\n%s", scanned, pages, plan)
	}
}

// pushOfOne is a notification push to one member numbered from prefix, on
// a database of its own, for the plan tests that grow its targets.
func pushOfOne(t *testing.T, prefix string) (*bundle, *care360.Push) {
	t.Helper()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	sms := store.NewSMS(b.db, care360.SMSRules{})
	m := members(t, b, prefix, 1, care360.TierBac, 0)[0]
	p, _, err := store.NewPushes(sms, time.Minute, "*090#").CreatePush(b.ctx, care360.NewPush{MSISDN: m, Kind: care360.PushNotify, Text: "Plan"})
	if err != nil {
		t.Fatal(err)
	}
	return b, p
}

// A sender's claim of due push targets finds them by the due index and
// the chosen ones by key. Planned while the targets' statistics were an
// empty table's, it read every target twice a claim: a sequential scan
// sorted on disk to pick the due ones, another to find the ids picked.
func TestPushClaimFindsTargetsByIndexOnYoungStatistics(t *testing.T) {
	t.Parallel()
	b, p := pushOfOne(t, "8474")
	now := b.clock.Now()
	targets := func(q execer) {
		t.Helper()
		if _, err := q.Exec(b.ctx, `
			INSERT INTO ussd_push_targets (push_id, msisdn, marketing, not_before, expires_at)
			SELECT $1, '8475' || lpad(i::text, 6, '0'), false, $2::timestamptz - i * interval '1 ms', $2::timestamptz + interval '1 hour'
			FROM generate_series(1, 50000) i`, p.ID, now); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) string { return now.Add(d).Format("'2006-01-02 15:04:05.000-07'") }
	execute := fmt.Sprintf(`(%s, 10, 'sender', %s, true, %s)`, at(0), at(time.Minute), at(-time.Minute))
	if scanned, pages, plan := youngPlan(t, b, "ussd_push_targets", "", store.PushClaimSQL, execute, func(execer) {}, targets); scanned <= pages {
		t.Logf("this server claims push targets by index even without the settings (%d blocks of %d pages):\n%s", scanned, pages, plan)
	}
	if scanned, pages, plan := youngPlan(t, b, "ussd_push_targets", store.KeyedPlans, store.PushClaimSQL, execute, func(execer) {}, targets); scanned > 100 {
		t.Errorf("a claim of 10 push targets read %d blocks of ussd_push_targets (%d pages):\n%s", scanned, pages, plan)
	}
}

// The writer of notification endings finds each ending's target through
// the member's live targets, whatever the statistics: on a young table it
// read every target of the push into a hash for every batch, and a big
// push's endings, arriving faster than that, were never written (each
// batch larger and slower than the last, until the writer's five seconds
// ran out every time).
func TestNotificationEndingsFindTargetsByKeyOnYoungStatistics(t *testing.T) {
	t.Parallel()
	b, p := pushOfOne(t, "8476")
	now := b.clock.Now()
	var first int64
	targets := func(q execer) {
		t.Helper()
		if _, err := q.Exec(b.ctx, `
			INSERT INTO ussd_push_targets (push_id, msisdn, marketing, state, sent_at, not_before, expires_at)
			SELECT $1, '8477' || lpad(i::text, 6, '0'), false, 'sent', $2, $2, $2::timestamptz + interval '1 hour'
			FROM generate_series(1, 50000) i`, p.ID, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT coalesce(max(id), 0) FROM ussd_push_targets`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	// Two endings for targets the grown table will hold: the 1st and the
	// 1,000th inserted.
	ref := func(i int64) int64 { return (first+i)%65535 + 1 }
	at := now.Format("'2006-01-02 15:04:05.000-07'")
	execute := fmt.Sprintf(`(ARRAY['8477000001', '8477001000'], ARRAY[%d, %d], ARRAY['completed', 'completed'], ARRAY['b', 'b'], ARRAY[%s, %s]::timestamptz[])`,
		ref(1), ref(1000), at, at)
	if scanned, pages, plan := youngPlan(t, b, "ussd_push_targets", store.KeyedPlans, store.NotificationHitSQL, execute, func(execer) {}, targets); scanned > 40 {
		t.Errorf("two notification endings read %d blocks of ussd_push_targets (%d pages):\n%s", scanned, pages, plan)
	}
}
