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
	rates := map[string][]float64{}
	for i := range runs {
		for _, b := range []string{bin, *baseline} {
			gw, err := startBound(sim, b, dbURL, "")
			if err != nil {
				return err
			}
			warmUp(sim, phones, members)
			r := load(sim, phones, members, dur, 0)
			gw.stop()
			rates[b] = append(rates[b], r.stepsPerSec())
			fmt.Printf("run %d %s: %s\n", i+1, b, r)
		}
	}
	med := func(b string) float64 {
		r := slices.Clone(rates[b])
		slices.Sort(r)
		return r[len(r)/2]
	}
	a, b := med(bin), med(*baseline)
	fmt.Printf("median steps/s: A %.0f, B %.0f; A = %.3f × B (%+.1f %%)\n", a, b, a/b, 100*(a/b-1))
	return nil
}
