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
	smsWeek     = flag.Int("sms-week", 0, "marketing SMS the members were sent in the week before the fan-out figure (a busy week's daily-cap lookups)")
	smsDNC      = flag.Int("sms-dnc", 0, "numbers on the do-not-call list before the fan-out figure, sorting among the members' numbers")
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
//     set-based INSERT … SELECT, as POST /api/v1/campaigns runs it; then
//     that campaign sending for a while, its recipients moved into the
//     outbox as it goes.
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
	limit, limitCPU, err := pgbenchLimitCPU(dbURL, members, dur)
	if err != nil {
		return err
	}
	fmt.Printf("pgbench (the USSD step transaction): %.0f tx/s; CPU a transaction: %s\n\n", limit, limitCPU)

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

	var mt float64 // the MT median, for the campaign's send rate
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
		mt = med
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
		gw.stop() // the campaign's own gateway keeps a window of the whole day
		if err := fanoutRun(ctx, dbURL, sim, bin, fanout, runs, mt, dur); err != nil {
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
	cpuBefore := settledCPU(int(gatewayPID.Load()))
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
	delivered, used := time.Since(start), sampleCPU(int(gatewayPID.Load())).sub(cpuBefore)
	rate := float64(n) / submitted.Seconds()
	if run >= 0 {
		fmt.Printf("run %d: %.0f messages/s submitted and recorded (%s; all at the simulator after %s); receipts recorded after %s; %d submit_sm; CPU a message, sent and its receipt recorded: %s\n",
			run+1, rate, submitted.Round(time.Millisecond), atSim.Round(time.Millisecond), delivered.Round(time.Millisecond), sim.Submits()-before,
			used.per(int64(n), "the simulator"))
	}
	return rate, nil
}

