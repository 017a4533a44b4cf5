package schedule

import (
	"context"
	"time"

	"github.com/care360/care360"
)

// SweepPushes names the job that ends pushes that waited too long.
const SweepPushes = "sweep-pushes"

// Pushes returns the job that, every 10 s, ends the pushes nothing more
// will happen to (PRODUCT.md §3.6): those still waiting at their expiry
// (busy, or failed) and those sent and unanswered for answerWithin
// (no_answer), each with its fallback SMS; a thousand per transaction.
func Pushes(q care360.PushQueue, answerWithin time.Duration) []Job {
	const batch = 1000
	return []Job{{Name: SweepPushes, Every: 10 * time.Second, Timeout: 5 * time.Minute, Run: func(ctx context.Context) error {
		for {
			n, err := q.SweepPushes(ctx, answerWithin)
			if err != nil || n < batch {
				return err
			}
		}
	}}}
}
