package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite the expected screens of testdata/dialogues from what the gateway shows")

// TestDialogues runs every transcript in testdata/dialogues through the real
// program, once over SMPP (the simulator) and once over the HTTP adapter
// (Africa's Talking). A transcript is what a person would write down while
// testing with a phone:
//
//	# comment
//	@member 0903111001 language=vi qualifying=12345 bonus=500
//	@caller 0912000111 a caller who is not a member
//	@paths smpp        only over these paths (HTTP has no network abort)
//	> *090#            what the phone sends (the first of a call dials)
//	MobiFone Care360   the exact screen expected, line by line
//	[continue]         the dialogue waits for an answer ([end]: it is over)
//	@abort             the network drops the call
//	@sms TEXT          the member got an SMS matching TEXT (loyalty_test.go)
//	@api POST /path {} an admin API call that must succeed ({msisdn}: the member's)
//	@push {…}          staff push this body to the member (POST /api/v1/ussd/pushes,
//	                   SMPP only); the phone takes the push: its screen follows
//
// {expiry} in a screen stands for the expiry date of points earned today;
// {code} for the 10 random characters of a code made for the member.
// The HTTP run uses other numbers (09… becomes 08…) so both paths run at
// once without sharing subscribers.
func TestDialogues(t *testing.T) {
	t.Parallel()
	// A database of its own: the transcripts change what they find
	// (languages, registrations, sessions), so a run again (-count) must
	// start from the same nothing.
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	files, _ := filepath.Glob("testdata/dialogues/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, path := range []string{"smpp", "http"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			for _, f := range files {
				t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
					t.Parallel()
					runTranscript(t, h, f, path)
				})
			}
		})
	}
}

// phone is one subscriber's handset on a path.
type phone interface {
	dial(ctx context.Context, msisdn, code string) error
	reply(ctx context.Context, text string) error
	abort(ctx context.Context) error
	screen() (text string, ended bool)
}

// smppPhone dials through the simulator.
type smppPhone struct {
	h    *harness
	call *smsc.Call
}

func (p *smppPhone) dial(ctx context.Context, msisdn, code string) (err error) {
	p.call, err = p.h.sim.Dial(ctx, msisdn, code, smsc.DialOptions{})
	return err
}
func (p *smppPhone) reply(ctx context.Context, text string) error { return p.call.Reply(ctx, text) }
func (p *smppPhone) abort(ctx context.Context) error              { return p.call.Abort(ctx) }
func (p *smppPhone) screen() (string, bool)                       { return p.call.Screen(), p.call.Ended() }

// httpPhone is an Africa's Talking session: every request repeats the
// answers so far, joined with '*'.
type httpPhone struct {
	h       *harness
	msisdn  string
	session string
	code    string
	answers []string
	text    string
	ended   bool
	n       int
}

func (p *httpPhone) dial(ctx context.Context, msisdn, code string) error {
	p.n++
	p.msisdn, p.session, p.answers = msisdn, fmt.Sprintf("AT-%s-%d", msisdn, p.n), nil
	// The aggregator reports the service code; a shortcut's choices come as
	// the first text.
	service := p.h.m.Config.USSDCode
	if extra, ok := strings.CutPrefix(strings.TrimSuffix(code, "#"), strings.TrimSuffix(service, "#")+"*"); ok {
		p.answers = strings.Split(extra, "*")
		code = service
	}
	p.code = code
	return p.post(ctx)
}

func (p *httpPhone) reply(ctx context.Context, text string) error {
	p.answers = append(p.answers, text)
	return p.post(ctx)
}

func (p *httpPhone) abort(context.Context) error { p.ended = true; return nil }
func (p *httpPhone) screen() (string, bool)      { return p.text, p.ended }

