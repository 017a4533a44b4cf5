package gateway_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/gateway/smsc"
)

// echoUSSD stands in for the dialogue engine in protocol tests: it records
// what the gateway decoded and answers with a screen that repeats it. The
// real engine is exercised end to end in cmd/care360.
type echoUSSD struct {
	mu   sync.Mutex
	seen []care360.USSDRequest
}

func (e *echoUSSD) Step(_ context.Context, r care360.USSDRequest) (care360.USSDReply, error) {
	e.mu.Lock()
	e.seen = append(e.seen, r)
	e.mu.Unlock()
	switch {
	case r.Kind == care360.USSDBegin && r.Text != "*090#":
		return care360.USSDReply{Text: "Not ours: " + r.Text, End: true}, nil
	case r.Text == "end":
		return care360.USSDReply{Text: "Bye", End: true}, nil
	case r.Text == "uni":
		return care360.USSDReply{Text: "Điểm của bạn"}, nil
	}
	return care360.USSDReply{Text: "You said " + r.Text}, nil
}

func (e *echoUSSD) requests() []care360.USSDRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]care360.USSDRequest(nil), e.seen...)
}

type bundle struct {
	sim  *smsc.Server
	gw   *gateway.Gateway
	ussd *echoUSSD
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupProfile(t, gateway.GenericProfile)
}

