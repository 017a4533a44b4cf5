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
