// Command bench measures USSD dialogue steps end to end and prints them next
// to the machine's own limit, measured in the same run (shared/PERFORMANCE.md):
//
//  1. the limit: pgbench running "one USSD step as one transaction" (select a
//     subscriber by primary key + upsert a dialogue row), durable commit,
//     8 connections, prepared statements;
//  2. the gateway: bin/care360 serve in its own process, bound over SMPP on
//     loopback to the simulator in this process, which plays N phones each
//     dialling *090# → 1 (two steps) as fast as the gateway answers;
//  3. latency at a fixed offered load of 1,000 steps/s.
//
// It needs CARE360_TEST_DATABASE_URL (`make bench` starts a durable cluster)
// and bin/care360 (`make bench` builds it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/store"
)

func init() { currentWalk.Store(mainWalk) }

func main() {
	phones := flag.Int("phones", 64, "concurrent phones in the saturation runs")
	members := flag.Int("members", 100000, "members seeded")
	levels := flag.String("levels", "1,100,10000", "concurrent dialogues for the concurrency table")
	open := flag.Int("open", 100000, "dialogues left open for the memory figure (0 skips it)")
	dur := flag.Duration("duration", 5*time.Second, "length of each run")
	runs := flag.Int("runs", 3, "saturation runs (min/median/max are reported)")
	rate := flag.Int("rate", 1000, "offered steps/s in the latency run")
	bin := flag.String("bin", "bin/care360", "the gateway binary")
	openOnly = flag.Bool("open-only", false, "run only the open dialogues figure (with -open and -members)")
	cpuProfile := flag.String("cpuprofile", "", "write the bench's own CPU profile (the simulator, the load) to this file")
	flag.Parse()
	if *usageHours != 1 && *usageHours != 2 {
		fmt.Fprintln(os.Stderr, "bench: -usage-hours wants 1 or 2")
		os.Exit(2)
	}
	var lv []int
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bench: -levels wants positive whole numbers")
			os.Exit(2)
		}
		lv = append(lv, n)
	}
	if os.Getenv("GOGC") == "" {
		// The bench is the load: its simulator decodes and answers every
		// PDU the gateway sends. At Go's default it spent 30 % of its CPU
		// collecting garbage during the MT runs, a cost the figures charge
		// to the machine; the gateway and `care360 smsc` collect at 400 %
		// (cmd/care360/collector.go), and so does the bench.
		debug.SetGCPercent(400)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		defer f.Close()
	}
	err := run(*phones, *members, *runs, *rate, *open, lv, *dur, *bin)
	pprof.StopCPUProfile() // no-op without -cpuprofile
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var openOnly *bool

