package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/care360/care360"
	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// esm_class message-type bits for a delivery receipt.
const esmTypeMask, esmDeliveryReceipt = 0x3C, 0x04

// step is one USSD message waiting for its dialogue worker, with what is
// needed to answer it on the bind it came from.
type step struct {
	bind     *bind
	req      care360.USSDRequest
	src      string // source_addr as received: replies go back to exactly this
	srcTON   byte
	srcNPI   byte
	dst      string // destination_addr as received (our service code)
	sessInfo []byte // its_session_info as received (nil if absent)
	umr      []byte // user_message_reference as received (nil if absent)
	received time.Time
}

// handler classifies each deliver_sm on the read loop. It decodes, answers
// with deliver_sm_resp at once and queues the dialogue step; it never waits
// for Postgres or for a submit.
func (g *Gateway) handler(b *bind) requestHandler {
	return func(l *link, p pdu.Body) {
		seq := p.Header().Seq
		ok := func() { l.respond(seq, pdu.NewDeliverSMResp(), StatusOK) }
		f := p.Fields()
		tlv := p.TLVFields()
		if esm := fieldByte(f, pdufield.ESMClass); esm&esmTypeMask == esmDeliveryReceipt {
			g.handleReceipt(b, l, p)
			return
		}
		opField, isUSSD := tlv[pdutlv.TagUssdServiceOp]
		if !isUSSD {
			g.handleMO(b, l, p)
			return
		}
		if !b.cfg.Role.Has(RoleUSSD) {
			// Screens go only over USSD binds: this one could not answer.
			g.metrics.pdus.WithLabelValues("deliver_sm", "wrong_role").Inc()
			b.log.Warn("USSD deliver_sm on a bind without the ussd role; refused", "system_id", b.cfg.SystemID)
			l.respond(seq, pdu.NewDeliverSMResp(), StatusPermAppErr)
			return
		}
		opBytes := opField.Bytes()
		if len(opBytes) != 1 {
			g.metrics.pdus.WithLabelValues("deliver_sm", "bad_op").Inc()
			l.respond(seq, pdu.NewDeliverSMResp(), StatusOptParamErr)
			return
		}
		s, status := g.classify(b, f, tlv, opBytes[0])
		if status != StatusOK {
			g.metrics.pdus.WithLabelValues("deliver_sm", "rejected").Inc()
			l.respond(seq, pdu.NewDeliverSMResp(), status)
			return
		}
		if s == nil { // acknowledged and logged, nothing to do
			g.metrics.pdus.WithLabelValues("deliver_sm", "ignored").Inc()
			ok()
			return
		}
		if !g.enqueue(*s, ok) {
			// Stopping (the SMSC retries elsewhere) or overloaded (it should
			// slow down).
			st := StatusThrottled
			if g.stopping() {
				st = StatusTempAppErr
			}
			l.respond(seq, pdu.NewDeliverSMResp(), st)
			return
		}
		g.metrics.pdus.WithLabelValues("deliver_sm", s.req.Kind.String()).Inc()
	}
}

