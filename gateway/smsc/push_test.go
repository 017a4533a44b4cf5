package smsc

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// push sends a push from the application as the generic profile does: to
// msisdn from the service code, with the dialogue number umr and no
// its_session_info. It returns the submit_sm's sequence number.
func (e *testESME) push(msisdn string, op byte, umr uint16, text string) uint32 {
	e.t.Helper()
	p := pdu.NewSubmitSM(nil)
	f := p.Fields()
	f.Set(pdufield.SourceAddr, "*090#")
	f.Set(pdufield.DestinationAddr, msisdn)
	sm, err := encodeText(text, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	f.Set(pdufield.DataCoding, uint8(0))
	f.Set(pdufield.ShortMessage, sm)
	p.TLVFields().Set(pdutlv.TagUssdServiceOp, op)
	p.TLVFields().Set(pdutlv.TagUserMessageReference, binary.BigEndian.AppendUint16(nil, umr))
	return e.send(p)
}

// expectPhone returns the phone's next deliver_sm, which must carry
// ussd_service_op want and echo umr without its_session_info, and
// acknowledges it.
func (e *testESME) expectPhone(msisdn string, want byte, umr uint16) pdu.Body {
	e.t.Helper()
	d := e.expect(pdu.DeliverSMID)
	e.ack(d, 0)
	f := d.Fields()
	if got := tlvBytes(d, pdutlv.TagUserMessageReference); len(got) != 2 || binary.BigEndian.Uint16(got) != umr {
		e.t.Errorf("deliver_sm user_message_reference %x, want %d", got, umr)
	}
	if info := tlvBytes(d, pdutlv.TagItsSessionInfo); info != nil {
		e.t.Errorf("deliver_sm of a push carries its_session_info %x", info)
	}
	if from, to := fieldString(f, pdufield.SourceAddr), fieldString(f, pdufield.DestinationAddr); from != msisdn || to != "*090#" {
		e.t.Errorf("deliver_sm from %q to %q, want from %q to *090#", from, to, msisdn)
	}
	if got := op(d); got != int(want) {
		e.t.Fatalf("deliver_sm ussd_service_op %d, want %d", got, want)
	}
	return d
}

// expectQuiet fails if a PDU arrives within d.
func (e *testESME) expectQuiet(d time.Duration) {
	e.t.Helper()
	select {
	case p := <-e.in:
		e.t.Errorf("got %s (ussd_service_op %d), want nothing", p.Header().ID, op(p))
	case <-time.After(d):
	}
}

func waitPush(t *testing.T, s *Server, msisdn string) *Call {
	t.Helper()
	c, err := s.WaitPush(ctx(t), msisdn)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPushMenu(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn, umr = "84903100001", 0x1234

	e.expectSubmitResp(e.push(msisdn, opUSSRRequest, umr, "Survey\n1. Yes\n2. No"))
	if got := s.Pushes(msisdn); len(got) != 1 || got[0].Op != opUSSRRequest || got[0].UMR != umr ||
		got[0].Text != "Survey\n1. Yes\n2. No" || got[0].From != "*090#" || got[0].ReceivedAt.IsZero() {
		t.Errorf("Pushes %+v", got)
	}
	c := waitPush(t, s, msisdn)
	if c.Screen() != "Survey\n1. Yes\n2. No" || c.Op() != opUSSRRequest || c.Ended() || c.SessionInfo() != nil {
		t.Errorf("pushed call: screen %q op %d ended %v info %x", c.Screen(), c.Op(), c.Ended(), c.SessionInfo())
	}

	done := async(func() error { return c.Reply(ctx(t), "1") })
	d := e.expectPhone(msisdn, opUSSRConfirm, umr)
	if text, _, _, _ := messageText(d); text != "1" {
		t.Errorf("answer %q, want 1", text)
	}
	e.expectSubmitResp(e.submitScreen(d, opUSSRRequest, "Why?\n1. Price", 0))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if c.Screen() != "Why?\n1. Price" || c.Ended() {
		t.Errorf("second screen %q ended %v", c.Screen(), c.Ended())
	}

	// The application ends a pushed dialogue with a notification, which the
	// phone acknowledges.
	done = async(func() error { return c.Reply(ctx(t), "1") })
	d = e.expectPhone(msisdn, opUSSRConfirm, umr)
	e.expectSubmitResp(e.submitScreen(d, opUSSNRequest, "Thank you", 0))
	ack := e.expectPhone(msisdn, opUSSNConfirm, umr)
	if text, _, _, _ := messageText(ack); text != "" {
		t.Errorf("acknowledgement carries %q", text)
	}
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if c.Screen() != "Thank you" || c.Op() != opUSSNRequest || !c.Ended() {
		t.Errorf("final: screen %q op %d ended %v", c.Screen(), c.Op(), c.Ended())
	}
	if err := c.Reply(ctx(t), "1"); !errors.Is(err, ErrEnded) {
		t.Errorf("Reply after the end: %v, want ErrEnded", err)
	}
	if got := s.Pushes(msisdn); len(got) != 1 {
		t.Errorf("screens of the pushed dialogue recorded as pushes: %+v", got)
	}
}

// TestPushMenuEnds: op 17 still ends a pushed call (without acknowledgement)
// and the phone can hang up on one.
func TestPushMenuEnds(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn = "84903100002"

	e.expectSubmitResp(e.push(msisdn, opUSSRRequest, 7, "menu"))
	e.expectSubmitResp(e.push(msisdn, opUSSRRequest, 8, "another menu"))
	c := waitPush(t, s, msisdn) // the oldest first
	done := async(func() error { return c.Reply(ctx(t), "1") })
	d := e.expectPhone(msisdn, opUSSRConfirm, 7)
	e.expectSubmitResp(e.submitScreen(d, opPSSRResponse, "Bye", 0))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if !c.Ended() || c.Screen() != "Bye" {
		t.Errorf("op 17: ended %v screen %q", c.Ended(), c.Screen())
	}
	e.expectQuiet(200 * time.Millisecond)

	c = waitPush(t, s, msisdn)
	if c.Screen() != "another menu" {
		t.Fatalf("second push %q", c.Screen())
	}
	done = async(func() error { return c.Abort(ctx(t)) })
	e.expectPhone(msisdn, opAbort, 8)
	if err := wait(t, done); err != nil || !c.Ended() {
		t.Errorf("Abort: %v, ended %v", err, c.Ended())
	}
}

func TestPushNotification(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn = "84903100003"

	e.expectSubmitResp(e.push(msisdn, opUSSNRequest, 42, "You won 100 points"))
	e.expectPhone(msisdn, opUSSNConfirm, 42)
	c := waitPush(t, s, msisdn)
	if c.Screen() != "You won 100 points" || c.Op() != opUSSNRequest || !c.Ended() {
		t.Errorf("notification: screen %q op %d ended %v", c.Screen(), c.Op(), c.Ended())
	}
	if got := s.Pushes(msisdn); len(got) != 1 || got[0].Op != opUSSNRequest || got[0].UMR != 42 {
		t.Errorf("Pushes %+v", got)
	}
}

// TestPushDuringDial: a push to a phone in a dialled dialogue is a push, not
// a screen of that dialogue.
func TestPushDuringDial(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn = "84903100004"
	var dialled *Call
	done := async(func() (err error) { dialled, err = s.Dial(ctx(t), msisdn, "*090#", DialOptions{}); return err })
	d := e.expect(pdu.DeliverSMID)
	e.ack(d, 0)
	e.expectSubmitResp(e.push(msisdn, opUSSRRequest, 9, "pushed"))
	e.expectSubmitResp(e.submitScreen(d, opUSSRRequest, "dialled", 0))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if dialled.Screen() != "dialled" {
		t.Errorf("dialled call shows %q", dialled.Screen())
	}
	if c := waitPush(t, s, msisdn); c.Screen() != "pushed" {
		t.Errorf("push shows %q", c.Screen())
	}
}

func TestPushIgnored(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn = "84903100005"
	s.SetPhone(msisdn, PhoneIgnores)

	e.expectSubmitResp(e.push(msisdn, opUSSRRequest, 1, "menu"))
	e.expectSubmitResp(e.push(msisdn, opUSSNRequest, 2, "note"))
	e.expectQuiet(500 * time.Millisecond)
	if got := s.Pushes(msisdn); len(got) != 2 {
		t.Errorf("Pushes %+v, want both", got)
	}
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.WaitPush(c, msisdn); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitPush on an ignoring phone: %v", err)
	}
}

func TestPushBusy(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn = "84903100006"
	s.SetPhone(msisdn, PhoneBusy)

	e.expectSubmitResp(e.push(msisdn, opUSSRRequest, 300, "menu"))
	e.expectPhone(msisdn, opAbort, 300)
	e.expectSubmitResp(e.push(msisdn, opUSSNRequest, 301, "note"))
	e.expectPhone(msisdn, opAbort, 301)
	if got := s.Pushes(msisdn); len(got) != 2 {
		t.Errorf("Pushes %+v, want both", got)
	}

	s.SetPhone(msisdn, PhoneAnswers) // free again
	e.expectSubmitResp(e.push(msisdn, opUSSNRequest, 302, "note"))
	e.expectPhone(msisdn, opUSSNConfirm, 302)
}

func TestPushAbsent(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn = "84903100007"
	s.SetPhone(msisdn, PhoneAbsent)

	for _, o := range []byte{opUSSRRequest, opUSSNRequest} {
		seq := e.push(msisdn, o, 5, "hello")
		r := e.expect(pdu.SubmitSMRespID)
		if r.Header().Seq != seq || r.Header().Status != StatusAbsent {
			t.Errorf("op %d: submit_sm_resp seq %d status %#x, want seq %d status 0x45", o, r.Header().Seq, r.Header().Status, seq)
		}
	}
	e.expectQuiet(200 * time.Millisecond)
	if got := s.Pushes(msisdn); len(got) != 0 {
		t.Errorf("Pushes to an absent phone %+v", got)
	}
}

// servePushes makes e an application that ends each pushed dialogue: an
// answer gets a closing notification; acknowledgements are reported on acks.
func servePushes(e *testESME, acks chan<- byte) {
	for p := range e.in {
		if p.Header().ID != pdu.DeliverSMID {
			continue
		}
		e.ack(p, 0)
		switch text, _, _, _ := messageText(p); op(p) {
		case opUSSRConfirm:
			e.submitScreen(p, opUSSNRequest, "You chose "+text, 0)
		case opUSSNConfirm:
			acks <- opUSSNConfirm
		}
	}
}

func TestControlPushes(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	acks := make(chan byte, 16)
	hs := httptest.NewServer(s.ControlHandler())
	t.Cleanup(hs.Close)
	cc := &ControlClient{BaseURL: hs.URL}
	c := ctx(t)
	const msisdn = "+84903100008"

	if _, err := cc.WaitPush(c, msisdn, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("WaitPush with no push: %v, want ErrTimeout (504)", err)
	}
	e.expectSubmitResp(e.push(msisdn, opUSSRRequest, 11, "Rate us\n1. Good"))
	go servePushes(e, acks) // from here on e's PDUs are the application's
	st, err := cc.WaitPush(c, msisdn, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Call == "" || st.Screen != "Rate us\n1. Good" || st.End || st.Op != opUSSRRequest {
		t.Errorf("pushed menu %+v", st)
	}
	st2, err := cc.Reply(c, st.Call, "1")
	if err != nil {
		t.Fatal(err)
	}
	if st2.Screen != "You chose 1" || !st2.End || st2.Op != opUSSNRequest {
		t.Errorf("after the answer %+v", st2)
	}
	if got := <-acks; got != opUSSNConfirm {
		t.Errorf("ack op %d", got)
	}
	if _, err := cc.Reply(c, st.Call, "1"); !errors.Is(err, ErrEnded) {
		t.Errorf("reply to an ended pushed call: %v", err)
	}

	if err := cc.SetPhone(c, msisdn, "absent"); err != nil {
		t.Fatal(err)
	}
	if b := s.phone(msisdn); b != PhoneAbsent {
		t.Errorf("phone %v after SetPhone absent", b)
	}
	if err := cc.SetPhone(c, msisdn, "answers"); err != nil {
		t.Fatal(err)
	}
	e.push(msisdn, opUSSNRequest, 12, "Points expire soon") // only writes: servePushes reads
	st, err = cc.WaitPush(c, msisdn, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Call != "" || st.Screen != "Points expire soon" || !st.End || st.Op != opUSSNRequest {
		t.Errorf("notification %+v", st)
	}
	if got := <-acks; got != opUSSNConfirm {
		t.Errorf("ack op %d", got)
	}
}

func TestControlPushErrors(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	hs := httptest.NewServer(s.ControlHandler())
	t.Cleanup(hs.Close)
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/v1/pushes/next", ``, http.StatusBadRequest},
		{"GET", "/v1/pushes/next?msisdn=84903100009&wait=soon", ``, http.StatusBadRequest},
		{"GET", "/v1/pushes/next?msisdn=84903100009&wait=-1s", ``, http.StatusBadRequest},
		{"GET", "/v1/pushes/next?msisdn=84903100009&wait=20ms", ``, http.StatusGatewayTimeout},
		{"PUT", "/v1/phones/84903100009", `{"behaviour":"asleep"}`, http.StatusBadRequest},
		{"PUT", "/v1/phones/84903100009", `{`, http.StatusBadRequest},
		{"PUT", "/v1/phones/84903100009", `{"behaviour":"busy"}`, http.StatusNoContent},
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
	}
	if got := s.phone("84903100009"); got != PhoneBusy {
		t.Errorf("phone %v after PUT busy", got)
	}
}
