package gateway

import (
	"fmt"
	"slices"
)

// Profile says how one operator's USSD centre speaks (PRODUCT.md §3.5). It is
// data, not code: a new operator is a new value (built in, or in the
// CARE360_CONFIG file), never a new branch in the gateway.
type Profile struct {
	Name        string `json:"name"`
	ServiceType string `json:"service_type"` // service_type of our submit_sm
	// Screen limits in characters (182 GSM-7 / 80 UCS-2 by default).
	LimitGSM  int `json:"limit_gsm"`
	LimitUCS2 int `json:"limit_ucs2"`

	// ussd_service_op values the centre sends.
	OpBegin  byte   `json:"op_begin"`  // the subscriber dialled
	OpAnswer byte   `json:"op_answer"` // the subscriber answered a screen
	OpsAbort []byte `json:"ops_abort"` // the network or the subscriber gave up
	// AbortHigh treats every op ≥ 128 (vendor-specific releases) as an abort.
	AbortHigh bool `json:"abort_high"`
	// ussd_service_op values we send.
	OpContinue byte `json:"op_continue"` // a screen that waits for an answer
	OpEnd      byte `json:"op_end"`      // a final screen
	// Network-initiated USSD (PRODUCT.md §3.6); zero means generic's:
	// a pushed menu (2, USSR request), a pushed notification and the end
	// of a pushed dialogue (3, USSN request), and the phone's
	// acknowledgement of a notification (19, USSN confirm).
	OpPushMenu      byte `json:"op_push_menu,omitempty"`
	OpPushNotify    byte `json:"op_push_notify,omitempty"`
	OpPushEnd       byte `json:"op_push_end,omitempty"`
	OpNotifyConfirm byte `json:"op_notify_confirm,omitempty"`

	// Key is how a dialogue is told apart: "session" (its_session_info
	// session number, else user_message_reference, else the MSISDN) or
	// "msisdn" (one dialogue per subscriber, session TLVs ignored).
	Key string `json:"key"`
	// CodeIn says where the dialled string is: "short_message" or
	// "destination_addr".
	CodeIn string `json:"code_in"`
	// CountSequence makes the sequence bits of its_session_info (octet 2,
	// bits 7..1) in our replies the received value plus one; otherwise they
	// are echoed as received.
	CountSequence bool `json:"count_sequence"`
	// Coding00 says what data_coding 0x00 means on this centre: "gsm7"
	// (default) or "latin1".
	Coding00 string `json:"coding_00"`
}

// GenericProfile is PRODUCT.md §3.1: PSSR indication (op 1) opens, USSR
// confirm (op 18) answers, USSR request (op 2) continues, PSSR response
// (op 17) ends with the its_session_info end bit set; op 32, ops ≥ 128 and the
// end bit abort; the session key travels in its_session_info or
// user_message_reference and is echoed as received.
var GenericProfile = Profile{
	Name: "generic", ServiceType: "USSD", LimitGSM: 182, LimitUCS2: 80,
	OpBegin: 1, OpAnswer: 18, OpsAbort: []byte{32}, AbortHigh: true,
	OpContinue: 2, OpEnd: 17,
	Key: "session", CodeIn: "short_message", Coding00: "gsm7",
}

// MSISDNKeyProfile is a centre that keeps one dialogue per subscriber: it
// puts the dialled code in destination_addr, sends no session TLVs, and
// releases a dialogue with op 0x20, which is also how we end one.
var MSISDNKeyProfile = Profile{
	Name: "msisdn-key", ServiceType: "USSD", LimitGSM: 160, LimitUCS2: 70,
	OpBegin: 1, OpAnswer: 18, OpsAbort: []byte{0x20}, AbortHigh: true,
	OpContinue: 2, OpEnd: 0x20,
	Key: "msisdn", CodeIn: "destination_addr", Coding00: "gsm7",
}

// EndBitProfile is a centre that marks the end of a dialogue only with the
// its_session_info end bit, in both directions: every screen goes as op 2,
// the final one with the end bit set, and it counts the sequence bits.
var EndBitProfile = Profile{
	Name: "session-endbit", ServiceType: "USSD", LimitGSM: 182, LimitUCS2: 80,
	OpBegin: 1, OpAnswer: 18,
	OpContinue: 2, OpEnd: 2,
	Key: "session", CodeIn: "short_message", CountSequence: true, Coding00: "gsm7",
}

// Profiles are the built-in profiles by name; CARE360_CONFIG may add more.
var Profiles = map[string]Profile{
	GenericProfile.Name:   GenericProfile,
	MSISDNKeyProfile.Name: MSISDNKeyProfile,
	EndBitProfile.Name:    EndBitProfile,
}

// Validate refuses a profile that could not run a dialogue, so that a typo in
// a configuration file fails at start-up rather than on a subscriber's phone.
func (p Profile) Validate() error {
	switch {
	case p.Name == "":
		return fmt.Errorf("profile: name is required")
	case p.LimitGSM < 40 || p.LimitGSM > 255 || p.LimitUCS2 < 20 || p.LimitUCS2 > 127:
		return fmt.Errorf("profile %s: screen limits must be 40..255 GSM-7 and 20..127 UCS-2 characters", p.Name)
	case p.OpBegin == p.OpAnswer:
		return fmt.Errorf("profile %s: op_begin and op_answer must differ", p.Name)
	case slices.Contains(p.OpsAbort, p.OpBegin) || slices.Contains(p.OpsAbort, p.OpAnswer):
		return fmt.Errorf("profile %s: an abort op cannot also begin or answer", p.Name)
	case p.Key != "session" && p.Key != "msisdn":
		return fmt.Errorf("profile %s: key must be \"session\" or \"msisdn\"", p.Name)
	case p.CodeIn != "short_message" && p.CodeIn != "destination_addr":
		return fmt.Errorf("profile %s: code_in must be \"short_message\" or \"destination_addr\"", p.Name)
	case p.Coding00 != "" && p.Coding00 != "gsm7" && p.Coding00 != "latin1":
		return fmt.Errorf("profile %s: coding_00 must be \"gsm7\" or \"latin1\"", p.Name)
	case p.notifyConfirmOp() == p.OpBegin || p.notifyConfirmOp() == p.OpAnswer || slices.Contains(p.OpsAbort, p.notifyConfirmOp()):
		return fmt.Errorf("profile %s: op_notify_confirm must differ from op_begin, op_answer and the abort ops", p.Name)
	case p.OpContinue == p.OpEnd && p.Key == "msisdn":
		// Only the end bit could tell a final screen apart, and this key
		// carries no its_session_info.
		return fmt.Errorf("profile %s: op_continue and op_end are equal, which needs key \"session\"", p.Name)
	}
	return nil
}

// isAbort reports whether op (or the end bit) means the dialogue was dropped.
func (p Profile) isAbort(op byte, endBit bool) bool {
	return endBit || slices.Contains(p.OpsAbort, op) || (p.AbortHigh && op >= 128)
}

func orOp(op, generic byte) byte {
	if op == 0 {
		return generic
	}
	return op
}

func (p Profile) pushMenuOp() byte      { return orOp(p.OpPushMenu, 2) }
func (p Profile) pushNotifyOp() byte    { return orOp(p.OpPushNotify, 3) }
func (p Profile) pushEndOp() byte       { return orOp(p.OpPushEnd, 3) }
func (p Profile) notifyConfirmOp() byte { return orOp(p.OpNotifyConfirm, 19) }