func run(phones, members, runs, rate, open int, levels []int, dur time.Duration, bin string) error {
	ctx := context.Background()
	admin := os.Getenv("CARE360_TEST_DATABASE_URL")
	if admin == "" {
		return errors.New("CARE360_TEST_DATABASE_URL is not set (use `make bench`)")
	}
	if *smsOnly || *pushesOnly {
		return smsPhase(ctx, admin, bin, runs, dur)
	}
	if *drawsOnly {
		return drawsPhase(ctx, admin, runs, dur)
	}
	if *ledgerOnly {
		return ledgerPhase(ctx, admin, bin, runs, dur)
	}
	if *claimsOnly {
		return claimsPhase(ctx, admin, runs, dur)
	}
	if *membersOnly {
		return membersPhase(ctx, admin, runs, dur)
	}
	dbURL, err := freshDatabase(ctx, admin, "care360_bench")
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	if err := seed(ctx, dbURL, members); err != nil {
		return err
	}

	var limit float64
	if !*openOnly && *baseline == "" && !*partnerOnly && !*levelsOnly {
		fmt.Println("== Limit: pgbench, one USSD step as one transaction (PK select + dialogue upsert), durable, 8 connections, prepared")
		var cpu string
		if limit, cpu, err = pgbenchLimitCPU(dbURL, members, dur); err != nil {
			return err
		}
		fmt.Printf("pgbench: %.0f tx/s; CPU a transaction: %s\n\n", limit, cpu)
	}

	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 10 * time.Second})
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Close()
	gw, err := startBound(sim, bin, dbURL, "")
	if err != nil {
		return err
	}
	defer gw.stop()

	if *openOnly {
		return openDialogues(sim, gw, dbURL, min(open, members))
	}
	if *baseline != "" {
		gw.stop()
		return abPhase(sim, dbURL, bin, phones, members, runs, dur)
	}
	if *partnerOnly {
		gw.stop()
		return partnerPhase(sim, dbURL, bin, phones, members, runs, dur)
	}

	// Warm up: connections, prepared statements, caches.
	warmUp(sim, phones, members)
	if *levelsOnly {
		concurrentDialogues(sim, members, levels, dur)
		return nil
	}

	if !*latencyOnly {
		fmt.Printf("== Gateway: %d phones, *090# then 1 (2 steps each), SMPP over loopback, gateway in its own process\n", phones)
		var rates []float64
		for i := range runs {
			r := load(sim, phones, members, dur, 0)
			rates = append(rates, r.stepsPerSec())
			fmt.Printf("run %d: %s\n", i+1, r)
		}
		slices.Sort(rates)
		med := rates[len(rates)/2]
		fmt.Printf("steps/s min %.0f / median %.0f / max %.0f; median = %.2f × the pgbench limit\n\n", rates[0], med, rates[len(rates)-1], med/limit)
	}

	fmt.Printf("== Latency at an offered %d steps/s (%d dialogues/s)\n", rate, rate/2)
	r := load(sim, max(phones, rate/10), members, dur, rate)
	fmt.Printf("paced: %s\n\n", r)
	gw.stop() // the campaign's figure runs a gateway configured for it
	if err := campaignLatency(ctx, sim, bin, dbURL, phones, members, rate, dur); err != nil {
		return err
	}
	if *latencyOnly || *ussdOnly {
		return nil
	}
	if gw, err = startBound(sim, bin, dbURL, ""); err != nil {
		return err
	}
	defer gw.stop()

	concurrentDialogues(sim, members, levels, dur)
	if open > 0 {
		fmt.Println()
		if err := openDialogues(sim, gw, dbURL, min(open, members)); err != nil {
			return err
		}
	}
	fmt.Println()
	gw.stop() // the partner figure runs a gateway configured for it
	if err := partnerPhase(sim, dbURL, bin, phones, members, runs, dur); err != nil {
		return err
	}
	fmt.Println()
	if err := smsPhase(ctx, admin, bin, runs, dur); err != nil {
		return err
	}
	if err := claimsPhase(ctx, admin, runs, dur); err != nil {
		return err
	}
	if err := ledgerPhase(ctx, admin, bin, runs, dur); err != nil {
		return err
	}
	if err := membersPhase(ctx, admin, runs, dur); err != nil {
		return err
	}
	return drawsPhase(ctx, admin, runs, dur)
}

// concurrentDialogues prints the table of steps/s and latency for each
// number of phones in levels, each keeping one dialogue going.
func concurrentDialogues(sim *smsc.Server, members int, levels []int, dur time.Duration) {
	fmt.Println("== Concurrent dialogues (each phone dials *090#, answers 1, dials again)")
	for _, n := range levels {
		r := load(sim, n, members, dur, 0)
		fmt.Printf("%6d dialogues: %s\n", n, r)
	}
}

