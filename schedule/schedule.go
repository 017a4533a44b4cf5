// Package schedule runs the gateway's periodic jobs: each job on its own
// goroutine, owned by a Scheduler that starts and stops them all. Jobs are
// written to be idempotent and safe on several instances at once (advisory
// locks, keys, constraints in the store), so the scheduler needs no leader
// election: every instance runs every job, and the database sorts out who
// does the work.
package schedule

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
)

// Job is work to run every so often.
type Job struct {
	Name  string
	Every time.Duration
	// Timeout bounds one run; zero means Every, at least a minute.
	Timeout time.Duration
	Run     func(ctx context.Context) error
}

// Config is what a Scheduler needs; the zero value works.
type Config struct {
	Logger   *slog.Logger         // nil: discard
	Registry *prometheus.Registry // nil: no metrics
	// Runs, if set, keeps each run's outcome under Instance, so that the
	// operations dashboard can say when each job last ran and how.
	Runs     care360.JobRecorder
	Instance string
}

// Scheduler owns the jobs' goroutines. Start and Stop are safe to call
// twice, and Stop before Start is fine.
type Scheduler struct {
	jobs     []Job
	log      *slog.Logger
	records  care360.JobRecorder
	instance string
	recorded map[string]lastRecord // under mu
	runs     *prometheus.CounterVec
	seconds  *prometheus.HistogramVec

	mu     sync.Mutex
	state  int // 0 new, 1 started, 2 stopped
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nudges map[string]chan struct{}
}

// New returns a scheduler of jobs, not yet started. It panics on two jobs
// of one name or a job without a period, which are wiring bugs.
func New(cfg Config, jobs ...Job) *Scheduler {
	s := &Scheduler{jobs: jobs, log: cfg.Logger, records: cfg.Runs, instance: cfg.Instance, recorded: map[string]lastRecord{}, nudges: map[string]chan struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, j := range jobs {
		if _, dup := s.nudges[j.Name]; dup || j.Every <= 0 || j.Run == nil {
			panic("schedule: job " + j.Name + " is defined twice or has no period or function")
		}
		s.nudges[j.Name] = make(chan struct{}, 1)
	}
	s.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "care360_job_runs_total", Help: "Scheduled job runs by job and result (ok, failed).",
	}, []string{"job", "result"})
	s.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "care360_job_duration_seconds", Help: "How long scheduled job runs take.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"job"})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(s.runs, s.seconds)
	}
	return s
}

// Start launches every job. The first run comes soon after (a tenth of the
// period, at most 30 s, jittered), so that a restart catches up on a
// missed run without every instance starting in step.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return
	}
	s.state = 1
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, j := range s.jobs {
		s.wg.Add(1)
		go s.loop(ctx, j, s.nudges[j.Name])
	}
}

// Stop cancels the jobs and waits for runs in progress to return, or for
// ctx to end. A stopped scheduler does not start again.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state == 1 {
		s.cancel()
	}
	s.state = 2
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Trigger asks for a run of the named job as soon as it is free; triggers
// that come while one is pending add nothing. Unknown names are ignored.
func (s *Scheduler) Trigger(name string) {
	select {
	case s.nudges[name] <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop(ctx context.Context, j Job, nudge <-chan struct{}) {
	defer s.wg.Done()
	timer := time.NewTimer(jitter(min(j.Every/10, 30*time.Second)))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-nudge:
			timer.Stop() // since Go 1.23 a stopped timer delivers nothing stale
		}
		s.runOnce(ctx, j)
		timer.Reset(jitter(j.Every))
	}
}

// runOnce runs j with its timeout; a failure is logged and counted, and
// the next run comes at the next period as usual.
func (s *Scheduler) runOnce(ctx context.Context, j Job) {
	timeout := j.Timeout
	if timeout <= 0 {
		timeout = max(j.Every, time.Minute)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := j.Run(ctx)
	s.seconds.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		s.runs.WithLabelValues(j.Name, "ok").Inc()
	case ctx.Err() != nil && context.Cause(ctx) == context.Canceled:
		return // stopping: the run was cut short on purpose
	default:
		s.runs.WithLabelValues(j.Name, "failed").Inc()
		s.log.Warn("job failed", "job", j.Name, "took", time.Since(start).Round(time.Millisecond), "err", err)
	}
	s.record(j, start, err)
}

// recordEvery spaces out the records of a job that runs often (posting
// runs every second): a run is recorded when its outcome differs from the
// last one recorded, or this long after it.
const recordEvery = 10 * time.Second

// record keeps the run's outcome for the dashboard. It is a few bytes a
// run, so a failure to record (the database away) is logged, never retried:
// the next run records again.
func (s *Scheduler) record(j Job, start time.Time, err error) {
	if s.records == nil {
		return
	}
	s.mu.Lock()
	last, seen := s.recorded[j.Name]
	due := !seen || last.ok != (err == nil) || time.Since(last.at) >= recordEvery
	if due {
		s.recorded[j.Name] = lastRecord{at: time.Now(), ok: err == nil}
	}
	s.mu.Unlock()
	if !due {
		return
	}
	run := care360.JobRun{Job: j.Name, Instance: s.instance, StartedAt: start, FinishedAt: time.Now(), OK: err == nil}
	if err != nil {
		run.Error = err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.records.RecordJobRun(ctx, run); err != nil {
		s.log.Warn("job run not recorded", "job", j.Name, "err", err)
	}
}

type lastRecord struct {
	at time.Time
	ok bool
}

// jitter spreads d by ±10 %, so that instances started together drift
// apart instead of contending for the same locks at the same moment.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}
