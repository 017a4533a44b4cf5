package main

// The SMS outbox figures (issue 4): how fast `care360 serve` empties a
// durable outbox into the simulator, and how long a campaign takes to fan out
// to every member, next to the pgbench limit measured in the same run.

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/store"
)

var (
	smsOnly     = flag.Bool("sms-only", false, "run only the SMS outbox figures")
	smsMessages = flag.Int("sms-messages", 100_000, "messages per outbox run (0 skips the SMS figures)")
	smsFanout   = flag.Int("sms-fanout", 1_000_000, "campaign recipients for the fan-out figure (0 skips it)")
)

// kannelGoal is PERFORMANCE.md's target: Kannel 1.4.5 without a message
// store, HTTP in to SMPP out, on one of these machines.
const kannelGoal = 13_000

// smsPhase measures, on a database of its own:
//
//  1. the pgbench limit (the same one-step transaction as the USSD figures);
//  2. MT throughput: n transactional messages are committed to the outbox in
//     one statement while bin/care360 serve is bound to the simulator (TPS
//     limit off, window 256); timed from that commit until every message is
//     recorded as submitted in Postgres (the simulator's count is shown too);
//     receipts follow, and their recording is timed as well;
//  3. fan-out: a campaign to every member, through the store's own
//     set-based INSERT … SELECT, as POST /api/v1/campaigns runs it.
func smsPhase(ctx context.Context, admin, bin string, runs int, dur time.Duration) error {
	n, fanout, pushN := *smsMessages, *smsFanout, *pushTargets
	if *pushesOnly {
		n, fanout = 0, 0
	}
	if n <= 0 && fanout <= 0 && pushN <= 0 {
		return nil
	}
	dbURL, err := freshDatabase(ctx, admin, "care360_bench_sms")
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	members := max(fanout, pushN, 10_000)
	start := time.Now()
	if err := seed(ctx, dbURL, members); err != nil {
		return err
	}
	fmt.Printf("== SMS: %d members seeded in %s\n", members, time.Since(start).Round(time.Millisecond))
	limit, err := pgbenchLimit(dbURL, members, dur)
	if err != nil {
		return err
	}
	fmt.Printf("pgbench (the USSD step transaction): %.0f tx/s\n\n", limit)

	// Receipts a second after the submit, as a handset's would at best: at
	// once they would mostly overtake the record of their own submit.
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret",
		ResponseTimeout: 10 * time.Second, ReceiptDelay: time.Second})
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Close()
	gw, err := startBound(sim, bin, dbURL, "")
	if err != nil {
		return err
	}
	defer gw.stop()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)

	if n > 0 {
		fmt.Printf("== MT from the durable outbox: %d transactional messages per run, bin/care360 serve (window 256, TPS limit off), receipts asked\n", n)
		if _, err := outboxRun(ctx, conn, sim, min(n, 10_000), -1); err != nil { // warm up
			return err
		}
		var rates []float64
		for i := range runs {
			r, err := outboxRun(ctx, conn, sim, n, i)
			if err != nil {
				return err
			}
			rates = append(rates, r)
		}
		slices.Sort(rates)
		med := rates[len(rates)/2]
		fmt.Printf("messages/s min %.0f / median %.0f / max %.0f; median = %.2f × the pgbench limit, %.2f × Kannel's %d/s\n\n",
			rates[0], med, rates[len(rates)-1], med/limit, med/kannelGoal, kannelGoal)
	}
	if *kannelRuns && n > 0 {
		if err := kannelPhase(n, runs); err != nil {
			return err
		}
	}
	if pushN > 0 {
		if err := pushRuns(ctx, dbURL, sim, pushN, runs, limit); err != nil {
			return err
		}
	}
	if fanout > 0 {
		if err := fanoutRun(ctx, dbURL, fanout); err != nil {
			return err
		}
	}
	return nil
}

