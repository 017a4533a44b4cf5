package smsc

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
)

// serveMenus makes e a tiny application: a dial gets a menu, an answer gets
// a final screen, "*999#" gets nothing (to provoke a timeout). The data
// coding of every dial is sent on codings.
func serveMenus(e *testESME, codings chan<- byte) {
	for p := range e.in {
		if p.Header().ID != pdu.DeliverSMID {
			continue
		}
		e.ack(p, 0)
		text, coding, _, _ := messageText(p)
		switch op(p) {
		case opPSSRIndication:
			codings <- coding
			if text != "*999#" {
				e.submitScreen(p, opUSSRRequest, "Menu\n1. Diem", 0)
			}
		case opUSSRConfirm:
			e.submitScreen(p, opPSSRResponse, "You chose "+text, 0)
		}
	}
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{ResponseTimeout: 300 * time.Millisecond})
	e := boundESME(t, s)
	codings := make(chan byte, 16)
	go serveMenus(e, codings)
	hs := httptest.NewServer(s.ControlHandler())
	t.Cleanup(hs.Close)
	cc := &ControlClient{BaseURL: hs.URL + "/"}
	c := ctx(t)

	if n, err := cc.Status(c); err != nil || n != 1 {
		t.Fatalf("Status = %d, %v", n, err)
	}
	st, err := cc.Dial(c, DialRequest{MSISDN: "0903123456", Code: "*090#"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Call == "" || st.Screen != "Menu\n1. Diem" || st.End || st.Op != opUSSRRequest {
		t.Errorf("dial: %+v", st)
	}
	if got := <-codings; got != 0x0F {
		t.Errorf("default data_coding %#x", got)
	}
	st2, err := cc.Reply(c, st.Call, "1")
	if err != nil {
		t.Fatal(err)
	}
	if st2.Screen != "You chose 1" || !st2.End || st2.Call != st.Call {
		t.Errorf("reply: %+v", st2)
	}
	if _, err := cc.Reply(c, st.Call, "1"); !errors.Is(err, ErrEnded) {
		t.Errorf("reply to an ended call: %v", err)
	}

	zero, ucs2 := 0, 8
	for _, dc := range []*int{&zero, &ucs2} {
		st, err = cc.Dial(c, DialRequest{MSISDN: "0903123456", Code: "*090#", DataCoding: dc})
		if err != nil {
			t.Fatal(err)
		}
		if got := <-codings; int(got) != *dc {
			t.Errorf("data_coding %#x, want %#x", got, *dc)
		}
		if st, err = cc.Abort(c, st.Call); err != nil || !st.End {
			t.Errorf("abort: %+v, %v", st, err)
		}
	}

	if _, err := cc.Dial(c, DialRequest{MSISDN: "0903123456", Code: "*999#"}); !errors.Is(err, ErrTimeout) {
		t.Errorf("dial without answer: %v, want ErrTimeout", err)
	}

	e.send(sms(t, "9237", "84903123456", "Ma OTP: 1234", 0, false))
	var msgs []Message
	for deadline := time.Now().Add(waitPDU); len(msgs) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		if msgs, err = cc.Messages(c, "84903123456"); err != nil {
			t.Fatal(err)
		}
	}
	if len(msgs) != 1 || msgs[0].Text != "Ma OTP: 1234" || msgs[0].ID == "" {
		t.Errorf("messages %+v", msgs)
	}
}

func TestControlAPIErrors(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	hs := httptest.NewServer(s.ControlHandler())
	t.Cleanup(hs.Close)
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/dial", "{", http.StatusBadRequest},
		{"POST", "/v1/dial", `{"msisdn":"84903123456"}`, http.StatusBadRequest},
		{"POST", "/v1/dial", `{"msisdn":"84903123456","code":"*090#","data_coding":300}`, http.StatusBadRequest},
		{"POST", "/v1/dial", `{"msisdn":"84903123456","code":"*090#"}`, http.StatusServiceUnavailable}, // nobody bound
		{"POST", "/v1/calls/42/reply", `{"text":"1"}`, http.StatusNotFound},
		{"POST", "/v1/calls/42/abort", ``, http.StatusNotFound},
		{"GET", "/v1/messages", ``, http.StatusBadRequest},
		{"GET", "/v1/dial", ``, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, hs.URL+tt.path, strings.NewReader(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s %s: status %d, want %d", tt.method, tt.path, tt.body, resp.StatusCode, tt.want)
		}
		if tt.want != http.StatusMethodNotAllowed && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: content type %q", tt.method, tt.path, resp.Header.Get("Content-Type"))
		}
	}
}
