package smsc

import (
	"errors"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

func TestDialogue(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	const msisdn = "+84903123456"

	var c *Call
	done := async(func() (err error) {
		c, err = s.Dial(ctx(t), msisdn, "*090#", DialOptions{})
		return err
	})
	d := e.expect(pdu.DeliverSMID)
	f := d.Fields()
	if got := fieldString(f, pdufield.SourceAddr); got != msisdn {
		t.Errorf("source_addr %q, want %q", got, msisdn)
	}
	if got := fieldString(f, pdufield.DestinationAddr); got != "*090#" {
		t.Errorf("destination_addr %q", got)
	}
	if got := string(f[pdufield.ShortMessage].Bytes()); got != "*090#" {
		t.Errorf("short_message %q", got)
	}
	if got := fieldByte(f, pdufield.DataCoding); got != 0x0F {
		t.Errorf("data_coding %#x, want 0x0F", got)
	}
	if op(d) != opPSSRIndication {
		t.Errorf("ussd_service_op %d, want 1", op(d))
	}
	info := tlvBytes(d, pdutlv.TagItsSessionInfo)
	if len(info) != 2 || info[0] == 0 || info[1]&1 != 0 {
		t.Fatalf("its_session_info %x", info)
	}
	if tlvBytes(d, pdutlv.TagUserMessageReference) != nil {
		t.Error("user_message_reference sent without being asked for")
	}
	e.ack(d, 0)
	menu := "1. Diem {KNDL} €"
	e.expectSubmitResp(e.submitScreen(d, opUSSRRequest, menu, 0x00))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if c.Screen() != menu || c.Op() != opUSSRRequest || c.Ended() || c.DeliverStatus() != 0 {
		t.Errorf("after dial: screen %q op %d ended %v status %#x", c.Screen(), c.Op(), c.Ended(), c.DeliverStatus())
	}
	if got := c.SessionInfo(); len(got) != 2 || got[0] != info[0] {
		t.Errorf("SessionInfo %x", got)
	}

	done = async(func() error { return c.Reply(ctx(t), "1") })
	d2 := e.expect(pdu.DeliverSMID)
	if op(d2) != opUSSRConfirm || string(d2.Fields()[pdufield.ShortMessage].Bytes()) != "1" {
		t.Errorf("reply: op %d short_message %q", op(d2), d2.Fields()[pdufield.ShortMessage].Bytes())
	}
	if i2 := tlvBytes(d2, pdutlv.TagItsSessionInfo); len(i2) != 2 || i2[0] != info[0] || i2[1]&1 != 0 {
		t.Errorf("reply its_session_info %x, want session %d", i2, info[0])
	}
	if d2.Header().Seq == d.Header().Seq {
		t.Error("simulator reused a sequence number")
	}
	e.ack(d2, 0)
	final := "Cảm ơn quý khách" // UCS-2 screen
	e.expectSubmitResp(e.submitScreen(d2, opPSSRResponse, final, 0x08))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if c.Screen() != final || c.Op() != opPSSRResponse || !c.Ended() {
		t.Errorf("final: screen %q op %d ended %v", c.Screen(), c.Op(), c.Ended())
	}
	if got := c.SessionInfo(); len(got) != 2 || got[1]&1 != 1 {
		t.Errorf("final SessionInfo %x lacks the end bit", got)
	}
	if err := c.Reply(ctx(t), "2"); !errors.Is(err, ErrEnded) {
		t.Errorf("Reply after end: %v, want ErrEnded", err)
	}
}

func TestDialOptions(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	tests := []struct {
		name     string
		opt      DialOptions
		coding   byte
		sess     bool
		umr      bool
		wantDest string
	}{
		{"ucs2 and umr", DialOptions{DataCoding: 0x08, UserMessageReference: true}, 0x08, true, true, "*090#"},
		{"umr only", DialOptions{NoSessionInfo: true, UserMessageReference: true, Coding00: true}, 0x00, false, true, "*090#"},
		{"bare", DialOptions{NoSessionInfo: true, DataCoding: 0x01, ServiceCode: "9090"}, 0x01, false, false, "9090"},
	}
	for _, tt := range tests { // sequential: they share one ESME
		t.Run(tt.name, func(t *testing.T) {
			var c *Call
			done := async(func() (err error) {
				c, err = s.Dial(ctx(t), "0903123456", "*090#", tt.opt)
				return err
			})
			d := e.expect(pdu.DeliverSMID)
			f := d.Fields()
			if got := fieldByte(f, pdufield.DataCoding); got != tt.coding {
				t.Errorf("data_coding %#x, want %#x", got, tt.coding)
			}
			if text, _, _, _ := messageText(d); text != "*090#" {
				t.Errorf("short_message decodes to %q", text)
			}
			if got := fieldString(f, pdufield.DestinationAddr); got != tt.wantDest {
				t.Errorf("destination_addr %q, want %q", got, tt.wantDest)
			}
			if got := tlvBytes(d, pdutlv.TagItsSessionInfo) != nil; got != tt.sess {
				t.Errorf("its_session_info present %v, want %v", got, tt.sess)
			}
			if got := len(tlvBytes(d, pdutlv.TagUserMessageReference)) == 2; got != tt.umr {
				t.Errorf("user_message_reference present %v, want %v", got, tt.umr)
			}
			e.ack(d, 0)
			e.expectSubmitResp(e.submitScreen(d, opPSSRResponse, "Bye", 0x00))
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			if c.Screen() != "Bye" || !c.Ended() {
				t.Errorf("screen %q ended %v", c.Screen(), c.Ended())
			}
		})
	}
}

// TestSessionMatching runs two calls of one MSISDN at once: each screen must
// reach the call whose session number it carries.
func TestSessionMatching(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	var c1, c2 *Call
	done1 := async(func() (err error) { c1, err = s.Dial(ctx(t), "84900000001", "*090#", DialOptions{}); return err })
	d1 := e.expect(pdu.DeliverSMID)
	done2 := async(func() (err error) { c2, err = s.Dial(ctx(t), "84900000001", "*090*1#", DialOptions{}); return err })
	d2 := e.expect(pdu.DeliverSMID)
	i1, i2 := tlvBytes(d1, pdutlv.TagItsSessionInfo), tlvBytes(d2, pdutlv.TagItsSessionInfo)
	if i1[0] == i2[0] {
		t.Fatalf("two open calls share session number %d", i1[0])
	}
	e.ack(d1, 0)
	e.ack(d2, 0)
	e.expectSubmitResp(e.submitScreen(d2, opUSSRRequest, "second", 0))
	e.expectSubmitResp(e.submitScreen(d1, opUSSRRequest, "first", 0))
	if err := wait(t, done1); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, done2); err != nil {
		t.Fatal(err)
	}
	if c1.Screen() != "first" || c2.Screen() != "second" {
		t.Errorf("screens crossed: %q, %q", c1.Screen(), c2.Screen())
	}
}

