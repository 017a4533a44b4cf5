package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

type pushOutJSON struct {
	ID       int64            `json:"id"`
	Targets  int64            `json:"targets"`
	Excluded int64            `json:"excluded"`
	Counts   map[string]int64 `json:"counts"`
	Done     bool             `json:"done"`
}

// waitPush polls GET /api/v1/ussd/pushes/{id} until ok holds.
func waitPush(t *testing.T, h *harness, id int64, what string, ok func(pushOutJSON) bool) pushOutJSON {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second) // the sweep runs every 10 s
	for {
		var p pushOutJSON
		if st := h.api(t, http.MethodGet, "/api/v1/ussd/pushes/"+strconv.FormatInt(id, 10), nil, &p); st != http.StatusOK {
			t.Fatalf("push %d: %d", id, st)
		}
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("push %d: %s never came: %+v", id, what, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) push(t *testing.T, body map[string]any) pushOutJSON {
	t.Helper()
	var p pushOutJSON
	if st := h.api(t, http.MethodPost, "/api/v1/ussd/pushes", body, &p); st != http.StatusCreated {
		t.Fatalf("push %v: %d", body, st)
	}
	return p
}

// Network-initiated USSD over real SMPP (PRODUCT.md §3.6), with the
// simulator's phones answering as phones do: a member takes a pushed main
// menu and walks it to the points screen (the push completes, ended with a
// USSN); a notification is acknowledged; a phone that ignores it, a busy
// one (the centre aborts) and an absent one (the SMSC refuses) each fall
// back to SMS once; a member in a dialogue of their own is not interrupted,
// and the push ends busy at its expiry while the member's dialogue goes on.
func TestPushesOverSMPP(t *testing.T) {
	t.Parallel()
	h := startWith(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)}, func(c *Config) {
		c.Programme.PushAnswerTimeout = 3 * time.Second
	})
	ctx := ctxT(t)
	for _, m := range []string{"0903260001", "0903260002", "0903260003", "0903260004", "0903260005", "0903260006"} {
		h.member(t, m, map[string]any{"name": "P", "language": "vi"}, 1_500, 0)
	}

	// Answers: the main menu, under the push's heading.
	menu := h.push(t, map[string]any{"msisdn": "0903260001", "kind": "menu", "text": "Chao mung quy khach", "screen": map[string]any{"menu": "main"}})
	call, err := h.sim.WaitPush(ctx, "84903260001")
	if err != nil {
		t.Fatal(err)
	}
	if s := call.Screen(); !strings.HasPrefix(s, "Chao mung quy khach\nMobiFone Care360\n1. Diem & hang hoi vien") || call.Op() != 2 {
		t.Fatalf("pushed menu (op %d):\n%s", call.Op(), s)
	}
	if err := call.Reply(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if !call.Ended() || call.Op() != 3 || !strings.Contains(call.Screen(), "1.500") {
		t.Fatalf("points screen ending the pushed dialogue (op %d, want 3):\n%s", call.Op(), call.Screen())
	}
	waitPush(t, h, menu.ID, "completed", func(p pushOutJSON) bool { return p.Counts["completed"] == 1 && p.Done })

	// A notification the phone acknowledges.
	note := h.push(t, map[string]any{"msisdn": "0903260002", "kind": "notify", "text": "Diem cua quy khach sap het han", "fallback_sms": true})
	waitPush(t, h, note.ID, "the acknowledgement", func(p pushOutJSON) bool { return p.Counts["completed"] == 1 })

	// Phones that ignore it, are busy, or are absent: the text goes by SMS.
	h.sim.SetPhone("84903260003", smsc.PhoneIgnores)
	h.sim.SetPhone("84903260004", smsc.PhoneBusy)
	h.sim.SetPhone("84903260005", smsc.PhoneAbsent)
	seg := h.push(t, map[string]any{"segment": map[string]any{"msisdns": []string{"0903260003", "0903260004", "0903260005"}},
		"kind": "notify", "text": "Qua Tet dang cho quy khach", "fallback_sms": true, "idempotency_key": "tet-2027"})
	if seg.Targets != 3 {
		t.Fatalf("segment push %+v", seg)
	}
	p := waitPush(t, h, seg.ID, "every outcome", func(p pushOutJSON) bool { return p.Done })
	if p.Counts["no_answer"] != 2 || p.Counts["refused"] != 1 || p.Counts["fell_back"] != 3 {
		t.Fatalf("counts %v", p.Counts)
	}
	for _, m := range []string{"84903260003", "84903260004", "84903260005"} {
		if ms := waitSMS(t, h, m, 1); len(ms) != 1 || ms[0].Text != "Qua Tet dang cho quy khach" {
			t.Fatalf("fallback to %s: %+v", m, ms)
		}
	}
	if n := len(h.sim.Pushes("84903260005")); n != 0 {
		t.Fatalf("an absent phone showed %d pushes", n)
	}
	// The same request again is the same push, and sends nothing more.
	var again pushOutJSON
	if st := h.api(t, http.MethodPost, "/api/v1/ussd/pushes", map[string]any{"segment": map[string]any{"msisdns": []string{"0903260003", "0903260004", "0903260005"}},
		"kind": "notify", "text": "Qua Tet dang cho quy khach", "fallback_sms": true, "idempotency_key": "tet-2027"}, &again); st != http.StatusOK || again.ID != seg.ID {
		t.Fatalf("replay: %d %+v", st, again)
	}

	// A member in a dialogue of their own is not interrupted.
	busy, err := h.sim.Dial(ctx, "0903260006", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait := h.push(t, map[string]any{"msisdn": "0903260006", "kind": "notify", "text": "Uu dai moi", "fallback_sms": true,
		"expires_at": time.Now().Add(4 * time.Second).Format(time.RFC3339)})
	p = waitPush(t, h, wait.ID, "busy", func(p pushOutJSON) bool { return p.Done })
	if p.Counts["busy"] != 1 || p.Counts["fell_back"] != 1 || len(h.sim.Pushes("84903260006")) != 0 {
		t.Fatalf("counts %v, pushes shown %d", p.Counts, len(h.sim.Pushes("84903260006")))
	}
	if err := busy.Reply(ctx, "1"); err != nil || !strings.Contains(busy.Screen(), "1.500") {
		t.Fatalf("the member's own dialogue after the push: %q %v", busy.Screen(), err)
	}

	// Bad requests.
	var e struct{ Error struct{ Code string } }
	for _, body := range []map[string]any{
		{"msisdn": "12", "kind": "notify", "text": "x"},
		{"msisdn": "0903260001", "kind": "menu"},
		{"msisdn": "0903260001", "kind": "notify", "text": "x", "expires_at": "tomorrow"},
	} {
		if st := h.api(t, http.MethodPost, "/api/v1/ussd/pushes", body, &e); st != http.StatusBadRequest || e.Error.Code != "invalid" {
			t.Errorf("%v: %d %+v", body, st, e)
		}
	}
	if st := h.api(t, http.MethodPost, "/api/v1/ussd/pushes", map[string]any{"msisdn": "0912999999", "kind": "notify", "text": "x"}, &e); st != http.StatusNotFound {
		t.Errorf("a stranger: %d", st)
	}
}