// classify turns a USSD deliver_sm into a step. A nil step with StatusOK means
// "acknowledge and ignore" (op codes 0, 3, 16, 19, ...).
func (g *Gateway) classify(b *bind, f pdufield.Map, tlv pdutlv.Map, op byte) (*step, pdu.Status) {
	s := &step{
		bind:     b,
		src:      fieldString(f, pdufield.SourceAddr),
		srcTON:   fieldByte(f, pdufield.SourceAddrTON),
		srcNPI:   fieldByte(f, pdufield.SourceAddrNPI),
		dst:      fieldString(f, pdufield.DestinationAddr),
		received: time.Now(),
	}
	if t, ok := tlv[pdutlv.TagItsSessionInfo]; ok {
		if len(t.Bytes()) != 2 {
			return nil, StatusOptParamErr
		}
		s.sessInfo = append([]byte(nil), t.Bytes()...)
	}
	if t, ok := tlv[pdutlv.TagUserMessageReference]; ok {
		if len(t.Bytes()) != 2 {
			return nil, StatusOptParamErr
		}
		s.umr = append([]byte(nil), t.Bytes()...)
		s.req.Ref = int(binary.BigEndian.Uint16(s.umr))
	}
	if s.src == "" {
		return nil, StatusInvMsgLen
	}
	if msisdn, err := g.cfg.Numbering.Parse(s.src); err == nil {
		s.req.MSISDN = msisdn
	}
	prof := b.cfg.Profile
	if prof.Key == "msisdn" {
		s.req.Key = dialogueKey(s.req.MSISDN, s.src, nil, nil)
	} else {
		s.req.Key = dialogueKey(s.req.MSISDN, s.src, s.sessInfo, s.umr)
	}
	s.req.LimitGSM, s.req.LimitUCS2 = prof.LimitGSM, prof.LimitUCS2
	s.req.Channel, s.req.Bind = care360.ChannelSMPP, b.cfg.SystemID

	endBit := s.sessInfo != nil && s.sessInfo[1]&0x01 != 0
	switch {
	case prof.isAbort(op, endBit):
		// The end bit comes from the handset's side releasing the session;
		// an abort op is the network (or the centre) giving up.
		s.req.Kind, s.req.UserAbort = care360.USSDAbort, endBit && !prof.isAbort(op, false)
		return s, StatusOK
	case op == prof.OpBegin:
		s.req.Kind = care360.USSDBegin
	case op == prof.OpAnswer:
		s.req.Kind = care360.USSDAnswer
	case op == prof.notifyConfirmOp():
		// The phone saw a pushed notification; nothing to show.
		s.req.Kind = care360.USSDNotifyConfirm
		return s, StatusOK
	default:
		g.log.Info("ussd op acknowledged and ignored", "op", op, "from", care360.MaskMSISDN(s.src))
		return nil, StatusOK
	}
	if s.req.Kind == care360.USSDBegin && prof.CodeIn == "destination_addr" {
		s.req.Text = s.dst
		return s, StatusOK
	}
	sm, ok := f[pdufield.ShortMessage]
	if !ok {
		return nil, StatusInvMsgLen
	}
	coding := fieldByte(f, pdufield.DataCoding)
	if coding == codingDefault && prof.Coding00 == "latin1" {
		coding = codingLatin1
	}
	text, err := decodeText(coding, sm.Bytes())
	if err != nil {
		g.log.Warn("ussd text undecodable", "err", err, "from", care360.MaskMSISDN(s.src))
		if errors.Is(err, errOddUCS2) {
			return nil, StatusInvMsgLen
		}
		return nil, StatusPermAppErr
	}
	s.req.Text = text
	return s, StatusOK
}

// dialogueKey is MSISDN + its_session_info session number when present, else
// MSISDN + user_message_reference, else MSISDN alone (PRODUCT.md §3.1).
func dialogueKey(msisdn care360.MSISDN, src string, sessInfo, umr []byte) string {
	who := string(msisdn)
	if who == "" {
		who = "raw:" + src
	}
	switch {
	case sessInfo != nil:
		return who + "/s" + strconv.Itoa(int(sessInfo[0]))
	case umr != nil:
		return who + "/u" + strconv.Itoa(int(binary.BigEndian.Uint16(umr)))
	}
	return who
}

// screenReserve is the most of a step's budget kept for sending its screen.
const screenReserve = 500 * time.Millisecond

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// runStep runs one dialogue step and sends its screen.
// The budget counts from the deliver_sm's arrival, queueing included
// (PRODUCT.md §3.1): a step picked up late has less of it, and one whose
// budget is spent answers with the "service unavailable" screen.
//
// A screen step picked up too late to finish is answered so at once
// (late.go).
func (g *Gateway) runStep(s step) {
	deadline := s.received.Add(g.cfg.StepTimeout)
	// The engine may use the budget but its last quarter (at most
	// screenReserve), kept for sending the screen, so that even "service
	// unavailable" arrives within the budget.
	reserve := min(g.cfg.StepTimeout/4, screenReserve)
	screen := s.req.Kind != care360.USSDAbort && s.req.Kind != care360.USSDNotifyConfirm
	start := time.Now()
	if screen && g.cost.tooLate(deadline.Add(-reserve).Sub(start), g.cfg.StepTimeout-reserve) {
		g.shedLate(s, deadline, reserve)
		return
	}
	ctx, cancel := context.WithDeadline(g.workCtx, deadline.Add(-reserve))
	defer cancel()
	reply, err := g.cfg.USSD.Step(ctx, s.req)
	if err == nil {
		g.cost.observe(time.Since(start))
	}
	if !screen {
		g.metrics.steps.WithLabelValues(s.req.Kind.String()).Observe(time.Since(s.received).Seconds())
		return
	}
	if err != nil {
		g.log.Error("ussd step failed", "err", err, "from", care360.MaskMSISDN(s.src))
		reply = unavailable
	}
	g.answer(s, reply, deadline, reserve)
}

