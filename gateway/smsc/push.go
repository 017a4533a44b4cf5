package smsc

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// Network-initiated USSD: the application pushes a menu (submit_sm with
// ussd_service_op 2) or a notification (op 3) to a phone that is in no
// dialogue with it, numbering the dialogue with user_message_reference.

// PhoneBehaviour is how a simulated phone treats USSD pushed to it.
type PhoneBehaviour int

const (
	// PhoneAnswers shows pushes: a menu waits for whoever takes it with
	// WaitPush to answer it; a notification is acknowledged at once
	// (deliver_sm with ussd_service_op 19). The default.
	PhoneAnswers PhoneBehaviour = iota
	// PhoneIgnores receives pushes and never answers them.
	PhoneIgnores
	// PhoneBusy is in another USSD session: the centre accepts each push
	// and then aborts it (deliver_sm with ussd_service_op 32).
	PhoneBusy
	// PhoneAbsent is switched off or out of coverage: the centre refuses
	// each push with StatusAbsent.
	PhoneAbsent
)

var phoneNames = [...]string{PhoneAnswers: "answers", PhoneIgnores: "ignores", PhoneBusy: "busy", PhoneAbsent: "absent"}

func (b PhoneBehaviour) String() string {
	if b >= 0 && int(b) < len(phoneNames) {
		return phoneNames[b]
	}
	return fmt.Sprintf("PhoneBehaviour(%d)", int(b))
}

// parsePhone is the inverse of PhoneBehaviour.String.
func parsePhone(name string) (PhoneBehaviour, bool) {
	for b, n := range phoneNames {
		if n == name {
			return PhoneBehaviour(b), true
		}
	}
	return 0, false
}

// StatusAbsent (ESME_RSUBMITFAIL) is the submit_sm_resp status of a push to
// an absent phone.
const StatusAbsent = 0x00000045

// pushQueueLimit bounds the pushes waiting to be taken per MSISDN (oldest
// dropped), so that a benchmark pushing to phones nobody watches does not
// grow the simulator without bound.
const pushQueueLimit = 100

// Push is a USSD push as the phone's network received it.
type Push struct {
	From       string    `json:"from"` // source_addr: the service code
	Text       string    `json:"text"`
	Op         byte      `json:"op"`  // 2: menu (USSR request), 3: notification (USSN request)
	UMR        uint16    `json:"umr"` // user_message_reference; 0 if absent
	ReceivedAt time.Time `json:"received_at"`
}

// SetPhone sets how msisdn treats pushes from now on.
func (s *Server) SetPhone(msisdn string, b PhoneBehaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b == PhoneAnswers {
		delete(s.phones, msisdn)
		return
	}
	s.phones[msisdn] = b
}

// Pushes returns the pushes received for msisdn (destination_addr exactly as
// the ESME wrote it), oldest first; pushes to an absent phone are not among
// them.
func (s *Server) Pushes(msisdn string) []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes[msisdn]...)
}

// WaitPush returns the oldest push to msisdn not yet taken, waiting until
// one arrives, ctx ends or the server closes. A menu is an open Call to
// answer with Reply or Abort, as a dialled one; a notification is an ended
// Call whose Screen is its text. Only phones that answer queue pushes.
func (s *Server) WaitPush(ctx context.Context, msisdn string) (*Call, error) {
	for {
		s.mu.Lock()
		if q := s.pushQ[msisdn]; len(q) > 0 {
			c := q[0]
			if len(q) == 1 {
				delete(s.pushQ, msisdn)
			} else {
				s.pushQ[msisdn] = q[1:]
			}
			s.mu.Unlock()
			return c, nil
		}
		arrived := s.pushedCh
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, fmt.Errorf("smsc: no push to %s: %w", mask(msisdn), ctx.Err())
		case <-s.done:
			return nil, ErrClosed
		}
	}
}

// isPush reports whether a USSD submit_sm that matches no open call opens a
// dialogue from the application: a menu or a notification, without the
// its_session_info that only a dialled dialogue carries.
func isPush(p pdu.Body, op byte) bool {
	return (op == opUSSRRequest || op == opUSSNRequest) && tlvBytes(p, pdutlv.TagItsSessionInfo) == nil
}

// handlePush answers a push as the phone at destination_addr behaves. All
// state is settled before the submit_sm_resp, so an ESME holding the
// response finds the push in Pushes; the phone's own deliver_sm goes after
// it, off the read loop.
func (s *Server) handlePush(l *link, p pdu.Body, id string, op byte) error {
	c := newPushCall(s, p, op)
	b := s.phone(c.msisdn)
	log := s.log.With("link", l.id, "msisdn", mask(c.msisdn), "op", op, "umr", c.umr, "phone", b)
	if b == PhoneAbsent {
		log.Info("push to an absent phone refused")
		return l.writeSubmitResp(p.Header().Seq, StatusAbsent, "") // no message_id: not delivered
	}
	s.recordPush(c)
	var ack byte // the phone's deliver_sm, if it sends one
	switch {
	case b == PhoneBusy:
		c.ended, ack = true, opAbort
	case b == PhoneIgnores:
	case op == opUSSNRequest:
		c.ended, ack = true, opUSSNConfirm
		s.queuePush(c)
	default:
		// Registered before the response: the application may go on with
		// this dialogue as soon as it has it.
		if err := s.openCall(c, false, false); err != nil {
			log.Warn("push not shown", "err", err)
			break
		}
		s.queuePush(c)
	}
	if err := l.writeSubmitResp(p.Header().Seq, statusOK, id); err != nil {
		return err
	}
	log.Info("push", "len", len(c.text))
	if ack != 0 {
		s.goBackground(func() { c.sendAsync(l, ack, false) })
	}
	return nil
}

// newPushCall is the phone's side of a push: no session number, the
// push's user_message_reference, the push as its first screen. The phone
// answers in the data coding a dial uses by default.
func newPushCall(s *Server, p pdu.Body, op byte) *Call {
	f := p.Fields()
	text, _, _, _ := messageText(p)
	c := &Call{
		s: s, msisdn: fieldString(f, pdufield.DestinationAddr), dest: fieldString(f, pdufield.SourceAddr),
		coding: codingGSMUnspc, pushed: true, screens: make(chan screen, 1), text: text, op: op,
	}
	if umr := tlvBytes(p, pdutlv.TagUserMessageReference); len(umr) == 2 {
		c.hasUMR, c.umr = true, binary.BigEndian.Uint16(umr)
	}
	return c
}

// phone returns how msisdn treats pushes.
func (s *Server) phone(msisdn string) PhoneBehaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phones[msisdn]
}

func (s *Server) recordPush(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append(s.pushes[c.msisdn], Push{From: c.dest, Text: c.text, Op: c.op, UMR: c.umr, ReceivedAt: time.Now()})
	if len(list) > inboxLimit {
		list = list[len(list)-inboxLimit:]
	}
	s.pushes[c.msisdn] = list
}

// queuePush offers c to WaitPush. A menu dropped from a full queue is ended
// so that it leaves the open calls too.
func (s *Server) queuePush(c *Call) {
	s.mu.Lock()
	q := append(s.pushQ[c.msisdn], c)
	var dropped *Call
	if len(q) > pushQueueLimit {
		dropped, q = q[0], q[1:]
	}
	s.pushQ[c.msisdn] = q
	close(s.pushedCh)
	s.pushedCh = make(chan struct{})
	s.mu.Unlock()
	if dropped != nil {
		dropped.end() // takes s.mu itself
	}
}
