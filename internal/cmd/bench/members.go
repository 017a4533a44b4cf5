package main

// The members figures (issue 14, PRODUCT.md §7): lifecycle events/s
// through the store's own Closings (churns: forfeiture, cancellations, the
// members' rows moved to their retired keys, a batch per transaction, as
// the API applies a CRM's batch) and SIMSwaps (set-based batches), next to
// the pgbench limit of the same run;
// and the time to erase a member with 10,000 ledger entries and 1,000
// messages.

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

var (
	membersOnly      = flag.Bool("members-only", false, "run only the lifecycle and erasure figures")
	lifecycleEvents  = flag.Int("lifecycle-events", 20_000, "churn events per run (0 skips the members figures)")
	lifecycleWorkers = flag.Int("lifecycle-workers", 2, "concurrent senders of churn batches")
)

// benchNumber is the seeded member g's number (seed).
func benchNumber(g int) care360.MSISDN { return care360.MSISDN(fmt.Sprintf("84%d", 900000000+g)) }

func membersPhase(ctx context.Context, admin string, runs int, dur time.Duration) error {
	n, workers := *lifecycleEvents, *lifecycleWorkers
	if n <= 0 {
		return nil
	}
	dbURL, err := freshDatabase(ctx, admin, "care360_bench_members")
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	members := n*runs*2 + runs // churned, swapped, and one to erase per run
	if err := seed(ctx, dbURL, members); err != nil {
		return err
	}
	limit, err := pgbenchLimit(dbURL, members, dur)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: int32(workers)})
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Printf("== Lifecycle events: %d per run, store.Closings (churn, batches of 1,000, %d senders) and store.SIMSwaps (batches of 1,000), durable commit\n", n, workers)
	fmt.Printf("pgbench (the USSD step transaction): %.0f tx/s\n", limit)
	next := 1
	var churns, swaps []float64
	for r := range runs {
		first := next
		next += n
		// Batches of 1,000, as the CRM posts them and the API applies a
		// run of closings (store.Closings), from the senders at once.
		var idx atomic.Int64
		var failed atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					lo := int(idx.Add(1000)) - 1000
					if lo >= n {
						return
					}
					evs := make([]care360.LifecycleEvent, 0, 1000)
					for i := lo; i < min(lo+1000, n); i++ {
						evs = append(evs, care360.LifecycleEvent{ID: fmt.Sprintf("churn-%d-%d", r, i), MSISDN: benchNumber(first + i), Event: care360.EventChurn, At: time.Now()})
					}
					res, err := db.Closings(ctx, evs)
					if err != nil {
						failed.Add(int64(len(evs)))
						continue
					}
					for _, x := range res {
						if x.Status != care360.LifecycleApplied {
							failed.Add(1)
						}
					}
				}
			})
		}
		wg.Wait()
		churns = append(churns, float64(n)/time.Since(start).Seconds())
		if f := failed.Load(); f > 0 {
			return fmt.Errorf("run %d: %d churn events not applied", r+1, f)
		}
		// The same number of sim_swap events, on members still open.
		first = next
		next += n
		start = time.Now()
		for b := 0; b < n; b += 1000 {
			evs := make([]care360.LifecycleEvent, 0, 1000)
			for i := b; i < min(b+1000, n); i++ {
				evs = append(evs, care360.LifecycleEvent{ID: fmt.Sprintf("swap-%d-%d", r, i), MSISDN: benchNumber(first + i), Event: care360.EventSIMSwap, At: time.Now()})
			}
			res, err := db.SIMSwaps(ctx, evs, 72*time.Hour)
			if err != nil {
				return err
			}
			for _, x := range res {
				if x.Status != care360.LifecycleApplied {
					return fmt.Errorf("sim_swap %s: %+v", x.ID, x)
				}
			}
		}
		swaps = append(swaps, float64(n)/time.Since(start).Seconds())
	}
	// Checked: every churned member closed, its points forfeited to zero,
	// and no open member left with a churned number.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var closed, unbalanced int64
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM subscribers WHERE status = 'closed'),
		(SELECT count(*) FROM (SELECT l.msisdn FROM points_ledger l JOIN subscribers s ON s.msisdn = l.msisdn
			WHERE s.status = 'closed' GROUP BY l.msisdn HAVING sum(l.points) <> 0) x)`).Scan(&closed, &unbalanced); err != nil {
		return err
	}
	if closed != int64(n*runs) || unbalanced != 0 {
		return fmt.Errorf("after the churns: %d memberships closed (want %d), %d with points left", closed, n*runs, unbalanced)
	}
	for _, f := range []struct {
		what  string
		rates []float64
	}{{"churn", churns}, {"sim_swap", swaps}} {
		slices.Sort(f.rates)
		med := f.rates[len(f.rates)/2]
		fmt.Printf("%-8s events/s min %.0f / median %.0f / max %.0f = %.2f × pgbench\n", f.what, f.rates[0], med, f.rates[len(f.rates)-1], med/limit)
	}
	fmt.Printf("checked: %d memberships closed, each at 0 points\n\n", closed)
	return erasurePhase(ctx, conn, db, runs, next)
}

// erasurePhase times the erasure of a member with 10,000 ledger entries and
// 1,000 messages, runs times (a member each), and checks that none of its
// rows keeps the number. The credits are keyed as the billing feed keys
// them (by bill, not by number); the messages' keys hold the number, as a
// campaign's do, and their texts the member's name.
func erasurePhase(ctx context.Context, conn *pgx.Conn, db *store.DB, runs, next int) error {
	const entries, messages = 10_000, 1_000
	fmt.Printf("== Erasure of a member with %d ledger entries and %d messages (goal < 1 s)\n", entries, messages)
	var took []time.Duration
	for r := range runs {
		m := benchNumber(next + r)
		if _, err := conn.Exec(ctx, `
			INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
			SELECT $1, 'qualifying', 1, 1, 'usage', 'usage:bill-' || $3::int || '-' || g, now(), now() + interval '1 year'
			FROM generate_series(1, $2::int) g`, m, entries-1, r); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at, status)
			SELECT $1, 'Chao Bench, ma qua ' || g, 'transactional', 'erase-' || $1 || '-' || g, now(), now(), 'delivered'
			FROM generate_series(1, $2::int) g`, m, messages); err != nil {
			return err
		}
		start := time.Now()
		e, err := db.Erase(ctx, m, []string{string(m), "+" + string(m), "0" + string(m)[2:]}, "bench", care360.Actor{Name: "bench", Role: care360.RoleAdmin})
		if err != nil {
			return err
		}
		took = append(took, time.Since(start))
		var left int64
		if err := conn.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM points_ledger WHERE msisdn = $1 OR msisdn = $2 AND (idempotency_key LIKE '%' || $1 || '%' OR reason LIKE '%' || $1 || '%')) +
			(SELECT count(*) FROM sms_messages WHERE msisdn = $1 OR msisdn = $2 AND text <> '[erased]')`, m, e.Key).Scan(&left); err != nil {
			return err
		}
		if left != 0 {
			return fmt.Errorf("erasure %d: %d rows still hold the number or a text", r+1, left)
		}
	}
	slices.Sort(took)
	fmt.Printf("erasure: min %s / median %s / max %s; checked: no ledger entry or message keeps the number or a text\n\n",
		took[0].Round(time.Millisecond), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	return nil
}