func (p *httpPhone) post(ctx context.Context) error {
	form := url.Values{"sessionId": {p.session}, "serviceCode": {p.code}, "phoneNumber": {"+84" + strings.TrimPrefix(p.msisdn, "0")},
		"networkCode": {"45201"}, "text": {strings.Join(p.answers, "*")}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.h.base+"/ussd/africastalking", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	switch b := string(body); {
	case strings.HasPrefix(b, "CON "):
		p.text, p.ended = b[4:], false
	case strings.HasPrefix(b, "END "):
		p.text, p.ended = b[4:], true
	default:
		return fmt.Errorf("answer is neither CON nor END: %q", b)
	}
	return nil
}

func runTranscript(t *testing.T, h *harness, file, path string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	expiry := care360.Expiry(time.Now(), h.m.Config.Location).Format("02/01/2006")
	var ph phone = &smppPhone{h: h}
	number := func(s string) string { return s }
	if path == "http" {
		ph = &httpPhone{h: h}
		number = func(s string) string { return "08" + strings.TrimPrefix(s, "09") }
	}
	var (
		out      []string // the transcript as the gateway played it (for -update)
		open     bool
		msisdn   string
		expected []string
		failed   bool
	)
	check := func() {
		if !open || expected == nil {
			return
		}
		scr, ended := ph.screen()
		got := strings.Split(scr, "\n")
		state := "[continue]"
		if ended {
			state = "[end]"
			open = false
		}
		got = append(got, state)
		out = append(out, strings.Split(unexpand(h, strings.ReplaceAll(strings.Join(got, "\n"), expiry, "{expiry}")), "\n")...)
		want := strings.ReplaceAll(strings.Join(expected, "\n"), "{expiry}", expiry)
		if g := strings.Join(got, "\n"); !screenMatches(g, want) && !*update {
			failed = true
			t.Errorf("%s over %s: screen mismatch\n--- got\n%s\n--- want\n%s", file, path, g, want)
		}
		expected = nil
	}
	for _, unexpanded := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		line := expand(h, unexpanded)
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "@") && !strings.HasPrefix(line, "> ") {
			expected = append(expected, line)
			continue
		}
		check()
		out = append(out, unexpanded)
		switch fields := strings.Fields(line); {
		case strings.HasPrefix(line, "@paths "):
			if !slices.Contains(fields[1:], path) {
				t.Skipf("transcript is for %v only", fields[1:])
			}
		case strings.HasPrefix(line, "@member "):
			msisdn = memberFromDirective(t, h, append([]string{number(fields[1])}, fields[2:]...))
		case strings.HasPrefix(line, "@caller "):
			msisdn = number(fields[1])
			forget(t, h, msisdn)
		case strings.HasPrefix(line, "@api "):
			apiDirective(t, h, strings.TrimPrefix(line, "@api "), msisdn)
		case strings.HasPrefix(line, "@sms "):
			smsDirective(t, h, msisdn, strings.TrimPrefix(line, "@sms "))
		case strings.HasPrefix(line, "@push "):
			sp, ok := ph.(*smppPhone)
			if !ok {
				t.Fatalf("%s: @push needs @paths smpp (pushes are network-initiated USSD over SMPP)", file)
			}
			apiDirective(t, h, "POST /api/v1/ussd/pushes "+strings.TrimPrefix(line, "@push "), msisdn)
			m, err := care360.ParseMSISDN(msisdn)
			if err != nil {
				t.Fatal(err)
			}
			if sp.call, err = h.sim.WaitPush(ctx, string(m)); err != nil {
				t.Fatalf("%s: %s: %v", file, line, err)
			}
			open, expected = true, []string{}
		case line == "@abort":
			if err := ph.abort(ctx); err != nil {
				t.Fatal(err)
			}
			open = false
		case strings.HasPrefix(line, "> "):
			in := strings.TrimPrefix(line, "> ")
			if !open || strings.HasPrefix(in, "*") && strings.HasSuffix(in, "#") {
				err = ph.dial(ctx, msisdn, in)
			} else {
				err = ph.reply(ctx, in)
			}
			if err != nil && !errors.Is(err, smsc.ErrEnded) {
				t.Fatalf("%s over %s: %s: %v", file, path, line, err)
			}
			open, expected = true, []string{}
		}
	}
	check()
	if *update && !failed && path == "smpp" {
		os.WriteFile(file, []byte(strings.Join(out, "\n")+"\n"), 0o644)
	}
}

