package smsc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
)

// SendRaw writes raw as-is to one bound receiver/transceiver link and returns
// the ESME's response to it: the next PDU whose command id has the response
// bit and whose sequence number equals raw's (octets 12..16), e.g. a
// generic_nack or a deliver_sm_resp. Protocol tests use it to feed the ESME
// malformed or replayed PDUs. It fails with ErrTimeout after
// ResponseTimeout.
func (s *Server) SendRaw(ctx context.Context, raw []byte) (pdu.Body, error) {
	if len(raw) < pdu.HeaderLen {
		return nil, errors.New("smsc: raw PDU shorter than a header")
	}
	l, err := s.pickLink(nil, "")
	if err != nil {
		return nil, err
	}
	seq := binary.BigEndian.Uint32(raw[12:16])
	ch, err := l.sendBytes(seq, raw)
	if err != nil {
		return nil, err
	}
	return l.await(ctx, seq, ch)
}

// SendPDU sends p to one bound receiver/transceiver link, numbered from that
// link's own sequence counter (p's header Seq is overwritten), and returns
// the ESME's response. A deliver_sm built with pdu.NewDeliverSM is fixed up
// as described at newDeliverSM.
func (s *Server) SendPDU(ctx context.Context, p pdu.Body) (pdu.Body, error) {
	if p.Header().ID == pdu.DeliverSMID {
		f := p.Fields()
		if _, ok := f[pdufield.UDHLength]; !ok {
			f[pdufield.UDHLength] = &pdufield.SM{}
		}
		if _, ok := f[pdufield.GSMUserData]; !ok {
			f[pdufield.GSMUserData] = &pdufield.UDHList{}
		}
	}
	l, err := s.pickLink(nil, "")
	if err != nil {
		return nil, err
	}
	resp, err := l.request(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("smsc: send %s: %w", p.Header().ID, err)
	}
	return resp, nil
}
