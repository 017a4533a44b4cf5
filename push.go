package care360

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// PushKind says what a network-initiated USSD push shows (PRODUCT.md §3.6).
type PushKind string

const (
	PushNotify PushKind = "notify" // USSN: text only, the phone acknowledges it
	PushMenu   PushKind = "menu"   // USSR: a screen that waits for an answer
)

// PushScreen is the screen a menu push opens: one gift's confirmation, one
// draw's entry, one offer, or the main menu. Exactly one is set.
type PushScreen struct {
	Gift  int64  `json:"gift,omitempty"`
	Draw  int64  `json:"draw,omitempty"`
	Offer int64  `json:"offer,omitempty"`
	Menu  string `json:"menu,omitempty"` // "main"
}

// Set counts how many of the screen's choices are given.
func (s PushScreen) set() int {
	n := 0
	for _, b := range []bool{s.Gift != 0, s.Draw != 0, s.Offer != 0, s.Menu != ""} {
		if b {
			n++
		}
	}
	return n
}

// States of one push to one member, in the order they may follow each other.
// A target is queued until it is sent (or ends without reaching the phone:
// busy, refused, failed); a sent menu is answered when the member first
// answers and completed when we end it; a sent notification is completed
// when the phone acknowledges it. A push that reached no one ends as
// no_answer. FellBack counts those whose text then went by SMS.
const (
	PushQueued    = "queued"
	PushSent      = "sent"
	PushAnswered  = "answered"
	PushCompleted = "completed"
	PushBusy      = "busy"
	PushNoAnswer  = "no_answer"
	PushRefused   = "refused"
	PushFailed    = "failed"
	PushFellBack  = "fell_back"
)

// PushStates are the counts a push reports, fell_back included.
var PushStates = []string{PushQueued, PushSent, PushAnswered, PushCompleted, PushBusy, PushNoAnswer,
	PushRefused, PushFailed, PushFellBack}

// DefaultPushAnswerTimeout is how long a pushed screen waits for the
// member's first answer (PRODUCT.md §3.6).
const DefaultPushAnswerTimeout = 60 * time.Second

// DefaultPushExpiry is how long a push may wait for its member (a dialogue
// in progress, the marketing window) when the request sets no expiry.
const DefaultPushExpiry = time.Hour

// MaxPushText bounds a push's text: a notification is one USSD screen, and
// a fallback SMS at most a few parts.
const MaxPushText = 480

// NewPush asks for a push to one member or a segment.
type NewPush struct {
	MSISDN      MSISDN   // one member, or
	Segment     *Segment // every active member the segment selects
	Kind        PushKind
	Text        string     // a notification's text; a menu's heading (optional)
	Screen      PushScreen // a menu's screen
	Marketing   bool       // it advertises: marketing rules and consent apply
	FallbackSMS bool       // when the push reaches no one, its text goes by SMS
	ExpiresAt   time.Time  // zero: DefaultPushExpiry from now
	// IdempotencyKey and RequestHash as for campaigns: the same key again
	// returns the first push; with another request, a conflict.
	IdempotencyKey string
	RequestHash    []byte
	CreatedBy      string
}

// Validate checks what can be checked without the database.
func (p NewPush) Validate(now time.Time) error {
	switch {
	case (p.MSISDN == "") == (p.Segment == nil):
		return Errorf(EINVALID, "a push goes to an msisdn or a segment, exactly one of them")
	case p.Kind != PushNotify && p.Kind != PushMenu:
		return Errorf(EINVALID, "kind must be %q or %q", PushNotify, PushMenu)
	case p.Kind == PushNotify && strings.TrimSpace(p.Text) == "":
		return Errorf(EINVALID, "a notification needs a text")
	case p.Kind == PushNotify && p.Screen.set() > 0:
		return Errorf(EINVALID, "a notification has a text, not a screen")
	case p.Kind == PushMenu && p.Screen.set() != 1:
		return Errorf(EINVALID, "a menu push needs exactly one screen: gift, draw, offer or menu")
	case p.Screen.Menu != "" && p.Screen.Menu != "main":
		return Errorf(EINVALID, "screen menu %q is not one a push can open (main)", p.Screen.Menu)
	case p.Screen.Gift < 0 || p.Screen.Draw < 0 || p.Screen.Offer < 0:
		return Errorf(EINVALID, "screen ids are positive")
	case !utf8.ValidString(p.Text) || utf8.RuneCountInString(p.Text) > MaxPushText:
		return Errorf(EINVALID, "text must be UTF-8 of at most %d characters", MaxPushText)
	case p.FallbackSMS && strings.TrimSpace(p.Text) == "":
		return Errorf(EINVALID, "fallback_sms needs a text to send")
	case !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now):
		return Errorf(EINVALID, "expires_at is in the past")
	case p.ExpiresAt.After(now.Add(7 * 24 * time.Hour)):
		return Errorf(EINVALID, "expires_at is more than 7 days away")
	case p.Segment != nil && p.Segment.Empty() && !p.Marketing:
		// Everyone at once is a campaign, and campaigns advertise.
		return Errorf(EINVALID, "a push to every member must be marked marketing")
	}
	return nil
}

