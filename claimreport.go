package care360

import "context"

// ClaimDay is one gift's claims on one local day.
type ClaimDay struct {
	Day    Date
	GiftID int64
	Name   string // the gift's Vietnamese name
	Claims int64  // claims given (failed provisioning not counted)
	Points int64  // points they cost
}

// ClaimReporter counts claims per day and gift, for the console's chart of
// claims arriving.
type ClaimReporter interface {
	// ClaimReport covers first..last, local days inclusive.
	ClaimReport(ctx context.Context, first, last Date) ([]ClaimDay, error)
}
