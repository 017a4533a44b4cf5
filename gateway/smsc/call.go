package smsc

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// ussd_service_op values (SMPP 3.4 §5.3.2.44).
const (
	opPSSRIndication = 1  // phone dialled a code
	opUSSRRequest    = 2  // application shows a screen and waits
	opUSSNRequest    = 3  // application shows a notification (push)
	opPSSRResponse   = 17 // application's final screen
	opUSSRConfirm    = 18 // phone answered a screen
	opUSSNConfirm    = 19 // phone acknowledged a notification
	opAbort          = 32 // network/user abort
)

// DialOptions shapes the deliver_sm PDUs of one call. The zero value is the
// common case: data_coding 0x0F and its_session_info on.
type DialOptions struct {
	// DataCoding is the coding of the phone's texts: 0 means 0x0F (GSM
	// "language unspecified", what USSD centres send); 0x01 and 0x0F are the
	// GSM default alphabet unpacked, one character per octet; 0x08 is UCS-2
	// big endian. To send 0x00 on the wire, leave it 0 and set Coding00.
	DataCoding byte
	// Coding00 sends data_coding 0x00 (GSM default alphabet) instead of the
	// default 0x0F; it is needed only because DataCoding's zero value means 0x0F.
	Coding00 bool
	// NoSessionInfo leaves out its_session_info (0x1383). By default every
	// deliver_sm of the call carries it: octet 1 the session number, octet 2
	// bits 7..1 a per-call sequence and bit 0 the end-of-session flag.
	NoSessionInfo bool
	// UserMessageReference also carries user_message_reference (0x0204, 2
	// octets); with NoSessionInfo it carries it instead.
	UserMessageReference bool
	// ServiceCode is the destination_addr of the deliver_sm PDUs; default the
	// dialled string.
	ServiceCode string
	// Style is how this USSD centre speaks; the zero value is generic.
	Style Style
}

// Style is how a simulated USSD centre marks dialled codes and the end of a
// dialogue (the gateway's operator profiles, seen from the other side). The
// zero value is the generic style of PRODUCT.md §3.1.
type Style struct {
	// CodeInDestination sends the dialled code in destination_addr only,
	// with an empty short_message.
	CodeInDestination bool
	// EndOp is the ussd_service_op with which the application ends a
	// dialogue (0 means 17, PSSR response). The centre's own aborts use it
	// too when it is not 17.
	EndOp byte
	// EndBitOnly: a dialogue ends only when the its_session_info end bit is
	// set, whatever the op; the centre aborts the same way (op 18 with the
	// end bit and no text).
	EndBitOnly bool
}

func (st Style) endOp() byte {
	if st.EndOp == 0 {
		return opPSSRResponse
	}
	return st.EndOp
}

// abortOp is the op of the centre's own abort.
func (st Style) abortOp() byte {
	switch {
	case st.EndBitOnly:
		return opUSSRConfirm
	case st.EndOp != 0 && st.EndOp != opPSSRResponse:
		return st.EndOp
	}
	return opAbort
}

// ends reports whether a screen with op and its_session_info ends the call.
func (st Style) ends(op byte, info []byte) bool {
	endBit := len(info) == 2 && info[1]&1 == 1
	if st.EndBitOnly {
		return endBit
	}
	return op == st.endOp() || endBit
}

// Call is one USSD dialogue seen from the phone. Its methods are safe for
// concurrent use; steps (Reply, Abort) run one at a time.
type Call struct {
	s       *Server
	msisdn  string
	dest    string
	coding  byte
	style   Style
	hasSess bool
	sess    byte
	hasUMR  bool
	umr     uint16
	pushed  bool   // began as a push from the application (push.go)
	ctlID   string // id over the control API, if any

	step    sync.Mutex  // one step at a time
	screens chan screen // the next screen; filled only while waiting

	mu      sync.Mutex
	link    *link // link of the last deliver_sm: later steps prefer it
	seqBits byte  // its_session_info sequence of the next deliver_sm
	waiting bool
	ended   bool
	text    string
	op      byte
	info    []byte
	status  uint32
}

// screen is one submit_sm from the application.
type screen struct {
	text string
	op   byte
	info []byte
}

