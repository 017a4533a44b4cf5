package main

// The lucky draw and spin figures (issue 7), next to the pgbench limit of
// the same run:
//
//  1. the algorithm alone: a draw over -draw-entries entries generated in
//     memory, run (digest, key, winners) and verified (draw.Verify on the
//     audit file) — PERFORMANCE.md's goal is < 2 s each for 10,000,000;
//  2. the database around it, at -draw-db-entries: entries/s through
//     store.EnterDraw under contention on one draw, then (the rest of the
//     entries inserted set-based) the close, the run and the audit file
//     streamed, and draw verify of that file as it is read;
//  3. spins/s through store.Spin, every spin on one table whose prize row
//     half the spins contend for.

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
	"github.com/care360/care360/store"
)

var (
	drawsOnly     = flag.Bool("draws-only", false, "run only the draw and spin figures")
	drawEntries   = flag.Int("draw-entries", 10_000_000, "entries of the in-memory draw (0 skips the draw and spin figures)")
	drawDBEntries = flag.Int("draw-db-entries", 1_000_000, "entries of the draw in Postgres")
	drawPrizes    = flag.Int("draw-prizes", 100, "prizes drawn")
	spinsPerRun   = flag.Int("spins", 20_000, "spins per run")
	luckWorkers   = flag.Int("luck-workers", 64, "concurrent entrants and spinners")
	drawExplain   = flag.Bool("draw-explain", false, "print EXPLAIN (ANALYZE, BUFFERS) of the query that streams a draw's entries")
)

func drawsPhase(ctx context.Context, admin string, runs int, dur time.Duration) error {
	if *drawEntries <= 0 {
		return nil
	}
	fmt.Printf("== Lucky draw, algorithm only: %d entries in memory, %d prizes, GOMAXPROCS %d (goal < 2 s each)\n",
		*drawEntries, *drawPrizes, runtime.GOMAXPROCS(0))
	if err := drawAlgorithm(*drawEntries, *drawPrizes, runs); err != nil {
		return err
	}
	dbURL, err := freshDatabase(ctx, admin, "care360_bench_draws")
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	members := max(*drawDBEntries, *spinsPerRun*runs)
	start := time.Now()
	if err := seed(ctx, dbURL, members); err != nil {
		return err
	}
	fmt.Printf("\n== Lucky draw in Postgres: %d members seeded in %s\n", members, time.Since(start).Round(time.Millisecond))
	limit, limitCPU, err := pgbenchLimitCPU(dbURL, members, dur)
	if err != nil {
		return err
	}
	fmt.Printf("pgbench (the USSD step transaction): %.0f tx/s; CPU a transaction: %s\n", limit, limitCPU)
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: int32(*storeConns)})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := drawDatabase(ctx, db, *drawDBEntries, limit); err != nil {
		return err
	}
	fmt.Printf("\n== Lucky spins: %d spins per run by %d concurrent spinners on %d connections, store.Spin, durable commit\n", *spinsPerRun, *luckWorkers, *storeConns)
	return spinLoad(ctx, db, runs, limit)
}

// benchEntries makes n entries spread over the tiers as a member base is
// (half Đồng, a quarter Bạc, then Titan, Vàng, Kim cương).
func benchEntries(n int) []draw.Entry {
	tiers := []string{"dong", "dong", "dong", "dong", "dong", "bac", "bac", "bac", "titan", "vang"}
	tickets := map[string]int{"dong": 1, "bac": 2, "titan": 3, "vang": 4}
	es := make([]draw.Entry, n)
	for i := range es {
		t := tiers[i%len(tiers)]
		es[i] = draw.Entry{ID: int64(i + 1), Tier: t, Tickets: tickets[t], MSISDN: "********123", Receipt: "5d41402abc"}
	}
	return es
}

