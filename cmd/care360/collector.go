package main

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// collectorDefaults sets Go's garbage collector to the gateway's defaults
// (envVars: GOGC 400, GOMEMLIMIT 200MiB) where the environment does not set
// them; the runtime has already applied what it does set.
//
// Why not Go's own (100, no limit): the gateway's live heap is small (tens
// of MB; a million open dialogues add about 40) while every PDU, screen and
// query allocates. Collecting at every 100 % of growth ran the collector
// many times a second under load, and it took a third of the gateway's CPU
// sending SMS. At 400 % it runs a fifth as often. The soft limit makes it
// collect more often again as the process nears 200 MiB, so memory stays
// bounded however many dialogues are open; a gateway expected to hold more
// than that live (millions of open dialogues) is given a higher GOMEMLIMIT.
func collectorDefaults(getenv func(string) string) error {
	if strings.TrimSpace(getenv("GOGC")) == "" {
		pct, err := strconv.Atoi(envDefault("GOGC"))
		if err != nil {
			return fmt.Errorf("GOGC default: %w", err)
		}
		debug.SetGCPercent(pct)
	}
	if strings.TrimSpace(getenv("GOMEMLIMIT")) == "" {
		mib, ok := strings.CutSuffix(envDefault("GOMEMLIMIT"), "MiB")
		n, err := strconv.ParseInt(mib, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("GOMEMLIMIT default %q: want a number of MiB", envDefault("GOMEMLIMIT"))
		}
		debug.SetMemoryLimit(n << 20)
	}
	return nil
}
