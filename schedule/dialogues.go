package schedule

import (
	"context"
	"time"

	"github.com/care360/care360"
)

// EndIdleDialogues names the job that turns idle dialogues into records.
const EndIdleDialogues = "end-idle-dialogues"

// IdleDialogueStore deletes idle dialogues and records them in one
// transaction (store.DB).
type IdleDialogueStore interface {
	EndIdleDialogues(ctx context.Context, cutoff time.Time, limit int,
		record func(care360.Dialogue) (care360.DialogueRecord, bool)) (int, error)
}

// IdleDialogues returns the job that ends, every 30 s, the dialogues no
// answer came to within idle (PRODUCT.md §3.8 timeout): their state is
// deleted and their record written, a thousand per transaction. A grace of
// 10 s past idle leaves alone a step that is just now answering.
func IdleDialogues(s IdleDialogueStore, idle time.Duration, record func(care360.Dialogue) (care360.DialogueRecord, bool)) []Job {
	const batch = 1000
	return []Job{{Name: EndIdleDialogues, Every: 30 * time.Second, Timeout: 5 * time.Minute, Run: func(ctx context.Context) error {
		cutoff := time.Now().Add(-idle - 10*time.Second)
		for {
			n, err := s.EndIdleDialogues(ctx, cutoff, batch, record)
			if err != nil || n < batch {
				return err
			}
		}
	}}}
}