func setupProfile(t *testing.T, prof gateway.Profile) *bundle {
	t.Helper()
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 15 * time.Second})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	u := &echoUSSD{}
	gw := gateway.New(gateway.Config{
		USSD: u,
		Binds: []gateway.BindConfig{{Addr: sim.Addr(), SystemID: "care360", Password: "secret", Profile: prof,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}},
	})
	gw.Start()
	t.Cleanup(func() { gw.Stop(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sim.WaitBound(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return &bundle{sim: sim, gw: gw, ussd: u}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDialogueOverSMPP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := ctxT(t)
	call, err := b.sim.Dial(ctx, "0903123456", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := call.Screen(); got != "You said *090#" || call.Op() != 2 || call.Ended() {
		t.Fatalf("first screen %q op %d", got, call.Op())
	}
	first := call.SessionInfo()
	if len(first) != 2 || first[1]&1 != 0 {
		t.Fatalf("its_session_info %x: want 2 octets, end bit clear", first)
	}
	if err := call.Reply(ctx, "uni"); err != nil {
		t.Fatal(err)
	}
	if got := call.Screen(); got != "Điểm của bạn" {
		t.Fatalf("UCS-2 screen %q", got)
	}
	if err := call.Reply(ctx, "end"); err != nil {
		t.Fatal(err)
	}
	last := call.SessionInfo()
	if !call.Ended() || call.Op() != 17 || last[0] != first[0] || last[1]&1 != 1 {
		t.Fatalf("final screen op %d ended %v session %x (first %x)", call.Op(), call.Ended(), last, first)
	}
	reqs := b.ussd.requests()
	if len(reqs) != 3 || reqs[0].Kind != care360.USSDBegin || reqs[1].Kind != care360.USSDAnswer {
		t.Fatalf("requests %+v", reqs)
	}
	if reqs[0].MSISDN != "84903123456" || reqs[0].Key != reqs[2].Key || !strings.HasPrefix(reqs[0].Key, "84903123456/s") {
		t.Fatalf("keys %q %q msisdn %q", reqs[0].Key, reqs[2].Key, reqs[0].MSISDN)
	}
}

func TestDataCodingsAndSessionKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := ctxT(t)
	for _, c := range []struct {
		name string
		opt  smsc.DialOptions
		key  string
	}{
		{"gsm 0x00 umr", smsc.DialOptions{Coding00: true, NoSessionInfo: true, UserMessageReference: true}, "/u"},
		{"ia5 0x01 msisdn only", smsc.DialOptions{DataCoding: 0x01, NoSessionInfo: true}, ""},
		{"ucs2 0x08", smsc.DialOptions{DataCoding: 0x08}, "/s"},
	} {
		call, err := b.sim.Dial(ctx, "84912345678", "*090#", c.opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if call.Screen() != "You said *090#" {
			t.Errorf("%s: screen %q", c.name, call.Screen())
		}
		reqs := b.ussd.requests()
		key := reqs[len(reqs)-1].Key
		if rest := strings.TrimPrefix(key, "84912345678"); (c.key == "" && rest != "") || (c.key != "" && !strings.HasPrefix(rest, c.key)) {
			t.Errorf("%s: key %q", c.name, key)
		}
		call.Abort(ctx)
	}
}

// TestReplayRealPDU feeds the PSSR indication captured from a USSD centre
// (PRODUCT.md §3.1): data_coding 0x0F, *4006#, ussd_service_op 1.
func TestReplayRealPDU(t *testing.T) {
	t.Parallel()
	b := setup(t)
	raw, _ := hex.DecodeString("0000004400000005000000000000000250320001013636393737303931323035000101363639323330313131323100000000000000000f00062a34303036230501000101")
	resp, err := b.sim.SendRaw(ctxT(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header().ID != pdu.DeliverSMRespID || resp.Header().Status != 0 {
		t.Fatalf("response %s status %#x", resp.Header().ID, uint32(resp.Header().Status))
	}
	waitFor(t, func() bool { return len(b.ussd.requests()) == 1 })
	r := b.ussd.requests()[0]
	if r.Kind != care360.USSDBegin || r.Text != "*4006#" || r.Key != "raw:66977091205" || r.MSISDN != "" {
		t.Fatalf("decoded %+v", r)
	}
}

// TestMalformedInput: every bad PDU gets an SMPP answer, the link stays up
// and the gateway keeps serving.
func TestMalformedInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := ctxT(t)
	deliver := func(seq uint32, body string) []byte {
		bb, _ := hex.DecodeString(body)
		out := make([]byte, 16+len(bb))
		binary.BigEndian.PutUint32(out[0:], uint32(len(out)))
		binary.BigEndian.PutUint32(out[4:], 0x00000005)
		binary.BigEndian.PutUint32(out[12:], seq)
		copy(out[16:], bb)
		return out
	}
	const addrs = "000101363639373730393132303500010136363932333031313132310000000000000000"
	cases := []struct {
		name   string
		raw    []byte
		id     pdu.ID
		status uint32
	}{
		{"unknown command id", []byte{0, 0, 0, 16, 0, 0, 0x09, 0x99, 0, 0, 0, 0, 0, 0, 0, 7}, pdu.GenericNACKID, 0x03},
		{"garbage body", deliver(8, "ffffffffffffffffffff"), pdu.DeliverSMRespID, 0x01},
		{"short_message longer than body", deliver(9, addrs+"0f00ff2a"), pdu.DeliverSMRespID, 0x01},
		{"unknown ussd op", deliver(10, addrs+"0f00052a303930230501000105"), pdu.DeliverSMRespID, 0},
		{"ucs2 odd length", deliver(11, addrs+"0800030041420501000101"), pdu.DeliverSMRespID, 0x01},
		{"bad ussd op length", deliver(12, addrs+"0f00052a30393023050100020101"), pdu.DeliverSMRespID, 0xC0},
		{"data_sm (unsupported)", []byte{0, 0, 0, 16, 0, 0, 0x01, 0x03, 0, 0, 0, 0, 0, 0, 0, 13}, pdu.GenericNACKID, 0x03},
	}
	for _, c := range cases {
		resp, err := b.sim.SendRaw(ctx, c.raw)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if resp.Header().ID != c.id || uint32(resp.Header().Status) != c.status {
			t.Errorf("%s: got %s status %#x; want %s status %#x", c.name, resp.Header().ID, uint32(resp.Header().Status), c.id, c.status)
		}
	}
	if b.sim.Bound() != 1 {
		t.Fatal("the link went down")
	}
	call, err := b.sim.Dial(ctx, "0903123456", "*090#", smsc.DialOptions{})
	if err != nil || call.Screen() != "You said *090#" {
		t.Fatalf("after bad input: %v %q", err, call.Screen())
	}
}

// TestRebind: a lost link is rebound with back-off and serves again; an
// unframeable PDU (command_length below 16) drops the link the same way.
func TestRebind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := ctxT(t)
	servesAgain := func() bool {
		call, err := b.sim.Dial(ctx, "0903123456", "*090#", smsc.DialOptions{})
		return err == nil && call.Screen() == "You said *090#"
	}
	b.sim.DropLinks()
	waitFor(t, servesAgain)
	resp, err := b.sim.SendRaw(ctx, []byte{0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 42})
	if err == nil && (resp.Header().ID != pdu.GenericNACKID || resp.Header().Status != 0x02) {
		t.Fatalf("bad length answered with %s %#x", resp.Header().ID, uint32(resp.Header().Status))
	}
	waitFor(t, servesAgain)
}

// TestAbortReachesEngine: a network abort (op 32) is passed on and not answered.
func TestAbortReachesEngine(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := ctxT(t)
	call, err := b.sim.Dial(ctx, "0903123456", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		r := b.ussd.requests()
		return len(r) == 2 && r[1].Kind == care360.USSDAbort && r[1].Key == r[0].Key
	})
}

// waitFor polls until ok. The limit is generous on purpose: it only decides
// how long a failing test takes, and a loaded CI machine must not turn a
// slow pass into a failure.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProfiles runs one dialogue in each built-in operator profile against a
// simulated centre of the matching style.
func TestProfiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		prof    gateway.Profile
		style   smsc.Style
		opt     smsc.DialOptions
		keyPart string
		endOp   byte
	}{
		{gateway.GenericProfile, smsc.Style{}, smsc.DialOptions{}, "/s", 17},
		{gateway.MSISDNKeyProfile, smsc.Style{CodeInDestination: true, EndOp: 0x20}, smsc.DialOptions{NoSessionInfo: true}, "", 0x20},
		{gateway.EndBitProfile, smsc.Style{EndBitOnly: true}, smsc.DialOptions{}, "/s", 2},
	}
	for _, c := range cases {
		t.Run(c.prof.Name, func(t *testing.T) {
			t.Parallel()
			if err := c.prof.Validate(); err != nil {
				t.Fatal(err)
			}
			b := setupProfile(t, c.prof)
			ctx := ctxT(t)
			opt := c.opt
			opt.Style = c.style
			call, err := b.sim.Dial(ctx, "0903123456", "*090#", opt)
			if err != nil {
				t.Fatal(err)
			}
			if call.Screen() != "You said *090#" || call.Ended() || call.Op() != c.prof.OpContinue {
				t.Fatalf("first screen %q op %d ended %v", call.Screen(), call.Op(), call.Ended())
			}
			first := call.SessionInfo()
			if err := call.Reply(ctx, "end"); err != nil {
				t.Fatal(err)
			}
			if !call.Ended() || call.Op() != c.endOp || call.Screen() != "Bye" {
				t.Fatalf("final screen %q op %d ended %v", call.Screen(), call.Op(), call.Ended())
			}
			if c.prof.CountSequence {
				// The phone's second message had sequence 1; our answer counts on.
				if got := call.SessionInfo(); len(got) != 2 || got[1]>>1 != 2 || got[1]&1 != 1 || first[1]>>1 != 1 {
					t.Fatalf("its_session_info %x then %x: want counted sequence and the end bit", first, got)
				}
			}
			reqs := b.ussd.requests()
			if got := strings.TrimPrefix(reqs[0].Key, "84903123456"); (c.keyPart == "") != (got == "") || !strings.HasPrefix(got, c.keyPart) {
				t.Errorf("dialogue key %q", reqs[0].Key)
			}
			// A second dial, then the centre's own abort.
			call, err = b.sim.Dial(ctx, "0903123456", "*090#", opt)
			if err != nil {
				t.Fatal(err)
			}
			if err := call.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool {
				r := b.ussd.requests()
				return r[len(r)-1].Kind == care360.USSDAbort
			})
		})
	}
}

func TestProfileValidation(t *testing.T) {
	t.Parallel()
	bad := gateway.GenericProfile
	bad.Key = "imsi"
	if bad.Validate() == nil {
		t.Error("unknown key accepted")
	}
	bad = gateway.MSISDNKeyProfile
	bad.OpEnd = bad.OpContinue
	if bad.Validate() == nil {
		t.Error("msisdn key with equal continue and end ops accepted")
	}
	bad = gateway.GenericProfile
	bad.OpsAbort = []byte{1}
	if bad.Validate() == nil {
		t.Error("abort op equal to begin accepted")
	}
}
