package gateway_test

import (
	"fmt"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/gateway/smsc"
)

// Some SMSCs make message_ids that are not text (binary, or bytes that are
// not UTF-8). Postgres refuses such a string, so a settle batch holding one
// failed for ever: the sender stopped recording outcomes, its slots never
// came back, and no other message went out. The id is kept in a text form
// instead: the message is recorded as submitted, its receipt (carrying the
// same bytes) finds it, and every message after it goes out.
func TestOutboxBinaryMessageID(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	const binary = "\xff\xfe\x01bin"
	b.sim.SetSubmitPolicy(func(n uint64, m smsc.Message) smsc.SubmitAction {
		if m.To == "84909999997" {
			return smsc.SubmitAction{MessageID: binary}
		}
		return smsc.SubmitAction{}
	})
	b.gateway(t, gateway.Config{})
	odd := b.send(t, "84909999997", "an id that is not text")
	b.waitStatus(t, odd, care360.MessageSending, care360.MessageSubmitted, care360.MessageDelivered)
	var after []*care360.Message
	for i := range 20 {
		after = append(after, b.send(t, "84903123456", fmt.Sprintf("after the odd id, %d", i)))
	}
	for _, m := range after {
		b.waitStatus(t, m, care360.MessageDelivered)
	}
	b.waitStatus(t, odd, care360.MessageDelivered)
	if got := b.received("84909999997"); got["an id that is not text"] != 1 {
		t.Errorf("the handset got %v", got)
	}
}
