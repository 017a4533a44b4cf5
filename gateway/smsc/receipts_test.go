package smsc

import (
	"fmt"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// receiptOf returns the message id a receipt is for.
func receiptOf(t *testing.T, d pdu.Body) string {
	t.Helper()
	id := string(tlvBytes(d, pdutlv.TagReceiptedMessageID))
	if len(id) == 0 || id[len(id)-1] != 0 {
		t.Fatalf("deliver_sm without receipted_message_id: %v", d)
	}
	return id[:len(id)-1]
}

// A receipt refused by the ESME, or not answered, is offered again a
// second later; one answered OK is not offered again.
func TestReceiptOfferedAgain(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{ReceiptDelay: 10 * time.Millisecond, ResponseTimeout: 300 * time.Millisecond})
	e := boundESME(t, s)
	id := e.expectSubmitResp(e.send(sms(t, "9237", "84903123456", "Ma OTP 1234", 0x00, true)))

	first := time.Now()
	d := e.expect(pdu.DeliverSMID)
	if got := receiptOf(t, d); got != id {
		t.Fatalf("receipt for %q, want %q", got, id)
	}
	e.ack(d, 0x58) // ESME_RTHROTTLED
	d = e.expect(pdu.DeliverSMID)
	if got, after := receiptOf(t, d), time.Since(first); got != id || after < receiptRetryAfter {
		t.Fatalf("second offer for %q after %v, want %q after at least %v", got, after, id, receiptRetryAfter)
	}
	second := time.Now()
	// Not answered: offered again once the response is overdue. Timed from
	// when the second offer was read, which is a little after it was sent
	// and its timeout started: hence the slack.
	d = e.expect(pdu.DeliverSMID)
	if got, after := receiptOf(t, d), time.Since(second); got != id || after < receiptRetryAfter+300*time.Millisecond-100*time.Millisecond {
		t.Fatalf("third offer for %q after %v, want %q after the timeout and a second", got, after, id)
	}
	e.ack(d, 0)
	select {
	case p := <-e.in:
		t.Fatalf("after an OK the ESME got %v", p)
	case <-time.After(receiptRetryAfter + 500*time.Millisecond):
	}
}

// Receipts falling due together each arrive once; a receipt whose link
// has gone comes on another bound link. The delay leaves the 50 submits,
// one at a time, room to finish before the first receipt is due, even on
// a machine busy with other suites (they once took more than 200 ms).
func TestReceiptsManyAndOnAnotherLink(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{ReceiptDelay: 2 * time.Second})
	a, b := boundESME(t, s), boundESME(t, s)
	const n = 50
	want := map[string]bool{}
	for i := range n {
		want[a.expectSubmitResp(a.send(sms(t, "9237", fmt.Sprintf("849031%05d", i), "Ma OTP 1234", 0x00, true)))] = true
	}
	a.conn.Close() // before any receipt is due
	for range n {
		d := b.expect(pdu.DeliverSMID)
		id := receiptOf(t, d)
		if !want[id] {
			t.Fatalf("receipt for %q: not submitted, or already received", id)
		}
		delete(want, id)
		b.ack(d, 0)
	}
	select {
	case p := <-b.in:
		t.Fatalf("after %d receipts the ESME got %v", n, p)
	case <-time.After(300 * time.Millisecond):
	}
}
