package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuUse is the CPU time the parts of a run have used (user and system):
// where a unit of work's cost goes, and so what bounds a rate on a machine
// whose cores are all busy. Postgres counts every server process,
// background ones included (the WAL writer, the checkpointer, autovacuum),
// and backends that have exited (their time is their postmaster's
// children's).
type cpuUse struct {
	gateway  time.Duration // the gateway process (zero when there is none)
	postgres time.Duration
	pgWork   time.Duration // of postgres, the server's own work: WAL writer, checkpointer, background writer, autovacuum
	peer     time.Duration // the process driving the load: the bench (simulator and phones) or pgbench
	machine  time.Duration // every process (/proc/stat)
}

// cpuSample is what sampleCPU reads: the gateway's, the peer's and the
// machine's CPU so far, and each Postgres process's, so that a process
// gone before the next sample (a cluster of an earlier phase shutting
// down) counts for nothing rather than against the rest.
type cpuSample struct {
	gateway, peer, machine time.Duration
	postgres               map[int]pgProc
}

// pgProc is one Postgres process's CPU so far: its own, and for a
// postmaster its exited children's.
type pgProc struct {
	cpu, children time.Duration
	own           bool // the server's own work, not a client's
}

// clockTick is USER_HZ, the unit of /proc's CPU times on Linux.
const clockTick = time.Second / 100

// sampleCPU reads the CPU used so far. gateway is the gateway's process id
// (0: none); the peer is this process.
func sampleCPU(gateway int) cpuSample {
	var u cpuSample
	if gateway > 0 {
		if st, err := procStat(gateway); err == nil {
			u.gateway = st.cpu
		}
	}
	u.postgres = postgresProcs()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.peer = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	u.machine, _ = machineBusy()
	return u
}

// settledCPU is sampleCPU for the start of a measured run: it first lets
// the connections closed just before (a seed's, a warm-up's) end and be
// reaped, since a backend's whole CPU counts when its postmaster reaps it.
func settledCPU(gateway int) cpuSample {
	time.Sleep(300 * time.Millisecond)
	return sampleCPU(gateway)
}

// sub is what was used between before and u. A Postgres process started
// meanwhile counts from zero; one that ended meanwhile is left out.
func (u cpuSample) sub(before cpuSample) cpuUse {
	d := cpuUse{gateway: u.gateway - before.gateway, peer: u.peer - before.peer, machine: u.machine - before.machine}
	for pid, p := range u.postgres {
		b := before.postgres[pid]
		used := p.cpu - b.cpu + p.children - b.children
		d.postgres += used
		if p.own {
			d.pgWork += used
		}
	}
	return d
}

// per is each part's CPU time per unit of work, in microseconds, with
// peer naming the process that drove the load.
func (u cpuUse) per(n int64, peer string) string {
	if n <= 0 {
		return "no work done"
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	var b strings.Builder
	if u.gateway > 0 {
		fmt.Fprintf(&b, "gateway %.0f µs, ", us(u.gateway))
	}
	fmt.Fprintf(&b, "Postgres %.0f µs (%.0f of it its own work), %s %.0f µs; the machine %.0f µs", us(u.postgres), us(u.pgWork), peer, us(u.peer), us(u.machine))
	return b.String()
}

// procStatus is what /proc/PID/stat says of one process.
type procStatus struct {
	comm     string
	ppid     int
	cpu      time.Duration // its own user and system time
	children time.Duration // the user and system time of its children that it has waited for
}

func procStat(pid int) (procStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStatus{}, err
	}
	// The name is in parentheses and may hold spaces and parentheses.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStatus{}, fmt.Errorf("/proc/%d/stat: no name", pid)
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 { // state is f[0]; utime is field 14 of the whole line, f[11] here
		return procStatus{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	return procStatus{
		comm:     string(b[open+1 : end]),
		ppid:     int(n(1)),
		cpu:      time.Duration(n(11)+n(12)) * clockTick,
		children: time.Duration(n(13)+n(14)) * clockTick,
	}, nil
}

// postgresProcs reads every Postgres server process on the machine.
func postgresProcs() map[int]pgProc {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	all := map[int]procStatus{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if st, err := procStat(pid); err == nil && st.comm == "postgres" {
			all[pid] = st
		}
	}
	procs := make(map[int]pgProc, len(all))
	for pid, st := range all {
		p := pgProc{cpu: st.cpu}
		if _, child := all[st.ppid]; !child {
			p.children = st.children // a postmaster: its exited backends
		} else {
			p.own = serverWork(pid)
		}
		procs[pid] = p
	}
	return procs
}

// serverWork reports whether a postmaster's child does the server's own
// work (its title names it) rather than serve a client connection.
func serverWork(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	title := string(bytes.TrimRight(b, "\x00"))
	for _, w := range []string{"walwriter", "checkpointer", "background writer", "autovacuum", "logical replication", "archiver", "stats collector", "walsender"} {
		if strings.HasPrefix(title, "postgres: "+w) {
			return true
		}
	}
	return false
}

// machineBusy is the CPU time all processes have used since boot
// (/proc/stat: every state but idle and iowait).
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}