// Dial simulates msisdn dialling code: it sends the ESME a deliver_sm with
// source_addr msisdn (exactly as given), short_message code and
// ussd_service_op 1, then waits up to ResponseTimeout for the application's
// first screen (submit_sm with ussd_service_op 2 or 17). Each open call gets
// a session number (1..255) unique for its MSISDN.
//
// Unless the code cannot be encoded or the server is not running, the
// returned Call is non-nil even with an error, so that Ended and
// DeliverStatus can be inspected. If ctx ends first the phone hangs up: the
// ESME gets an abort and Dial returns ctx's error.
func (s *Server) Dial(ctx context.Context, msisdn, code string, opt DialOptions) (*Call, error) {
	coding := opt.DataCoding
	if coding == 0 && !opt.Coding00 {
		coding = codingGSMUnspc
	}
	sm, err := encodeText(code, coding)
	if err != nil {
		return nil, err
	}
	c := &Call{s: s, msisdn: msisdn, dest: code, coding: coding, style: opt.Style, screens: make(chan screen, 1)}
	if opt.ServiceCode != "" {
		c.dest = opt.ServiceCode
	}
	if opt.Style.CodeInDestination {
		c.dest, sm = code, nil
	}
	if err := s.openCall(c, !opt.NoSessionInfo, opt.UserMessageReference); err != nil {
		return nil, err
	}
	s.log.Info("dial", "msisdn", mask(msisdn), "code", code, "session", c.sess)
	return c, c.do(ctx, opPSSRIndication, sm)
}

// Reply sends the phone's answer to the current screen (deliver_sm with
// ussd_service_op 18, short_message text in the dial's data coding) and
// waits for the next screen like Dial.
func (c *Call) Reply(ctx context.Context, text string) error {
	sm, err := encodeText(text, c.coding)
	if err != nil {
		return err
	}
	return c.do(ctx, opUSSRConfirm, sm)
}

// Abort hangs up: the ESME gets a deliver_sm with ussd_service_op 32 (and
// the end bit in its_session_info) and the call ends. No screen is expected;
// Abort waits only for the deliver_sm_resp.
func (c *Call) Abort(ctx context.Context) error {
	c.step.Lock()
	defer c.step.Unlock()
	if c.Ended() {
		return ErrEnded
	}
	c.end()
	l, err := c.s.pickLink(c.lastLink(), CarriesUSSD)
	if err != nil {
		return err
	}
	resp, err := l.request(ctx, c.deliverSM(c.style.abortOp(), nil, true))
	if err != nil {
		return fmt.Errorf("smsc: abort: %w", err)
	}
	c.setStatus(l, uint32(resp.Header().Status))
	return nil
}

// Screen returns the text of the latest screen.
func (c *Call) Screen() string { c.mu.Lock(); defer c.mu.Unlock(); return c.text }

// Op returns the ussd_service_op of the latest screen (2 or 17; 3 for a
// pushed notification), 0 before any.
func (c *Call) Op() byte { c.mu.Lock(); defer c.mu.Unlock(); return c.op }

// Ended reports whether the call is over: a final screen (op 17, or op 3 in
// a call that began as a push), an abort or a timeout.
func (c *Call) Ended() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.ended }

// SessionInfo returns its_session_info of the latest screen as received, or
// nil if it had none.
func (c *Call) SessionInfo() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.info...)
}

// DeliverStatus returns the command_status of the ESME's response to the
// latest deliver_sm of this call.
func (c *Call) DeliverStatus() uint32 { c.mu.Lock(); defer c.mu.Unlock(); return c.status }

