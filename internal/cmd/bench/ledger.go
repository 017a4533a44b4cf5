package main

// The ledger figures (issue 6): billing usage ingested through the API of a
// real `care360 serve` process over HTTP on loopback (accepted events/s, and
// how soon they are all posted to the ledger), and the import of a million
// subscribers through POST /api/v1/subscribers:import, next to the pgbench
// limit measured in the same run.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/store"
)

var (
	ledgerOnly   = flag.Bool("ledger-only", false, "run only the usage and import figures")
	usageEvents  = flag.Int("usage-events", 1_000_000, "usage events per run (0 skips the usage figures)")
	usageBatch   = flag.Int("usage-batch", 10_000, "events per POST /api/v1/usage")
	usageClients = flag.Int("usage-clients", 4, "concurrent feed clients")
	usageMembers = flag.Int("usage-members", 100_000, "members the events spread over")
	usageHours   = flag.Int("usage-hours", 1, "local hours each run's events fall in: 1, or 2 (the half hours either side of an hour's start)")
	usageSteady  = flag.Duration("usage-steady", 3*time.Minute, "how long to feed usage at a steady rate while sampling the backlog (0 skips it)")
	steadyRatio  = flag.Float64("usage-steady-ratio", 10, "the steady feed's rate, as a multiple of the limit (the goal: 10)")
	importRows   = flag.Int("import-rows", 1_000_000, "rows per import run (0 skips the import figures)")
)

const (
	usageGoal     = 100_000.0 // events/s, PERFORMANCE.md
	importTimeout = 10 * time.Minute
)

// ledgerPhase measures, on a database of its own with bin/care360 serve
// (its scheduler posting usage, as in production):
//
//  1. usage ingest: runs of n events (1 % refunds) spread over the members,
//     pre-encoded in batches and POSTed by several clients at once; accepted
//     events/s is n over the time until the last batch is answered, and
//     posted events/s is n over the time until the pending queue is empty
//     (every point on the ledger, tiers upgraded, SMS queued);
//  2. import: a CSV of m new subscribers per run, uploaded in one request,
//     while a second client follows GET /api/v1/imports/{id}.
func ledgerPhase(ctx context.Context, admin, bin string, runs int, dur time.Duration) error {
	if *usageEvents <= 0 && *importRows <= 0 {
		return nil
	}
	dbURL, err := freshDatabase(ctx, admin, "care360_bench_ledger")
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	members := max(*usageMembers, 1000)
	if err := seed(ctx, dbURL, members); err != nil {
		return err
	}
	limit, limitCPU, err := pgbenchLimitCPU(dbURL, members, dur)
	if err != nil {
		return err
	}
	fmt.Printf("== Ledger: %d members; pgbench (the USSD step transaction): %.0f tx/s; CPU a transaction: %s\n", members, limit, limitCPU)
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 10 * time.Second})
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Close()
	gw, err := startGateway(bin, dbURL, sim.Addr())
	if err != nil {
		return err
	}
	defer gw.stop()
	api := &apiClient{base: "http://" + gw.http, token: adminToken, c: &http.Client{Timeout: importTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	if err := api.waitUp(ctx); err != nil {
		return fmt.Errorf("%w (log: %s)", err, gw.log)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)

	if n := *usageEvents; n > 0 {
		fmt.Printf("== Usage ingest: %d events per run in batches of %d, %d clients, POST /api/v1/usage over loopback to bin/care360 serve; each run's events in %d local hour(s)\n",
			n, *usageBatch, *usageClients, *usageHours)
		if _, _, err := usageRun(ctx, api, conn, members, min(n, 50_000), -1); err != nil { // warm up
			return err
		}
		var accepted, posted []float64
		for i := range runs {
			a, p, err := usageRun(ctx, api, conn, members, n, i)
			if err != nil {
				return err
			}
			accepted, posted = append(accepted, a), append(posted, p)
		}
		// The limit again, after the runs: on these machines pgbench moves
		// by a quarter between invocations a few minutes apart, so one
		// measurement before the runs made the ratios swing with it. The
		// runs are set against the mean of the two. It waits for
		// autovacuum's visits to what the runs wrote, which would lower
		// it, and finds pgbench's table as the first measurement did:
		// empty (no USSD traffic in this phase), not full of the rows it
		// upserted.
		waited, err := autovacuumDone(ctx, conn, 2*time.Minute)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `TRUNCATE ussd_dialogues`); err != nil {
			return err
		}
		after, afterCPU, err := pgbenchLimitCPU(dbURL, members, dur)
		if err != nil {
			return err
		}
		fmt.Printf("pgbench after the usage runs (and %s for autovacuum to finish): %.0f tx/s; CPU a transaction: %s; the usage ratios are to the mean, %.0f tx/s\n",
			waited.Round(100*time.Millisecond), after, afterCPU, (limit+after)/2)
		limit = (limit + after) / 2
		for _, f := range []struct {
			what  string
			rates []float64
		}{{"accepted", accepted}, {"posted", posted}} {
			slices.Sort(f.rates)
			med := f.rates[len(f.rates)/2]
			fmt.Printf("%s events/s min %.0f / median %.0f / max %.0f; median = %.2f × the pgbench limit, %.2f × the goal of %.0f/s\n",
				f.what, f.rates[0], med, f.rates[len(f.rates)-1], med/limit, med/usageGoal, usageGoal)
		}
		if *usageSteady > 0 {
			if err := steadyUsage(ctx, api, conn, dbURL, members, runs, *steadyRatio*limit, *usageSteady); err != nil {
				return err
			}
		}
		fmt.Println()
	}
	if m := *importRows; m > 0 {
		fmt.Printf("== Import: %d new subscribers per run, one CSV upload to POST /api/v1/subscribers:import\n", m)
		var rates []float64
		for i := range runs {
			r, err := importRun(ctx, api, m, i)
			if err != nil {
				return err
			}
			rates = append(rates, r)
		}
		slices.Sort(rates)
		fmt.Printf("rows/s min %.0f / median %.0f / max %.0f\n\n", rates[0], rates[len(rates)/2], rates[len(rates)-1])
	}
	return nil
}