// openDialogues leaves n dialogues open on the main menu and reports what
// they cost: the gateway's resident memory (dialogues live in Postgres, so
// it should hardly move) and the rows' size in Postgres.
func openDialogues(sim *smsc.Server, gw *gateway, dbURL string, n int) error {
	fmt.Printf("== %d open dialogues\n", n)
	before, err := gw.rss()
	if err != nil {
		return err
	}
	var failed atomic.Int64
	var first atomic.Value // string: the first failure
	var wg sync.WaitGroup
	next := atomic.Int64{}
	start := time.Now()
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				msisdn := "84" + strconv.Itoa(900000000+int(i))
				if _, err := sim.Dial(context.Background(), msisdn, "*090#", smsc.DialOptions{}); err != nil {
					if failed.Add(1) == 1 {
						first.Store(err.Error())
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.GC()
	after, err := gw.rss()
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var rows, bytes int64
	if err := conn.QueryRow(context.Background(),
		`SELECT count(*), pg_total_relation_size('ussd_dialogues') FROM ussd_dialogues`).Scan(&rows, &bytes); err != nil {
		return err
	}
	f, _ := first.Load().(string)
	fmt.Printf("opened in %s (%d failed%s); rows in ussd_dialogues: %d\n", elapsed.Round(time.Millisecond), failed.Load(),
		result{first: f}.failureNote(), rows)
	fmt.Printf("gateway RSS %.1f MB before, %.1f MB after: %.0f bytes per open dialogue in the gateway\n",
		float64(before)/1e6, float64(after)/1e6, float64(after-before)/float64(n))
	fmt.Printf("Postgres: %.1f MB for the table and its index, %.0f bytes per open dialogue\n", float64(bytes)/1e6, float64(bytes)/float64(rows))
	return nil
}

// freshDatabase recreates name on the server of admin and returns its URL.
func freshDatabase(ctx context.Context, admin, name string) (string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	cfg := conn.Config()
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name), nil
}

// seed inserts members set-based: 849xxxxxxxx numbers with qualifying points.
// Members agree to marketing, so that campaigns and marketing pushes
// reach them all (PRODUCT.md §7).
func seed(ctx context.Context, dbURL string, n int) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{`
INSERT INTO subscribers (msisdn, name, member_since, tier, marketing_consent)
SELECT '84' || (900000000 + g)::text, 'Bench ' || g, date '2015-01-01', 'vang', true
FROM generate_series(1, $1::int) g`, `
INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
SELECT '84' || (900000000 + g)::text, 'qualifying', 12345, 12345, 'bench', 'bench-' || g, now(), now() + interval '1 year'
FROM generate_series(1, $1::int) g`} {
		if _, err := conn.Exec(ctx, q, n); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	if _, err = conn.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	return reviewTiers(ctx, dbURL)
}

// reviewTiers runs the month's tier review over the seeded members, as the
// gateway would on its first start (its job's first run comes about 30 s
// in, inside the measured runs of most phases: 2.4 s of Postgres over the
// ledger phase's members). The gateway's own run then finds the month
// reviewed and only settles the downgrades waiting, of which there are
// none. The store's defaults are the gateway's, which the bench runs with.
func reviewTiers(ctx context.Context, dbURL string) error {
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := store.NewLedger(db, care360.UsageRules{}).ReviewTiers(ctx)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if !r.Reviewed || r.Pending+r.Downgraded > 0 {
		return fmt.Errorf("seed: the tier review of %s reviewed %v, %d downgrades pending, %d made: the seeded members should keep their tier",
			r.Cycle.Format("2006-01"), r.Reviewed, r.Pending, r.Downgraded)
	}
	return nil
}

// pgbenchLimit runs the reference transaction and returns tx/s.
func pgbenchLimit(dbURL string, members int, dur time.Duration) (float64, error) {
	tps, _, err := pgbenchLimitCPU(dbURL, members, dur)
	return tps, err
}

// pgbenchLimitCPU is pgbenchLimit, and what a transaction cost: Postgres's
// CPU and pgbench's own, per transaction.
func pgbenchLimitCPU(dbURL string, members int, dur time.Duration) (float64, string, error) {
	script := filepath.Join(os.TempDir(), "care360-step.sql")
	err := os.WriteFile(script, []byte(`\set id random(1, `+strconv.Itoa(members)+`)
BEGIN;
SELECT msisdn, name, language, status, tier, member_since FROM subscribers WHERE msisdn = '84' || (900000000 + :id)::text;
INSERT INTO ussd_dialogues (key, msisdn, state, updated_at) VALUES ('84' || (900000000 + :id)::text || '/s1', '84' || (900000000 + :id)::text, '\x7b7d', now())
  ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at;
COMMIT;
`), 0o644)
	if err != nil {
		return 0, "", err
	}
	// Each limit is measured right after a checkpoint, so that none runs
	// during it: a checkpoint still writing out what the phase before
	// dirtied (the usage runs write gigabytes of WAL) took up to a fifth
	// off the limit, which the ratios set against it then gained.
	if err := checkpoint(dbURL); err != nil {
		return 0, "", err
	}
	secs := strconv.Itoa(max(int(dur.Seconds()), 1))
	cmd := exec.Command("pgbench", "-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", secs, "-f", script, dbURL)
	before := settledCPU(0)
	out, err := cmd.CombinedOutput()
	used := sampleCPU(0).sub(before)
	if err != nil {
		return 0, "", fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	n := regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`).FindSubmatch(out)
	if m == nil || n == nil {
		return 0, "", fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, "", err
	}
	txs, _ := strconv.ParseInt(string(n[1]), 10, 64)
	used.peer = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return tps, used.per(txs, "pgbench"), nil
}

// checkpoint makes the server write out every dirty page now.
func checkpoint(dbURL string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CHECKPOINT`)
	return err
}

type gateway struct {
	cmd    *exec.Cmd
	log    string
	http   string // host:port of its admin API
	config string // its CARE360_CONFIG file, removed when it stops ("" for none)
}

// startGateway runs `care360 serve` as an operator would, with env added
// to the bench's environment.
func startGateway(bin, dbURL, smscAddr string, env ...string) (*gateway, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	httpAddr := ln.Addr().String()
	ln.Close()
	logf, err := os.CreateTemp("", "care360-bench-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"CARE360_DATABASE_URL="+dbURL,
		"CARE360_SMPP_ADDR="+smscAddr,
		"CARE360_SMPP_TPS=100000",
		"CARE360_SMPP_WINDOW=256",
		"CARE360_HTTP_ADDR="+httpAddr,
		"CARE360_ADMIN_TOKEN="+adminToken,
		// Open dialogues must stay open for the memory figure, however long
		// a million dials take: no answer ends them, and the idle sweep
		// would otherwise record and delete the first before the last.
		"CARE360_USSD_IDLE_TIMEOUT=1h",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	gatewayPID.Store(int64(cmd.Process.Pid))
	return &gateway{cmd: cmd, log: logf.Name(), http: httpAddr}, nil
}

// gatewayPID is the process id of the gateway running now (0: none), whose
// CPU time load reports.
var gatewayPID atomic.Int64

// adminToken is strong enough for serve (at least 32 characters).
const adminToken = "bench-admin-token-0123456789abcdef0123456789"

// rss is the gateway process's resident memory in bytes.
func (g *gateway) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if f := strings.Fields(ln); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

func (g *gateway) stop() {
	gatewayPID.CompareAndSwap(int64(g.cmd.Process.Pid), 0)
	g.cmd.Process.Signal(os.Interrupt)
	g.cmd.Wait()
	if g.config != "" {
		os.Remove(g.config)
	}
}

// startBound starts a gateway bound to sim, configured by config (a
// CARE360_CONFIG document, for this gateway only; "" for none), and waits
// until it is bound. A gateway of an earlier phase may have just stopped:
// it first waits until the simulator has seen it go, or WaitBound would
// count it.
func startBound(sim *smsc.Server, bin, dbURL, config string) (*gateway, error) {
	for deadline := time.Now().Add(10 * time.Second); sim.Bound() > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	var env []string
	var path string
	if config != "" {
		f, err := os.CreateTemp("", "care360-bench-*.json")
		if err != nil {
			return nil, err
		}
		path = f.Name()
		_, err = f.WriteString(config)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, err
		}
		env = append(env, "CARE360_CONFIG="+path)
	}
	gw, err := startGateway(bin, dbURL, sim.Addr(), env...)
	if err != nil {
		if path != "" {
			os.Remove(path)
		}
		return nil, err
	}
	gw.config = path
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sim.WaitBound(ctx, 1); err != nil {
		gw.stop()
		return nil, fmt.Errorf("%s did not bind: %w (log: %s)", bin, err, gw.log)
	}
	return gw, nil
}

type result struct {
	steps, failed int64
	elapsed       time.Duration
	lat           []time.Duration
	at            []time.Duration // when each of lat's steps began, from start
	start         time.Time
	first         string // the run's first failure, if any
	cpu           cpuUse // what the run used
}

func (r result) stepsPerSec() float64 { return float64(r.steps) / r.elapsed.Seconds() }

// quantile is the p-th latency of the run's steps (0 with none).
func (r result) quantile(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	lat := slices.Clone(r.lat) // lat stays in step with at
	slices.Sort(lat)
	return lat[min(len(lat)-1, int(p*float64(len(lat))))]
}

func (r result) String() string {
	q := r.quantile
	return fmt.Sprintf("%.0f steps/s, p50 %s, p99 %s, max %s, %d steps, %d failed%s; CPU a step: %s",
		r.stepsPerSec(), q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond),
		q(1).Round(10*time.Microsecond), r.steps, r.failed, r.failureNote(), r.cpu.per(r.steps, "simulator and phones"))
}

