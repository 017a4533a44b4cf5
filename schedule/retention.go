package schedule

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
)

// SweepRetention names the retention job.
const SweepRetention = "sweep-retention"

// Retention returns the job that removes what is past its retention
// (PRODUCT.md §7), hourly: each run is a few short batches when there is
// little to do. What each run removed is counted in
// care360_retention_removed_total{what} (reg may be nil).
func Retention(s care360.RetentionService, r care360.Retention, reg prometheus.Registerer) []Job {
	removed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "care360_retention_removed_total",
		Help: "Rows the retention sweep deleted or redacted, by what (dialogues, sms_texts, inbound_sms, feedback, receipts, dialogue_records, audit).",
	}, []string{"what"})
	if reg != nil {
		reg.MustRegister(removed)
	}
	return []Job{{Name: SweepRetention, Every: time.Hour, Timeout: 30 * time.Minute, Run: func(ctx context.Context) error {
		sw, err := s.SweepRetention(ctx, r)
		for what, n := range map[string]int64{
			"dialogues": sw.Dialogues, "sms_texts": sw.Redacted, "inbound_sms": sw.Inbound, "feedback": sw.Feedback,
			"receipts": sw.Receipts, "dialogue_records": sw.Records, "audit": sw.Audit,
		} {
			removed.WithLabelValues(what).Add(float64(n)) // what a failed run did before failing counts too
		}
		return err
	}}}
}
