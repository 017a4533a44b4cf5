package care360

import "context"

// USSDKind says what a subscriber's USSD message does to a dialogue.
type USSDKind int

// Kinds of USSD input, whatever the transport (SMPP, HTTP aggregator).
const (
	USSDBegin  USSDKind = iota + 1 // the subscriber dialled a code: Text is the dialled string
	USSDAnswer                     // the subscriber answered a screen: Text is what they typed
	USSDAbort                      // the network or the subscriber dropped the dialogue
	// USSDNotifyConfirm: the phone acknowledged a pushed notification
	// (PRODUCT.md §3.6); like an abort, it gets no screen.
	USSDNotifyConfirm
)

func (k USSDKind) String() string {
	switch k {
	case USSDBegin:
		return "begin"
	case USSDAnswer:
		return "answer"
	case USSDAbort:
		return "abort"
	case USSDNotifyConfirm:
		return "notify_confirm"
	}
	return "unknown"
}

// USSDRequest is one step of a dialogue as a transport adapter hands it over.
type USSDRequest struct {
	Key    string   // identifies the dialogue across steps (adapter-specific)
	MSISDN MSISDN   // canonical caller; "" when the caller's number is not one we serve
	Kind   USSDKind //
	Text   string   // dialled string or typed answer, decoded
	// Limit is the longest screen, in characters, the transport can show for
	// GSM-7 text and for UCS-2 text (profiles may lower the defaults).
	LimitGSM, LimitUCS2 int
	// Console marks a step from the console's phone emulator: staff, not
	// the subscriber, are at the keypad. Such a dialogue is never kept for
	// the subscriber to resume when it is dropped, and the subscriber's
	// own dropped dialogue is neither offered to it nor used up by it.
	Console bool
	// Channel and Bind say how the dial came (ChannelSMPP and the bind's
	// system_id, ChannelHTTP), for the dialogue's record. UserAbort marks a
	// USSDAbort the subscriber asked for (else the network dropped it).
	Channel   string
	Bind      string
	UserAbort bool
	// NetworkCode is the caller's network (MCC+MNC) when the transport
	// says it (the HTTP adapters); partner applications receive it.
	NetworkCode string
	// Ref is the user_message_reference the phone sent, if any: for a
	// pushed notification, which keeps no state, the only trace of it.
	Ref int
}

// USSDReply is the screen to show. End closes the dialogue. Pushed marks a
// dialogue the gateway opened (PRODUCT.md §3.6): profiles end those with
// their own op (USSN in generic).
type USSDReply struct {
	Text   string
	End    bool
	Pushed bool
}

// USSDService runs dialogues. Step always returns a screen to show, except
// for USSDAbort, whose reply is ignored; an error means nothing could be
// shown and the adapter falls back to its own "service unavailable" screen.
type USSDService interface {
	Step(ctx context.Context, req USSDRequest) (USSDReply, error)
}

// AppRequest is one step of a dialogue handed to an external USSD
// application (PRODUCT.md §3.7), in the words of the Africa's Talking
// callback (§3.4): Text is every answer so far joined with '*', empty on
// the first step.
type AppRequest struct {
	SessionID, ServiceCode, PhoneNumber, NetworkCode, Text string
}

// USSDApps call the external applications that serve some service codes.
// CallApp returns the application's screen (End for an END answer); an
// error (a timeout, an error status, an unparseable answer) means the
// dialogue cannot go on.
type USSDApps interface {
	CallApp(ctx context.Context, app string, req AppRequest) (USSDReply, error)
}
