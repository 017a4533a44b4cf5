package main

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// procStat reads a process's CPU time as the kernel accounts it: for this
// process, what getrusage says, within the few ticks by which the two
// accountings differ.
func TestProcStatAgreesWithGetrusage(t *testing.T) {
	self := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for x := 0; self() < 300*time.Millisecond; x++ {
		_ = x * x // burn CPU
	}
	st, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if used := self(); st.cpu < used-10*clockTick || st.cpu > used+2*clockTick {
		t.Errorf("procStat: %v of CPU; getrusage: %v", st.cpu, used)
	}
	if st.ppid != os.Getppid() || st.comm == "" {
		t.Errorf("procStat: parent %d, name %q; want parent %d", st.ppid, st.comm, os.Getppid())
	}
	if busy, err := machineBusy(); err != nil || busy < st.cpu {
		t.Errorf("machineBusy: %v, %v; this process alone used %v", busy, err, st.cpu)
	}
}
