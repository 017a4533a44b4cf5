package care360

import (
	"context"
	"time"
)

// Dialogue is the stored state of one open USSD dialogue. The engine owns the
// meaning of State; stores keep it as an opaque document so that any gateway
// instance can continue a dialogue another one started.
type Dialogue struct {
	Key       string // MSISDN + session number or reference (see gateway)
	MSISDN    MSISDN
	State     []byte // engine-owned JSON
	UpdatedAt time.Time
	// AccountOn are the answers after which the next screen shows the
	// member's points: a DialogueAccountLoader reads the account with the
	// dialogue when one of them comes.
	AccountOn []string
}

// DialogueStore keeps open dialogues.
type DialogueStore interface {
	// LoadDialogue returns the dialogue under key, or nil and no error when
	// there is none or it has been idle longer than idle.
	LoadDialogue(ctx context.Context, key string, idle time.Duration) (*Dialogue, error)
	// SaveDialogue creates or replaces the dialogue under d.Key.
	SaveDialogue(ctx context.Context, d *Dialogue) error
	// DeleteDialogue forgets a dialogue; deleting a missing one is not an error.
	DeleteDialogue(ctx context.Context, key string) error
}

// DialogueAccountLoader is implemented by stores that can read a member's
// account with the dialogue an answer continues, in one round trip: a
// points check, the commonest answer of all, then costs one where it cost
// two (the dialogue, then the account).
type DialogueAccountLoader interface {
	// LoadDialogueFor is LoadDialogue, and also msisdn's account when
	// answer is one of the loaded dialogue's AccountOn (nil otherwise, or
	// when there is no such member), as PointsService.Account reads it.
	LoadDialogueFor(ctx context.Context, key string, idle time.Duration, msisdn MSISDN, answer string) (*Dialogue, *Account, error)
}

// Account is a member and their points, read together.
type Account struct {
	Subscriber *Subscriber
	Balance    PointsBalance
}

// CallerLoader is implemented by stores that can open a dial in a single
// round trip: end the caller's dialogues in progress (as DialogueReplacer
// does), read the subscriber, and read the dialogue they lost to the
// network; the engine uses it when opening a dialogue, the hottest path of
// all.
type CallerLoader interface {
	// Caller returns the subscriber (an ENOTFOUND error when there is none;
	// the rest is still returned), the dialogue under q.DroppedKey updated
	// within q.DroppedWithin (nil when there is none or the key is ""),
	// and, when q.Replace is set, msisdn's dialogues updated within q.Idle
	// (not those kept for resuming), which it deletes.
	Caller(ctx context.Context, msisdn MSISDN, q CallerQuery) (*Subscriber, *Dialogue, []Dialogue, error)
}

// CallerQuery says what Caller reads and ends besides the subscriber.
type CallerQuery struct {
	DroppedKey    string        // the key a dropped dialogue is kept under; "" reads none
	DroppedWithin time.Duration // how recently it must have been updated
	Replace       bool          // end the caller's dialogues in progress (PRODUCT.md §3.1)
	Idle          time.Duration // what counts as in progress: updated within Idle
}

// DialogueReplacer is implemented by stores that can end a member's
// dialogues in progress when they dial again (PRODUCT.md §3.1: a new dial
// replaces the open dialogue, whatever key the centre gives it).
type DialogueReplacer interface {
	// ReplaceDialogues deletes msisdn's dialogues updated within idle
	// (not those kept for resuming) and returns them.
	ReplaceDialogues(ctx context.Context, msisdn MSISDN, idle time.Duration) ([]Dialogue, error)
}

// DialogueEnder forgets ended dialogues off the hot path: EndDialogue never
// blocks, and the row goes within moments unless the dialogue was saved
// again since (a new dial under the same key), which stays.
type DialogueEnder interface {
	// EndDialogue forgets the dialogue under key if it is still at the
	// version updated (the UpdatedAt it was loaded or saved with).
	EndDialogue(key string, updated time.Time)
}

// DialogueLocker is implemented by stores that can run the steps of one
// dialogue one at a time across every gateway instance sharing them: the
// HTTP USSD adapter needs it, because an aggregator may send a session's
// next request (or a retry) to any instance while the last one still runs.
type DialogueLocker interface {
	// WithDialogueLock runs fn while holding the lock of key, which no
	// other caller on any instance holds meanwhile; it waits for the lock
	// as long as ctx allows.
	WithDialogueLock(ctx context.Context, key string, fn func(ctx context.Context) error) error
}

// DialogueRecord is what is left of a dialogue once it has ended (PRODUCT.md
// §3.8): where it went, how long, and how it ended.
type DialogueRecord struct {
	ID         string
	MSISDN     MSISDN
	Code       string // the service code dialled (*090#), not the shortcut
	Channel    string // ChannelSMPP, ChannelHTTP, ChannelPush
	Bind       string // the SMPP bind's system_id that carried the dial ("" over HTTP)
	StartedAt  time.Time
	EndedAt    time.Time
	Steps      int      // requests: the dial and every answer
	Path       []string // the screens entered, in order
	Outcome    string   // one of the Outcome constants
	LastScreen string
}

// Channels a dialogue comes through.
const (
	ChannelSMPP = "smpp"
	ChannelHTTP = "http"
	ChannelPush = "push"
)

// How a dialogue ended.
const (
	OutcomeCompleted    = "completed"     // we ended it with a final screen
	OutcomeUserAbort    = "user_abort"    // the subscriber released it
	OutcomeNetworkAbort = "network_abort" // the network dropped it
	OutcomeTimeout      = "timeout"       // no answer within the idle timeout
	OutcomeReplaced     = "replaced"      // a new dial took its place
	OutcomeInvalid      = "invalid"       // the third invalid answer in a row
	OutcomeError        = "error"         // nothing could be shown
)

// DialogueOutcomes lists the outcomes, for validation and reports.
var DialogueOutcomes = []string{OutcomeCompleted, OutcomeUserAbort, OutcomeNetworkAbort, OutcomeTimeout,
	OutcomeReplaced, OutcomeInvalid, OutcomeError, "no_answer", "busy"}

// DialogueRecorder takes records of ended dialogues. RecordDialogue never
// blocks a step: records are written in batches, off the hot path.
type DialogueRecorder interface {
	RecordDialogue(DialogueRecord)
}

// DialogueQuery selects records by when they ended and, optionally, by
// number, code and outcome.
type DialogueQuery struct {
	From, To time.Time // ended_at in [From, To)
	MSISDN   MSISDN
	Code     string
	Outcome  string
}

// FunnelStep is one screen of a funnel: how many dialogues reached it,
// answered it (went on to another screen), and ended on it, by outcome.
type FunnelStep struct {
	Screen   string
	Reached  int64
	Answered int64
	Ended    map[string]int64
}

// DialogueRecordService reads the records.
type DialogueRecordService interface {
	// DialogueRecords calls fn for each record q selects, oldest end
	// first, reading them as it goes (any number, in bounded memory).
	DialogueRecords(ctx context.Context, q DialogueQuery, fn func(*DialogueRecord) error) error
	// Funnel counts, per screen, the records that ended in [from, to),
	// of one code if code is not "".
	Funnel(ctx context.Context, from, to time.Time, code string) ([]FunnelStep, error)
}