// screenMatches compares a screen with a transcript's, in which {code}
// stands for the random part of a code the gateway made (newCode in store).
func screenMatches(got, want string) bool {
	if !strings.Contains(want, "{code}") {
		return got == want
	}
	parts := strings.Split(want, "{code}")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, "[2-9A-HJ-NP-Z]{10}") + "$").MatchString(got)
}

// forget removes a caller who must not be a member yet (a transcript that
// registers them may have run before on the same database).
func forget(t *testing.T, h *harness, msisdn string) {
	t.Helper()
	m, err := care360.ParseMSISDN(msisdn)
	if err != nil {
		return // a number we do not serve stays unknown anyway
	}
	if _, err := h.m.DB.Pool().Exec(context.Background(), `DELETE FROM subscribers WHERE msisdn = $1`, m); err != nil {
		t.Fatalf("forget %s: %v", msisdn, err)
	}
}

// memberFromDirective creates the member of an @member line.
func memberFromDirective(t *testing.T, h *harness, args []string) string {
	msisdn := args[0]
	// Always name the language, so that a transcript that changes it
	// starts from the same place when it runs again.
	profile := map[string]any{"name": "Test", "language": "vi"}
	var q, b int64
	for _, kv := range args[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "qualifying", "bonus":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if k == "qualifying" {
				q = n
			} else {
				b = n
			}
		default:
			profile[k] = v
		}
	}
	h.member(t, msisdn, profile, q, b)
	return msisdn
}

// TestAbortFreesDialogue: a network abort removes the dialogue's state, so a
// late answer finds nothing.
func TestAbortFreesDialogue(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	ctx := ctxT(t)
	h.member(t, "0903222001", map[string]any{"name": "A"}, 100, 0)
	call, err := h.sim.Dial(ctx, "0903222001", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("84903222001/s%d", call.SessionInfo()[0])
	if d, err := h.m.DB.LoadDialogue(ctx, key, time.Minute); err != nil || d == nil {
		t.Fatalf("open dialogue %q not stored: %v", key, err)
	}
	if err := call.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := h.m.DB.LoadDialogue(ctx, key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dialogue still stored after abort")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIdleDialogueHasEnded: an answer after CARE360_USSD_IDLE_TIMEOUT is told
// the session has ended (op 17), not taken as a choice.
func TestIdleDialogueHasEnded(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_USSD_IDLE_TIMEOUT": "300ms"})
	ctx := ctxT(t)
	h.member(t, "0903222002", map[string]any{"name": "B"}, 100, 0)
	call, err := h.sim.Dial(ctx, "0903222002", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if err := call.Reply(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if want := "Phien da ket thuc. Vui long bam lai *090#."; call.Screen() != want || !call.Ended() {
		t.Fatalf("got %q ended=%v; want %q", call.Screen(), call.Ended(), want)
	}
}

// TestSIGTERMDrains: Close answers the step in flight, then unbinds.
func TestCloseUnbinds(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	if err := h.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.sim.Bound() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("still bound after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartMidDialogue: a gateway restarted between two steps continues
// the dialogue, because its state is in Postgres (the same holds for a
// second instance taking over).
func TestRestartMidDialogue(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	ctx := ctxT(t)
	h.member(t, "0903222003", map[string]any{"name": "R", "language": "en"}, 2500, 0)
	call, err := h.sim.Dial(ctx, "0903222003", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); h.sim.Bound() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still bound after Close")
		}
	}
	m2 := &Main{Config: h.m.Config}
	if err := m2.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m2.Close(context.Background()) })
	if err := h.sim.WaitBound(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := call.Reply(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if got := call.Screen(); !strings.HasPrefix(got, "Tier: Silver\nSpendable points: 2,500") || !call.Ended() {
		t.Fatalf("after restart: %q ended=%v", got, call.Ended())
	}
}
