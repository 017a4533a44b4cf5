package gateway

// Profile says how one operator's USSD centre speaks (PRODUCT.md §3.5). It is
// data, not code: new operators are new values, not new branches.
type Profile struct {
	Name        string
	ServiceType string // service_type of our submit_sm ("USSD" for most centres)
	// Screen limits in characters (182 GSM-7 / 80 UCS-2 by default).
	LimitGSM, LimitUCS2 int
}

// GenericProfile is PRODUCT.md §3.1: PSSR indication (op 1) opens, USSR
// request (op 2) continues, USSR confirm (op 18) answers, PSSR response
// (op 17) ends; the session key travels in its_session_info or
// user_message_reference and is echoed as received.
var GenericProfile = Profile{Name: "generic", ServiceType: "USSD", LimitGSM: 182, LimitUCS2: 80}

// Profiles are the operator profiles the gateway knows, by name.
var Profiles = map[string]Profile{GenericProfile.Name: GenericProfile}
