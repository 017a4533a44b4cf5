package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// TestPointsReport books ledger entries on several days (by writing their
// booking time, which only the database sets in production) and checks the
// report, both from the rollup of closed days and live for the last two.
func TestPointsReport(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{}) // its own ledger: totals are exact
	m := b.subscriber(t)
	today := time.Now().In(hanoi)
	dayAt := func(back int) time.Time { return today.AddDate(0, 0, -back) }
	book := func(back int, kind string, points int64) {
		t.Helper()
		at := dayAt(back)
		var err error
		if points > 0 {
			_, err = b.db.Pool().Exec(b.ctx, `
				INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
				VALUES ($1, $2, $3, $3, 'test', gen_random_uuid()::text, $4::timestamptz, $4::timestamptz + interval '1 year', $4)`, m, kind, points, at)
		} else {
			_, err = b.db.Pool().Exec(b.ctx, `
				INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
				VALUES ($1, $2, $3, 'test', gen_random_uuid()::text, $4, $4)`, m, kind, points, at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	book(9, "qualifying", 1000)
	book(9, "bonus", 200)
	book(9, "bonus", -300)
	book(5, "qualifying", 700)
	book(1, "bonus", 50)
	book(0, "qualifying", 10)
	book(0, "qualifying", -5)

	date := func(back int) care360.Date {
		d := dayAt(back)
		return care360.Date{Time: time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)}
	}
	want := make([]care360.PointsDay, 11)
	for i := range want {
		want[i].Date = date(10 - i)
	}
	want[1] = care360.PointsDay{Date: date(9), IssuedQualifying: 1000, IssuedBonus: 200, Spent: 300, Entries: 3}
	want[5] = care360.PointsDay{Date: date(5), IssuedQualifying: 700, Entries: 1}
	want[9] = care360.PointsDay{Date: date(1), IssuedBonus: 50, Entries: 1}
	want[10] = care360.PointsDay{Date: date(0), IssuedQualifying: 10, Spent: 5, Entries: 2}
	check := func(what string) {
		t.Helper()
		got, err := b.db.PointsReport(b.ctx, date(10), date(0))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b care360.Date) bool { return a.Equal(b.Time) })); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	check("first report")
	var rolled int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM points_daily`).Scan(&rolled); err != nil || rolled != 9 {
		t.Errorf("points_daily holds %d days (%v), want the 9 closed ones", rolled, err)
	}
	// The open days stay live; the closed ones are read from the rollup.
	book(0, "bonus", 40)
	want[10].IssuedBonus, want[10].Entries = 40, 3
	check("after a new entry today")

	if got, err := b.db.PointsReport(b.ctx, date(3), date(3)); err != nil || len(got) != 1 || got[0].Entries != 0 {
		t.Errorf("one empty day: %+v, %v", got, err)
	}
	if got, err := b.db.PointsReport(b.ctx, date(0), date(1)); err != nil || len(got) != 0 {
		t.Errorf("from after to: %+v, %v", got, err)
	}
}

func TestUSSDTraffic(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	b.clock.Set(time.Date(2026, 11, 25, 9, 59, 0, 0, hanoi))
	one, two := b.db.NewTrafficCounter(time.Hour), b.db.NewTrafficCounter(10*time.Millisecond)
	two.Start()
	for range 3 {
		one.Count(care360.USSDBegin, false)
	}
	one.Count(care360.USSDAnswer, false)
	two.Count(care360.USSDBegin, true)
	b.clock.Set(time.Date(2026, 11, 25, 10, 1, 0, 0, hanoi))
	one.Count(care360.USSDAbort, false)
	two.Count(care360.USSDAnswer, false)
	if err := one.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := two.Stop(ctx); err != nil { // flushes what is left
		t.Fatal(err)
	}
	if err := one.Stop(ctx); err != nil { // never started: just flushes
		t.Fatal(err)
	}
	got, err := b.db.USSDReport(b.ctx, time.Date(2026, 11, 25, 8, 30, 0, 0, hanoi), time.Date(2026, 11, 25, 11, 0, 0, 0, hanoi))
	if err != nil {
		t.Fatal(err)
	}
	want := []care360.USSDHour{
		{Hour: time.Date(2026, 11, 25, 8, 0, 0, 0, hanoi)},
		{Hour: time.Date(2026, 11, 25, 9, 0, 0, 0, hanoi), Dials: 4, Answers: 1, Failures: 1},
		{Hour: time.Date(2026, 11, 25, 10, 0, 0, 0, hanoi), Answers: 1, Aborts: 1},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// A flush commits but its answer is lost (the connection drops after
// COMMIT, a deadline passes as the reply is on its way): the counter cannot
// tell, keeps the batch and flushes it again. The counts must be added once,
// and what was counted meanwhile too.
func TestTrafficFlushOutcomeUnknown(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	c := b.db.NewTrafficCounter(time.Hour)
	for range 4 {
		c.Count(care360.USSDBegin, false)
	}
	lost := true
	store.SetAfterFlush(c, func() error {
		if lost {
			lost = false
			return errors.New("connection reset after COMMIT")
		}
		return nil
	})
	if err := c.Flush(b.ctx); err == nil {
		t.Fatal("the lost answer was not reported")
	}
	c.Count(care360.USSDBegin, false) // a fifth dial, counted while the first flush was in doubt
	for range 2 {
		if err := c.Flush(b.ctx); err != nil {
			t.Fatal(err)
		}
	}
	wantDials(t, b, 5)
}

// The same over real TCP: the connection is cut right after the flush's
// COMMIT, before its answer reaches the gateway, which therefore reports
// the flush failed and keeps it in doubt. Flushed again, its counts are
// added once.
func TestTrafficFlushCommitAnswerCut(t *testing.T) {
	t.Parallel()
	proxy, url := newCutProxy(t, pgtest.FreshDB(t))
	b := setupURL(t, url, store.Options{})
	c := b.db.NewTrafficCounter(time.Hour)
	for range 4 {
		c.Count(care360.USSDBegin, false)
	}
	proxy.armed.Store(true)
	if err := c.Flush(b.ctx); err == nil {
		t.Fatal("the flush whose answer was cut reported success")
	}
	if proxy.cuts.Load() != 1 {
		t.Fatalf("%d connections cut after COMMIT", proxy.cuts.Load())
	}
	c.Count(care360.USSDBegin, false)
	if err := c.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	wantDials(t, b, 5)
}

// Two flushes at once, both in doubt: the first committed but lost its
// answer, the second never reached the database. Each batch stays in
// doubt until a flush settles it; one must not push the other out, or its
// counts are lost (the second's three dials here).
func TestTrafficFlushesInDoubtTogether(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	c := b.db.NewTrafficCounter(time.Hour)
	for range 4 {
		c.Count(care360.USSDBegin, false)
	}
	committed, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	store.SetAfterFlush(c, func() error {
		first := false
		once.Do(func() { first = true })
		if !first {
			return nil
		}
		close(committed)
		<-release
		return errors.New("connection reset after COMMIT")
	})
	firstDone := make(chan error)
	go func() { firstDone <- c.Flush(b.ctx) }()
	<-committed
	for range 3 {
		c.Count(care360.USSDBegin, false)
	}
	gone, cancel := context.WithCancel(b.ctx)
	cancel() // this flush never reaches the database
	secondDone := make(chan error)
	go func() { secondDone <- c.Flush(gone) }()
	time.Sleep(50 * time.Millisecond) // the second flush is under way (or waiting its turn)
	close(release)
	if err := <-firstDone; err == nil {
		t.Error("the first flush's lost answer was not reported")
	}
	if err := <-secondDone; err == nil {
		t.Error("the second flush, cancelled, reported no error")
	}
	for range 3 {
		if err := c.Flush(b.ctx); err != nil {
			t.Fatal(err)
		}
	}
	wantDials(t, b, 7)
}

// wantDials fails the test unless ussd_traffic holds n dials in all.
func wantDials(t *testing.T, b *bundle, n int64) {
	t.Helper()
	var dials int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT coalesce(sum(dials), 0) FROM ussd_traffic`).Scan(&dials); err != nil {
		t.Fatal(err)
	}
	if dials != n {
		t.Fatalf("%d dials recorded for %d", dials, n)
	}
}

