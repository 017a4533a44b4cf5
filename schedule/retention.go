package schedule

import (
	"context"
	"time"

	"github.com/care360/care360"
)

// SweepRetention names the retention job.
const SweepRetention = "sweep-retention"

// Retention returns the job that removes what is past its retention
// (PRODUCT.md §7), hourly: each run is a few short batches when there is
// little to do.
func Retention(s care360.RetentionService, r care360.Retention) []Job {
	return []Job{{Name: SweepRetention, Every: time.Hour, Timeout: 30 * time.Minute, Run: func(ctx context.Context) error {
		_, err := s.SweepRetention(ctx, r)
		return err
	}}}
}
