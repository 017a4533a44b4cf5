package smsc

import (
	"context"
	"fmt"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// Message is an SMS the ESME submitted, as the handset at To received it.
type Message struct {
	ID          string    `json:"id"`   // message_id given in submit_sm_resp
	From        string    `json:"from"` // source_addr
	To          string    `json:"to"`   // destination_addr, exactly as submitted
	Text        string    `json:"text"` // decoded from DataCoding, without UDH
	DataCoding  byte      `json:"data_coding"`
	ESMClass    byte      `json:"esm_class"`
	UDH         []byte    `json:"udh,omitempty"` // user data header (with its length octet) when esm_class has 0x40
	SubmittedAt time.Time `json:"submitted_at"`
}

// inboxLimit bounds each handset's inbox (oldest dropped) so that long
// benchmarks do not grow the simulator without bound.
const inboxLimit = 1000

// receiptRetries is how often a delivery receipt is offered before giving
// up, when the ESME is unbound or answers it with an error.
const receiptRetries = 60

// Messages returns the SMS submitted to msisdn (destination_addr exactly as
// the ESME wrote it), oldest first.
func (s *Server) Messages(msisdn string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.inbox[msisdn]...)
}

// handleSubmit answers a submit_sm at once with a fresh message_id and then
// routes it: with ussd_service_op to its USSD call or as a push to the
// phone, otherwise to the inbox.
func (s *Server) handleSubmit(l *link, p pdu.Body) error {
	id := s.newMessageID()
	op := tlvBytes(p, pdutlv.TagUssdServiceOp)
	if kind := map[bool]string{true: CarriesUSSD, false: CarriesSMS}[len(op) > 0]; !l.carry(kind) {
		// The operator's USSD centre takes no SMS, and its SMSC no screens.
		s.faults.wrongAccount.Add(1)
		s.log.Warn("submit_sm on an account that does not carry it", "link", l.id, "system_id", l.systemID, "kind", kind)
		return l.writeSubmitResp(p.Header().Seq, statusInvSerTyp, "")
	}
	if len(op) > 0 {
		return s.submitUSSD(l, p, id, op[0])
	}
	f := p.Fields()
	text, coding, esm, udh := messageText(p)
	m := Message{
		ID: id, From: fieldString(f, pdufield.SourceAddr), To: fieldString(f, pdufield.DestinationAddr),
		Text: text, DataCoding: coding, ESMClass: esm, UDH: udh, SubmittedAt: time.Now(),
	}
	act := s.submitAction(m)
	if act.MessageID != "" {
		m.ID = act.MessageID
	}
	switch {
	case act.Drop:
		s.log.Info("dropping the link instead of answering a submit_sm", "link", l.id)
		l.hangUp()
		return errDropped
	case act.Delay > 0:
		// Answered later, off the read loop, so the ESME's window stays open.
		s.goBackground(func() {
			if s.sleep(act.Delay) {
				s.answerSubmit(l, p, m, act)
			}
		})
		return nil
	}
	return s.answerSubmit(l, p, m, act)
}

// submitUSSD answers a USSD submit_sm and hands it to its open call; a menu
// or notification that belongs to none is a push to the phone (push.go).
func (s *Server) submitUSSD(l *link, p pdu.Body, id string, op byte) error {
	c := s.findCall(p)
	if c == nil && isPush(p, op) {
		return s.handlePush(l, p, id, op)
	}
	if d := time.Duration(s.faults.screenDelay.Load()); d > 0 {
		s.handleUSSD(l, c, p, op)
		seq := p.Header().Seq
		s.goBackground(func() {
			if s.sleep(d) {
				l.writeSubmitResp(seq, statusOK, id)
			}
		})
		return nil
	}
	// Answer first: the screen may let the phone go on at once, and its
	// next deliver_sm should not overtake this submit_sm_resp.
	if err := l.writeSubmitResp(p.Header().Seq, statusOK, id); err != nil {
		return err
	}
	s.handleUSSD(l, c, p, op)
	return nil
}

