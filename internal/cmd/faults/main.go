// Command faults runs the failure drills of PRODUCT.md §8 against the real
// binary: two `care360 serve` processes on one Postgres of its own (a primary
// with a synchronous streaming standby, reached by a two-host URL), and the
// SMSC simulator behind a TCP proxy that can freeze. Each drill queues a burst
// of transactional SMS and a USSD push to 100 members, dials USSD throughout,
// injects one fault, and prints one row: messages accepted, submitted
// (distinct), duplicated, lost, pushes shown and repeated, USSD
// steps answered late (over 2 s), not at all or with the "service
// unavailable" screen, and the time to recover.
// Everything listens on loopback only.
//
//	go run ./internal/cmd/faults
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pglocal"
	"github.com/care360/care360/store"
)

func main() {
	n := flag.Int("n", 300, "transactional SMS queued per drill")
	flag.Parse()
	if err := run(*n); err != nil {
		log.Fatal(err)
	}
}

// adminToken is strong enough for serve (at least 32 characters).
const adminToken = "drill-admin-token-0123456789abcdef0123456789"

type rig struct {
	dir              string
	primary, standby *pglocal.Cluster
	url              string
	db               *store.DB
	sim              *smsc.Server
	proxy            *proxy
	gw               [2]*gateway
}

func run(n int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "care360-faults")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join("bin", "care360")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/care360").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	r := &rig{dir: dir}
	// A synchronous standby: a promotion loses no acknowledged commit.
	if r.primary, r.standby, err = pglocal.StartPair(ctx, dir, "care360", nil); err != nil {
		return err
	}
	defer r.primary.Stop()
	defer r.standby.Stop()
	r.url = pglocal.MultiHostURL("care360", r.primary, r.standby)
	if err := store.Migrate(ctx, r.url); err != nil {
		return err
	}
	if r.db, err = store.Open(ctx, r.url, store.Options{}); err != nil {
		return err
	}
	defer r.db.Close()
	r.sim = smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 10 * time.Second})
	if err := r.sim.Start(); err != nil {
		return err
	}
	defer r.sim.Close()
	if r.proxy, err = newProxy(r.sim.Addr()); err != nil {
		return err
	}
	defer r.proxy.Close()
	// The gateways running at the end, whichever they are: the kill drill
	// replaces one, and a defer per start would stop only the killed one.
	defer func() {
		for _, g := range r.gw {
			if g != nil {
				g.kill()
			}
		}
	}()
	for i := range r.gw {
		if r.gw[i], err = startGateway(bin, dir, i, r.url, r.proxy.Addr()); err != nil {
			return err
		}
	}
	if err := r.waitBound(2, 30*time.Second); err != nil {
		return err
	}

	// dropsLinks is how many links a drill takes down with submits in
	// flight; what was in flight on them may go again (PRODUCT.md §8: at
	// most one window per link; two gateways of one bind each, window 10).
	// A kill -9 takes the killed gateway's link with it: its sent but
	// unrecorded messages are sent again by the next holder of their lease.
	const windowPerLink = 10
	// SMS and pushes share the allowance: both are submit_sm in flight on
	// the link that went.
	drills := []struct {
		name       string
		fault      func() error // injects the fault and returns when it is over
		dropsLinks int
	}{
		{"kill -9 one gateway mid-burst", func() error {
			r.gw[0].kill()
			var err error
			r.gw[0], err = startGateway(bin, dir, 0, r.url, r.proxy.Addr())
			return err
		}, 1},
		{"Postgres restart", func() error { return r.primary.Restart(ctx) }, 0},
		{"SMSC links dropped", func() error { r.sim.DropLinks(); return nil }, 2},
		{"SMSC frozen 10 s", func() error {
			r.proxy.Freeze(true)
			time.Sleep(10 * time.Second)
			r.proxy.Freeze(false)
			return nil
		}, 2},
		{"throttling storm 10 s", func() error {
			r.sim.SetSubmitPolicy(func(uint64, smsc.Message) smsc.SubmitAction { return smsc.SubmitAction{Status: 0x58} })
			time.Sleep(10 * time.Second)
			r.sim.SetSubmitPolicy(nil)
			return nil
		}, 0},
		{"standby promotion", func() error {
			if err := r.primary.Crash(); err != nil {
				return err
			}
			return r.standby.Promote(ctx)
		}, 0},
	}
	fmt.Printf("| drill | accepted | submitted | duplicated | lost | pushes shown | pushes repeated | USSD late or unavailable / dials | recovered in |\n|---|---|---|---|---|---|---|---|---|\n")
	var broken []string
	for i, d := range drills {
		res, err := r.drill(ctx, i, n, d.fault)
		if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		fmt.Printf("| %s | %s |\n", d.name, res.row)
		allowed := windowPerLink * d.dropsLinks
		if res.lost > 0 || res.duplicated > allowed {
			broken = append(broken, fmt.Sprintf("%s: %d lost, %d duplicated (at most %d allowed)", d.name, res.lost, res.duplicated, allowed))
		}
	}
	if len(broken) > 0 {
		return fmt.Errorf("promises of PRODUCT.md §8 broken:\n  %s", strings.Join(broken, "\n  "))
	}
	fmt.Println("every drill: nothing lost, duplicates only within one window per dropped link")
	return nil
}

