package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// ledgerBundle is a store on a database of its own: the ledger jobs work on
// every subscriber, so a test that runs them must not share its database
// (or its clock) with tests that do not expect them.
type ledgerBundle struct {
	*bundle
	l *store.Ledger
}

func setupLedger(t *testing.T) *ledgerBundle {
	t.Helper()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	return &ledgerBundle{bundle: b, l: store.NewLedger(b.db, care360.UsageRules{})}
}

// ingest sends events and fails the test on a batch error.
func (b *ledgerBundle) ingest(t *testing.T, evs ...care360.UsageEvent) []care360.UsageResult {
	t.Helper()
	res, err := b.l.IngestUsage(b.ctx, evs)
	if err != nil {
		t.Fatalf("IngestUsage: %v", err)
	}
	if len(res) != len(evs) {
		t.Fatalf("%d results for %d events", len(res), len(evs))
	}
	return res
}

func (b *ledgerBundle) post(t *testing.T) care360.UsagePosting {
	t.Helper()
	p, err := b.l.PostUsage(b.ctx)
	if err != nil {
		t.Fatalf("PostUsage: %v", err)
	}
	return p
}

// checkLedger verifies what must hold for every subscriber at all times:
// no credit overspent, each debit exactly the sum of its allocations, and
// the ledger's sum equal to what is left of the credits (which, once
// expired credits are swept, is the spendable balance).
func (b *bundle) checkLedger(t *testing.T) {
	t.Helper()
	var bad int
	err := b.db.Pool().QueryRow(b.ctx, `
		SELECT
			(SELECT count(*) FROM points_ledger WHERE remaining < 0 OR remaining > points) +
			(SELECT count(*) FROM points_ledger d WHERE d.points < 0 AND -d.points <>
				(SELECT coalesce(sum(a.points), 0) FROM points_allocations a WHERE a.debit_id = d.id)) +
			(SELECT count(*) FROM (
				SELECT msisdn FROM points_ledger GROUP BY msisdn
				HAVING sum(points) <> coalesce(sum(remaining), 0)) x)`).Scan(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("the ledger breaks %d invariants", bad)
	}
}

func usage(id string, m care360.MSISDN, vnd int64, at time.Time) care360.UsageEvent {
	return care360.UsageEvent{ID: id, MSISDN: m, AmountVND: vnd, At: at}
}

func statuses(res []care360.UsageResult) []string {
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = string(r.Status) + "/" + r.Reason
		if r.Status != care360.UsageRejected {
			out[i] = fmt.Sprintf("%s/%d", r.Status, r.Points)
		}
	}
	return out
}

func TestUsageBatch(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	m, other := b.subscriber(t), b.subscriber(t)
	now := b.clock.Now()
	res := b.ingest(t,
		usage("e1", m, 12_345, now.Add(-time.Hour)),
		usage("e2", m, 999, now.Add(-time.Hour)),         // 0 points, still accepted
		usage("e1", m, 12_345, now.Add(-time.Hour)),      // the same event twice in a batch
		usage("e3", "84900000000", 5000, now),            // unknown subscriber
		usage("e4", m, 1e12, now),                        // too much for one event
		usage("e5", m, 5000, now.Add(time.Hour)),         // from the future
		usage("e6", m, 5000, now.AddDate(-2, 0, 0)),      // expired before it arrived
		usage("", m, 5000, now),                          // no id
		usage("e1", other, 12_345, now.Add(-time.Hour)),  // a used id for another event
		usage("e7", other, -2500, now),                   // a refund with nothing to take
		usage("e8", other, 3000, now.Add(5*time.Minute)), // within the clock skew allowed
	)
	want := []string{"accepted/12", "accepted/0", "duplicate/12", "rejected/unknown_subscriber", "rejected/invalid_amount",
		"rejected/invalid_time", "rejected/invalid_time", "rejected/invalid_id", "rejected/id_conflict", "accepted/-2", "accepted/3"}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, r := range res {
		if r.Status == care360.UsageRejected && r.Message == "" {
			t.Errorf("rejection without a message: %+v", r)
		}
	}
	// Nothing reaches the ledger before it is posted.
	if got := balance(t, b.bundle, m).Spendable; got != 0 {
		t.Errorf("spendable before posting: %d", got)
	}
	// other's refund and charge fall in one hour and post as their net:
	// what the charge-then-refund order would leave.
	p := b.post(t)
	if p.Events != 3 || p.Credits != 2 || p.Points != 13 || p.Refunds != 0 {
		t.Errorf("posting: %+v", p)
	}
	if got := balance(t, b.bundle, m); got.Spendable != 12 || got.Qualifying != 12 {
		t.Errorf("balance of m: %+v", got)
	}
	if got := balance(t, b.bundle, other); got.Spendable != 1 || got.Qualifying != 1 {
		t.Errorf("balance of other: %+v", got)
	}

	// A retried batch changes nothing and says what happened the first time.
	res = b.ingest(t, usage("e1", m, 12_345, now.Add(-time.Hour)), usage("e2", m, 999, now.Add(-time.Hour)),
		usage("e1", m, 12_346, now.Add(-time.Hour)), usage("e3", m, 5000, now))
	want = []string{"duplicate/12", "duplicate/0", "rejected/id_conflict", "accepted/5"}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("replay (-want +got):\n%s", diff)
	}
	if p := b.post(t); p.Events != 1 || p.Points != 5 {
		t.Errorf("posting the replay: %+v", p)
	}
	if p := b.post(t); p != (care360.UsagePosting{}) {
		t.Errorf("a second posting found work: %+v", p)
	}
	b.checkLedger(t)
}

