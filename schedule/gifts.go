package schedule

import (
	"context"
	"time"

	"github.com/care360/care360"
)

// AnnounceGifts names the job that announces campaign gifts.
const AnnounceGifts = "announce-gifts"

// Gifts returns the catalogue's job: announcing newly claimable campaign
// gifts by marketing SMS. The announcer makes one campaign per gift and
// period under an idempotency key, so running it hourly rather than daily
// only means a gift created at 10:00 is announced by 11:00, not tomorrow,
// and every instance may run it.
func Gifts(a care360.GiftAnnouncer) []Job {
	return []Job{{Name: AnnounceGifts, Every: time.Hour, Timeout: 10 * time.Minute, Run: func(ctx context.Context) error {
		_, err := a.AnnounceGifts(ctx)
		return err
	}}}
}
