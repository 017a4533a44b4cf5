package main

// The gift claim figures (issue 6): claims/s through the store's own
// ClaimGift (points debit with allocations, a code taken with SKIP LOCKED,
// stock, the limit slot and the SMS, one transaction each), under
// contention on one item and spread over many, next to the pgbench limit
// measured in the same run.

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

var (
	claimsOnly    = flag.Bool("claims-only", false, "run only the gift claim figures")
	claimsPerRun  = flag.Int("claims", 20_000, "claims per run (0 skips the claim figures)")
	claimsWorkers = flag.Int("claims-workers", 64, "concurrent claimers")
	claimsItems   = flag.Int("claims-items", 100, "items the spread runs share the claims over")
	claimsKind    = flag.String("claims-kind", "voucher", "voucher (a code pool) or physical (stock only)")
	// The claimers, spinners and entrants share a pool of the size the
	// gateway's USSD steps have (db_conns.ussd, 24 by default): a
	// gateway never opens a connection per subscriber in flight, and on
	// two cores more backends than that only queue for the CPU.
	storeConns = flag.Int("store-conns", 24, "Postgres connections the claimers, spinners and entrants share")
)

// claimsPhase measures, on a database of its own seeded with members who
// have points: one voucher that every claimer wants at once (its row is
// the one lock all claims meet, and the code pool is scanned with SKIP
// LOCKED), then the same number of claims spread over many vouchers.
func claimsPhase(ctx context.Context, admin string, runs int, dur time.Duration) error {
	n, workers, items := *claimsPerRun, *claimsWorkers, max(*claimsItems, 1)
	if n <= 0 {
		return nil
	}
	dbURL, err := freshDatabase(ctx, admin, "care360_bench_claims")
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	members := n * runs * 2 // every claim of the bench by a different member: no limit is ever met
	if err := seed(ctx, dbURL, members); err != nil {
		return err
	}
	limit, limitCPU, err := pgbenchLimitCPU(dbURL, members, dur)
	if err != nil {
		return err
	}
	fmt.Printf("== Gift claims (%s): %d claims per run by %d concurrent claimers on %d connections, store.ClaimGift, durable commit\n", *claimsKind, n, workers, *storeConns)
	fmt.Printf("pgbench (the USSD step transaction): %.0f tx/s; CPU a transaction: %s\n", limit, limitCPU)
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: int32(*storeConns)})
	if err != nil {
		return err
	}
	defer db.Close()
	cat := store.NewCatalog(db, store.NewSMS(db, care360.SMSRules{}), store.CatalogOptions{})
	next := 0 // the next member to claim
	for _, spread := range []int{1, items} {
		var rates []float64
		var last claimRun
		for range runs {
			gifts, err := benchGifts(ctx, cat, spread, n)
			if err != nil {
				return err
			}
			grouped := cat.ClaimsGrouped()
			last = claimLoad(ctx, cat, gifts, next, n, workers)
			last.grouped = cat.ClaimsGrouped() - grouped
			next += n
			rates = append(rates, last.perSec())
		}
		slices.Sort(rates)
		med := rates[len(rates)/2]
		fmt.Printf("%3d item(s): claims/s min %.0f / median %.0f / max %.0f = %.2f × pgbench; last run %s\n",
			spread, rates[0], med, rates[len(rates)-1], med/limit, last)
	}
	fmt.Println()
	return nil
}

// benchGifts creates k gifts with n units of stock between them: codes for
// vouchers, stock stripes alone for other kinds.
func benchGifts(ctx context.Context, cat *store.Catalog, k, n int) ([]int64, error) {
	now := time.Now()
	ids := make([]int64, k)
	for i := range ids {
		kind, stock := care360.GiftKind(*claimsKind), int64(0)
		if kind != care360.GiftVoucher {
			stock = int64((n + k - 1) / k)
		}
		g, _, err := cat.CreateGift(ctx, &care360.Gift{Name: fmt.Sprint("Bench gift ", i), Kind: kind, Cost: 10, Stock: stock,
			Limit: 1, Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}, "")
		if err != nil {
			return nil, err
		}
		ids[i] = g.ID
		if kind != care360.GiftVoucher {
			continue
		}
		codes := make([]string, (n+k-1)/k)
		for j := range codes {
			codes[j] = fmt.Sprintf("B%d-%07d", g.ID, j)
		}
		if _, err := cat.AddCodes(ctx, g.ID, codes); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

type claimRun struct {
	ok, refused, failed int64
	grouped             int64 // decided by groups of claims, the rest alone
	elapsed             time.Duration
	lat                 []time.Duration
	cpu                 cpuUse // what the run used
}

func (r claimRun) perSec() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r claimRun) String() string {
	slices.Sort(r.lat)
	q := func(p float64) time.Duration { return r.lat[int(p*float64(len(r.lat)-1))].Round(10 * time.Microsecond) }
	return fmt.Sprintf("%d granted, %d refused, %d failed in %s (%d in groups); latency p50 %s p99 %s; CPU each: %s",
		r.ok, r.refused, r.failed, r.elapsed.Round(time.Millisecond), r.grouped, q(0.5), q(0.99), r.cpu.per(r.ok+r.refused, "the bench's callers"))
}

// claimLoad makes n claims with workers goroutines, member first+i taking
// gift i mod len(gifts).
func claimLoad(ctx context.Context, cat *store.Catalog, gifts []int64, first, n, workers int) claimRun {
	var r claimRun
	var ok, refused, failed atomic.Int64
	lat := make([]time.Duration, n)
	var i atomic.Int64
	var wg sync.WaitGroup
	before := settledCPU(0)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				k := int(i.Add(1)) - 1
				if k >= n {
					return
				}
				m := care360.MSISDN(fmt.Sprint("84", 900000001+first+k))
				t := time.Now()
				_, _, err := cat.ClaimGift(ctx, care360.ClaimRequest{MSISDN: m, GiftID: gifts[k%len(gifts)]})
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
	r.elapsed, r.lat, r.cpu = time.Since(start), lat, sampleCPU(0).sub(before)
	r.ok, r.refused, r.failed = ok.Load(), refused.Load(), failed.Load()
	return r
}
