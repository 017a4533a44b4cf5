package main

// Kannel against the same simulator, for the comparison PERFORMANCE.md
// makes: Kannel 1.4.5 (Debian's bearerbox and smsbox) without a message
// store, HTTP sendsms in, SMPP out, with the same load as the outbox runs
// (n messages, 64 HTTP clients). It needs the kannel package; without it the
// figure is skipped with a note.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/care360/care360/gateway/smsc"
)

var kannelRuns = flag.Bool("kannel", false, "also measure Kannel (bearerbox + smsbox, no store) against the same simulator")

const kannelConf = `group = core
admin-port = {admin}
admin-password = bench
smsbox-port = {box}
box-allow-ip = "127.0.0.1"
log-file = "{dir}/bearerbox.log"
log-level = 3

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smpp}
transceiver-mode = true
smsc-username = care360
smsc-password = secret
system-type = "VMA"
msg-id-type = 0x01
max-pending-submits = 256
enquire-link-interval = 30

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {http}
global-sender = 9237
log-file = "{dir}/smsbox.log"
log-level = 3

group = sendsms-user
username = bench
password = bench
concatenation = true
max-messages = 6
`

// kannelPhase runs Kannel against a fresh simulator and reports messages/s
// from HTTP accepted to submit_sm at the simulator.
func kannelPhase(n, runs int) error {
	if _, err := exec.LookPath("bearerbox"); err != nil {
		fmt.Println("== Kannel: not installed (apt-get install kannel); skipped")
		return nil
	}
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 10 * time.Second})
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Close()
	dir, err := os.MkdirTemp("", "care360-kannel-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	_, smppPort, _ := net.SplitHostPort(sim.Addr())
	conf := strings.NewReplacer("{admin}", ports[0], "{box}", ports[1], "{http}", ports[2], "{smpp}", smppPort, "{dir}", dir).Replace(kannelConf)
	path := filepath.Join(dir, "kannel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	for _, box := range []string{"bearerbox", "smsbox"} {
		cmd := exec.Command(box, path)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", box, err)
		}
		defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
		time.Sleep(time.Second) // smsbox needs bearerbox listening
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sim.WaitBound(ctx, 1); err != nil {
		return fmt.Errorf("kannel did not bind (logs in %s): %w", dir, err)
	}
	base := "http://127.0.0.1:" + ports[2] + "/cgi-bin/sendsms"
	if err := waitHTTP(base); err != nil {
		return err
	}
	fmt.Printf("== Kannel 1.4.5 (no store), same simulator: %d messages per run from 64 HTTP clients\n", n)
	send(base, sim, min(n, 10_000)) // warm up
	var rates []float64
	for i := range runs {
		r, took, err := send(base, sim, n)
		if err != nil {
			return err
		}
		rates = append(rates, r)
		fmt.Printf("run %d: %.0f messages/s (HTTP accepted to submit_sm at the simulator, %s)\n", i+1, r, took.Round(time.Millisecond))
	}
	slices.Sort(rates)
	fmt.Printf("Kannel messages/s min %.0f / median %.0f / max %.0f\n\n", rates[0], rates[len(rates)/2], rates[len(rates)-1])
	return nil
}

// send posts n sendsms requests from 64 clients and waits until the
// simulator has received n more submit_sm.
func send(base string, sim *smsc.Server, n int) (float64, time.Duration, error) {
	before := sim.Submits()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				q := url.Values{"username": {"bench"}, "password": {"bench"}, "from": {"9237"},
					"to": {fmt.Sprintf("84%d", 900000001+i%100000)}, "text": {fmt.Sprintf("Ma qua tang cua quy khach: %d", i)}}
				resp, err := client.Get(base + "?" + q.Encode())
				if err != nil || resp.StatusCode/100 != 2 {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, 0, fmt.Errorf("kannel refused %d of %d sendsms requests", f, n)
	}
	for sim.Submits()-before < uint64(n) {
		if time.Since(start) > 5*time.Minute {
			return 0, 0, errors.New("kannel did not submit everything in 5 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	return float64(n) / took.Seconds(), took, nil
}

func freePorts(k int) ([]string, error) {
	var out []string
	for range k {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close()
		out = append(out, p)
	}
	return out, nil
}

func waitHTTP(u string) error {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("smsbox does not answer on %s", u)
}
