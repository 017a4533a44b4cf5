package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.ReportService = (*DB)(nil)

// closedSQL is the last day whose ledger can no longer change: the day
// before yesterday ended at least 24 hours ago, and no transaction runs that
// long. It uses the database's clock, which is what sets created_at.
const closedSQL = `((now() AT TIME ZONE $3)::date - 2)`

// PointsReport totals the ledger per local day. Days that can no longer
// change are read from points_daily, which this fills for any of them it
// lacks (once, set-based); the last two days come from the ledger through
// its created_at index. See 00006_staff.sql.
func (db *DB) PointsReport(ctx context.Context, from, to care360.Date) (days []care360.PointsDay, err error) {
	defer wrap(&err, "points report %s..%s", from, to)
	tz := db.loc.String()
	// The days missing from the rollup are totalled in one range scan from
	// the first missing day to the last. Concurrent reports may fill the
	// same day: the loser waits for the winner's row, then does nothing, and
	// its next statement sees it.
	_, err = db.pool.Exec(ctx, `
		WITH missing AS (
			SELECT min(d.day)::date AS first, max(d.day)::date AS last
			FROM generate_series($1::date, least($2::date, `+closedSQL+`), interval '1 day') AS d(day)
			WHERE NOT EXISTS (SELECT 1 FROM points_daily x WHERE x.day = d.day::date)
		)
		INSERT INTO points_daily
		SELECT p.* FROM missing, points_days(missing.first, missing.last, $3) AS p
		WHERE missing.first IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM points_daily x WHERE x.day = p.day)
		ON CONFLICT (day) DO NOTHING`, pgDate(from), pgDate(to), tz)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `
		SELECT day, issued_qualifying, issued_bonus, spent, entries FROM points_daily
		WHERE day BETWEEN $1 AND least($2::date, `+closedSQL+`)
		UNION ALL
		SELECT * FROM points_days(greatest($1::date, `+closedSQL+` + 1), $2::date, $3)
		ORDER BY day`, pgDate(from), pgDate(to), tz)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (d care360.PointsDay, err error) {
		var day time.Time
		err = r.Scan(&day, &d.IssuedQualifying, &d.IssuedBonus, &d.Spent, &d.Entries)
		d.Date = care360.Date{Time: day}
		return d, err
	})
}

// USSDReport returns the hourly counters in [from, to), zeros included.
func (db *DB) USSDReport(ctx context.Context, from, to time.Time) (hours []care360.USSDHour, err error) {
	defer wrap(&err, "ussd report")
	rows, err := db.pool.Query(ctx, `
		SELECT h.hour, coalesce(t.dials, 0), coalesce(t.answers, 0), coalesce(t.aborts, 0), coalesce(t.failures, 0)
		FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 microsecond', interval '1 hour') AS h(hour)
		LEFT JOIN ussd_traffic t ON t.hour = h.hour
		ORDER BY h.hour`, hourOf(from), to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (h care360.USSDHour, err error) {
		err = r.Scan(&h.Hour, &h.Dials, &h.Answers, &h.Aborts, &h.Failures)
		h.Hour = h.Hour.In(db.loc)
		return h, err
	})
}

// hourOf is the start of t's hour. Hours are cut in UTC, which agrees with
// every whole-hour time zone (Vietnam's among them).
func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// TrafficCounter counts USSD steps per hour, and USSD steps and SMS
// outcomes per 10-second slot, in memory, and adds them to ussd_traffic and
// traffic_slots every interval, so that counting costs a step or a message
// nothing but a mutex and a busy hour costs Postgres one upsert per
// instance per interval. Counts not yet flushed when a process dies are
// lost: these are traffic statistics, not money. A flush is never counted
// twice: each carries an id recorded with the counts, and one whose outcome
// is unknown is sent again, alone and with the same id, before anything
// counted since.
type TrafficCounter struct {
	db *DB

	mu      sync.Mutex
	pending *trafficBatch
	doubt   *trafficFlush // a flush that failed: it may have committed

	flushing sync.Mutex // held by the one Flush in progress

	loop *flusher

	afterFlush func() error // tests: an error here is a flush whose answer was lost
}