// TestUsageRangeNewOrNot: a batch whose ids span a journalled one (not a
// new range) still journals its new ids and finds its used ones, as a
// batch of a new range does; ids in no order (the range spans everything)
// too.
func TestUsageRangeNewOrNot(t *testing.T) {
	t.Parallel()
	b := setupLedger(t) // a database of its own: no other test's ids in the ranges
	m := b.subscriber(t)
	at := b.clock.Now().Add(-time.Hour)
	if got := statuses(b.ingest(t, usage("r-0003", m, 3000, at))); !slices.Equal(got, []string{"accepted/3"}) {
		t.Fatalf("a new range: %v", got)
	}
	got := statuses(b.ingest(t, usage("r-0001", m, 1000, at), usage("r-0003", m, 3000, at), usage("r-0005", m, 5000, at)))
	if want := []string{"accepted/1", "duplicate/3", "accepted/5"}; !slices.Equal(got, want) {
		t.Fatalf("a range holding a used id: %v, want %v", got, want)
	}
	got = statuses(b.ingest(t, usage("zz", m, 2000, at), usage("a", m, 4000, at), usage("r-0005", m, 5000, at)))
	if want := []string{"accepted/2", "accepted/4", "duplicate/5"}; !slices.Equal(got, want) {
		t.Fatalf("ids in no order: %v, want %v", got, want)
	}
	if p := b.post(t); p.Events != 5 || p.Points != 15 {
		t.Errorf("posting: %+v, want each of the 5 events once, 15 points", p)
	}
	b.checkLedger(t)
}