// drillResult is one drill's row and the figures it is judged by.
type drillResult struct {
	row              string
	lost, duplicated int
}

// drill queues n messages, dials USSD throughout, injects the fault a moment
// into the burst, and waits (at most 2 minutes: the leases of a killed
// sender lapse after 60 s) until every message is submitted.
func (r *rig) drill(ctx context.Context, idx, n int, fault func() error) (drillResult, error) {
	prefix := fmt.Sprintf("849%d", idx+1)
	if _, err := r.db.Pool().Exec(ctx, `
		WITH m AS (
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at)
			SELECT $2::text || lpad(g::text, 6, '0'), 'drill ' || g, 'transactional', 'drill-' || $2::text || '-' || g, now(), now()
			FROM generate_series(1, $1::int) g RETURNING id
		)
		INSERT INTO sms_queue (message_id, priority, not_before) SELECT id, 0, now() FROM m`, n, prefix); err != nil {
		return drillResult{}, err
	}
	// And a USSD notification pushed to a segment of members of the
	// drill's own (nobody else dials them), which the simulator's phones
	// acknowledge.
	members, err := r.pushMembers(ctx, idx, pushesPerDrill)
	if err != nil {
		return drillResult{}, err
	}
	pushText := fmt.Sprintf("drill push %d", idx+1)
	pushes := store.NewPushes(store.NewSMS(r.db, care360.SMSRules{}), time.Minute, "*090#")
	if _, _, err := pushes.CreatePush(ctx, care360.NewPush{Segment: &care360.Segment{MSISDNs: members}, Kind: care360.PushNotify,
		Text: pushText, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		return drillResult{}, err
	}
	dctx, stop := context.WithCancel(ctx)
	var dials, late atomic.Int64
	var lastOK atomic.Int64 // unix nanos of the last dial answered within 2 s
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; dctx.Err() == nil; k++ {
				msisdn := fmt.Sprintf("84988%d%05d", w, k%100000)
				start := time.Now()
				cctx, cancel := context.WithTimeout(dctx, 5*time.Second)
				call, err := r.sim.Dial(cctx, msisdn, "*090#", smsc.DialOptions{})
				took := time.Since(start)
				if call != nil {
					// The "service temporarily unavailable" screen is no answer.
					if s := call.Screen(); err == nil && (strings.Contains(s, "gián đoạn") || strings.Contains(s, "unavailable")) {
						err = errors.New("service unavailable")
					}
					call.Abort(cctx)
				}
				cancel()
				if dctx.Err() != nil {
					return
				}
				dials.Add(1)
				if err != nil || took > 2*time.Second {
					late.Add(1)
				} else {
					lastOK.Store(time.Now().UnixNano())
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	time.Sleep(700 * time.Millisecond) // mid-burst
	faultAt := time.Now()
	if err := fault(); err != nil {
		stop()
		wg.Wait()
		return drillResult{}, err
	}
	cleared := time.Now()
	// Recovered: every message submitted and a dial answered in time after
	// the fault was over.
	var recovered time.Duration
	deadline := time.Now().Add(2 * time.Minute)
	distinct, total := 0, 0
	for time.Now().Before(deadline) {
		distinct, total = r.count(prefix, n)
		if shown, _ := r.countPushes(members, pushText); distinct == n && shown == len(members) && lastOK.Load() > cleared.UnixNano() {
			recovered = time.Since(faultAt)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	time.Sleep(time.Second) // late duplicates, if any, arrive now
	distinct, total = r.count(prefix, n)
	shown, pushed := r.countPushes(members, pushText)
	rec := "not within 2 min"
	if recovered > 0 {
		rec = fmt.Sprintf("%.1f s", recovered.Seconds())
	}
	return drillResult{
		row: fmt.Sprintf("%d | %d | %d | %d | %d/%d | %d | %d/%d | %s", n, distinct, total-distinct, n-distinct,
			shown, len(members), pushed-shown, late.Load(), dials.Load(), rec),
		lost:       n - distinct + len(members) - shown,
		duplicated: total - distinct + pushed - shown,
	}, nil
}

// pushesPerDrill is how many members each drill pushes a notification to.
const pushesPerDrill = 100

// pushMembers makes n members of drill idx's own and returns their numbers.
func (r *rig) pushMembers(ctx context.Context, idx, n int) ([]care360.MSISDN, error) {
	prefix := fmt.Sprintf("8497%d", idx+1)
	if _, err := r.db.Pool().Exec(ctx, `
		INSERT INTO subscribers (msisdn, name, member_since, tier)
		SELECT $2::text || lpad(g::text, 5, '0'), 'Drill', current_date, 'dong' FROM generate_series(1, $1::int) g`, n, prefix); err != nil {
		return nil, fmt.Errorf("push members: %w", err)
	}
	ms := make([]care360.MSISDN, n)
	for i := range ms {
		ms[i] = care360.MSISDN(fmt.Sprintf("%s%05d", prefix, i+1))
	}
	return ms, nil
}

// countPushes returns how many of members were shown the push with text,
// and how many times it was shown in all.
func (r *rig) countPushes(members []care360.MSISDN, text string) (distinct, total int) {
	for _, m := range members {
		k := 0
		for _, p := range r.sim.Pushes(string(m)) {
			if p.Text == text {
				k++
			}
		}
		total += k
		if k > 0 {
			distinct++
		}
	}
	return distinct, total
}

// count returns how many of the drill's messages reached the simulator, and
// how many submits there were in all.
func (r *rig) count(prefix string, n int) (distinct, total int) {
	for g := 1; g <= n; g++ {
		k := len(r.sim.Messages(fmt.Sprintf("%s%06d", prefix, g)))
		total += k
		if k > 0 {
			distinct++
		}
	}
	return distinct, total
}

func (r *rig) waitBound(n int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return r.sim.WaitBound(ctx, n)
}

// gateway is one `care360 serve` process.
type gateway struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startGateway(bin, dir string, i int, dbURL, smscAddr string) (*gateway, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("gateway-%d.log", i)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"CARE360_DATABASE_URL="+dbURL,
		"CARE360_SMPP_ADDR="+smscAddr,
		"CARE360_SMPP_TPS=50",
		"CARE360_HTTP_ADDR="+fmt.Sprintf("127.0.0.1:%d", port),
		"CARE360_ADMIN_TOKEN="+adminToken,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	g := &gateway{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(g.done) }()
	// Ready when /readyz answers 200.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-g.done:
			return nil, fmt.Errorf("gateway %d exited at start: see %s", i, logf.Name())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
	}
	g.kill()
	return nil, fmt.Errorf("gateway %d not ready within 30 s", i)
}

// kill sends SIGKILL and waits for the process to be gone.
func (g *gateway) kill() {
	g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.done
}

// proxy forwards TCP to the simulator; frozen, it keeps every connection
// open and accepts new ones but forwards nothing, as a hung SMSC would.
type proxy struct {
	ln      net.Listener
	target  string
	frozen  atomic.Bool
	closing atomic.Bool
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target}
	go p.accept()
	return p, nil
}

func (p *proxy) Addr() string   { return p.ln.Addr().String() }
func (p *proxy) Freeze(on bool) { p.frozen.Store(on) }
func (p *proxy) Close() error   { p.closing.Store(true); return p.ln.Close() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				return
			}
			go p.pipe(s, c)
			p.pipe(c, s)
		}()
	}
}

// pipe copies from src to dst, holding every chunk while frozen; when
// either side ends both are closed.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		for p.frozen.Load() && !p.closing.Load() {
			time.Sleep(20 * time.Millisecond)
		}
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed side
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
