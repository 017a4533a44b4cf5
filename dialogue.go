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

// CallerLoader is implemented by stores that can read a caller and one of
// their dialogues in a single round trip; the engine uses it when opening a
// dialogue, the hottest read of all.
type CallerLoader interface {
	// Caller returns the subscriber (an ENOTFOUND error when there is none;
	// the dialogue is still returned) and the dialogue under key updated
	// within idle, or nil.
	Caller(ctx context.Context, msisdn MSISDN, key string, idle time.Duration) (*Subscriber, *Dialogue, error)
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
