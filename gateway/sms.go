package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/care360/care360"
)

// moTimeout bounds the handling of one keyword SMS: an SMSC waits some
// seconds for its deliver_sm_resp before it resends.
const moTimeout = 5 * time.Second

// handleMO takes a mobile-originated SMS (a deliver_sm without
// ussd_service_op) off the read loop. The subscriber's worker stores it and
// handles the keyword; only then is the deliver_sm_resp sent: 0 when it is
// committed, ESME_RX_T_APPN when it could not be, so that the SMSC delivers
// it again (keywords make a repeat harmless).
func (g *Gateway) handleMO(_ *bind, l *link, p pdu.Body) {
	seq := p.Header().Seq
	answer := func(st pdu.Status) { l.respond(seq, pdu.NewDeliverSMResp(), st) }
	if g.cfg.SMS == nil {
		g.metrics.pdus.WithLabelValues("deliver_sm", "sms_unhandled").Inc()
		answer(StatusTempAppErr)
		return
	}
	m, status := g.decodeMO(p)
	if status != StatusOK {
		g.metrics.pdus.WithLabelValues("deliver_sm", "sms_rejected").Inc()
		answer(status)
		return
	}
	if m == nil { // not for us to answer: acknowledged so it is not resent
		g.metrics.pdus.WithLabelValues("deliver_sm", "sms_ignored").Inc()
		answer(StatusOK)
		return
	}
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), moTimeout)
		defer cancel()
		if err := g.cfg.SMS.Receive(ctx, *m); err != nil {
			g.metrics.pdus.WithLabelValues("deliver_sm", "sms_failed").Inc()
			g.log.Warn("keyword SMS not stored; the SMSC will resend it", "from", m.MSISDN.Masked(), "err", err)
			answer(StatusTempAppErr)
			return
		}
		g.metrics.pdus.WithLabelValues("deliver_sm", "sms").Inc()
		answer(StatusOK)
	}
	if !g.enqueueFunc("sms:"+string(m.MSISDN), run, func() {}) {
		answer(StatusTempAppErr)
	}
}

// decodeMO reads a keyword SMS. A sender whose number is not one we serve
// gets nothing (nil, OK); a concatenated MO is read from its first part
// alone, since keywords are short and the rest would only be help requests.
func (g *Gateway) decodeMO(p pdu.Body) (*care360.InboundSMS, pdu.Status) {
	f := p.Fields()
	src := fieldString(f, pdufield.SourceAddr)
	msisdn, err := g.cfg.Numbering.Parse(src)
	if err != nil {
		g.log.Info("MO SMS from a number we do not serve", "from", care360.MaskMSISDN(src))
		return nil, StatusOK
	}
	var body []byte
	if sm, ok := f[pdufield.ShortMessage]; ok {
		body = sm.Bytes()
	}
	if len(body) == 0 {
		if v, ok := p.TLVFields()[pdutlv.TagMessagePayload]; ok {
			body = v.Bytes()
		}
	}
	if fieldByte(f, pdufield.ESMClass)&esmUDHI != 0 && len(body) > 0 && int(body[0])+1 <= len(body) {
		udh := body[1 : body[0]+1]
		body = body[body[0]+1:]
		if len(udh) >= 5 && udh[0] == 0x00 && udh[4] != 1 { // a later part of a concatenated MO
			return nil, StatusOK
		}
	}
	text, err := decodeText(fieldByte(f, pdufield.DataCoding), body)
	if err != nil {
		g.log.Warn("MO SMS text undecodable", "from", msisdn.Masked(), "err", err)
		if errors.Is(err, errOddUCS2) {
			return nil, StatusInvMsgLen
		}
		return nil, StatusPermAppErr
	}
	return &care360.InboundSMS{
		MSISDN: msisdn, From: src, To: fieldString(f, pdufield.DestinationAddr),
		Text: text, ReceivedAt: time.Now(),
	}, StatusOK
}
