package smsc

import (
	"errors"
	"sync/atomic"
	"time"
)

// Receipt stat values the simulator can report (the customary "stat:" field
// of a delivery receipt) and the SMPP message_state each carries.
const (
	StatDelivered     = "DELIVRD"
	StatUndeliverable = "UNDELIV"
	StatExpired       = "EXPIRED"
	StatRejected      = "REJECTD"
	// StatNone sends no receipt even if registered_delivery asks for one.
	StatNone = "-"
)

var messageStates = map[string]uint8{StatDelivered: 2, StatExpired: 3, StatUndeliverable: 5, StatRejected: 8}

// SubmitAction says how the simulator answers one ordinary (non-USSD)
// submit_sm. The zero value is the normal case: accept at once, store the
// message, and send a DELIVRD receipt if one was asked for.
type SubmitAction struct {
	// Status is the submit_sm_resp command_status; anything but 0 refuses
	// the message (it is not stored), e.g. 0x58 ESME_RTHROTTLED, 0x14
	// ESME_RMSGQFUL, 0x0B ESME_RINVDSTADR.
	Status uint32
	// Delay holds the answer back; other PDUs on the link go on meanwhile.
	Delay time.Duration
	// Drop closes the link instead of answering, as a crashing SMSC would:
	// this submit_sm and every other one in flight stay unanswered.
	Drop bool
	// Receipt is the stat of the delivery receipt (StatDelivered when
	// empty); StatNone sends none.
	Receipt string
	// ReceiptDelay, when positive, replaces Config.ReceiptDelay.
	ReceiptDelay time.Duration
	// MessageID, when set, is the message_id given instead of a fresh one
	// (and the receipt's): SMSCs have ids of their own making, some of
	// them binary.
	MessageID string
}

// SubmitPolicy chooses the answer to the n-th ordinary submit_sm the server
// has received (counting from 1, across links) carrying m. It is called on
// the link's read loop and must not block.
type SubmitPolicy func(n uint64, m Message) SubmitAction

// errDropped ends a link on purpose (SubmitAction.Drop).
var errDropped = errors.New("smsc: link dropped by the submit policy")

// faults is the server's fault-injection state.
type faults struct {
	policy      atomic.Pointer[SubmitPolicy]
	submits     atomic.Uint64 // ordinary submit_sm received
	unbinds     atomic.Uint64 // unbind received from ESMEs
	screenDelay atomic.Int64  // nanoseconds a USSD screen's submit_sm_resp is held back
	// submit_sm refused because the link's account does not carry its kind
	wrongAccount atomic.Uint64
}

// SetSubmitPolicy installs p for the submit_sm to come; nil restores the
// normal answer. Tests use it to throttle, fill queues, refuse for good,
// slow down, drop links and choose receipts.
func (s *Server) SetSubmitPolicy(p SubmitPolicy) {
	if p == nil {
		s.faults.policy.Store(nil)
		return
	}
	s.faults.policy.Store(&p)
}

// Submits returns how many ordinary submit_sm the server has received,
// whatever it answered.
func (s *Server) Submits() uint64 { return s.faults.submits.Load() }

// SetScreenRespDelay holds back the submit_sm_resp of every USSD screen by
// d (0: answer at once, the default), while the phone sees the screen at
// once: a USSD centre slow to acknowledge, which keeps the ESME's steps in
// flight.
func (s *Server) SetScreenRespDelay(d time.Duration) { s.faults.screenDelay.Store(int64(d)) }

// Unbinds returns how many unbind requests ESMEs sent (a clean goodbye, as
// opposed to a dropped connection).
func (s *Server) Unbinds() uint64 { return s.faults.unbinds.Load() }

// WrongAccount returns how many submit_sm came on an account that does not
// carry their kind (a screen to the SMSC, an SMS to the USSD centre).
func (s *Server) WrongAccount() uint64 { return s.faults.wrongAccount.Load() }

// submitAction counts one submit_sm and asks the policy how to answer it.
func (s *Server) submitAction(m Message) SubmitAction {
	n := s.faults.submits.Add(1)
	if p := s.faults.policy.Load(); p != nil {
		return (*p)(n, m)
	}
	return SubmitAction{}
}

// Throttle answers ESME_RTHROTTLED to every every-th submit_sm.
func Throttle(every uint64) SubmitPolicy {
	return func(n uint64, _ Message) SubmitAction {
		if n%every == 0 {
			return SubmitAction{Status: 0x58}
		}
		return SubmitAction{}
	}
}
