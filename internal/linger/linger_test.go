package linger_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360/internal/linger"
)

// Every function runs once, a goroutine that finished is handed the next
// function instead of a new one starting, and Close then Wait ends them all
// after the running ones return.
func TestGroupReusesItsGoroutines(t *testing.T) {
	t.Parallel()
	g := linger.New(time.Minute)
	var ran atomic.Int64
	var done sync.WaitGroup
	base := runtime.NumGoroutine()
	for range 1000 {
		done.Add(1)
		g.Go(func() { ran.Add(1); done.Done() })
		done.Wait() // one at a time: the goroutine that ran the last one is free
	}
	if ran.Load() != 1000 {
		t.Fatalf("%d of 1,000 functions ran", ran.Load())
	}
	// Each lingers a minute: had each function a goroutine of its own,
	// a thousand would be waiting now. A few more than one start when the
	// next function comes before the last goroutine is back waiting.
	if n := runtime.NumGoroutine() - base; n > 20 {
		t.Fatalf("%d goroutines more after 1,000 functions run one at a time, want a few", n)
	}
	release := make(chan struct{})
	g.Go(func() { <-release })
	g.Go(func() { ran.Add(1) }) // the first goroutine is busy: a second starts
	g.Close()
	stopped := make(chan struct{})
	go func() { g.Wait(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Wait returned while a function was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Close and the last function")
	}
	if ran.Load() != 1001 {
		t.Fatalf("%d of 1,001 functions ran", ran.Load())
	}
}

// A goroutine left without work ends by itself after its idle time.
func TestGroupGoroutinesEndWhenIdle(t *testing.T) {
	t.Parallel()
	g := linger.New(10 * time.Millisecond)
	g.Go(func() {})
	stopped := make(chan struct{})
	go func() { g.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle goroutine did not end without Close")
	}
}
