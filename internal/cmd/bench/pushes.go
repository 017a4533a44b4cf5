package main

// The push figure (PRODUCT.md §3.6, PERFORMANCE.md): a notification pushed
// to a segment of members goes through the durable push queue, each
// instance's pusher opens every target's dialogue and submits it over the
// USSD bind, and the simulator's phones acknowledge it; measured as
// targets submitted and recorded per second, next to the pgbench limit of
// the same run.

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/store"
)

var (
	pushTargets = flag.Int("push-targets", 100_000, "members of the pushed segment (0 skips the push figure)")
	pushesOnly  = flag.Bool("pushes-only", false, "run only the push figure (within the SMS phase's setup)")
)

// pushRuns pushes a notification to the first n seeded members runs times
// and prints min/median/max of targets sent per second as ratios to limit.
func pushRuns(ctx context.Context, dbURL string, sim *smsc.Server, n, runs int, limit float64) error {
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	pushes := store.NewPushes(store.NewSMS(db, care360.SMSRules{}), time.Hour, "*090#")
	// The pgbench limit leaves a dialogue for most members (its reference
	// transaction upserts one): to the pusher they are dialogues in
	// progress, and a push waits for them. They are not real; clear them.
	if _, err := db.Pool().Exec(ctx, `DELETE FROM ussd_dialogues`); err != nil {
		return err
	}
	members := make([]care360.MSISDN, n)
	for i := range members {
		members[i] = care360.MSISDN(fmt.Sprintf("84%d", 900000001+i))
	}
	fmt.Printf("== USSD pushes: a notification to a segment of %d members per run, bin/care360 serve (window 256, TPS limit off); the simulator's phones acknowledge each\n", n)
	var rates []float64
	for run := range runs {
		cpuBefore := settledCPU(int(gatewayPID.Load()))
		start := time.Now()
		p, _, err := pushes.CreatePush(ctx, care360.NewPush{Segment: &care360.Segment{MSISDNs: members}, Kind: care360.PushNotify,
			Text: fmt.Sprintf("Diem cua quy khach sap het han (%d)", run), ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			return err
		}
		queued := time.Since(start)
		if p.Targets != int64(n) {
			return fmt.Errorf("push reached %d of %d members", p.Targets, n)
		}
		// Whether any target is left queued, not how many: a count every
		// 20 ms took 13 ms, CPU the pusher being measured needs. The first
		// of the push's queued targets by their index, on a connection
		// with sequential scans off: with ORDER BY not_before, the cached
		// generic plan read every queued target of the push and sorted
		// them (22 ms a poll, 1,111 blocks), and the planner, expecting
		// many rows, would scan the table for one once none is left.
		poll, err := db.Pool().Acquire(ctx)
		if err != nil {
			return err
		}
		if _, err := poll.Exec(ctx, `SET enable_seqscan = off`); err != nil {
			poll.Release()
			return err
		}
		for {
			var left bool
			err := poll.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ussd_push_targets WHERE push_id = $1 AND state = 'queued')`, p.ID).Scan(&left)
			if err == nil && !left {
				break
			}
			if err == nil && time.Since(start) > 10*time.Minute {
				err = fmt.Errorf("push %d: targets still queued after 10 minutes", p.ID)
			}
			if err != nil {
				poll.Release()
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
		_, err = poll.Exec(ctx, `RESET enable_seqscan`)
		poll.Release()
		if err != nil {
			return err
		}
		took, used := time.Since(start), sampleCPU(int(gatewayPID.Load())).sub(cpuBefore)
		// Every target went out exactly once: one push at each phone
		// for this run's text, and every target recorded as sent or
		// acknowledged.
		p, err = pushes.Push(ctx, p.ID)
		if err != nil {
			return err
		}
		shown := 0
		for _, m := range members {
			for _, got := range sim.Pushes(string(m)) {
				if got.Text == p.Text {
					shown++
				}
			}
		}
		if out := p.Counts[care360.PushSent] + p.Counts[care360.PushCompleted]; out != int64(n) || shown != n {
			return fmt.Errorf("push %d: %d recorded sent or completed and %d shown, want %d each (counts %v)", p.ID, out, shown, n, p.Counts)
		}
		rate := float64(n) / took.Seconds()
		rates = append(rates, rate)
		fmt.Printf("run %d: %.0f pushes/s submitted and recorded (%s, of which %s queueing the targets); %d acknowledged by then; CPU a push: %s\n",
			run+1, rate, took.Round(time.Millisecond), queued.Round(time.Millisecond), p.Counts[care360.PushCompleted],
			used.per(int64(n), "the simulator"))
	}
	slices.Sort(rates)
	med := rates[len(rates)/2]
	fmt.Printf("pushes/s min %.0f / median %.0f / max %.0f; median = %.2f × the pgbench limit (goal ≥ 1.0 ×)\n\n",
		rates[0], med, rates[len(rates)-1], med/limit)
	return nil
}
