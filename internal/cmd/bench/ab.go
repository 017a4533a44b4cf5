package main

import (
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/care360/care360/gateway/smsc"
)

// baseline is a second gateway binary to compare with -bin, step for step,
// in the same run: e.g. the commit before a change, built with
// `git worktree add /tmp/base <commit> && (cd /tmp/base && go build -o $PWD/bin/care360-base ./cmd/care360)`.
var baseline = flag.String("baseline", "", "A/B only: a second gateway binary, run alternately with -bin on the same database")

// abPhase runs the saturation load on -bin and -baseline in turns (A B A B
// A B), each time a fresh gateway process on the same seeded database, so
// that both meet the same machine, the same data and the same noise; it
// reports each one's median and their ratio.
func abPhase(sim *smsc.Server, dbURL, bin string, phones, members, runs int, dur time.Duration) error {
	fmt.Printf("== A/B: %s (A) against %s (B), %d phones, %d runs each, alternating\n", bin, *baseline, phones, runs)
	rates, costs := map[string][]float64{}, map[string][]float64{}
	for i := range runs {
		for _, b := range []string{bin, *baseline} {
			gw, err := startBound(sim, b, dbURL, "")
			if err != nil {
				return err
			}
			warmUp(sim, phones, members)
			r := load(sim, phones, members, dur, 0)
			// The same binary at a fixed offered load, below saturation:
			// what a step costs the whole machine (gateway, Postgres, the
			// simulator and the load), which a small saving changes more
			// visibly than it changes a saturated rate.
			p := load(sim, max(phones, *abRate/10), members, dur, *abRate)
			gw.stop()
			rates[b] = append(rates[b], r.stepsPerSec())
			fmt.Printf("run %d %s: %s\n", i+1, b, r)
			if p.steps > 0 {
				// The gateway's and Postgres's share: what the binaries
				// change, without the machine's other noise.
				cost := float64((p.cpu.gateway + p.cpu.postgres).Microseconds()) / float64(p.steps)
				costs[b] = append(costs[b], cost)
				fmt.Printf("run %d %s at %d steps/s offered: %.0f served; CPU a step: %s\n", i+1, b, *abRate, p.stepsPerSec(), p.cpu.per(p.steps, "simulator and phones"))
			}
		}
	}
	med := func(m map[string][]float64, b string) float64 {
		r := slices.Clone(m[b])
		if len(r) == 0 {
			return 0
		}
		slices.Sort(r)
		return r[len(r)/2]
	}
	a, b := med(rates, bin), med(rates, *baseline)
	fmt.Printf("median steps/s: A %.0f, B %.0f; A = %.3f × B (%+.1f %%)\n", a, b, a/b, 100*(a/b-1))
	if ca, cb := med(costs, bin), med(costs, *baseline); ca > 0 && cb > 0 {
		fmt.Printf("median CPU a step (gateway and Postgres) at %d steps/s: A %.0f µs, B %.0f µs; A = %.3f × B (%+.1f %%)\n", *abRate, ca, cb, ca/cb, 100*(ca/cb-1))
	}
	return nil
}

// abRate is the offered load at which abPhase weighs a step's CPU.
var abRate = flag.Int("ab-rate", 1000, "A/B only: steps/s offered while the machine's CPU a step is measured")
