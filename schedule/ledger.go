package schedule

import (
	"context"
	"time"

	"github.com/care360/care360"
)

// Names of the ledger's jobs.
const (
	PostUsage   = "post-usage"
	SweepExpiry = "sweep-expiry"
	ReviewTiers = "review-tiers"
)

// Ledger returns the ledger's jobs: posting accepted usage every second
// (and at once when triggered, see AfterIngest), the expiry sweep hourly,
// and the tier job daily (the review itself happens once a month, on the
// first run from the 1st; the daily runs settle downgrades whose grace ran
// out).
func Ledger(j care360.LedgerJobs) []Job {
	return []Job{
		{Name: PostUsage, Every: time.Second, Timeout: 5 * time.Minute, Run: func(ctx context.Context) error {
			_, err := j.PostUsage(ctx)
			return err
		}},
		{Name: SweepExpiry, Every: time.Hour, Timeout: 30 * time.Minute, Run: func(ctx context.Context) error {
			_, err := j.SweepExpired(ctx)
			return err
		}},
		{Name: ReviewTiers, Every: 24 * time.Hour, Timeout: time.Hour, Run: func(ctx context.Context) error {
			_, err := j.ReviewTiers(ctx)
			return err
		}},
	}
}

// AfterIngest wraps a usage service so that every batch with accepted
// events triggers the posting job at once: points show within moments
// when the feed is quiet, and under load posting runs back to back.
func AfterIngest(u care360.UsageService, s *Scheduler) care360.UsageService {
	return afterIngest{u, s}
}

type afterIngest struct {
	care360.UsageService
	s *Scheduler
}

func (a afterIngest) IngestUsage(ctx context.Context, evs []care360.UsageEvent) ([]care360.UsageResult, error) {
	res, err := a.UsageService.IngestUsage(ctx, evs)
	for _, r := range res {
		if r.Status == care360.UsageAccepted {
			a.s.Trigger(PostUsage)
			break
		}
	}
	return res, err
}