// drawAlgorithm times the run (digest at close, key, winners) and the
// verification of the resulting audit, in memory.
func drawAlgorithm(n, prizes, runs int) error {
	es := benchEntries(n)
	seed := bytes.Repeat([]byte{1}, draw.SeedSize)
	ps := []draw.Prize{{Rank: 1, Name: "Xe may", Quantity: 1}, {Rank: 2, Name: "Voucher", Quantity: max(prizes-1, 1)}}
	var runT, verifyT, runCPU, verifyCPU []time.Duration
	for i := range runs {
		c0 := cpuTime()
		t0 := time.Now()
		digest := draw.Digest(1, es)
		key := draw.Key(seed, digest, fmt.Sprint("3 5 6 ", i))
		ws, err := draw.Winners(key, es, ps)
		if err != nil {
			return err
		}
		t1, c1 := time.Now(), cpuTime()
		a := &draw.Audit{Format: draw.Format, Algorithm: draw.Version, Draw: draw.DrawInfo{ID: 1}, Prizes: ps,
			Tickets: draw.TierTable{"dong": 1, "bac": 2, "titan": 3, "vang": 4}, Commitment: draw.Commitment(seed),
			EntriesCount: n, EntriesDigest: draw.Hex(digest), Witness: fmt.Sprint("3 5 6 ", i), Seed: hex.EncodeToString(seed),
			Entries: es, Winners: ws}
		t2, c2 := time.Now(), cpuTime()
		if d := draw.Verify(a); len(d) != 0 {
			return fmt.Errorf("the bench draw does not verify: %v", d)
		}
		runT, verifyT = append(runT, t1.Sub(t0)), append(verifyT, time.Since(t2))
		runCPU, verifyCPU = append(runCPU, c1-c0), append(verifyCPU, cpuTime()-c2)
	}
	// CPU time beside wall time: on a machine other work shares, the wall
	// time says how long it took, the CPU time what it costs.
	fmt.Printf("run    (digest + key + winners): wall %s; CPU %s\n", spread(runT), spread(runCPU))
	fmt.Printf("verify (commitment, tickets, digest, key, winners): wall %s; CPU %s\n", spread(verifyT), spread(verifyCPU))
	return nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// spread is min / median / max.
func spread(ds []time.Duration) string {
	slices.Sort(ds)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("min %s / median %s / max %s", r(ds[0]), r(ds[len(ds)/2]), r(ds[len(ds)-1]))
}

// drawDatabase times entries through the store, then close, run, audit
// and verify over n entries.
func drawDatabase(ctx context.Context, db *store.DB, n int, limit float64) error {
	ds := store.NewDraws(db)
	now := time.Now()
	d := &care360.Draw{Code: fmt.Sprintf("B%d", now.Unix()%1_000_000), Name: "Bench", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour),
		EntryCost: 10, Tickets: map[care360.Tier]int{care360.TierDong: 1, care360.TierBac: 2, care360.TierTitan: 3, care360.TierVang: 4, care360.TierKimCuong: 5},
		Prizes: []care360.DrawPrize{{Name: "Xe may", Quantity: 1}, {Name: "Voucher", Quantity: max(*drawPrizes-1, 1)}}}
	if _, err := ds.CreateDraw(ctx, d, ""); err != nil {
		return err
	}
	through := min(n, 20_000)
	r := parallel(through, *luckWorkers, func(k int) error {
		_, err := ds.EnterDraw(ctx, d.ID, care360.MSISDN(fmt.Sprint("84", 900000001+k)), "")
		return err
	})
	r.grouped = ds.EntriesGrouped()
	fmt.Printf("entries through store.EnterDraw (points debit, entry, receipt SMS; one draw; %d entrants on %d connections): %s = %.2f × pgbench\n", *luckWorkers, *storeConns, r, r.perSec()/limit)
	t := time.Now()
	tag, err := db.Pool().Exec(ctx, `
		INSERT INTO draw_entries (draw_id, msisdn, tier, tickets, cost, receipt, created_at)
		SELECT $1, s.msisdn, s.tier, 4, 0, substr(md5(s.msisdn), 1, 10), now()
		FROM subscribers s WHERE s.msisdn > '84' || (900000000 + $2::int)::text AND s.msisdn <= '84' || (900000000 + $3::int)::text`,
		d.ID, through, n)
	if err != nil {
		return err
	}
	fmt.Printf("%d more entries inserted set-based in %s (fixture, not a figure)\n", tag.RowsAffected(), time.Since(t).Round(time.Millisecond))
	steps := []struct {
		name string
		do   func() error
	}{
		{"close (lock, stream and digest every entry)", func() error { _, err := ds.CloseDraw(ctx, d.ID); return err }},
		{"run (one pass: re-digest and rank every entry, winners, their SMS)", func() error { _, _, _, err := ds.RunDraw(ctx, d.ID, "3 5 6 1 2"); return err }},
		{"audit file (streamed from one query, digested again, written as JSON)", func() error {
			var file countingWriter
			err := ds.WriteDrawAudit(ctx, d.ID, func(*draw.Audit) (io.Writer, error) { return &file, nil })
			fmt.Printf("(%.0f MB) ", float64(file.n)/1e6)
			return err
		}},
	}
	var total time.Duration
	for _, s := range steps {
		t := time.Now()
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		total += time.Since(t)
		fmt.Printf("%s over %d entries: %s\n", s.name, n, time.Since(t).Round(time.Millisecond))
	}
	fmt.Printf("close + run + audit file: %s (goal < 5 s)\n", total.Round(time.Millisecond))
	var file bytes.Buffer
	if err := ds.WriteDrawAudit(ctx, d.ID, func(*draw.Audit) (io.Writer, error) { return &file, nil }); err != nil {
		return err
	}
	t = time.Now()
	_, diffs, err := draw.VerifyStream(&file)
	if err != nil || len(diffs) != 0 {
		return fmt.Errorf("the database draw does not verify: %v %v", diffs, err)
	}
	fmt.Printf("draw verify of that file, checked as it is read (draw.VerifyStream): %s: VALID\n", time.Since(t).Round(time.Millisecond))
	if *drawExplain {
		// As store's eachEntry runs it: sorting off for that query.
		var lines []string
		err := pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_sort = off`); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS)
				SELECT id, msisdn, tier, tickets, receipt FROM draw_entries WHERE draw_id = $1 ORDER BY draw_id, id`, d.ID)
			if err != nil {
				return err
			}
			lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			return err
		}
		fmt.Println("the entries' query (close, run and audit file each run it once):")
		for _, l := range lines {
			fmt.Println("  ", l)
		}
	}
	return nil
}