// outboxRun commits n messages to the outbox in one statement and waits
// until the gateway has recorded every one as submitted, then until every
// receipt is recorded; it prints both and returns messages/s to submitted.
func outboxRun(ctx context.Context, conn *pgx.Conn, sim *smsc.Server, n, run int) (float64, error) {
	before := sim.Submits()
	var first int64
	err := conn.QueryRow(ctx, `
		WITH m AS (
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at)
			SELECT '84' || (900000001 + g % 100000)::text, 'Ma qua tang cua quy khach: ' || g, 'transactional',
				'bench-' || $2::int || '-' || g, now(), now()
			FROM generate_series(1, $1::int) g
			RETURNING id
		), q AS (
			INSERT INTO sms_queue (message_id, priority, not_before) SELECT id, 0, now() FROM m
		)
		SELECT min(id) FROM m`, n, run).Scan(&first)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	start := time.Now()
	var atSim time.Duration
	count := func(sql string) (int64, error) {
		var k int64
		err := conn.QueryRow(ctx, sql, first).Scan(&k)
		return k, err
	}
	// Whether any of the run's messages is left, not how many: counting
	// the queue every 20 ms took 29 ms a count, a backend's worth of the
	// CPU the sender being measured needs.
	for {
		if atSim == 0 && sim.Submits()-before >= uint64(n) {
			atSim = time.Since(start)
		}
		var left bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sms_queue WHERE message_id >= $1)`, first).Scan(&left); err != nil {
			return 0, err
		}
		if !left {
			break
		}
		if time.Since(start) > 10*time.Minute {
			k, _ := count(`SELECT count(*) FROM sms_queue WHERE message_id >= $1`)
			return 0, fmt.Errorf("outbox not empty after 10 minutes (%d left)", k)
		}
		time.Sleep(20 * time.Millisecond)
	}
	submitted := time.Since(start)
	if atSim == 0 {
		atSim = submitted
	}
	for {
		open, err := count(`SELECT count(*) FROM sms_messages WHERE id >= $1 AND status = 'submitted'`)
		if err != nil {
			return 0, err
		}
		if open == 0 || time.Since(start) > 10*time.Minute {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	delivered := time.Since(start)
	rate := float64(n) / submitted.Seconds()
	if run >= 0 {
		fmt.Printf("run %d: %.0f messages/s submitted and recorded (%s; all at the simulator after %s); receipts recorded after %s; %d submit_sm\n",
			run+1, rate, submitted.Round(time.Millisecond), atSim.Round(time.Millisecond), delivered.Round(time.Millisecond), sim.Submits()-before)
	}
	return rate, nil
}

// fanoutRun creates a campaign to every active member and times it: one
// transaction that renders and schedules every recipient's message.
func fanoutRun(ctx context.Context, dbURL string, want int) error {
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	sms := store.NewSMS(db, care360.SMSRules{})
	start := time.Now()
	c, _, err := sms.CreateCampaign(ctx, care360.NewCampaign{
		Name: "bench", Text: "Chào {name}, hạng {tier} của quý khách có ưu đãi mới tháng này.",
	})
	if err != nil {
		return err
	}
	took := time.Since(start)
	// CreateCampaign ends by refreshing the outbox's statistics; time that
	// part again to show what the fan-out itself took.
	start = time.Now()
	if _, err := db.Pool().Exec(ctx, `ANALYZE sms_queue, sms_messages`); err != nil {
		return err
	}
	analyze := time.Since(start)
	fmt.Printf("== Campaign fan-out: %d recipients enqueued in %s (%.0f/s; goal: 1,000,000 in < 5 s), of which about %s refreshing statistics\n",
		c.Recipients, took.Round(time.Millisecond), float64(c.Recipients)/took.Seconds(), analyze.Round(time.Millisecond))
	if c.Recipients != int64(want) {
		return fmt.Errorf("fan-out reached %d of %d members", c.Recipients, want)
	}
	// The gateway would now send them; pause so that nothing else runs on.
	_, err = sms.PauseCampaign(ctx, c.ID)
	return err
}