// answerSubmit answers an ordinary submit_sm as act says: a refusal stores
// nothing; an acceptance stores m, answers and schedules its receipt.
func (s *Server) answerSubmit(l *link, p pdu.Body, m Message, act SubmitAction) error {
	if act.Status != statusOK {
		s.log.Info("SMS refused", "link", l.id, "to", mask(m.To), "status", fmt.Sprintf("%#x", act.Status))
		return l.writeSubmitResp(p.Header().Seq, pdu.Status(act.Status), "") // no message_id: nothing was stored
	}
	s.mu.Lock()
	box := append(s.inbox[m.To], m)
	if len(box) > inboxLimit {
		box = box[len(box)-inboxLimit:]
	}
	s.inbox[m.To] = box
	s.mu.Unlock()
	// Stored before answering, so an ESME that has the submit_sm_resp finds
	// the message in Messages; the receipt is scheduled after, so it cannot
	// overtake the response.
	if err := l.writeSubmitResp(p.Header().Seq, statusOK, m.ID); err != nil {
		return err
	}
	s.log.Info("SMS submitted", "link", l.id, "id", m.ID, "to", mask(m.To), "len", len(m.Text))
	if fieldByte(p.Fields(), pdufield.RegisteredDelivery)&0x01 != 0 && act.Receipt != StatNone {
		delay, stat := s.cfg.ReceiptDelay, act.Receipt
		if act.ReceiptDelay > 0 {
			delay = act.ReceiptDelay
		}
		if stat == "" {
			stat = StatDelivered
		}
		s.scheduleReceipt(l, m, stat, delay)
	}
	return nil
}

// receiptText is the short_message of m's delivery receipt, in the
// customary format, in the default alphabet (appendReceipt).
func receiptText(m Message, done time.Time, stat string) []byte {
	text, runes := m.Text, 0
	for i := range text { // the first 20 characters
		if runes == 20 {
			text = text[:i]
			break
		}
		runes++
	}
	dlvr, errCode := "001", "000"
	if stat != StatDelivered {
		dlvr, errCode = "000", "001"
	}
	body := fmt.Sprintf("id:%s sub:001 dlvr:%s submit date:%s done date:%s stat:%s err:%s text:%s",
		m.ID, dlvr, m.SubmittedAt.Format("0601021504"), done.Format("0601021504"), stat, errCode, text)
	sm, err := encodeText(body, codingDefault)
	if err != nil { // the quoted text is not GSM-7; receipts stay in the default alphabet
		sm = []byte(body[:len(body)-len(text)])
	}
	return sm
}

// SendMO delivers an ordinary SMS from a handset (deliver_sm without a USSD
// op) to a bound link and returns the command_status of the ESME's
// deliver_sm_resp. Text longer than 254 octets goes in message_payload.
func (s *Server) SendMO(ctx context.Context, from, to, text string, coding byte) (uint32, error) {
	sm, err := encodeText(text, coding)
	if err != nil {
		return 0, err
	}
	p := newDeliverSM()
	f := p.Fields()
	setAddrs(f, from, to)
	f.Set(pdufield.DataCoding, coding)
	if len(sm) > 254 {
		f.Set(pdufield.ShortMessage, []byte(nil))
		p.TLVFields().Set(pdutlv.TagMessagePayload, sm)
	} else {
		f.Set(pdufield.ShortMessage, sm)
	}
	s.log.Info("MO SMS", "from", mask(from), "to", to, "len", len(text))
	return s.deliver(ctx, nil, p)
}

// deliver sends p on a deliverable link and returns the response status.
func (s *Server) deliver(ctx context.Context, prefer *link, p pdu.Body) (uint32, error) {
	l, err := s.pickLink(prefer, CarriesSMS)
	if err != nil {
		return 0, err
	}
	resp, err := l.request(ctx, p)
	if err != nil {
		return 0, err
	}
	return uint32(resp.Header().Status), nil
}

// sleep waits d unless the server closes first; it reports whether to go on.
func (s *Server) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}
