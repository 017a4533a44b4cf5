package main

// The USSD latency figure while a campaign sends (PERFORMANCE.md: p99 <
// 20 ms at 1,000 steps/s while a 100,000-message campaign sends; PRODUCT.md
// §8: screens never wait behind bulk SMS).

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/store"
)

var (
	latencyOnly = flag.Bool("latency-only", false, "run only the paced latency figures, without and with a campaign sending")
	ussdOnly    = flag.Bool("ussd-only", false, "run only the USSD step figures: the pgbench limit, steps/s at saturation and the paced latency, without and with a campaign sending")
	levelsOnly  = flag.Bool("levels-only", false, "run only the concurrent dialogues table (with -levels)")
)

// campaignLatency creates a marketing campaign to every seeded member (as
// POST /api/v1/campaigns does) and, while a gateway sends it over the same
// bind, offers rate steps/s of dialogues; it prints their latency and how
// many of the campaign's messages went out meanwhile, so that a figure
// taken while nothing was sending is not mistaken for one. The phase's
// gateway and its campaign keep a marketing window of the whole day
// (sms.marketing_window "00:00-24:00"): the figure is about screens
// against bulk SMS, whatever the hour the bench runs at.
func campaignLatency(ctx context.Context, sim *smsc.Server, bin, dbURL string, phones, members, rate int, dur time.Duration) error {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh") // serve's default zone: the marketing window is in it
	if err != nil {
		return err
	}
	gw, err := startBound(sim, bin, dbURL, `{"sms": {"marketing_window": "00:00-24:00"}}`)
	if err != nil {
		return err
	}
	defer gw.stop()
	warmUp(sim, phones, members)

	db, err := store.Open(ctx, dbURL, store.Options{Location: loc})
	if err != nil {
		return err
	}
	defer db.Close()
	sms := store.NewSMS(db, care360.SMSRules{WindowOpen: 0, WindowClose: 24 * time.Hour})
	start := time.Now()
	c, _, err := sms.CreateCampaign(ctx, care360.NewCampaign{Name: "bench latency", Text: "Uu dai thang nay danh cho quy khach."})
	if err != nil {
		return err
	}
	fmt.Printf("== Latency at an offered %d steps/s while a campaign of %d messages sends (queued in %s)\n",
		rate, c.Recipients, time.Since(start).Round(time.Millisecond))
	before := sim.Submits()
	var (
		samples []traceSample
		traced  = make(chan struct{})
	)
	tctx, stopTrace := context.WithCancel(ctx)
	if *latencyTrace {
		go func() { defer close(traced); samples = trace(tctx, sim, dbURL) }()
	} else {
		close(traced)
	}
	r := load(sim, max(phones, rate/10), members, dur, rate)
	stopTrace()
	<-traced
	during := sim.Submits() - before
	if *latencyTrace {
		printSlowWindows(r, samples)
	}
	fmt.Printf("paced: %s; %d of the campaign's SMS submitted during the run\n", r, during)
	// Stop it, so that later figures measure what they say.
	x, err := sms.CancelCampaign(ctx, c.ID)
	if err != nil {
		return err
	}
	if x.Progress.Sent == 0 {
		fmt.Println("(the campaign did not send during the run: outside the marketing window? this figure is without one)")
	}
	left := x.Progress.Failed
	fmt.Printf("%d of the campaign's messages were not yet sent at the end; cancelled\n\n", left)
	return nil
}

var latencyTrace = flag.Bool("latency-trace", false, "with the campaign's latency figure: sample the SMS submitted, WAL written and Postgres's active backends every 50 ms, and print the 100 ms windows with the most steps over 20 ms")

// traceSample is what the machine was doing at one moment of the run.
type traceSample struct {
	when    time.Time
	submits uint64
	wal     int64         // bytes of WAL written so far
	active  string        // Postgres's active backends, by what they wait on
	busy    time.Duration // the machine's CPU so far
	gateway time.Duration // the gateway's CPU so far
	late    time.Duration // how late this sample was taken
}

// trace samples every 50 ms until ctx ends.
func trace(ctx context.Context, sim *smsc.Server, dbURL string) []traceSample {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		fmt.Printf("(no trace: %v)\n", err)
		return nil
	}
	defer conn.Close(context.Background())
	var out []traceSample
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	next := time.Now()
	for {
		now := time.Now()
		s := traceSample{when: now, submits: sim.Submits(), late: now.Sub(next)}
		s.busy, _ = machineBusy()
		if st, err := procStat(int(gatewayPID.Load())); err == nil {
			s.gateway = st.cpu
		}
		next = now.Add(50 * time.Millisecond)
		err := conn.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0')::bigint,
			coalesce((SELECT string_agg(w || '×' || n, ' ' ORDER BY n DESC) FROM (
				SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') || '(' || CASE backend_type WHEN 'client backend' THEN left(regexp_replace(query, '\s+', ' ', 'g'), 24) ELSE backend_type END || ')' AS w, count(*) AS n
				FROM pg_stat_activity  WHERE (state = 'active' OR backend_type NOT IN ('client backend', 'walsender')) AND wait_event_type IS DISTINCT FROM 'Activity' AND pid <> pg_backend_pid() GROUP BY 1) a), '')`).Scan(&s.wal, &s.active)
		if err != nil {
			if ctx.Err() != nil {
				return out // the run ended during the query
			}
			s.active = fmt.Sprintf("(not sampled: %v)", err)
			if len(out) > 0 {
				s.wal = out[len(out)-1].wal // so the next delta is not the whole WAL
			}
		}
		out = append(out, s)
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
	}
}

// printSlowWindows prints the 100 ms windows of r with the most steps over
// 20 ms, each with what the samples taken in it saw.
func printSlowWindows(r result, samples []traceSample) {
	const width = 100 * time.Millisecond
	type window struct {
		slow, steps int
		max         time.Duration
	}
	ws := map[int]*window{}
	for i, l := range r.lat {
		k := int(r.at[i] / width)
		w := ws[k]
		if w == nil {
			w = &window{}
			ws[k] = w
		}
		w.steps++
		w.max = max(w.max, l)
		if l > 20*time.Millisecond {
			w.slow++
		}
	}
	keys := make([]int, 0, len(ws))
	total := 0
	for k, w := range ws {
		keys = append(keys, k)
		total += w.slow
	}
	slices.SortFunc(keys, func(a, b int) int { return ws[b].slow - ws[a].slow })
	fmt.Printf("steps over 20 ms: %d of %d; the worst 100 ms windows:\n", total, len(r.lat))
	for _, k := range keys[:min(8, len(keys))] {
		w := ws[k]
		if w.slow == 0 {
			break
		}
		from, to := time.Duration(k)*width, time.Duration(k+1)*width
		fmt.Printf("  %5.1f s: %d of %d steps slow, max %s", from.Seconds(), w.slow, w.steps, w.max.Round(100*time.Microsecond))
		for i := 1; i < len(samples); i++ {
			a, b := samples[i-1], samples[i]
			at := b.when.Sub(r.start)
			if at < from-width || a.when.Sub(r.start) > to {
				continue
			}
			span := b.when.Sub(a.when)
			fmt.Printf("\n      %6.2f s (%s late): machine %3.0f %%, gateway %3.0f %%; +%d SMS, +%d kB WAL; %s", at.Seconds(), b.late.Round(time.Millisecond),
				100*float64(b.busy-a.busy)/float64(span)/float64(runtime.NumCPU()), 100*float64(b.gateway-a.gateway)/float64(span),
				b.submits-a.submits, (b.wal-a.wal)/1024, b.active)
		}
		fmt.Println()
	}
}
