package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/care360/care360/gateway/smsc"
)

var (
	partnerOnly  = flag.Bool("partner-only", false, "run only the partner application figure: steps through an app answering in -partner-delay, against the main menu")
	partnerDelay = flag.Duration("partner-delay", 50*time.Millisecond, "how long the bench's partner application takes to answer")
)

// partnerPhase measures a service code routed to a partner application
// (PRODUCT.md §3.7) that answers in partnerDelay: the gateway calls it over
// HTTP on loopback for each of the two steps (its menu, then END). The
// same gateway's main menu is measured in turns with it, so that the hop's
// cost is the difference in the same run.
func partnerPhase(sim *smsc.Server, dbURL, bin string, phones, members, runs int, dur time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*partnerDelay)
		if r.FormValue("text") == "" {
			fmt.Fprint(w, "CON Partner quiz\n1. Start")
			return
		}
		fmt.Fprint(w, "END Thank you")
	})}
	go app.Serve(ln)
	defer app.Close()
	cfg := fmt.Sprintf(`{"endpoints": {"bench-app": {"url": "http://%s/ussd", "timeout": "3s"}},
		"services": [{"code": "*090#", "menu": "main"}, {"code": "*5050#", "app": "bench-app"}]}`, ln.Addr())
	gw, err := startBound(sim, bin, dbURL, cfg)
	if err != nil {
		return err
	}
	defer gw.stop()
	app5050 := &walk{"*5050#", "Partner quiz"}
	fmt.Printf("== Partner application answering in %s (*5050#) against the main menu (*090#), %d phones, %d runs each, alternating\n",
		*partnerDelay, phones, runs)
	type series struct {
		rates []float64
		p99   []time.Duration
	}
	all := map[*walk]*series{mainWalk: {}, app5050: {}}
	for _, w := range []*walk{mainWalk, app5050} { // warm up both paths
		currentWalk.Store(w)
		warmUp(sim, phones, members)
	}
	for i := range runs {
		for _, w := range []*walk{mainWalk, app5050} {
			currentWalk.Store(w)
			r := load(sim, phones, members, dur, 0)
			s := all[w]
			s.rates = append(s.rates, r.stepsPerSec())
			s.p99 = append(s.p99, r.quantile(0.99))
			fmt.Printf("run %d %s: %s\n", i+1, w.code, r)
		}
	}
	currentWalk.Store(mainWalk)
	medF := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	medD := func(v []time.Duration) time.Duration { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	m, a := all[mainWalk], all[app5050]
	fmt.Printf("median steps/s: main menu %.0f, partner app %.0f (%.2f ×); median p99 %s against %s: the hop adds %s (the app's own %s included)\n",
		medF(m.rates), medF(a.rates), medF(a.rates)/medF(m.rates), medD(a.p99).Round(time.Millisecond), medD(m.p99).Round(time.Millisecond),
		(medD(a.p99) - medD(m.p99)).Round(time.Millisecond), *partnerDelay)
	return nil
}
