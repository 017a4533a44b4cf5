package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
)

var update = flag.Bool("update", false, "rewrite the expected screens of testdata/dialogues from what the gateway shows")

// TestDialogues runs every transcript in testdata/dialogues through the real
// program over SMPP. A transcript is what a person would write down while
// testing with a phone:
//
//	# comment
//	@member 0903111001 language=vi qualifying=12345 bonus=500
//	> *090#            what the phone sends (the first of a call dials)
//	MobiFone Care360   the exact screen expected, line by line
//	[continue]         the dialogue waits for an answer ([end]: it is over)
//	@abort             the network drops the call
//
// {expiry} in a screen stands for the expiry date of points earned today.
func TestDialogues(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	files, _ := filepath.Glob("testdata/dialogues/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			runTranscript(t, h, f)
		})
	}
}

func runTranscript(t *testing.T, h *harness, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	expiry := care360.Expiry(time.Now(), h.m.Config.Location).Format("02/01/2006")
	var (
		out      []string // the transcript as the gateway played it (for -update)
		call     *smsc.Call
		msisdn   string
		expected []string
		failed   bool
	)
	check := func() {
		if call == nil || expected == nil {
			return
		}
		got := strings.Split(call.Screen(), "\n")
		state := "[continue]"
		if call.Ended() {
			state = "[end]"
		}
		got = append(got, state)
		out = append(out, strings.Split(strings.ReplaceAll(strings.Join(got, "\n"), expiry, "{expiry}"), "\n")...)
		want := strings.ReplaceAll(strings.Join(expected, "\n"), "{expiry}", expiry)
		if g := strings.Join(got, "\n"); g != want && !*update {
			failed = true
			t.Errorf("%s: screen mismatch\n--- got\n%s\n--- want\n%s", path, g, want)
		}
		expected = nil
	}
	for _, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "#") || line == "":
			check()
			out = append(out, line)
		case strings.HasPrefix(line, "@member "):
			check()
			out = append(out, line)
			msisdn = memberFromDirective(t, h, strings.Fields(line)[1:])
		case strings.HasPrefix(line, "@caller "):
			check()
			out = append(out, line)
			msisdn = strings.Fields(line)[1]
		case line == "@abort":
			check()
			out = append(out, line)
			if err := call.Abort(ctx); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(line, "> "):
			check()
			out = append(out, line)
			in := strings.TrimPrefix(line, "> ")
			if call == nil || call.Ended() || strings.HasSuffix(in, "#") && strings.HasPrefix(in, "*") {
				call, err = h.sim.Dial(ctx, msisdn, in, smsc.DialOptions{})
			} else {
				err = call.Reply(ctx, in)
			}
			if err != nil && !errors.Is(err, smsc.ErrEnded) {
				t.Fatalf("%s: %s: %v", path, line, err)
			}
			expected = []string{}
		default:
			expected = append(expected, line)
		}
	}
	check()
	if *update && !failed {
		os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644)
	}
}

// memberFromDirective creates the member of an @member line.
func memberFromDirective(t *testing.T, h *harness, args []string) string {
	msisdn := args[0]
	profile := map[string]any{"name": "Test"}
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
