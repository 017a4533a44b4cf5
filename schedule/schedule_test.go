package schedule_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
	"github.com/care360/care360/schedule"
)

// waitFor polls cond for up to 20 s: generous, a busy machine is not a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunsPeriodicallyAndOnTrigger(t *testing.T) {
	t.Parallel()
	var fast, slow atomic.Int64
	reg := prometheus.NewRegistry()
	s := schedule.New(schedule.Config{Registry: reg},
		schedule.Job{Name: "fast", Every: 20 * time.Millisecond, Run: func(context.Context) error { fast.Add(1); return nil }},
		schedule.Job{Name: "slow", Every: time.Hour, Run: func(context.Context) error { slow.Add(1); return nil }},
	)
	s.Start()
	s.Start() // harmless
	t.Cleanup(func() { s.Stop(context.Background()) })
	waitFor(t, "three runs of the fast job", func() bool { return fast.Load() >= 3 })
	if n := slow.Load(); n > 1 {
		t.Errorf("the hourly job ran %d times already", n)
	}
	before := slow.Load()
	s.Trigger("slow")
	s.Trigger("no-such-job")
	waitFor(t, "a triggered run", func() bool { return slow.Load() > before })
	if got := counter(t, reg, "care360_job_runs_total", "fast", "ok"); got < 3 {
		t.Errorf("care360_job_runs_total{fast,ok} = %v", got)
	}
}

func TestFailuresAreLoggedAndRetried(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	var n atomic.Int64
	s := schedule.New(schedule.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))},
		schedule.Job{Name: "flaky", Every: 10 * time.Millisecond, Run: func(context.Context) error {
			if n.Add(1) == 1 {
				return errors.New("database went away")
			}
			return nil
		}})
	s.Start()
	waitFor(t, "a run after the failure", func() bool { return n.Load() >= 2 })
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"job":"flaky"`) || !strings.Contains(logs.String(), "database went away") {
		t.Errorf("log: %s", logs.String())
	}
}

// Stop waits for a run in progress, cancels it, and is safe twice; a
// stopped scheduler never starts again.
func TestStopWaitsForRuns(t *testing.T) {
	t.Parallel()
	started, finished := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s := schedule.New(schedule.Config{}, schedule.Job{Name: "long", Every: time.Millisecond, Run: func(ctx context.Context) error {
		once.Do(func() { close(started) })
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // cleaning up
		close(finished)
		return ctx.Err()
	}})
	if err := schedule.New(schedule.Config{}).Stop(context.Background()); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
	s.Start()
	<-started
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Stop returned before the run did")
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	s.Start() // no effect after Stop
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop after a late Start: %v", err)
	}
}

func TestStopGivesUpAtTheDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	s := schedule.New(schedule.Config{}, schedule.Job{Name: "stuck", Every: time.Millisecond, Run: func(context.Context) error {
		once.Do(func() { close(started) })
		<-release // ignores its context: a bug Stop must survive
		return nil
	}})
	s.Start()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want the deadline", err)
	}
	close(release)
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop once the run returned: %v", err)
	}
}

func TestBadJobsPanic(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	for name, jobs := range map[string][]schedule.Job{
		"twice":     {{Name: "a", Every: time.Second, Run: ok}, {Name: "a", Every: time.Second, Run: ok}},
		"no period": {{Name: "a", Run: ok}},
		"no func":   {{Name: "a", Every: time.Second}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			schedule.New(schedule.Config{}, jobs...)
		}()
	}
}

// counter reads the value of a counter with the given label values.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runLog keeps the runs a scheduler records, as the dashboard's store would.
type runLog struct {
	mu   sync.Mutex
	runs []care360.JobRun
}

func (l *runLog) RecordJobRun(_ context.Context, r care360.JobRun) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, r)
	return nil
}

func (l *runLog) snapshot() []care360.JobRun {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]care360.JobRun(nil), l.runs...)
}

// A job's runs are recorded for the dashboard with their instance and
// outcome; a job that runs every few milliseconds is recorded when its
// outcome changes, not at every run.
func TestRunsRecorded(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	log := &runLog{}
	s := schedule.New(schedule.Config{Runs: log, Instance: "gw-7"},
		schedule.Job{Name: "often", Every: 5 * time.Millisecond, Run: func(context.Context) error {
			if n.Add(1) == 5 {
				return errors.New("deadlock detected")
			}
			return nil
		}})
	s.Start()
	waitFor(t, "twenty runs", func() bool { return n.Load() >= 20 })
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	runs := log.snapshot()
	if len(runs) != 3 {
		t.Fatalf("recorded %d runs of %d, want 3 (the first, the failure, the recovery): %+v", len(runs), n.Load(), runs)
	}
	if r := runs[1]; r.Job != "often" || r.Instance != "gw-7" || r.OK || r.Error != "deadlock detected" || r.FinishedAt.Before(r.StartedAt) {
		t.Errorf("the failure recorded as %+v", r)
	}
	if !runs[0].OK || !runs[2].OK {
		t.Errorf("runs %+v", runs)
	}
}
