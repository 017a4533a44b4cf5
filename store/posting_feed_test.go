package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// TestOnePosterWhileTheFeedSends: while billing batches keep arriving, a
// posting pass takes one bucket at a time, so that each credit folds in as
// many of a member's events as it can and the feed keeps the cores; once
// the feed is quiet, two buckets are posted at once to drain the backlog.
// Which buckets are being posted is read from the database's advisory
// locks, as another instance would see them.
func TestOnePosterWhileTheFeedSends(t *testing.T) {
	t.Parallel()
	url := pgtest.FreshDB(t)
	bu := setupURL(t, url, store.Options{})
	b := &ledgerBundle{bundle: bu, l: store.NewLedger(bu.db, care360.UsageRules{})}
	watch := connect(t, url)
	const members, each = 1000, 16
	now := b.clock.Now()
	if _, err := b.db.Pool().Exec(b.ctx, `
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
		SELECT '8497' || lpad(i::text, 7, '0'), 'Feed', '2020-01-01', $2, $2 FROM generate_series(1, $1::int) i`,
		members, now); err != nil {
		t.Fatal(err)
	}
	batch := func(run string) []care360.UsageEvent {
		evs := make([]care360.UsageEvent, 0, members*each)
		for i := range members * each {
			m := care360.MSISDN(fmt.Sprintf("8497%07d", 1+i%members))
			evs = append(evs, usage(fmt.Sprintf("%s-%06d", run, i), m, 2000, now.Add(-time.Duration(i%600)*time.Second)))
		}
		return evs
	}

	// The feed sends: a small batch every 20 ms while the pass runs.
	b.ingest(t, batch("busy")...)
	stop := make(chan struct{})
	var feeding sync.WaitGroup
	feeding.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := b.l.IngestUsage(b.ctx, []care360.UsageEvent{usage(fmt.Sprintf("trickle-%04d", n), "84970000001", 1000, now)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	busy := postersSeen(t, b, watch)
	close(stop)
	feeding.Wait()
	if busy != 1 {
		t.Errorf("while the feed sends: %d buckets posted at once, want 1", busy)
	}

	// The feed is quiet.
	b.ingest(t, batch("quiet")...)
	time.Sleep(store.FeedQuiet + 50*time.Millisecond)
	if quiet := postersSeen(t, b, watch); quiet != 2 {
		t.Errorf("once the feed is quiet: %d buckets posted at once, want 2", quiet)
	}

	b.post(t)
	var pending, points int64
	if err := b.db.Pool().QueryRow(b.ctx, `
		SELECT (SELECT count(*) FROM usage_pending), (SELECT coalesce(sum(points), 0) FROM points_ledger WHERE msisdn LIKE '8497%')`).
		Scan(&pending, &points); err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * members * each * 2); pending != 0 || points < want { // 2 points an event, and the trickle's
		t.Errorf("after the passes: %d events pending, %d points on the ledger, want 0 and at least %d", pending, points, want)
	}
	b.checkLedger(t)
}

// A batch still being journalled is the feed sending, however long it
// takes: only the end of a batch counted, so on a loaded machine a batch
// slower than FeedQuiet let a second poster join while the feed sent.
func TestFeedInFlightIsNotQuiet(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	l := store.NewLedger(bu.db, care360.UsageRules{})
	now := bu.clock.Now()
	if _, err := bu.db.Pool().Exec(bu.ctx, `
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at) VALUES ('84971000001', 'Feed', '2020-01-01', $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	// Another transaction holds an id of the batch, uncommitted: the
	// batch waits for it.
	tx, err := bu.db.Pool().Begin(bu.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(bu.ctx)
	if _, err := tx.Exec(bu.ctx, `INSERT INTO usage_events (id, amount_vnd, points, at, received_at) VALUES ('slow-1', 1000, 1, $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.IngestUsage(bu.ctx, []care360.UsageEvent{usage("slow-0", "84971000001", 1000, now), usage("slow-1", "84971000001", 1000, now)})
		done <- err
	}()
	time.Sleep(store.FeedQuiet + 200*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the batch did not wait for the id another transaction holds: %v", err)
	default:
	}
	if l.Quiet() {
		t.Error("the feed counts as quiet while a batch is being journalled")
	}
	tx.Rollback(bu.ctx)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l.Quiet() {
		t.Error("the feed counts as quiet right after a batch")
	}
}

// postersSeen runs a posting pass and returns the most usage buckets it
// held at once, as the database's advisory locks showed them.
func postersSeen(t *testing.T, b *ledgerBundle, conn *pgx.Conn) int {
	t.Helper()
	var done atomic.Bool
	most := 0
	var watching sync.WaitGroup
	watching.Go(func() {
		for !done.Load() {
			var n int
			// Class 0x0C36 (3126): the ledger jobs' locks; objects 0-63: buckets.
			if err := conn.QueryRow(b.ctx, `
				SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 3126 AND objsubid = 2 AND objid < 64
					AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
				t.Error(err)
				return
			}
			most = max(most, n)
		}
	})
	p := b.post(t)
	done.Store(true)
	watching.Wait()
	if p.Events == 0 {
		t.Error("the pass posted nothing")
	}
	return most
}

// TestThePendingQueueKeepsItsSize: a take deletes its bucket's pending
// rows, and the bucket's partition is vacuumed before a later take, so the
// feed's inserts reuse the space and the partition holds about two takes'
// worth of rows however many pass through it. Autovacuum is off on the
// partition, as between its visits under a busy feed: without the
// poster's own vacuum, every insert extended the partition and every take
// read all its dead pages.
func TestThePendingQueueKeepsItsSize(t *testing.T) {
	t.Parallel()
	bu := setupURL(t, pgtest.FreshDB(t), store.Options{}) // a database of its own: no other test's snapshot holds the dead rows
	b := &ledgerBundle{bundle: bu, l: store.NewLedger(bu.db, care360.UsageRules{})}
	const number, rounds, each = "84970000042", 10, 2000
	now := b.clock.Now()
	if _, err := b.db.Pool().Exec(b.ctx, `
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at) VALUES ($1, 'Queue', '2020-01-01', $2, $2)`,
		number, now); err != nil {
		t.Fatal(err)
	}
	var partition string
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT 'usage_pending_' || lpad((hashtext($1) & 63)::text, 2, '0')`, number).Scan(&partition); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool().Exec(b.ctx, `ALTER TABLE `+partition+` SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	pages := func() (n int64) {
		t.Helper()
		if err := b.db.Pool().QueryRow(b.ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int`, partition).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var round int64
	for r := range rounds {
		evs := make([]care360.UsageEvent, each)
		for i := range evs {
			evs[i] = usage(fmt.Sprintf("queue-%02d-%05d", r, i), number, 2000, now.Add(-time.Duration(i%600)*time.Second))
		}
		b.ingest(t, evs...)
		if r == 0 {
			round = pages()
		}
		if p := b.post(t); p.Events != each {
			t.Fatalf("round %d: posted %d events, want %d", r+1, p.Events, each)
		}
	}
	if got := pages(); got > 3*round {
		t.Errorf("after %d takes of %d events: the partition is %d pages, one take's rows fill %d", rounds, each, got, round)
	}
	var points int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT coalesce(sum(points), 0) FROM points_ledger WHERE msisdn = $1`, number).Scan(&points); err != nil {
		t.Fatal(err)
	}
	if want := int64(rounds * each * 2); points != want {
		t.Errorf("%d points on the ledger, want %d", points, want)
	}
}
