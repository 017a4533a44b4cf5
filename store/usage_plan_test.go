package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A usage batch finds its events' members by key: an operator has
// millions of members and a batch holds thousands of events, and reading
// every member for each batch made ingest cost grow with the member base
// (300 ms a batch of 10,000 at 1,000,000 members, three times the rest of
// the statement).
func TestUsageBatchFindsMembersByKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const members, batch = 200_000, 2_000
	addMembers(t, conn, "8491", members)
	if _, err := conn.Exec(ctx, `ANALYZE member_numbers; ANALYZE usage_events`); err != nil {
		t.Fatal(err)
	}
	var ids, msisdns []string
	var amounts, points []int64
	var at []time.Time
	now := time.Now()
	for i := range batch {
		ids = append(ids, fmt.Sprintf("plan-%06d", i))
		msisdns = append(msisdns, fmt.Sprintf("8491%07d", 1+i*(members/batch)))
		amounts, points, at = append(amounts, 10_000), append(points, 1), append(at, now)
	}
	if p := explain(t, conn, store.IngestSQL, ids, msisdns, amounts, points, at, now, 63); strings.Contains(p, "Seq Scan on subscribers") {
		t.Errorf("a batch of %d events reads all %d members:\n%s", batch, members, p)
	}
}

// A posting pass's upgrade check finds the members it credited, and the
// rows it updates, by key: its update joined the members it checks to a
// scan of every member (10 ms a take at 100,000 members, a third of the
// statement, growing with the member base until the planner's costs turn).
func TestUpgradeCheckFindsItsMembersByKey(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.FreshDB(t))
	const members, credited = 100_000, 1_300
	addMembers(t, conn, "8493", members)
	var msisdns []string
	for i := range credited {
		msisdns = append(msisdns, fmt.Sprintf("8493%07d", 1+i*(members/credited)))
	}
	// Ten of them earned Bạc this month.
	const raised = 10
	now := time.Now()
	if _, err := conn.Exec(t.Context(), `INSERT INTO qualifying_months (msisdn, month, points)
		SELECT m, ledger_month($2), 2500 FROM unnest($1::text[]) m`, msisdns[:raised], now); err != nil {
		t.Fatal(err)
	}
	args := []any{msisdns, now.AddDate(-1, 0, 0), []int64{0, 2_000, 5_000, 10_000, 20_000}, []string{"dong", "bac", "titan", "vang", "kim_cuong"}, now}
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	var plan []struct{ Plan planNode }
	if err := tx.QueryRow(t.Context(), `EXPLAIN (ANALYZE, FORMAT JSON) `+store.UpgradeTiersSQL, args...).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	// No member is read but by key, and the update reads again only the
	// members it raises: the check has read every credited member's tier
	// already, and a second probe of each was a quarter of the statement.
	updates, reread := 0, int64(0)
	plan[0].Plan.walk(func(n planNode) {
		if n.Type == "Seq Scan" && n.Relation == "subscribers" {
			t.Errorf("an upgrade check of %d members read all %d", credited, members)
		}
		if n.Type != "ModifyTable" || n.Relation != "subscribers" {
			return
		}
		updates++
		n.walk(func(c planNode) {
			if c.Relation == "subscribers" && c.Type != "ModifyTable" {
				reread += c.Rows * c.Loops
			}
		})
	})
	if updates != 1 || reread != raised {
		t.Errorf("%d updates of subscribers read %d members again, want one reading the %d it raises", updates, reread, raised)
	}
}

// A posting pass's take of one bucket reads that bucket's pending events,
// not the whole queue: a batch's events interleave the 64 buckets, and with
// one table (and an index on the bucket) every bucket's rows were on every
// page, so each of a pass's 64 takes read and dirtied all of a backlog's
// pages (the bench's runs read 2,000,000 blocks from outside shared_buffers
// in these statements, 4,100 a take).
func TestPostingABucketReadsOnlyItsEvents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const buckets, each = 64, 400
	pages := fillPending(t, conn, buckets, each)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var plan []struct{ Plan planNode }
	origin := time.Date(2000, 1, 1, 0, 0, 0, 0, hanoi)
	if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+store.TakeBucketSQL, int16(7), origin).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	if got := plan[0].Plan.Rows; got != each {
		t.Errorf("the take aggregated %d events' members, want %d", got, each)
	}
	// The blocks its scans read to find the bucket's events (the delete
	// then visits each event's page again, once an event).
	var scanned int64
	plan[0].Plan.walk(func(n planNode) {
		if strings.HasSuffix(n.Type, "Scan") && strings.HasPrefix(n.Relation+n.Index, "usage_pending") {
			scanned += n.Hit + n.Read
		}
	})
	if scanned == 0 || scanned > pages/8 {
		t.Errorf("a take of one bucket of %d scanned %d blocks; the queue is %d pages", buckets, scanned, pages)
	}
}

// A posting pass lists the buckets with pending events from a row of each
// partition, not from all the queue's rows: under the bench's feed the
// list (a DISTINCT over the queue) read every pending row, 60–170 ms a
// pass.
func TestListingPendingBucketsReadsARowOfEach(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const buckets, each = 64, 400
	pages := fillPending(t, conn, buckets-1, each) // the last bucket has none
	var plan []struct{ Plan planNode }
	if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+store.PendingBucketsSQL, buckets-1).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	if got := plan[0].Plan.Rows; got != buckets-1 {
		t.Errorf("listed %d buckets, want %d", got, buckets-1)
	}
	if blocks := plan[0].Plan.Hit + plan[0].Plan.Read; blocks > 2*buckets {
		t.Errorf("listing %d buckets read %d blocks; the queue is %d pages", buckets, blocks, pages)
	}
}

// addMembers adds n members numbered prefix followed by 0000001 to n in
// seven digits, and analyzes subscribers.
func addMembers(t *testing.T, conn *pgx.Conn, prefix string, n int) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), `
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
		SELECT $1 || lpad(i::text, 7, '0'), 'Plan', current_date, now(), now() FROM generate_series(1, $2::int) i`, prefix, n); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `ANALYZE subscribers`); err != nil {
		t.Fatal(err)
	}
}

// fillPending queues each pending events in each of the first buckets and
// returns the queue's size in pages.
func fillPending(t *testing.T, conn *pgx.Conn, buckets, each int) (pages int64) {
	t.Helper()
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `
		INSERT INTO usage_pending (bucket, msisdn, points, at, event_id)
		SELECT g % $1::int, '8490' || lpad(g::text, 7, '0'), 1, now(), 'take-' || g FROM generate_series(0, $1::int * $2::int - 1) g`, buckets, each); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `
		SELECT sum(pg_relation_size(oid)) / current_setting('block_size')::int FROM pg_class
		WHERE oid = 'usage_pending'::regclass OR oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'usage_pending'::regclass)`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	return pages
}

// planNode is a node of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON).
type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Rows     int64      `json:"Actual Rows"` // a loop's
	Loops    int64      `json:"Actual Loops"`
	Removed  int64      `json:"Rows Removed by Filter"` // a loop's
	Hit      int64      `json:"Shared Hit Blocks"`
	Read     int64      `json:"Shared Read Blocks"`
	Plans    []planNode `json:"Plans"`
}

func (n planNode) walk(f func(planNode)) {
	f(n)
	for _, c := range n.Plans {
		c.walk(f)
	}
}