// usageRun feeds n events as fast as the gateway takes them and returns
// accepted and posted events/s.
func usageRun(ctx context.Context, api *apiClient, conn *pgx.Conn, members, n, run int) (accepted, posted float64, err error) {
	batches, want := usageBatches(members, n, run)
	return feedUsage(ctx, api, conn, batches, want, n, run, 0)
}

// feedUsage sends the encoded batches of n events, a batch every `every`
// (0: as fast as the gateway takes them), waits until all are posted,
// checks the ledger and returns accepted and posted events/s.
func feedUsage(ctx context.Context, api *apiClient, conn *pgx.Conn, batches [][]byte, want map[string]usagePoints, n, run int, every time.Duration) (accepted, posted float64, err error) {
	var mu sync.Mutex
	var firstErr error
	var ok int
	next := make(chan []byte)
	var wg sync.WaitGroup
	before := settledCPU(int(gatewayPID.Load()))
	start := time.Now()
	for range *usageClients {
		wg.Go(func() {
			for body := range next {
				var res struct{ Accepted, Duplicate, Rejected int }
				err := api.do(ctx, http.MethodPost, "/api/v1/usage", "application/json", bytes.NewReader(body), &res)
				mu.Lock()
				ok += res.Accepted
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for i, b := range batches {
		if every > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		}
		next <- b
	}
	close(next)
	wg.Wait()
	took := time.Since(start)
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if ok != n {
		return 0, 0, fmt.Errorf("run %d: %d of %d events accepted", run+1, ok, n)
	}
	// Whether any event is left, not how many: counting a backlog of
	// hundreds of thousands every 20 ms took a core's share from the
	// poster being measured. Every 100 ms, not 20: the takes leave the
	// queue's partitions full of dead rows until they are vacuumed, which
	// the question walks, 5–17 ms of Postgres a time by the end of a drain
	// (2.4 s a run, polled every 20 ms). The drain's end is then known to
	// within 100 ms, late rather than early.
	for {
		var left bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM usage_pending)`).Scan(&left); err != nil {
			return 0, 0, err
		}
		if !left {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return 0, 0, errors.New("usage not posted after 10 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	drained, used := time.Since(start), sampleCPU(int(gatewayPID.Load())).sub(before)
	credits, err := checkLedger(ctx, conn, run, want)
	if err != nil {
		return 0, 0, err
	}
	accepted, posted = float64(n)/took.Seconds(), float64(n)/drained.Seconds()
	if run >= 0 {
		fmt.Printf("run %d: %.0f events/s accepted (%s), %.0f events/s posted (all on the ledger after %s, %d ledger entries: %.1f events each); CPU an event, accepted and posted: %s\n",
			run+1, accepted, took.Round(time.Millisecond), posted, drained.Round(time.Millisecond), credits, float64(n)/float64(max(credits, 1)),
			used.per(int64(n), "the feed"))
	}
	return accepted, posted, nil
}

// steadyUsage feeds usage at rate events/s for d (the goal: posted at
// 10 × the limit, the backlog never growing under that feed), samples the
// pending backlog every d/12 until all is posted, and prints the samples:
// the one-off runs above measure how fast a burst is posted, this whether
// posting keeps up with a feed that does not stop.
func steadyUsage(ctx context.Context, api *apiClient, conn *pgx.Conn, dbURL string, members, run int, rate float64, d time.Duration) error {
	watch, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer watch.Close(ctx)
	batches := max(int(rate*d.Seconds())/(*usageBatch), 1)
	every := time.Duration(float64(*usageBatch) / rate * float64(time.Second))
	fmt.Printf("== Usage under a steady feed: a batch of %d every %s (%.0f events/s, %.3g × the mean limit) for %s; the backlog every %s\n",
		*usageBatch, every.Round(time.Millisecond), rate, *steadyRatio, d, (d / 12).Round(time.Second))
	n := batches * (*usageBatch)
	encoded, want := usageBatches(members, n, run)
	var samples []int64
	// The machine's busy time at the start and at each sample: whether
	// the cores had room left while fed says whether a backlog that grows
	// is the machine's limit or the gateway's.
	var busy []time.Duration
	done := make(chan struct{})
	var sampling sync.WaitGroup
	var sampleErr error
	busy0, err := machineBusy()
	if err != nil {
		return err
	}
	sampling.Go(func() {
		onTicks(done, d/12, func() bool {
			var left int64
			if sampleErr = watch.QueryRow(ctx, `SELECT count(*) FROM usage_pending`).Scan(&left); sampleErr != nil {
				return false
			}
			b, err := machineBusy()
			if sampleErr = err; err != nil {
				return false
			}
			samples, busy = append(samples, left), append(busy, b)
			return true
		})
	})
	start := time.Now()
	accepted, posted, err := feedUsage(ctx, api, conn, encoded, want, n, run, every)
	close(done)
	sampling.Wait()
	if err != nil {
		return err
	}
	if sampleErr != nil {
		return sampleErr
	}
	fed := float64(n) / accepted // the feed's seconds
	fmt.Printf("fed %d events at %.0f/s over %.1f s; all posted after %.1f s (%.0f/s); backlog samples: %v\n",
		n, accepted, fed, time.Since(start).Seconds(), posted, samples)
	// The least-squares slope of the samples taken while fed, as a share of
	// the feed's rate: a take empties a bucket at once, so single samples
	// saw-tooth, and the trend is what says whether posting keeps up. A
	// feed starts on an empty queue, and the backlog first rises to the
	// level where a pass takes as long as the feed needs to refill it (the
	// more a pass finds, the more events each credit folds in): that rise
	// is the queue forming, not posting falling behind. So the verdict is
	// the trend once the first quarter of the feed is over; the slope over
	// the whole feed is printed beside it.
	step := (d / 12).Seconds()
	feeding := samples[:min(len(samples), int(fed/step))]
	if len(feeding) >= 6 {
		k := len(feeding)
		whole := slope(feeding, 1, step)
		skip := k / 4
		formed := slope(feeding[skip:], skip+1, step)
		// Grew: by more than 2 % of the feed, and by more than a batch over
		// the feed (a batch is the saw-tooth's height).
		verdict := "held"
		if formed > 0.02*accepted && formed*fed > float64(*usageBatch) {
			verdict = "grew"
		}
		fmt.Printf("backlog while fed, once formed (from %.0f s): %+.0f events/s (%.1f %% of the feed): %s; over the whole feed %+.0f events/s (%.1f %%); the machine's cores %.0f %% busy meanwhile\n",
			float64(skip+1)*step, formed, 100*formed/accepted, verdict, whole, 100*whole/accepted,
			100*(busy[k-1]-busy0).Seconds()/(float64(k)*step*float64(runtime.NumCPU())))
	}
	return nil
}

// onTicks calls f every d until done is closed or f returns false.
func onTicks(done <-chan struct{}, d time.Duration, f func() bool) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if !f() {
				return
			}
		}
	}
}

// autovacuumDone waits, at most atMost, until no autovacuum worker is at work
// on the server, and returns how long it waited.
func autovacuumDone(ctx context.Context, conn *pgx.Conn, atMost time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		var busy bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker')`).Scan(&busy); err != nil {
			return 0, err
		}
		if waited := time.Since(start); !busy || waited >= atMost {
			return waited, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// usagePoints is what a run's events owe a member: their points netted,
// and those of its earning events alone.
type usagePoints struct {
	net, earned int64
	refunded    bool
}

// checkLedger compares the run's usage entries on the ledger with what its
// events owe each member (PRODUCT.md §4.1, the default rules): a member
// without refunds holds exactly the net, and one with refunds between the
// net (each refund taken whole) and its earnings (none taken: a refund
// never takes more than the member holds). It returns the entries' count.
func checkLedger(ctx context.Context, conn *pgx.Conn, run int, want map[string]usagePoints) (entries int64, err error) {
	rows, err := conn.Query(ctx, `SELECT msisdn, sum(points)::bigint, count(*) FROM points_ledger WHERE idempotency_key LIKE $1 GROUP BY msisdn`,
		fmt.Sprintf("usage:b%d-%%", run+1))
	if err != nil {
		return 0, err
	}
	got := map[string]int64{}
	var msisdn string
	var points, n int64
	if _, err := pgx.ForEachRow(rows, []any{&msisdn, &points, &n}, func() error {
		got[msisdn], entries = points, entries+n
		return nil
	}); err != nil {
		return 0, err
	}
	var wrong []string
	for m, w := range want {
		g := got[m]
		if (!w.refunded && g != w.net) || (w.refunded && (g < w.net || g > w.earned)) {
			wrong = append(wrong, fmt.Sprintf("%s holds %d, owed %d (%d earned)", m, g, w.net, w.earned))
		}
		delete(got, m)
	}
	for m, g := range got {
		wrong = append(wrong, fmt.Sprintf("%s holds %d and was owed nothing", m, g))
	}
	if len(wrong) > 0 {
		slices.Sort(wrong)
		return 0, fmt.Errorf("run %d: %d members' usage points wrong on the ledger, first: %s", run+1, len(wrong), wrong[0])
	}
	return entries, nil
}

// usageBatches pre-encodes n events spread at random over the seeded
// members and over one local hour (the hour before the run's, or with
// -usage-hours 2 the hour from half an hour before that one's start), 1 %
// of them refunds, so that the client's own JSON work is not in the
// measurement, and returns what they owe each member.
//
// The hours are fixed because they decide the work: a take credits each
// member once per local hour its events fall in. Spread over the half hour
// before the run, as they once were, the events of a run begun in the
// first half of an hour fell in two hours and those of a run begun in its
// second half in one, and a run posted 3.0 to 6.3 events a credit by the
// minute it began. Whole hours of the clock are local hours: the gateway's
// zone (Asia/Ho_Chi_Minh) is a whole number of hours from UTC.
func usageBatches(members, n, run int) ([][]byte, map[string]usagePoints) {
	rnd := rand.New(rand.NewPCG(uint64(run+2), 7))
	from := time.Now().Truncate(time.Hour).Add(-time.Hour)
	if *usageHours == 2 {
		from = from.Add(-30 * time.Minute)
	}
	type event struct {
		MSISDN string    `json:"msisdn"`
		Amount int64     `json:"amount_vnd"`
		At     time.Time `json:"at"`
		ID     string    `json:"id"`
	}
	var out [][]byte
	want := map[string]usagePoints{}
	batch := make([]event, 0, *usageBatch)
	flush := func() {
		b, _ := json.Marshal(batch)
		out, batch = append(out, b), batch[:0]
	}
	for i := range n {
		amount := 1000 + rnd.Int64N(99_000)
		if rnd.IntN(100) == 0 {
			amount = -amount
		}
		e := event{
			MSISDN: "84" + strconv.Itoa(900000001+rnd.IntN(members)), Amount: amount,
			At: from.Add(time.Duration(rnd.IntN(3600)) * time.Second),
			ID: fmt.Sprintf("b%d-%09d", run+1, i), // ascending, as billing systems number their records
		}
		batch = append(batch, e)
		w, points := want[e.MSISDN], care360.DefaultUsageRules.Points(amount) // the gateway runs with the defaults
		w.net += points
		if points > 0 {
			w.earned += points
		} else {
			w.refunded = true
		}
		want[e.MSISDN] = w
		if len(batch) == *usageBatch {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return out, want
}

// importRun uploads m new subscribers (numbers of their own per run) and
// returns rows/s; a second client polls the import's progress meanwhile.
func importRun(ctx context.Context, api *apiClient, m, run int) (float64, error) {
	var csv bytes.Buffer
	csv.Grow(m * 64)
	csv.WriteString("msisdn,name,gender,birthday,language,member_since\n")
	base := 300_000_000 + run*m
	for i := range m {
		fmt.Fprintf(&csv, "0%d,Hoi vien %d,%s,19%02d-%02d-%02d,vi,20%02d-01-01\n",
			base+i, i, [2]string{"f", "m"}[i%2], 50+i%50, 1+i%12, 1+i%28, 5+i%20)
	}
	id := fmt.Sprintf("bench-%d-%d", time.Now().Unix(), run+1)
	done := make(chan struct{})
	var seen []string
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		var last string
		var shown time.Time
		onTicks(done, time.Second, func() bool {
			var p struct {
				Status      string
				Rows, Taken int64
			}
			// Phase changes, and every 10 s: enough to show it moving.
			if api.do(ctx, http.MethodGet, "/api/v1/imports/"+id, "", nil, &p) == nil && (p.Status != last || time.Since(shown) >= 10*time.Second) {
				seen = append(seen, fmt.Sprintf("%s %d read/%d taken at %s", p.Status, p.Rows, p.Taken, time.Since(start).Round(time.Second)))
				last, shown = p.Status, time.Now()
			}
			return true
		})
	})
	size := csv.Len()
	var rep struct {
		Rows, Taken, Created, Rejected int64
	}
	err := api.do(ctx, http.MethodPost, "/api/v1/subscribers:import?id="+id, "text/csv", &csv, &rep)
	took := time.Since(start)
	close(done)
	wg.Wait()
	if err != nil {
		return 0, err
	}
	if rep.Created != int64(m) {
		return 0, fmt.Errorf("import %d: %+v", run+1, rep)
	}
	rate := float64(m) / took.Seconds()
	fmt.Printf("run %d: %d rows (%.1f MB) in %s: %.0f rows/s, %d created, %d rejected; progress seen: %v\n",
		run+1, rep.Rows, float64(size)/1e6, took.Round(time.Millisecond), rate, rep.Created, rep.Rejected, seen)
	return rate, nil
}

// apiClient calls the admin API of the gateway under test.
type apiClient struct {
	base, token string
	c           *http.Client
}

func (a *apiClient) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw[:min(len(raw), 300)])
	}
	return json.Unmarshal(raw, out)
}

// waitUp waits for the gateway's HTTP server to answer.
func (a *apiClient) waitUp(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := a.c.Get(a.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway HTTP not up: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slope is the least-squares slope of samples taken every step seconds,
// the first at first·step.
func slope(samples []int64, first int, step float64) float64 {
	var st, sy, stt, sty float64
	for i, y := range samples {
		t := float64(first+i) * step
		st, sy, stt, sty = st+t, sy+float64(y), stt+t*t, sty+t*float64(y)
	}
	n := float64(len(samples))
	return (n*sty - st*sy) / (n*stt - st*st)
}
