package care360

import (
	"context"
	"time"
)

// Consent purposes (PRODUCT.md §7): taking part in the programme, and
// receiving marketing (SMS and pushes that advertise).
const (
	PurposeProgramme = "programme"
	PurposeMarketing = "marketing"
)

// ConsentChannel is the way a consent was given or withdrawn.
type ConsentChannel string

// Channels of consent.
const (
	ChannelUSSD   ConsentChannel = "ussd"   // the registration screen
	ChannelSMS    ConsentChannel = "sms"    // DK, DK QC, TC, HUY
	ChannelAPI    ConsentChannel = "api"    // PUT /api/v1/subscribers/{msisdn}
	ChannelImport ConsentChannel = "import" // POST /api/v1/subscribers:import
)

// ConsentTextVersion names the version of the programme's terms and the
// marketing notice that joining shows; it is recorded with every consent,
// so that the text a member agreed to can be found again.
const ConsentTextVersion = "2026-12"

// Leaver lets a member leave the programme by SMS (PRODUCT.md §7): HUY asks,
// Y confirms; leaving withdraws the programme consent and closes the
// membership as a churn.
type Leaver interface {
	// RequestLeave remembers that msisdn asked to leave; ENOTFOUND if it
	// is no member.
	RequestLeave(ctx context.Context, msisdn MSISDN) error
	// ConfirmLeave closes the membership if a request is pending since
	// less than within; pending is false when none is (nothing changes).
	// ref keys the closing, so that a Y delivered twice closes once.
	ConfirmLeave(ctx context.Context, msisdn MSISDN, ref string, within time.Duration) (pending bool, err error)
	// CancelLeave forgets a pending request; cancelled says if there was one.
	CancelLeave(ctx context.Context, msisdn MSISDN) (cancelled bool, err error)
}

// HistoryEvent is one line of a membership's history (PRODUCT.md §7): when
// it joined, each consent given or withdrawn, each lifecycle event, each
// number it left, and a SIM-swap hold in force.
type HistoryEvent struct {
	At     time.Time
	What   string // joined, consent, lifecycle, number_changed, hold
	Detail string // e.g. "marketing given by sms (2026-12)", "sim_swap applied"
}

// MemberHistory reads a member's history.
type MemberHistory interface {
	// History lists the open membership of msisdn's events, oldest first;
	// ENOTFOUND if the number is no member's.
	History(ctx context.Context, msisdn MSISDN) ([]HistoryEvent, error)
}