// trafficBatch is what was counted since the last flush.
type trafficBatch struct {
	hours map[time.Time]*care360.USSDHour
	slots map[time.Time]*care360.TrafficSlot
}

func newTrafficBatch() *trafficBatch {
	return &trafficBatch{hours: map[time.Time]*care360.USSDHour{}, slots: map[time.Time]*care360.TrafficSlot{}}
}

func (b *trafficBatch) empty() bool { return len(b.hours) == 0 && len(b.slots) == 0 }

func (b *trafficBatch) slot(now time.Time) *care360.TrafficSlot {
	at := now.UTC().Truncate(care360.SlotLength)
	sl := b.slots[at]
	if sl == nil {
		sl = &care360.TrafficSlot{At: at}
		b.slots[at] = sl
	}
	return sl
}

// NewTrafficCounter returns a counter that flushes every interval (5 s if
// zero) once started.
func (db *DB) NewTrafficCounter(every time.Duration) *TrafficCounter {
	if every <= 0 {
		every = 5 * time.Second
	}
	c := &TrafficCounter{db: db, pending: newTrafficBatch()}
	c.loop = newFlusher(every, db.log, "ussd traffic", c.Flush)
	return c
}

// Count adds one step of the given kind; failed means the step could show
// nothing.
func (c *TrafficCounter) Count(kind care360.USSDKind, failed bool) {
	now := c.db.now()
	hour := hourOf(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.pending.hours[hour]
	if h == nil {
		h = &care360.USSDHour{Hour: hour}
		c.pending.hours[hour] = h
	}
	sl := c.pending.slot(now)
	sl.USSDSteps++
	switch kind {
	case care360.USSDBegin:
		h.Dials++
		sl.USSDDials++
	case care360.USSDAnswer:
		h.Answers++
	case care360.USSDAbort:
		h.Aborts++
	}
	if failed {
		h.Failures++
		sl.USSDFailures++
	}
}

// CountSMS adds SMS outcomes: messages the SMSC accepted, messages
// delivered, messages that failed for good.
func (c *TrafficCounter) CountSMS(submitted, delivered, failed int64) {
	if c == nil || submitted+delivered+failed == 0 {
		return
	}
	now := c.db.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	sl := c.pending.slot(now)
	sl.SMSSubmitted += submitted
	sl.SMSDelivered += delivered
	sl.SMSFailed += failed
}

// Start runs the flusher until Stop. Safe to call twice.
func (c *TrafficCounter) Start() { c.loop.Start() }

// Stop ends the flusher and flushes what is left. Safe to call twice, and
// without Start.
func (c *TrafficCounter) Stop(ctx context.Context) error { return c.loop.Stop(ctx) }

// trafficFlush is one batch of counts under the id that makes it count once.
type trafficFlush struct {
	id    []byte
	batch *trafficBatch
}

// Flush adds the pending counts to ussd_traffic and traffic_slots in one
// statement. A flush that failed may still have committed (its answer
// lost): it is kept, with its id, and sent again first by the next Flush,
// which adds it only if the id is new.
//
// Flushes run one at a time: two in flight at once could both end in
// doubt, and the one batch in doubt a counter keeps would lose the other's
// counts.
func (c *TrafficCounter) Flush(ctx context.Context) error {
	c.flushing.Lock()
	defer c.flushing.Unlock()
	for {
		c.mu.Lock()
		f := c.doubt
		doubtful := f != nil
		c.doubt = nil
		if f == nil && !c.pending.empty() {
			f = &trafficFlush{id: make([]byte, 16), batch: c.pending}
			rand.Read(f.id)
			c.pending = newTrafficBatch()
		}
		c.mu.Unlock()
		if f == nil {
			return nil
		}
		if err := c.flush(ctx, f); err != nil {
			c.mu.Lock()
			c.doubt = f
			c.mu.Unlock()
			return err
		}
		if !doubtful {
			return nil // what was counted meanwhile goes with the next flush
		}
		// Settled: go on with what was counted while it was in doubt.
	}
}

func (c *TrafficCounter) flush(ctx context.Context, f *trafficFlush) (err error) {
	var hours []time.Time
	var dials, answers, aborts, failures []int64
	for _, h := range f.batch.hours {
		hours = append(hours, h.Hour)
		dials, answers = append(dials, h.Dials), append(answers, h.Answers)
		aborts, failures = append(aborts, h.Aborts), append(failures, h.Failures)
	}
	var slots []time.Time
	var sDials, sSteps, sFailures, submitted, delivered, failed []int64
	for _, sl := range f.batch.slots {
		slots = append(slots, sl.At)
		sDials, sSteps, sFailures = append(sDials, sl.USSDDials), append(sSteps, sl.USSDSteps), append(sFailures, sl.USSDFailures)
		submitted, delivered, failed = append(submitted, sl.SMSSubmitted), append(delivered, sl.SMSDelivered), append(failed, sl.SMSFailed)
	}
	// One statement, so atomic: the id is recorded exactly when the counts
	// are added, and an id seen before adds nothing. Rows are locked in one
	// order (ORDER BY) by every instance.
	_, err = c.db.pool.Exec(ctx, `
		WITH f AS (
			INSERT INTO ussd_traffic_flushes (id, flushed_at) VALUES ($6, $7)
			ON CONFLICT (id) DO NOTHING RETURNING id
		), old AS (
			DELETE FROM ussd_traffic_flushes WHERE id = ANY(ARRAY(
				SELECT id FROM ussd_traffic_flushes WHERE flushed_at < $7::timestamptz - interval '1 day' LIMIT 100))
		), old_slots AS (
			DELETE FROM traffic_slots WHERE at = ANY(ARRAY(
				SELECT at FROM traffic_slots WHERE at < $7::timestamptz - interval '1 day' LIMIT 100))
		), slots AS (
			INSERT INTO traffic_slots AS t (at, ussd_dials, ussd_steps, ussd_failures, sms_submitted, sms_delivered, sms_failed)
			SELECT * FROM unnest($8::timestamptz[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
			WHERE EXISTS (SELECT 1 FROM f)
			ORDER BY 1
			ON CONFLICT (at) DO UPDATE SET ussd_dials = t.ussd_dials + excluded.ussd_dials,
				ussd_steps = t.ussd_steps + excluded.ussd_steps, ussd_failures = t.ussd_failures + excluded.ussd_failures,
				sms_submitted = t.sms_submitted + excluded.sms_submitted, sms_delivered = t.sms_delivered + excluded.sms_delivered,
				sms_failed = t.sms_failed + excluded.sms_failed
		)
		INSERT INTO ussd_traffic AS t (hour, dials, answers, aborts, failures)
		SELECT * FROM unnest($1::timestamptz[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
		WHERE EXISTS (SELECT 1 FROM f)
		ORDER BY 1
		ON CONFLICT (hour) DO UPDATE SET dials = t.dials + excluded.dials, answers = t.answers + excluded.answers,
			aborts = t.aborts + excluded.aborts, failures = t.failures + excluded.failures`,
		hours, dials, answers, aborts, failures, f.id, c.db.now(),
		slots, sDials, sSteps, sFailures, submitted, delivered, failed)
	if err == nil && c.afterFlush != nil {
		err = c.afterFlush()
	}
	if err != nil {
		return fmt.Errorf("flush traffic: %w", interpretError(err))
	}
	return nil
}

// Wrap returns a USSDService that counts every step it passes to next.
// Every transport (SMPP, HTTP adapters, the console's emulator) should use
// the wrapped service, so that the report covers them all.
func (c *TrafficCounter) Wrap(next care360.USSDService) care360.USSDService {
	return countedUSSD{next: next, c: c}
}

type countedUSSD struct {
	next care360.USSDService
	c    *TrafficCounter
}

func (u countedUSSD) Step(ctx context.Context, req care360.USSDRequest) (care360.USSDReply, error) {
	reply, err := u.next.Step(ctx, req)
	u.c.Count(req.Kind, err != nil)
	return reply, err
}
