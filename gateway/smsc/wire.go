package smsc

import (
	"encoding/binary"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// The two PDUs the simulator sends most, submit_sm_resp and a delivery
// receipt's deliver_sm, are written straight into bytes. go-smpp's codec
// builds a map of fields and an object per field for every PDU, and
// serialises through a buffer of its own: under the outbox figures that,
// with collecting what it allocated, was about a third of the simulator's
// CPU, which the two cores the gateway and Postgres share paid for. The
// octets are those go-smpp writes (wire_test.go decodes both and compares
// them field by field); everything else the simulator sends still goes
// through go-smpp.

// appendHeader appends a PDU header whose command_length finishPDU fills in.
func appendHeader(b []byte, id pdu.ID, status pdu.Status, seq uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(id))
	b = binary.BigEndian.AppendUint32(b, uint32(status))
	return binary.BigEndian.AppendUint32(b, seq)
}

// finishPDU writes the command_length of the PDU that starts at b[start:].
func finishPDU(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

func appendCString(b []byte, s string) []byte {
	return append(append(b, s...), 0)
}

// appendSubmitSMResp appends a submit_sm_resp: message_id id under seq.
// A refusal carries no id (an empty C-octet string), as go-smpp writes an
// unset one.
func appendSubmitSMResp(b []byte, seq uint32, status pdu.Status, id string) []byte {
	start := len(b)
	b = appendHeader(b, pdu.SubmitSMRespID, status, seq)
	return finishPDU(appendCString(b, id), start)
}

// appendReceipt appends the deliver_sm receipt of m under seq: its text
// (receiptText) quoted in short_message, the message id and state in TLVs.
func appendReceipt(b []byte, seq uint32, m Message, done time.Time, stat string) []byte {
	sm := receiptText(m, done, stat)
	start := len(b)
	b = appendHeader(b, pdu.DeliverSMID, statusOK, seq)
	b = append(b, 0)                            // service_type
	b = append(b, ton(m.To), 1)                 // source_addr_ton, _npi
	b = appendCString(b, m.To)                  // source_addr: the handset
	b = append(b, ton(m.From), 1)               // dest_addr_ton, _npi
	b = appendCString(b, m.From)                // destination_addr: the ESME's
	b = append(b, 0x04, 0, 0)                   // esm_class (a receipt), protocol_id, priority_flag
	b = append(b, 0, 0)                         // schedule_delivery_time, validity_period
	b = append(b, 0, 0, codingDefault, 0)       // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
	b = append(append(b, byte(len(sm))), sm...) // sm_length, short_message
	b = binary.BigEndian.AppendUint16(b, uint16(pdutlv.TagReceiptedMessageID))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.ID)+1))
	b = appendCString(b, m.ID)
	b = binary.BigEndian.AppendUint16(b, uint16(pdutlv.TagMessageStateOption))
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, messageStates[stat])
	return finishPDU(b, start)
}