// TestSequenceCollision: the ESME's submit_sm carries the very sequence
// number of the deliver_sm the simulator awaits a response to. It must be
// taken as a request (answered, routed as a screen), never as that response.
func TestSequenceCollision(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	var c *Call
	done := async(func() (err error) { c, err = s.Dial(ctx(t), "84903000111", "*090#", DialOptions{}); return err })
	d := e.expect(pdu.DeliverSMID)
	seq := d.Header().Seq
	// Screen first, under the deliver_sm's number, and only then the resp.
	e.sendSeq(e.screenPDU(d, opUSSRRequest, "menu", 0), seq)
	e.expectSubmitResp(seq)
	select {
	case err := <-done:
		t.Fatalf("Dial returned before its deliver_sm_resp: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	e.ack(d, 0x64)
	if err := wait(t, done); !errors.Is(err, ErrRejected) {
		t.Fatalf("Dial: %v, want ErrRejected (status from the real deliver_sm_resp)", err)
	}
	if c.DeliverStatus() != 0x64 || c.Screen() != "menu" {
		t.Errorf("DeliverStatus %#x screen %q", c.DeliverStatus(), c.Screen())
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{ResponseTimeout: 150 * time.Millisecond})
	e := boundESME(t, s)

	// No first screen: Dial times out and the ESME sees an abort.
	done := async(func() error { _, err := s.Dial(ctx(t), "84903000222", "*090#", DialOptions{}); return err })
	d := e.expect(pdu.DeliverSMID)
	e.ack(d, 0)
	a := e.expect(pdu.DeliverSMID)
	if op(a) != opAbort {
		t.Fatalf("op %d, want abort 32", op(a))
	}
	if ia, id := tlvBytes(a, pdutlv.TagItsSessionInfo), tlvBytes(d, pdutlv.TagItsSessionInfo); ia[0] != id[0] || ia[1]&1 != 1 {
		t.Errorf("abort its_session_info %x for session %x", ia, id)
	}
	e.ack(a, 0)
	if err := wait(t, done); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Dial: %v, want ErrTimeout", err)
	}

	// A first screen, then no answer to the reply.
	var c *Call
	done = async(func() (err error) { c, err = s.Dial(ctx(t), "84903000222", "*090#", DialOptions{}); return err })
	d = e.expect(pdu.DeliverSMID)
	e.ack(d, 0)
	e.expectSubmitResp(e.submitScreen(d, opUSSRRequest, "menu", 0))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	done = async(func() error { return c.Reply(ctx(t), "1") })
	e.ack(e.expect(pdu.DeliverSMID), 0)
	if a := e.expect(pdu.DeliverSMID); op(a) != opAbort {
		t.Fatalf("op %d, want abort 32", op(a))
	} else {
		e.ack(a, 0)
	}
	if err := wait(t, done); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Reply: %v, want ErrTimeout", err)
	}
	if !c.Ended() {
		t.Error("call not ended after timeout")
	}
	// A late screen is answered but matched to nothing.
	e.expectSubmitResp(e.submitScreen(d, opPSSRResponse, "late", 0))
	if c.Screen() != "menu" {
		t.Errorf("late screen changed the call: %q", c.Screen())
	}
}