// Push is a push request and how its targets stand.
type Push struct {
	ID          int64            `json:"id"`
	Kind        PushKind         `json:"kind"`
	MSISDN      MSISDN           `json:"msisdn,omitempty"`
	Segment     *Segment         `json:"-"`
	Text        string           `json:"text,omitempty"`
	Screen      PushScreen       `json:"screen"`
	Marketing   bool             `json:"marketing"`
	FallbackSMS bool             `json:"fallback_sms"`
	ExpiresAt   time.Time        `json:"expires_at"`
	CreatedAt   time.Time        `json:"created_at"`
	CreatedBy   string           `json:"created_by,omitempty"`
	Targets     int64            `json:"targets"`  // members it was queued for
	Excluded    int64            `json:"excluded"` // left out: opted out of marketing or on the do-not-call list
	Counts      map[string]int64 `json:"counts"`   // per state (PushStates)
}

// Done reports whether every target has ended.
func (p *Push) Done() bool {
	return p.Counts[PushQueued] == 0 && p.Counts[PushSent] == 0 && p.Counts[PushAnswered] == 0
}

// PushService creates pushes and reports on them.
type PushService interface {
	CreatePush(ctx context.Context, np NewPush) (p *Push, replay bool, err error)
	Push(ctx context.Context, id int64) (*Push, error)
	Pushes(ctx context.Context, limit int) ([]Push, error)
}

// PushClaim is one target leased to a sender.
type PushClaim struct {
	ID          int64 // the target
	PushID      int64
	MSISDN      MSISDN
	Kind        PushKind
	Text        string
	Screen      PushScreen
	FallbackSMS bool
	ExpiresAt   time.Time
	Token       int64 // fences the lease, like the outbox's
	Attempts    int
	// Busy says the member has a dialogue in progress: the push waits.
	Busy bool
}

// PushDelivery is what a sender records of a push the SMSC took.
type PushDelivery struct {
	ID, Token int64
	Ref       int // user_message_reference the phone will echo
}

// PushQueue is the durable queue of pushes that senders work through.
type PushQueue interface {
	// ClaimPushes leases up to max due targets to owner until lease ends.
	ClaimPushes(ctx context.Context, owner string, max int, lease time.Duration) ([]PushClaim, error)
	// PushWait hands a claimed target back to be tried after wait: busy
	// says it waited for a dialogue in progress.
	PushWait(ctx context.Context, owner string, id, token int64, wait time.Duration, busy bool, why string) error
	// PushSent records that the SMSC took these pushes, in one statement;
	// it returns how many were fenced off (their leases had passed on).
	PushSent(ctx context.Context, owner string, sent []PushDelivery) (fenced int, err error)
	// PushEnd ends a claimed target that never reached the phone (busy,
	// refused, failed), with its fallback SMS if it has one.
	PushEnd(ctx context.Context, owner string, id, token int64, state, why string) error
	// SweepPushes ends what waited too long: queued targets past their
	// expiry (busy if they waited for a dialogue, else failed) and sent
	// ones unanswered for answerWithin (no_answer), with their fallbacks.
	SweepPushes(ctx context.Context, answerWithin time.Duration) (ended int, err error)
}

// PushTracker is told what the member did with a push that reached them.
type PushTracker interface {
	// PushAnswered marks a sent menu answered (its first answer).
	PushAnswered(ctx context.Context, id int64) error
	// PushFinished ends a sent target: completed (we ended it, or the
	// phone acknowledged a notification) or no_answer (dropped before any
	// answer), with the fallback SMS for no_answer.
	PushFinished(ctx context.Context, id int64, state string) error
	// NotificationEnded says how the notification pushed to msisdn under
	// the dialogue number ref ended (a notification keeps no dialogue
	// state): completed when the phone acknowledged it, no_answer when the
	// network dropped it. It never blocks: the endings are written in
	// batches, with their records and fallbacks; a number that was no
	// live notification's changes nothing.
	NotificationEnded(msisdn MSISDN, ref int, state, bind string)
}

// PushRef is the dialogue number (user_message_reference) of target id's
// push: never 0 (some centres read 0 as "none"), and unique among the
// member's open dialogues because a push goes only to a member with none.
func PushRef(id int64) int { return int(id%0xFFFF) + 1 }

// PushOpen is a push about to go to a member's phone: the dialogue it opens
// there, keyed as the phone's answers will be.
type PushOpen struct {
	Key    string // the dialogue's key: the member and the reference the phone echoes
	MSISDN MSISDN
	Target int64 // the push target, told what the member does with it
	Kind   PushKind
	Text   string     // a notification's text, or a menu's heading
	Screen PushScreen // a menu's screen
	Bind   string     // the bind it goes out on, for the record
	// Limits of the bind's profile, as for a step.
	LimitGSM, LimitUCS2 int
}

// PushDialogues open pushed dialogues: OpenPush renders the first screen
// in the member's language and keeps the dialogue for the phone's answer;
// an error means the push cannot be shown (an EREFUSED or EINVALID one
// will not change by trying again).
type PushDialogues interface {
	OpenPush(ctx context.Context, p PushOpen) (USSDReply, error)
}