// walk is what each phone dials and the first screen it expects; it then
// answers 1, which ends the dialogue.
type walk struct{ code, first string }

var mainWalk = &walk{"*090#", "MobiFone Care360"}

var (
	currentWalk atomic.Pointer[walk] // what load's phones dial (mainWalk unless a phase says otherwise)
	nextNumber  atomic.Int64         // round-robin over members, across phases
)

// failureNote shows the run's first failure.
func (r result) failureNote() string {
	if r.first != "" {
		return "; first: " + r.first
	}
	return ""
}

// warmUp runs load for a second to warm the gateway up, and prints it only
// if a step failed: a warm-up's failures are not the next run's.
func warmUp(sim *smsc.Server, phones, members int) {
	if r := load(sim, phones, members, time.Second, 0); r.failed > 0 {
		fmt.Printf("warm-up: %s\n", r)
	}
}

func screenOf(c *smsc.Call) string {
	if c == nil {
		return ""
	}
	return c.Screen()
}

// load plays phones that dial *090# and answer 1 for d. With rate > 0 the
// phones start dialogues on a fixed schedule (rate steps/s in total) rather
// than as fast as possible, so latency is measured at a known load.
func load(sim *smsc.Server, phones, members int, d time.Duration, rate int) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		steps, failed atomic.Int64
		first         atomic.Value // string
		mu            sync.Mutex
		lat           []time.Duration
		at            []time.Duration
		wg            sync.WaitGroup
	)
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(max(rate/2, 1)))
		defer t.Stop()
		tick = t.C
	}
	before := settledCPU(int(gatewayPID.Load()))
	start := time.Now()
	for range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			mineAt := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				if tick != nil {
					select {
					case <-tick:
					case <-ctx.Done():
						continue
					}
				}
				// Numbers are handed out round-robin over every member, as
				// real traffic spreads over subscribers: hammering a few
				// would measure the per-MSISDN dial limit instead.
				msisdn := "84" + strconv.Itoa(900000001+int(nextNumber.Add(1))%members)
				t0 := time.Now()
				w := currentWalk.Load()
				call, err := sim.Dial(context.Background(), msisdn, w.code, smsc.DialOptions{})
				if err != nil || !strings.HasPrefix(call.Screen(), w.first) {
					if failed.Add(1) == 1 {
						first.Store(fmt.Sprintf("%v %q", err, screenOf(call)))
					}
					continue
				}
				t1 := time.Now()
				if err := call.Reply(context.Background(), "1"); err != nil || !call.Ended() {
					failed.Add(1)
					continue
				}
				t2 := time.Now()
				mine = append(mine, t1.Sub(t0), t2.Sub(t1))
				mineAt = append(mineAt, t0.Sub(start), t1.Sub(start))
				steps.Add(2)
			}
			mu.Lock()
			lat = append(lat, mine...)
			at = append(at, mineAt...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed, used := time.Since(start), sampleCPU(int(gatewayPID.Load())).sub(before)
	f, _ := first.Load().(string)
	return result{steps: steps.Load(), failed: failed.Load(), elapsed: elapsed, lat: lat, at: at, start: start, first: f, cpu: used}
}
