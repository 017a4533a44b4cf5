package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/care360/care360/web"
)

type screen struct {
	Session string `json:"session"`
	Text    string `json:"text"`
	End     bool   `json:"end"`
}

func (b *bundle) emulate(t *testing.T, auth string, body map[string]string) screen {
	t.Helper()
	res := b.send(t, http.MethodPost, "/api/v1/emulator/ussd", mustJSON(t, body), auth)
	var s screen
	res.json(t, &s)
	if res.status != http.StatusOK {
		t.Fatalf("emulator %v: %d %s", body, res.status, res.body)
	}
	return s
}

// TestEmulatorDialogue walks a real member's dialogue through the same
// engine the SMPP and HTTP adapters use, as an admin may.
func TestEmulatorDialogue(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8"))
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	b.do(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", `{"kind":"qualifying","points":2500,"reason":"t","idempotency_key":"e1"}`)
	auth := "Bearer " + b.staffToken(t, "admin")

	menu := b.emulate(t, auth, map[string]string{"msisdn": n, "action": "dial", "text": "*090#"})
	if menu.Session == "" || menu.End || !strings.HasPrefix(menu.Text, "MobiFone Care360\n1. Diem & hang hoi vien") {
		t.Fatalf("main menu: %+v", menu)
	}
	points := b.emulate(t, auth, map[string]string{"msisdn": n, "session": menu.Session, "action": "answer", "text": "1"})
	if !points.End || !strings.Contains(points.Text, "Hang: Bac") || !strings.Contains(points.Text, "Diem kha dung: 2.500") {
		t.Fatalf("points screen: %+v", points)
	}
	// The dialogue is over; the session cannot be continued.
	again := b.emulate(t, auth, map[string]string{"msisdn": n, "session": menu.Session, "action": "answer", "text": "1"})
	if !again.End || !strings.Contains(again.Text, "Phien da ket thuc") {
		t.Errorf("after the end: %+v", again)
	}
	// Two phones apart: a second dial gets its own session.
	other := b.emulate(t, auth, map[string]string{"msisdn": n, "action": "dial", "text": "*090#"})
	if other.Session == menu.Session {
		t.Error("a new dial reused the session")
	}
	if hung := b.emulate(t, auth, map[string]string{"msisdn": n, "session": other.Session, "action": "hangup"}); !hung.End || hung.Text != "" {
		t.Errorf("hangup: %+v", hung)
	}

	entries := b.auditOf(t, canonical(n))
	var steps int
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "emulator.") {
			steps++
			if e.Actor.Role != "admin" || e.Actor.StaffID == 0 {
				t.Errorf("emulator step by %+v", e.Actor)
			}
		}
	}
	if steps != 5 {
		t.Errorf("%d emulator steps audited, want 5", steps)
	}
}

func TestEmulatorRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8"))
	for name, body := range map[string]string{
		"bad action":   `{"msisdn":"0903123456","action":"call","text":"*090#"}`,
		"bad msisdn":   `{"msisdn":"12","action":"dial","text":"*090#"}`,
		"no session":   `{"msisdn":"0903123456","action":"answer","text":"1"}`,
		"odd session":  `{"msisdn":"0903123456","action":"answer","session":"a/b","text":"1"}`,
		"long text":    `{"msisdn":"0903123456","action":"dial","text":"` + strings.Repeat("1", 201) + `"}`,
		"extra fields": `{"msisdn":"0903123456","action":"dial","text":"*090#","key":"x"}`,
	} {
		if res := b.do(t, http.MethodPost, "/api/v1/emulator/ussd", body); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, res.status, res.body)
		}
	}
	b.send(t, http.MethodPost, "/api/v1/emulator/ussd", `{"msisdn":"0903123456","action":"dial","text":"*090#"}`,
		"Bearer "+b.staffToken(t, "marketer")).errorOf(t, http.StatusForbidden, "forbidden")

	bare := setup(t, func(c *web.Config) { c.USSD = nil })
	bare.do(t, http.MethodPost, "/api/v1/emulator/ussd", `{"msisdn":"0903123456","action":"dial","text":"*090#"}`).
		errorOf(t, http.StatusServiceUnavailable, "unavailable")
}

// TestEmulatorRealMemberNeedsAdmin: acting as a real member in the emulator
// is for admins only; support may still walk what an unknown caller sees.
func TestEmulatorRealMemberNeedsAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8"))
	member := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+member, `{"name":"An"}`)
	support := "Bearer " + b.staffToken(t, "support")
	for _, body := range []map[string]string{
		{"msisdn": member, "action": "dial", "text": "*090#"},
		{"msisdn": member, "session": "s1", "action": "answer", "text": "1"},
		{"msisdn": member, "session": "s1", "action": "hangup"},
	} {
		e := b.send(t, http.MethodPost, "/api/v1/emulator/ussd", mustJSON(t, body), support).errorOf(t, http.StatusForbidden, "forbidden")
		if !strings.Contains(e.Error.Message, "admin") {
			t.Errorf("%s: message %q should say who may", body["action"], e.Error.Message)
		}
	}
	stranger := newMSISDN()
	if s := b.emulate(t, support, map[string]string{"msisdn": stranger, "action": "dial", "text": "*090#"}); s.End {
		t.Errorf("an unknown caller's first screen: %+v", s)
	}
	for _, e := range b.auditOf(t, canonical(member)) {
		if strings.HasPrefix(e.Action, "emulator.") {
			t.Errorf("a refused step was audited as done: %+v", e)
		}
	}
	admin := "Bearer " + b.staffToken(t, "admin")
	b.emulate(t, admin, map[string]string{"msisdn": member, "action": "dial", "text": "*090#"})
	got := b.auditOf(t, canonical(member))
	if len(got) == 0 || got[0].Action != "emulator.dial" || got[0].Actor.Role != "admin" || got[0].At.IsZero() {
		t.Errorf("the admin's dial is not audited with who, which number and when: %+v", got)
	}
}

// TestEmulatorLeavesNothingResumable: a hang-up in the emulator is not a
// dialogue the network dropped: the member's own phone is not offered to
// resume it.
func TestEmulatorLeavesNothingResumable(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8", "::1/128"))
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	admin := "Bearer " + b.staffToken(t, "admin")
	menu := b.emulate(t, admin, map[string]string{"msisdn": n, "action": "dial", "text": "*090#"})
	lang := b.emulate(t, admin, map[string]string{"msisdn": n, "session": menu.Session, "action": "answer", "text": "8"})
	if lang.End || !strings.HasPrefix(lang.Text, "Ngon ngu/Language") {
		t.Fatalf("language screen: %+v", lang)
	}
	b.emulate(t, admin, map[string]string{"msisdn": n, "session": menu.Session, "action": "hangup"})

	phone := url.Values{"sessionId": {"ATUid_" + n}, "serviceCode": {"*090#"}, "phoneNumber": {n}, "text": {""}}
	if st, body := at(t, b, phone); st != http.StatusOK || !strings.HasPrefix(body, "CON MobiFone Care360\n1. ") {
		t.Errorf("the member's own dial after the emulator hung up: %d %q; want the main menu", st, body)
	}
}
