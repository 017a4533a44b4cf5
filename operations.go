package care360

import (
	"context"
	"time"
)

// SlotLength is the resolution of the traffic the operations dashboard
// charts: instances add their counts per slot of this length.
const SlotLength = 10 * time.Second

// TrafficSlot is the traffic of one slot, summed over every instance.
type TrafficSlot struct {
	At           time.Time // the slot's start
	USSDDials    int64     // dialogues begun
	USSDSteps    int64     // every step: dials, answers, aborts
	USSDFailures int64     // steps that could show nothing
	SMSSubmitted int64     // messages the SMSC accepted
	SMSDelivered int64     // messages whose every part was delivered
	SMSFailed    int64     // refused by the SMSC, undeliverable or expired
}

// SMSQueueStates counts the messages not yet handed to the SMSC.
type SMSQueueStates struct {
	Queued  int64 // due or waiting for their time, no sender has them
	Held    int64 // kept back by quiet hours, the daily cap or a pause
	Sending int64 // leased to a sender right now
}

// JobRun is how a scheduled job's last run on one instance went.
type JobRun struct {
	Job        string
	Instance   string
	StartedAt  time.Time
	FinishedAt time.Time
	OK         bool
	Error      string
}

// Operations is what the operations dashboard reads from the store.
type Operations struct {
	OpenDialogues int64
	Queue         SMSQueueStates
	Slots         []TrafficSlot // since the asked time, oldest first; slots without traffic are absent
	Jobs          []JobRun      // the latest run of each job, by job name
}

// OperationsService reads the figures of the operations dashboard.
type OperationsService interface {
	// Operations counts the open dialogues (active after openSince), the
	// SMS queue by state, the traffic slots from since on, and each job's
	// latest run.
	Operations(ctx context.Context, since, openSince time.Time) (*Operations, error)
}

// JobRecorder keeps each job run's outcome for the dashboard.
type JobRecorder interface {
	RecordJobRun(ctx context.Context, run JobRun) error
}
