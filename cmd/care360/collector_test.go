package main

import (
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"testing"
)

// collectorSettings reads the collector's settings in force.
func collectorSettings() (percent, limit uint64) {
	s := []rtmetrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// Without GOGC and GOMEMLIMIT in the environment the gateway collects at
// 400 % growth under a soft limit of 200 MiB; an operator's settings stand.
// (Not parallel: the settings are the whole process's.)
func TestCollectorDefaultsUnlessTheEnvironmentSetsThem(t *testing.T) {
	oldPct := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPct)
		debug.SetMemoryLimit(oldLimit)
	})
	debug.SetMemoryLimit(1 << 40)

	set := map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}
	if err := collectorDefaults(func(k string) string { return set[k] }); err != nil {
		t.Fatal(err)
	}
	if pct, limit := collectorSettings(); pct != 100 || limit != 1<<40 {
		t.Errorf("with both set in the environment: GOGC %d, limit %d; want them untouched (100, %d)", pct, limit, uint64(1<<40))
	}

	if err := collectorDefaults(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if pct, limit := collectorSettings(); pct != 400 || limit != 200<<20 {
		t.Errorf("with neither set: GOGC %d, limit %d; want 400 and %d", pct, limit, 200<<20)
	}
}
