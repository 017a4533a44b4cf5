package care360

import (
	"context"
	"time"
)

// Retention is how long data is kept (PRODUCT.md §7); zero fields take the
// defaults. Sweeps run in small batches and never hold locks that traffic
// waits for.
type Retention struct {
	Dialogues time.Duration // dialogue state idle this long is an ended dialogue's: deleted (default 1 day)
	SMSTexts  time.Duration // outgoing SMS texts: redacted, the status kept (default 90 days)
	Inbound   time.Duration // inbound SMS, GY feedback among them: deleted (default 90 days)
	Receipts  time.Duration // delivery receipts that matched no message: deleted (default 7 days)
	Audit     time.Duration // the audit log: deleted (default 5 years)
	Records   time.Duration // dialogue records: deleted (default 13 months, 395 days)
}

// Day is 24 hours, the unit retention periods are usually given in.
const Day = 24 * time.Hour

// WithDefaults fills zero periods with the product's defaults.
func (r Retention) WithDefaults() Retention {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&r.Dialogues, Day)
	def(&r.SMSTexts, 90*Day)
	def(&r.Inbound, 90*Day)
	def(&r.Receipts, 7*Day)
	def(&r.Audit, 5*365*Day)
	def(&r.Records, 395*Day)
	return r
}

// RetentionSweep is what one sweep removed or redacted.
type RetentionSweep struct {
	Dialogues, Inbound, Receipts, Audit int64 // rows deleted
	Feedback                            int64 // feedback items deleted, with the inbound SMS
	Redacted                            int64 // SMS texts redacted
	Records                             int64 // dialogue records deleted
}

// RedactedText replaces the text of an SMS past its retention.
const RedactedText = "(redacted)"

// RetentionService sweeps what is past its retention.
type RetentionService interface {
	SweepRetention(ctx context.Context, r Retention) (RetentionSweep, error)
}