// fanoutRun creates a campaign to every active member and times it, runs
// times (each cancelled before the next): one transaction that records
// every recipient and moves the first part into the outbox. Then a gateway
// sends one more such campaign for dur, moving the rest
// into the outbox a chunk at a time as it goes, and the rate at which the
// campaign's SMS reach the simulator is shown next to mt, the MT figure of
// the same run (messages already in the outbox): what the fan-out leaves
// for later is paid there. Last, the campaign is cancelled and checked:
// every recipient sent at most once, and each one accounted for.
func fanoutRun(ctx context.Context, dbURL string, sim *smsc.Server, bin string, want, runs int, mt float64, dur time.Duration) error {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh") // serve's default zone: the marketing window is in it
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, dbURL, store.Options{Location: loc})
	if err != nil {
		return err
	}
	defer db.Close()
	sms := store.NewSMS(db, care360.SMSRules{WindowOpen: 0, WindowClose: 24 * time.Hour})
	fmt.Printf("== Campaign fan-out to %d members (goal: 1,000,000 in < 5 s)\n", want)
	if *smsWeek > 0 {
		if err := busyWeek(ctx, db, *smsWeek, want); err != nil {
			return err
		}
	}
	if *smsDNC > 0 {
		if err := doNotCall(ctx, db, *smsDNC, want); err != nil {
			return err
		}
	}
	var took []time.Duration
	var c *care360.Campaign
	for i := range runs + 1 {
		start := time.Now()
		c, _, err = sms.CreateCampaign(ctx, care360.NewCampaign{
			Name: fmt.Sprint("bench ", i), Text: "Chào {name}, hạng {tier} của quý khách có ưu đãi mới tháng này.",
		})
		if err != nil {
			return err
		}
		d := time.Since(start)
		if c.Recipients != int64(want) {
			return fmt.Errorf("fan-out reached %d of %d members", c.Recipients, want)
		}
		if i == runs {
			break // the last one sends
		}
		took = append(took, d)
		fmt.Printf("run %d: %d recipients recorded in %s (%.0f/s), the first %d in the outbox\n",
			i+1, c.Recipients, d.Round(time.Millisecond), float64(c.Recipients)/d.Seconds(), countQueued(ctx, db, c.ID))
		if _, err := sms.CancelCampaign(ctx, c.ID); err != nil {
			return err
		}
	}
	slices.Sort(took)
	fmt.Printf("fan-out min %s / median %s / max %s\n", took[0].Round(time.Millisecond),
		took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))

	first := countQueued(ctx, db, c.ID) // the first part, in the outbox from the request
	gw, err := startBound(sim, bin, dbURL, `{"sms": {"marketing_window": "00:00-24:00"}}`)
	if err != nil {
		return err
	}
	before := sim.Submits()
	start := time.Now()
	time.Sleep(dur)
	sent := sim.Submits() - before
	rate := float64(sent) / time.Since(start).Seconds()
	gw.stop()
	x, err := sms.CancelCampaign(ctx, c.ID)
	if err != nil {
		return err
	}
	var all, numbers int64
	if err := db.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT msisdn) FROM sms_messages WHERE campaign_id = $1`, c.ID).
		Scan(&all, &numbers); err != nil {
		return err
	}
	p := x.Progress
	ratio := "no MT figure this run"
	if mt > 0 {
		ratio = fmt.Sprintf("%.2f × the MT figure", rate/mt)
	}
	fmt.Printf("the campaign sending: %d SMS in %s = %.0f/s (%s), recipients moved into the outbox as it went; cancelled: %d sent, %d failed or dropped, %d still in flight\n\n",
		sent, dur, rate, ratio, p.Sent, p.Failed, p.Queued+p.Held)
	if p.Sent <= first {
		fmt.Println("(no part moved into the outbox while it sent: the figure is the first part's alone)")
	}
	if all != numbers || p.Sent+p.Failed+p.Queued+p.Held != x.Recipients {
		return fmt.Errorf("campaign %d: %d messages to %d numbers, progress %+v of %d recipients", c.ID, all, numbers, p, x.Recipients)
	}
	return nil
}

// busyWeek records n marketing SMS sent three days ago to the members
// numbered as seed numbers them, round-robin over the first members.
func busyWeek(ctx context.Context, db *store.DB, n, members int) error {
	start := time.Now()
	if _, err := db.Pool().Exec(ctx, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, submitted_at, created_at)
		SELECT '84' || (900000001 + g % $2::int)::text, 'Uu dai tuan truoc', 'marketing', 'submitted', 'week:' || g, t, t, t
		FROM generate_series(0, $1::int - 1) g, (SELECT now() - interval '3 days' AS t) w`, n, members); err != nil {
		return err
	}
	if _, err := db.Pool().Exec(ctx, `VACUUM ANALYZE sms_messages`); err != nil {
		return err
	}
	fmt.Printf("(a busy week: %d marketing SMS sent three days before, recorded in %s)\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// doNotCall lists n numbers as do-not-call. The seeded members hold
// consecutive numbers, where a national list's numbers fall among those of
// members spread over the numbering plan; so each listed number is a
// member's with one more digit, sorting right after it, round-robin over
// the members.
func doNotCall(ctx context.Context, db *store.DB, n, members int) error {
	start := time.Now()
	if _, err := db.Pool().Exec(ctx, `
		INSERT INTO sms_dnc (msisdn, imported_at)
		SELECT '84' || (900000001 + g % $2::int)::text || (g / $2::int)::text, now()
		FROM generate_series(0, $1::int - 1) g`, n, members); err != nil {
		return err
	}
	if _, err := db.Pool().Exec(ctx, `VACUUM ANALYZE sms_dnc`); err != nil {
		return err
	}
	fmt.Printf("(a do-not-call list of %d numbers among the members', recorded in %s)\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// countQueued counts campaign id's messages in the outbox.
func countQueued(ctx context.Context, db *store.DB, id int64) int64 {
	var n int64
	db.Pool().QueryRow(ctx, `SELECT count(*) FROM sms_queue WHERE campaign_id = $1`, id).Scan(&n)
	return n
}