// TestCountedUSSD checks that the wrapper counts each step by kind and
// failure, and passes the reply through.
func TestCountedUSSD(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	c := b.db.NewTrafficCounter(time.Hour)
	svc := c.Wrap(stepFunc(func(_ context.Context, r care360.USSDRequest) (care360.USSDReply, error) {
		if r.Text == "fail" {
			return care360.USSDReply{}, context.DeadlineExceeded
		}
		return care360.USSDReply{Text: "ok " + r.Text}, nil
	}))
	if reply, err := svc.Step(b.ctx, care360.USSDRequest{Kind: care360.USSDBegin, Text: "*090#"}); err != nil || reply.Text != "ok *090#" {
		t.Fatalf("Step = %+v, %v", reply, err)
	}
	if _, err := svc.Step(b.ctx, care360.USSDRequest{Kind: care360.USSDAnswer, Text: "fail"}); err == nil {
		t.Fatal("the error was swallowed")
	}
	if err := c.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	got, err := b.db.USSDReport(b.ctx, now, now.Add(time.Hour))
	if err != nil || len(got) != 1 || got[0].Dials != 1 || got[0].Answers != 1 || got[0].Failures != 1 {
		t.Fatalf("counted %+v, %v", got, err)
	}
}

type stepFunc func(context.Context, care360.USSDRequest) (care360.USSDReply, error)

func (f stepFunc) Step(ctx context.Context, r care360.USSDRequest) (care360.USSDReply, error) {
	return f(ctx, r)
}