// Events of one subscriber aggregate per local hour; a refund in the same
// hour nets against the charge, and one in another hour takes back
// qualifying points only.
func TestUsageAggregatesAndRefunds(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	m := b.subscriber(t)
	b.clock.Set(at("2026-11-25 12:00"))
	res := b.ingest(t,
		usage("a1", m, 3000, at("2026-11-25 09:10")),
		usage("a2", m, 4000, at("2026-11-25 09:50")),
		usage("a3", m, -1999, at("2026-11-25 09:55")), // nets to 6 in the 09:00 hour
		usage("a4", m, 2000, at("2026-11-25 10:05")),
	)
	if diff := cmp.Diff([]string{"accepted/3", "accepted/4", "accepted/-1", "accepted/2"}, statuses(res)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if p := b.post(t); p.Events != 4 || p.Credits != 2 || p.Points != 8 {
		t.Errorf("posting: %+v", p)
	}
	l, err := b.db.Ledger(b.ctx, m, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l {
		got = append(got, fmt.Sprintf("%d %s %s %s", e.Points, e.Reason, e.IdempotencyKey, e.EarnedAt.In(hanoi).Format("15:04")))
	}
	want := []string{"2 usage (1 event) usage:a4 10:05", "6 usage (3 events) usage:a1 09:10"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}

	// Bonus points that expire later (end of December 2027), which refunds
	// never take; then spending 7 takes the November usage credits first.
	b.clock.Set(at("2026-12-01 10:00"))
	credit(t, b.bundle, m, care360.PointsBonus, 500, "bonus")
	if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: -7, Reason: "gift", IdempotencyKey: "g"}); err != nil {
		t.Fatal(err)
	}
	// 501 left: 1 qualifying (of 8) and the 500 bonus. A refund of 5 points
	// takes the 1 qualifying point only.
	b.ingest(t, usage("r1", m, -5000, at("2026-11-25 11:00")))
	if p := b.post(t); p.Refunds != 1 || p.Taken != 1 {
		t.Errorf("refund posting: %+v", p)
	}
	bal := balance(t, b.bundle, m)
	if bal.Spendable != 500 || bal.Bonus != 500 || bal.Qualifying != 7 {
		t.Errorf("after the refund: %+v", bal)
	}
	// Nothing left to take: the refund is accepted and takes nothing.
	b.ingest(t, usage("r2", m, -3000, at("2026-11-25 11:30")))
	if p := b.post(t); p.Refunds != 0 || p.Taken != 0 || p.Events != 1 {
		t.Errorf("empty refund posting: %+v", p)
	}
	if bal := balance(t, b.bundle, m); bal.Spendable != 500 || bal.Qualifying != 7 {
		t.Errorf("after a refund with nothing to take: %+v", bal)
	}
	b.checkLedger(t)
}

