package web_test

import (
	"net/http"
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

// TestEmulatorDialogue walks a real dialogue through the same engine the
// SMPP and HTTP adapters use, as support staff would.
func TestEmulatorDialogue(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8"))
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	b.do(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", `{"kind":"qualifying","points":2500,"reason":"t","idempotency_key":"e1"}`)
	auth := "Bearer " + b.staffToken(t, "support")

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
			if e.Actor.Role != "support" {
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
