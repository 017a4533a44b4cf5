package smsc

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

func TestSubmitPolicy(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const to = "84903123456"
	s.SetSubmitPolicy(func(n uint64, m Message) SubmitAction {
		switch m.Text {
		case "throttle":
			return SubmitAction{Status: 0x58}
		case "full":
			return SubmitAction{Status: 0x14}
		case "slow":
			return SubmitAction{Delay: 200 * time.Millisecond}
		case "lost":
			return SubmitAction{Receipt: StatUndeliverable}
		}
		return SubmitAction{}
	})
	for text, want := range map[string]pdu.Status{"throttle": 0x58, "full": 0x14} {
		e.send(sms(t, "9237", to, text, 0, false))
		if r := e.expect(pdu.SubmitSMRespID); r.Header().Status != want {
			t.Errorf("%s: status %#x", text, r.Header().Status)
		}
	}
	// A slow answer does not hold back the next one on the same link.
	slow := e.send(sms(t, "9237", to, "slow", 0, false))
	fast := e.send(sms(t, "9237", to, "fast", 0, false))
	if r := e.expect(pdu.SubmitSMRespID); r.Header().Seq != fast {
		t.Errorf("first answer is seq %d, want the fast one %d", r.Header().Seq, fast)
	}
	if r := e.expect(pdu.SubmitSMRespID); r.Header().Seq != slow {
		t.Errorf("second answer is seq %d, want %d", r.Header().Seq, slow)
	}
	// An undeliverable receipt says so in the text and in message_state.
	e.expectSubmitResp(e.send(sms(t, "9237", to, "lost", 0, true)))
	r := e.expect(pdu.DeliverSMID)
	if st := tlvBytes(r, pdutlv.TagMessageStateOption); len(st) != 1 || st[0] != 5 {
		t.Errorf("message_state %x, want 05", st)
	}
	if body, _, _, _ := messageText(r); !strings.Contains(body, "stat:UNDELIV err:001") {
		t.Errorf("receipt %q", body)
	}
	e.ack(r, 0)
	if got := s.Messages(to); len(got) != 3 { // slow, fast, lost: the refused two are not stored
		t.Errorf("%d messages stored, want 3", len(got))
	}
	if s.Submits() != 5 {
		t.Errorf("Submits() = %d, want 5", s.Submits())
	}
}

func TestSubmitPolicyDrop(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	s.SetSubmitPolicy(func(uint64, Message) SubmitAction { return SubmitAction{Drop: true} })
	p := pdu.NewSubmitSM(nil)
	p.Fields().Set(pdufield.DestinationAddr, "84903123456")
	p.Fields().Set(pdufield.ShortMessage, "x")
	e.send(p)
	select {
	case r, ok := <-e.in:
		if ok {
			t.Fatalf("answered %s instead of dropping", r.Header().ID)
		}
	case <-time.After(waitPDU):
		t.Fatal("link not dropped")
	}
	s.SetSubmitPolicy(nil)
	if len(s.Messages("84903123456")) != 0 {
		t.Error("dropped message stored")
	}
}

func TestControlMO(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	ts := httptest.NewServer(s.ControlHandler())
	defer ts.Close()
	type res struct {
		code int
		body string
	}
	ch := make(chan res, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/v1/mo", "application/json", strings.NewReader(`{"from":"0903123456","text":"Điểm"}`))
		if err != nil {
			ch <- res{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- res{resp.StatusCode, string(b)}
	}()
	d := e.expect(pdu.DeliverSMID)
	if text, coding, _, _ := messageText(d); text != "Điểm" || coding != codingUCS2 || fieldString(d.Fields(), pdufield.DestinationAddr) != "9237" {
		t.Errorf("MO %q coding %#x", text, coding)
	}
	e.ack(d, 0)
	if r := <-ch; r.code != 200 || !strings.Contains(r.body, `"status":0`) {
		t.Fatalf("POST /v1/mo: %d %s", r.code, r.body)
	}
}