// countingWriter counts what the audit file would send a client.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// spinLoad spins runs × -spins times, each spin by another member, on one
// table: a prize with half the weight and stock for every spin, so half
// the spins update its row.
func spinLoad(ctx context.Context, db *store.DB, runs int, limit float64) error {
	sp := store.NewSpins(db)
	now := time.Now()
	t := &care360.SpinTable{Code: fmt.Sprintf("S%d", now.Unix()%1_000_000), Name: "Bench", CostPoints: 10, DailyCap: 1000, NoPrizeWeight: 1,
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(24 * time.Hour),
		Prizes: []care360.SpinPrize{{Name: "Voucher", Weight: 1, Inventory: int64(*spinsPerRun * runs)}}}
	if _, err := sp.CreateSpinTable(ctx, t, ""); err != nil {
		return err
	}
	var rates []float64
	var last claimRun
	for i := range runs {
		first, grouped := i**spinsPerRun, sp.SpinsGrouped()
		last = parallel(*spinsPerRun, *luckWorkers, func(k int) error {
			_, err := sp.Spin(ctx, t.ID, care360.MSISDN(fmt.Sprint("84", 900000001+first+k)), "")
			return err
		})
		last.grouped = sp.SpinsGrouped() - grouped
		rates = append(rates, last.perSec())
	}
	slices.Sort(rates)
	med := rates[len(rates)/2]
	fmt.Printf("spins/s min %.0f / median %.0f / max %.0f = %.2f × pgbench; last run %s\n", rates[0], med, rates[len(rates)-1], med/limit, last)
	return nil
}

// parallel calls do(0..n-1) from workers goroutines and times it.
func parallel(n, workers int, do func(k int) error) claimRun {
	var ok, refused, failed atomic.Int64
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	before := settledCPU(0)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				t := time.Now()
				err := do(k)
				lat[k] = time.Since(t)
				switch {
				case err == nil:
					ok.Add(1)
				case care360.ErrorCode(err) == care360.EREFUSED:
					refused.Add(1)
				default:
					if failed.Add(1) == 1 {
						fmt.Println("first failure:", err)
					}
				}
			}
		})
	}
	wg.Wait()
	// claimRun (claims.go) says it: done, refused, failed, latency.
	return claimRun{ok: ok.Load(), refused: refused.Load(), failed: failed.Load(), elapsed: time.Since(start), lat: lat,
		cpu: sampleCPU(0).sub(before)}
}
