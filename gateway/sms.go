package gateway

import (
	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"

	"github.com/care360/care360"
)

// handleReceipt takes a delivery receipt (deliver_sm, esm_class 0x04) off the
// read loop. The outbox will match it to its message.
func (g *Gateway) handleReceipt(_ *bind, l *link, p pdu.Body) {
	g.log.Debug("delivery receipt", "from", care360.MaskMSISDN(fieldString(p.Fields(), pdufield.SourceAddr)))
	l.respond(p.Header().Seq, pdu.NewDeliverSMResp(), StatusOK)
}

// handleMO takes a mobile-originated SMS (a deliver_sm without
// ussd_service_op). A keyword SMS is acknowledged only once it is stored;
// until keyword handling exists, a temporary error makes the SMSC keep it.
func (g *Gateway) handleMO(_ *bind, l *link, p pdu.Body) {
	g.metrics.pdus.WithLabelValues("deliver_sm", "sms_unhandled").Inc()
	l.respond(p.Header().Seq, pdu.NewDeliverSMResp(), StatusTempAppErr)
}
