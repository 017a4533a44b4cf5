package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

// SIGTERM with 20 dialogue steps in flight (their screens shown, the USSD
// centre slow to acknowledge them): the real binary stops taking work at
// once (/readyz 503, the API 503), waits for the steps in flight, unbinds, and
// exits 0 (PRODUCT.md §1).
func TestSIGTERMDrainsInOrder(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "care360")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 20 * time.Second})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dbURL := pgtest.FreshDB(t)
	// A free port is found by listening and letting go, and another process
	// may take it before the child listens: then the child exits at once
	// and a new port is tried.
	var (
		cmd      *exec.Cmd
		exited   chan error
		base     string
		client   = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		probeErr []string
	)
	// A fresh connection per probe: a keep-alive connection from before the
	// signal says nothing about what a new client gets during the drain.
	status := func(path string) int {
		res, err := client.Get(base + path)
		if err != nil {
			probeErr = append(probeErr, err.Error())
			return 0 // not answered: the listener is closed (or the process gone)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		httpAddr := ln.Addr().String()
		ln.Close()
		cmd = exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(),
			"CARE360_DATABASE_URL="+dbURL,
			"CARE360_SMPP_ADDR="+sim.Addr(),
			"CARE360_HTTP_ADDR="+httpAddr,
			"CARE360_ADMIN_TOKEN=shutdown-test-0d4f9a7c2b8e61f3a5c7e9b1d3f5a7c9",
			"CARE360_SMPP_WINDOW=50", // room for all 20 screens at once
		)
		logs := &testLog{t: t}
		t.Cleanup(logs.stop)
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited = make(chan error, 1)
		go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(cmd, exited)
		t.Cleanup(func() { cmd.Process.Kill() })
		base = "http://" + httpAddr
		ready, gone := false, false
		for deadline := time.Now().Add(60 * time.Second); !ready && !gone; {
			select {
			case err := <-exited:
				gone = true
				t.Logf("attempt %d: the gateway exited before it was ready (%v)", attempt, err)
			default:
				if status("/readyz") == http.StatusOK {
					ready = true
				} else if time.Now().After(deadline) {
					t.Fatal("not ready in 60 s")
				} else {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
		if ready {
			break
		}
		if attempt == 5 {
			t.Fatal("the gateway never started")
		}
	}
	probeErr = nil

	// The phones see their screens at once, but the USSD centre
	// acknowledges each screen 1.8 s late (within the steps' 2 s budget):
	// the steps stay in flight. The signal goes once half the phones have
	// their screens. Every step began after its dial did, so none of them
	// ends before the round's start plus the acknowledgement delay (its
	// acknowledgement) or plus the 2 s budget (its deadline): a drain that
	// waits for its steps exits no earlier than that, however the machine
	// spreads the dials. When the machine is so crowded that half the
	// screens come too late for the signal to find steps in flight, the
	// round is repeated with other phones once its acknowledgements are in.
	const ackDelay = 1800 * time.Millisecond
	sim.SetScreenRespDelay(ackDelay)
	const n = 20
	var (
		dials     sync.WaitGroup
		started   time.Time
		signalled time.Time
	)
	for round := 0; ; round++ {
		shown := make(chan string, n)
		started = time.Now()
		for i := range n {
			dials.Go(func() {
				screen := ""
				if c, err := sim.Dial(context.Background(), fmt.Sprintf("849120%02d%03d", round, i), "*090#", smsc.DialOptions{}); err == nil {
					screen = c.Screen()
				}
				shown <- screen
			})
		}
		for range n / 2 {
			if screen := <-shown; screen == "" {
				t.Fatal("a dial before the signal got no screen")
			}
		}
		if time.Since(started) < ackDelay-500*time.Millisecond {
			signalled = time.Now()
			break
		}
		if round == 4 {
			t.Fatal("half the screens came too late in every round; the machine is too crowded to hold steps in flight")
		}
		t.Logf("round %d: half the screens took %s, too late to hold steps in flight; again", round, time.Since(started))
		dials.Wait()
		time.Sleep(ackDelay + 500*time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	defer dials.Wait()
	var readyz, api []int
	timeout := time.After(30 * time.Second)
	for probing := true; probing; {
		select {
		case err := <-exited:
			probing = false
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				t.Errorf("exit code %d, want 0", exit.ExitCode())
			} else if err != nil {
				t.Error(err)
			}
		case <-time.After(50 * time.Millisecond):
			readyz = append(readyz, status("/readyz"))
			api = append(api, status("/api/v1/me"))
		case <-timeout:
			t.Fatal("still running 30 s after SIGTERM")
		}
	}
	// The drain waited for the steps in flight before unbinding.
	if exitedAt := time.Since(started); exitedAt < ackDelay {
		t.Errorf("exited %s after the dials began (%s after SIGTERM): it did not wait for the steps in flight", exitedAt, time.Since(signalled))
	}
	// Every probe answered during the drain says 503, from the first. A
	// probe that finds the listener closed (0) is the drain's last stage;
	// on a crowded machine a probe may only get there after the process is
	// gone, so only the answered ones are judged, and there must be some.
	answered := slices.DeleteFunc(slices.Clone(readyz), func(st int) bool { return st == 0 })
	if len(answered) == 0 {
		t.Errorf("/readyz never answered during a %s drain: %v (%q)", time.Since(signalled).Round(time.Millisecond), readyz, probeErr)
	}
	for i, st := range answered {
		if st != http.StatusServiceUnavailable {
			t.Errorf("/readyz probe %d during the drain answered %d, want 503 from the first (all: %v)", i, st, readyz)
		}
	}
	for i, st := range api {
		if st != http.StatusServiceUnavailable && st != 0 {
			t.Errorf("API probe %d during the drain answered %d, want 503 (or the listener closed)", i, st)
		}
	}
	if u := sim.Unbinds(); u == 0 {
		t.Error("no unbind before exit")
	}
}

// testLog sends a child's stderr to the test log until the test ends.
type testLog struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("%s", p)
	}
	return len(p), nil
}

func (l *testLog) stop() { l.mu.Lock(); l.done = true; l.mu.Unlock() }