func TestAbort(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	var c *Call
	done := async(func() (err error) {
		c, err = s.Dial(ctx(t), "84903000333", "*090#", DialOptions{UserMessageReference: true})
		return err
	})
	d := e.expect(pdu.DeliverSMID)
	e.ack(d, 0)
	e.expectSubmitResp(e.submitScreen(d, opUSSRRequest, "menu", 0))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	done = async(func() error { return c.Abort(ctx(t)) })
	a := e.expect(pdu.DeliverSMID)
	if op(a) != opAbort || string(tlvBytes(a, pdutlv.TagUserMessageReference)) != string(tlvBytes(d, pdutlv.TagUserMessageReference)) {
		t.Errorf("abort op %d umr %x", op(a), tlvBytes(a, pdutlv.TagUserMessageReference))
	}
	e.ack(a, 0)
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if !c.Ended() {
		t.Error("not ended after Abort")
	}
	if err := c.Abort(ctx(t)); !errors.Is(err, ErrEnded) {
		t.Errorf("second Abort: %v", err)
	}
}

func TestDialWithoutLink(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := dialESME(t, s.Addr())
	e.bind(pdu.NewBindTransmitter(), "care360", "secret") // cannot receive deliver_sm
	if _, err := s.Dial(ctx(t), "84903000444", "*090#", DialOptions{}); !errors.Is(err, ErrNoLink) {
		t.Errorf("Dial: %v, want ErrNoLink", err)
	}
}

func TestRoundRobin(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{ResponseTimeout: time.Second})
	e1, e2 := boundESME(t, s), boundESME(t, s)
	if err := s.WaitBound(ctx(t), 2); err != nil {
		t.Fatal(err)
	}
	got := map[*testESME]int{}
	for range 4 {
		done := async(func() error { _, err := s.Dial(ctx(t), "84903000555", "*090#", DialOptions{}); return err })
		var d pdu.Body
		var e *testESME
		select {
		case d = <-e1.in:
			e = e1
		case d = <-e2.in:
			e = e2
		case <-time.After(waitPDU):
			t.Fatal("no deliver_sm")
		}
		got[e]++
		e.ack(d, 0)
		e.expectSubmitResp(e.submitScreen(d, opPSSRResponse, "x", 0))
		if err := wait(t, done); err != nil {
			t.Fatal(err)
		}
	}
	if got[e1] != 2 || got[e2] != 2 {
		t.Errorf("dials per link %d / %d, want 2 / 2", got[e1], got[e2])
	}
}