// answer sends a step's screen and records how long the step took.
func (g *Gateway) answer(s step, reply care360.USSDReply, deadline time.Time, reserve time.Duration) {
	// The screen goes within what is left of the budget; a step that
	// overran it anyway still gets reserve to say so.
	sctx, scancel := context.WithDeadline(g.workCtx, later(deadline, time.Now().Add(reserve)))
	defer scancel()
	if err := g.submitScreen(sctx, s, reply); err != nil {
		g.metrics.submitErrors.Inc()
		g.log.Warn("ussd screen not delivered", "err", err, "to", care360.MaskMSISDN(s.src))
		return
	}
	took := time.Since(s.received)
	g.metrics.steps.WithLabelValues(s.req.Kind.String()).Observe(took.Seconds())
	g.yield.step(took)
}

// submitScreen sends a screen as submit_sm, retrying while the SMSC says it
// is throttled or its queue is full.
func (g *Gateway) submitScreen(ctx context.Context, s step, reply care360.USSDReply) error {
	backoff := 50 * time.Millisecond
	for {
		resp, err := s.bind.submit(ctx, screenPDU(s, reply))
		if err != nil {
			return err
		}
		switch st := resp.Header().Status; st {
		case StatusOK:
			return nil
		case StatusThrottled, StatusMsgQFull:
			g.metrics.throttled.Inc()
			if !sleep(ctx, backoff) {
				return fmt.Errorf("submit_sm: SMSC busy (%#x) until deadline", uint32(st))
			}
			backoff = min(backoff*2, time.Second)
		default:
			return fmt.Errorf("submit_sm refused: %#x (%v)", uint32(st), st)
		}
	}
}

// screenPDU builds the submit_sm for a screen in the bind's profile: its
// continue or end op, session TLVs echoed as received, the end bit set on a
// final screen, sequence bits echoed or counted.
func screenPDU(s step, reply care360.USSDReply) pdu.Body {
	prof := s.bind.cfg.Profile
	op := prof.OpContinue
	switch {
	case reply.End && reply.Pushed:
		op = prof.pushEndOp() // a dialogue we opened ends as it began, with USSN
	case reply.End:
		op = prof.OpEnd
	}
	fields := pdutlv.Fields{pdutlv.TagUssdServiceOp: []byte{op}}
	if s.sessInfo != nil && prof.Key == "session" {
		seqBits := s.sessInfo[1] &^ 0x01
		if prof.CountSequence {
			seqBits += 2 // bits 7..1 hold the sequence; wraps within the octet
		}
		si := []byte{s.sessInfo[0], seqBits}
		if reply.End {
			si[1] |= 0x01
		}
		fields[pdutlv.TagItsSessionInfo] = si
	}
	if s.umr != nil && prof.Key == "session" {
		fields[pdutlv.TagUserMessageReference] = s.umr
	}
	p := pdu.NewSubmitSM(fields)
	f := p.Fields()
	f.Set(pdufield.ServiceType, prof.ServiceType)
	f.Set(pdufield.SourceAddr, s.dst)
	f.Set(pdufield.DestAddrTON, s.srcTON)
	f.Set(pdufield.DestAddrNPI, s.srcNPI)
	f.Set(pdufield.DestinationAddr, s.src)
	coding, body := encodeText(reply.Text)
	f.Set(pdufield.ShortMessage, body)
	f.Set(pdufield.DataCoding, coding)
	return p
}

func fieldString(f pdufield.Map, k pdufield.Name) string {
	if v, ok := f[k]; ok {
		return v.String()
	}
	return ""
}

func fieldByte(f pdufield.Map, k pdufield.Name) byte {
	if v, ok := f[k]; ok {
		if b := v.Bytes(); len(b) > 0 {
			return b[0]
		}
	}
	return 0
}