// Replays of one batch from many clients at once count every event once.
func TestUsageConcurrentReplays(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	var ms []care360.MSISDN
	for range 20 {
		ms = append(ms, b.subscriber(t))
	}
	now := b.clock.Now()
	var evs []care360.UsageEvent
	for i := range 500 {
		evs = append(evs, usage(fmt.Sprintf("c%d", i), ms[i%len(ms)], 1000*int64(i%7+1), now.Add(-time.Duration(i)*time.Minute)))
	}
	const clients = 8
	accepted := make([]int, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			res, err := b.l.IngestUsage(b.ctx, append([]care360.UsageEvent(nil), evs...))
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range res {
				if r.Status == care360.UsageAccepted {
					accepted[c]++
				} else if r.Status != care360.UsageDuplicate {
					t.Errorf("client %d: %+v", c, r)
				}
			}
		})
		if c%2 == 0 {
			wg.Go(func() {
				if _, err := b.l.PostUsage(b.ctx); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	b.post(t)
	total := 0
	for _, n := range accepted {
		total += n
	}
	if total != len(evs) {
		t.Errorf("%d events accepted in all, want %d", total, len(evs))
	}
	var want, got int64
	for _, e := range evs {
		want += e.AmountVND / 1000
	}
	for _, m := range ms {
		got += balance(t, b.bundle, m).Spendable
	}
	if got != want {
		t.Errorf("%d points posted, want %d", got, want)
	}
	b.checkLedger(t)
}

// Usage that earns a tier upgrades at once when posted, and tells the
// subscriber by SMS in their language.
func TestUsageUpgradesTier(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	m := newMSISDN()
	if _, _, err := b.db.Register(b.ctx, m, care360.LangEn, care360.ChannelUSSD); err != nil {
		t.Fatal(err)
	}
	b.ingest(t, usage("u1", m, 1_999_999, b.clock.Now()))
	b.post(t)
	if s, _ := b.db.Subscriber(b.ctx, m); s.Tier != care360.TierDong {
		t.Fatalf("1999 points: %s", s.Tier)
	}
	b.ingest(t, usage("u2", m, 3_000_000, b.clock.Now()))
	if p := b.post(t); p.Upgrades != 1 {
		t.Errorf("posting: %+v", p)
	}
	if s, _ := b.db.Subscriber(b.ctx, m); s.Tier != care360.TierBac {
		t.Fatalf("4999 points: %s", s.Tier)
	}
	texts := smsTo(t, b.bundle, m)
	if len(texts) != 1 || texts[0] != "Congratulations! You are now a Silver member of the MobiFone loyalty club." {
		t.Errorf("SMS: %q", texts)
	}
}

// smsTo lists the texts queued for m, oldest first.
func smsTo(t *testing.T, b *bundle, m care360.MSISDN) []string {
	t.Helper()
	rows, err := b.db.Pool().Query(b.ctx, `SELECT text FROM sms_messages WHERE msisdn = $1 ORDER BY id`, m)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// Two events that can never be posted sit in a bucket with good ones: one
// whose id (accepted before ids were bounded) makes a ledger key longer
// than 200 bytes, and one for a number with no subscriber. After a few
// failing passes they are set aside with their reasons and every other
// event, in their bucket and in the rest, is posted.
func TestPoisonUsageEventsSetAside(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	b.clock.Set(at("2026-11-25 12:00"))
	m, other := b.subscriber(t), b.subscriber(t)
	b.ingest(t, usage("good-1", m, 2000, at("2026-11-25 10:05")), usage("good-2", other, 3000, at("2026-11-25 10:05")))
	long := "a" + strings.Repeat("x", 196) // 197 bytes: "usage:" + id is 203
	// As an older version accepted them, straight into the queue.
	_, err := b.db.Pool().Exec(b.ctx, `
		WITH e AS (
			INSERT INTO usage_events (id, amount_vnd, points, at, received_at) VALUES
				($1, 5000, 5, $3, $4), ('ghost-1', 7000, 7, $4, $4)
		)
		INSERT INTO usage_pending (bucket, msisdn, points, at, event_id) VALUES
			(hashtext($2) & 63, $2, 5, $3, $1), (hashtext($2) & 63, '84999000111', 7, $4, 'ghost-1')`,
		long, m, at("2026-11-25 09:10"), at("2026-11-25 09:20"))
	if err != nil {
		t.Fatal(err)
	}
	var errs int
	for range 6 {
		if _, err := b.l.PostUsage(b.ctx); err != nil {
			errs++
		}
	}
	if errs == 0 {
		t.Error("no posting pass reported the poisoned bucket")
	}
	var pending int
	b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM usage_pending`).Scan(&pending)
	if pending != 0 {
		t.Errorf("%d events still pending", pending)
	}
	if bal := balance(t, b.bundle, m); bal.Spendable != 2 {
		t.Errorf("the poison's neighbour: %+v, want 2 points", bal)
	}
	if bal := balance(t, b.bundle, other); bal.Spendable != 3 {
		t.Errorf("another bucket: %+v, want 3 points", bal)
	}
	dl, err := b.db.DeadLetters(b.ctx, care360.DeadLetterFilter{Kind: "usage"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range dl {
		got[d.Ref] = d.Reason
	}
	if len(got) != 2 || got[long] == "" || got["ghost-1"] == "" {
		t.Fatalf("dead letters %+v, want the two poisoned events with reasons", dl)
	}
	counts, err := b.db.DeadLetterCounts(b.ctx)
	if err != nil || counts["usage"] != 2 {
		t.Errorf("counts %v, %v", counts, err)
	}
	// Nothing is set aside for good: posting goes on as usual.
	b.ingest(t, usage("good-3", m, 4000, at("2026-11-25 11:05")))
	b.post(t)
	if bal := balance(t, b.bundle, m); bal.Spendable != 6 {
		t.Errorf("after the poison: %+v, want 6 points", bal)
	}
	b.checkLedger(t)
}

// An id is at most 194 bytes, so that its ledger key ("usage:" + id) fits.
func TestUsageIDBoundFitsTheLedgerKey(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	b.clock.Set(at("2026-11-25 12:00"))
	m := b.subscriber(t)
	res := b.ingest(t, usage(strings.Repeat("k", 194), m, 1000, at("2026-11-25 10:00")),
		usage(strings.Repeat("j", 195), m, 1000, at("2026-11-25 10:00")))
	if res[0].Status != care360.UsageAccepted || res[1].Status != care360.UsageRejected || res[1].Reason != string(care360.UsageInvalidID) {
		t.Fatalf("results %+v", res)
	}
	if p := b.post(t); p.Events != 1 {
		t.Fatalf("posting %+v", p)
	}
}

// A poisoned event in a bucket with a backlog: thousands of good events
// share its bucket. Each posting pass has a budget (the scheduler gives one
// five minutes; here a few seconds for a backlog scaled down alike), and
// the poison must be found and set aside within it, so that the backlog
// posts within a few passes instead of being rolled back pass after pass.
func TestPoisonInABusyBucket(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	b.clock.Set(at("2026-11-25 12:00"))
	const bucket = 5
	// Subscribers that all hash to one bucket, each with ten events.
	_, err := b.db.Pool().Exec(b.ctx, `
		INSERT INTO subscribers (msisdn, language, member_since, status, tier, created_at, updated_at)
		SELECT m, 'vi', '2020-01-01', 'active', 'dong', $2, $2 FROM (
			SELECT '8492' || lpad(g::text, 7, '0') AS m FROM generate_series(1, 32000) g) s
		WHERE hashtext(m) & 63 = $1`, bucket, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var members, events int
	if err := b.db.Pool().QueryRow(b.ctx, `
		WITH s AS (
			SELECT 'busy-' || s.msisdn || '-' || g AS id, s.msisdn, 1000 * g AS amount, g AS points, $1::timestamptz + g * interval '7 minutes' AS at
			FROM subscribers s, generate_series(1, 10) g WHERE s.msisdn LIKE '8492%'
		), e AS (
			INSERT INTO usage_events (id, amount_vnd, points, at, received_at) SELECT id, amount, points, at, $1 FROM s
		), p AS (
			INSERT INTO usage_pending (bucket, msisdn, points, at, event_id) SELECT $2, msisdn, points, at, id FROM s
		)
		SELECT count(DISTINCT msisdn), count(*) FROM s`, at("2026-11-25 09:00"), bucket).Scan(&members, &events); err != nil {
		t.Fatal(err)
	}
	// The two poisons of TestPoisonUsageEventsSetAside, in the middle of it.
	long := "a" + strings.Repeat("y", 196) // sorts first: its hour's ledger key would be "usage:" + long
	if _, err := b.db.Pool().Exec(b.ctx, `
		INSERT INTO usage_pending (bucket, msisdn, points, at, event_id) VALUES
			($1, (SELECT min(msisdn) FROM subscribers WHERE msisdn LIKE '8492%'), 5, $2, $3),
			($1, '84929999999', 7, $2, 'ghost-busy')`, bucket, at("2026-11-25 09:30"), long); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events of %d subscribers in bucket %d, and two poisons", events, members, bucket)
	for pass := range 6 {
		ctx, cancel := context.WithTimeout(b.ctx, 8*time.Second)
		start := time.Now()
		p, err := b.l.PostUsage(ctx)
		cancel()
		t.Logf("pass %d: %d events in %v (%v)", pass, p.Events, time.Since(start).Round(time.Millisecond), err)
	}
	var pending, short int
	if err := b.db.Pool().QueryRow(b.ctx, `
		SELECT (SELECT count(*) FROM usage_pending),
			(SELECT count(*) FROM subscribers s WHERE s.msisdn LIKE '8492%' AND
				(SELECT coalesce(sum(points), 0) FROM points_ledger l WHERE l.msisdn = s.msisdn) <> 55)`).Scan(&pending, &short); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || short != 0 {
		t.Fatalf("after six passes: %d events still pending, %d subscribers without their 55 points", pending, short)
	}
	dl, err := b.db.DeadLetters(b.ctx, care360.DeadLetterFilter{Kind: care360.DeadLetterUsage})
	if err != nil || len(dl) != 2 {
		t.Fatalf("dead letters %+v, %v", dl, err)
	}
	b.checkLedger(t)
}

// An id Postgres cannot store (a NUL, bytes that are not UTF-8; JSON can
// carry a NUL as \u0000) is that event's rejection, not the whole batch's
// failure: a billing feed resending a batch that always fails would stop.
func TestUsageIDNotText(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	m := b.subscriber(t)
	now := b.clock.Now().Add(-time.Hour)
	res := b.ingest(t, usage("nul\x00id", m, 1000, now), usage("bad\xffid", m, 1000, now), usage("fine-id", m, 1000, now))
	if diff := cmp.Diff([]string{"rejected/invalid_id", "rejected/invalid_id", "accepted/1"}, statuses(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}