// do sends one deliver_sm of the dialogue and waits until both its response
// and the application's screen have arrived (they may come in either order).
func (c *Call) do(ctx context.Context, op byte, sm []byte) error {
	c.step.Lock()
	defer c.step.Unlock()
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return ErrEnded
	}
	c.waiting = true // before sending: the screen may beat the response
	c.mu.Unlock()

	l, err := c.s.pickLink(c.lastLink(), CarriesUSSD)
	if err != nil {
		c.end()
		return err
	}
	timer := time.NewTimer(c.s.cfg.ResponseTimeout)
	defer timer.Stop()
	seq, respCh, err := l.send(c.deliverSM(op, sm, false))
	if err != nil {
		c.end()
		return err
	}
	defer l.forget(seq)
	gotResp, gotScreen := false, false
	for !gotResp || !gotScreen {
		select {
		case r := <-respCh:
			if r.err != nil {
				c.end()
				return fmt.Errorf("smsc: deliver_sm: %w", r.err)
			}
			gotResp = true
			st := uint32(r.p.Header().Status)
			c.setStatus(l, st)
			if st != statusOK {
				c.end()
				return fmt.Errorf("%w: status %#x", ErrRejected, st)
			}
		case sc := <-c.screens:
			gotScreen = true
			c.mu.Lock()
			c.text, c.op, c.info = sc.text, sc.op, sc.info
			c.mu.Unlock()
			if c.ends(sc.op, sc.info) {
				c.end()
			}
		case <-timer.C:
			c.s.log.Warn("application did not answer in time; aborting", "msisdn", mask(c.msisdn), "session", c.sess)
			c.end()
			c.abortAsync(l)
			return ErrTimeout
		case <-ctx.Done():
			c.end()
			c.abortAsync(l)
			return ctx.Err()
		case <-c.s.done:
			c.end()
			return ErrClosed
		}
	}
	if c.pushed && c.Op() == opUSSNRequest {
		// A pushed dialogue's last screen is a notification, which the
		// phone acknowledges like any other.
		c.sendAsync(l, opUSSNConfirm, false)
	}
	return nil
}

// ends reports whether a screen ends the call: as its style says, and for a
// call that began as a push also a notification (op 3), with which the
// application closes such dialogues.
func (c *Call) ends(op byte, info []byte) bool {
	return c.pushed && op == opUSSNRequest || c.style.ends(op, info)
}

// canShow reports whether op is one of a screen the phone can show in this call.
func (c *Call) canShow(op byte) bool {
	return op == opUSSRRequest || op == c.style.endOp() || c.pushed && op == opUSSNRequest
}

// abortAsync tells the ESME the dialogue is abandoned.
func (c *Call) abortAsync(prefer *link) { c.sendAsync(prefer, c.style.abortOp(), true) }

// sendAsync sends a deliver_sm of the dialogue without text (an abort or an
// acknowledgement; end sets the end bit). It is written before returning, so
// it precedes anything the phone does next; its response is awaited in the
// background, as nothing waits on it.
func (c *Call) sendAsync(prefer *link, op byte, end bool) {
	l, err := c.s.pickLink(prefer, CarriesUSSD)
	if err != nil {
		c.s.log.Warn("deliver_sm not sent", "msisdn", mask(c.msisdn), "op", op, "err", err)
		return
	}
	seq, ch, err := l.send(c.deliverSM(op, nil, end))
	if err != nil {
		c.s.log.Warn("deliver_sm not sent", "msisdn", mask(c.msisdn), "op", op, "err", err)
		return
	}
	c.s.goBackground(func() {
		if _, err := l.await(context.Background(), seq, ch); err != nil {
			c.s.log.Warn("deliver_sm unanswered", "msisdn", mask(c.msisdn), "op", op, "err", err)
		}
	})
}

// deliverSM builds the next deliver_sm of the dialogue.
func (c *Call) deliverSM(op byte, sm []byte, abort bool) pdu.Body {
	p := newDeliverSM()
	f := p.Fields()
	setAddrs(f, c.msisdn, c.dest)
	f.Set(pdufield.DataCoding, c.coding)
	f.Set(pdufield.ShortMessage, sm)
	t := p.TLVFields()
	t.Set(pdutlv.TagUssdServiceOp, op)
	c.mu.Lock()
	seqBits := c.seqBits
	c.seqBits = (c.seqBits + 1) & 0x7F
	c.mu.Unlock()
	if c.hasSess {
		info := seqBits << 1
		if abort {
			info |= 1 // end of session
		}
		t.Set(pdutlv.TagItsSessionInfo, []byte{c.sess, info})
	}
	if c.hasUMR {
		t.Set(pdutlv.TagUserMessageReference, binary.BigEndian.AppendUint16(nil, c.umr))
	}
	return p
}

func (c *Call) lastLink() *link { c.mu.Lock(); defer c.mu.Unlock(); return c.link }

func (c *Call) setStatus(l *link, st uint32) {
	c.mu.Lock()
	c.link, c.status = l, st
	c.mu.Unlock()
}

// end marks the call over and forgets it, so late screens are not matched.
func (c *Call) end() {
	c.mu.Lock()
	already := c.ended
	c.ended, c.waiting = true, false
	c.mu.Unlock()
	if !already {
		c.s.closeCall(c)
	}
}

// openCall registers c and gives it a session number unique among the open
// calls of its MSISDN (and a user_message_reference if asked).
func (s *Server) openCall(c *Call, sess, umr bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.started {
		return ErrClosed
	}
	open := s.calls[c.msisdn]
	inUse := func(n int, get func(*Call) int) bool {
		for _, o := range open {
			if get(o) == n {
				return true
			}
		}
		return false
	}
	if sess {
		for i := 0; ; i++ {
			if i == 255 {
				return fmt.Errorf("smsc: %s has 255 open calls", mask(c.msisdn))
			}
			s.nextSess = s.nextSess%255 + 1
			if !inUse(int(s.nextSess), func(o *Call) int { return int(o.sess) }) {
				break
			}
		}
		c.hasSess, c.sess = true, s.nextSess
	}
	if umr {
		for {
			s.nextUMR = s.nextUMR%0xFFFF + 1
			if !inUse(int(s.nextUMR), func(o *Call) int { return int(o.umr) }) {
				break
			}
		}
		c.hasUMR, c.umr = true, s.nextUMR
	}
	s.calls[c.msisdn] = append(open, c)
	return nil
}

func (s *Server) closeCall(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := s.calls[c.msisdn]
	for i, o := range open {
		if o == c {
			open = append(open[:i], open[i+1:]...)
			break
		}
	}
	if len(open) == 0 {
		delete(s.calls, c.msisdn)
	} else {
		s.calls[c.msisdn] = open
	}
	if c.ctlID != "" {
		delete(s.ctlCalls, c.ctlID)
	}
}

// findCall returns the open call a USSD submit_sm belongs to, or nil: by
// destination_addr + session number when its_session_info is present, else
// by user_message_reference, else the latest call of destination_addr.
func (s *Server) findCall(p pdu.Body) *Call {
	to := fieldString(p.Fields(), pdufield.DestinationAddr)
	info := tlvBytes(p, pdutlv.TagItsSessionInfo)
	umr := tlvBytes(p, pdutlv.TagUserMessageReference)
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *Call
	open := s.calls[to]
	switch {
	case len(info) > 0:
		for _, o := range open {
			if o.hasSess && o.sess == info[0] {
				c = o
			}
		}
	case len(umr) == 2:
		for _, o := range open {
			if o.hasUMR && o.umr == binary.BigEndian.Uint16(umr) {
				c = o
			}
		}
	case len(open) > 0:
		c = open[len(open)-1] // the latest dial
	}
	return c
}

// handleUSSD hands a USSD submit_sm (already answered) to c, the call
// findCall matched (nil: none).
func (s *Server) handleUSSD(l *link, c *Call, p pdu.Body, op byte) {
	to := fieldString(p.Fields(), pdufield.DestinationAddr)
	text, _, _, _ := messageText(p)
	info := tlvBytes(p, pdutlv.TagItsSessionInfo)
	log := s.log.With("link", l.id, "msisdn", mask(to), "op", op)
	if c == nil {
		umr := tlvBytes(p, pdutlv.TagUserMessageReference)
		log.Warn("USSD screen for no open call", "its_session_info", fmt.Sprintf("%x", info), "user_message_reference", fmt.Sprintf("%x", umr))
		return
	}
	if !c.canShow(op) {
		log.Warn("USSD submit_sm with an op a phone cannot be shown; ignored")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.waiting {
		log.Warn("USSD screen while the phone waits for none; ignored", "session", c.sess)
		return
	}
	c.waiting = false
	select { // never blocks the read loop; one screen per wait fits the buffer
	case c.screens <- screen{text: text, op: op, info: append([]byte(nil), info...)}:
		log.Debug("screen", "session", c.sess, "len", len(text))
	default:
		log.Error("screen buffer full; screen dropped", "session", c.sess)
	}
}
