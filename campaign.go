package care360

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Segment chooses a campaign's recipients among active members: every set
// criterion must hold. Opted-out and do-not-call numbers are always left out.
type Segment struct {
	Tiers         []Tier   // any of these tiers (as held, floors included)
	Gender        Gender   // "" for any
	BirthdayMonth int      // 1–12, 0 for any
	MSISDNs       []MSISDN // only these members
}

// Empty reports whether the segment selects every member.
func (s Segment) Empty() bool {
	return len(s.Tiers) == 0 && s.Gender == "" && s.BirthdayMonth == 0 && len(s.MSISDNs) == 0
}

// Template placeholders a campaign text may use.
const (
	PlaceholderName   = "{name}"
	PlaceholderTier   = "{tier}"
	PlaceholderPoints = "{points}"
)

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// NewCampaign is a request to send a marketing SMS to a segment.
type NewCampaign struct {
	Name   string
	Text   string // template in Vietnamese (with or without diacritics)
	TextEn string // for English speakers; empty: the folded Vietnamese
	Segment
	SendAt         time.Time // zero: now
	IdempotencyKey string    // optional: a repeat returns the first campaign
	// RequestHash is the Fingerprint of the API request that created it,
	// kept with its idempotency key: the same key sent with another request
	// is ECONFLICT. Nil (the system's own, or no key) is never compared.
	RequestHash []byte
}

// templateSample fills the placeholders with long but plausible values, so
// that a template that fits with them fits for nearly every member.
var templateSample = strings.NewReplacer(
	PlaceholderName, "Nguyen Thi Thanh Huong Xuan",
	PlaceholderTier, "Kim cuong",
	PlaceholderPoints, "1.000.000",
)

// Validate checks the request against the rules; the texts are checked as
// they will be sent (with [QC] and the refusal line).
func (c NewCampaign) Validate(rules SMSRules) error {
	switch {
	case strings.TrimSpace(c.Name) == "" || len(c.Name) > 200:
		return Errorf(EINVALID, "name is required, at most 200 bytes")
	case strings.TrimSpace(c.Text) == "":
		return Errorf(EINVALID, "text is required")
	case len(c.IdempotencyKey) > 200:
		return Errorf(EINVALID, "idempotency_key is longer than 200 bytes")
	case !c.Gender.Valid():
		return Errorf(EINVALID, "segment.gender must be \"f\", \"m\" or empty")
	case c.BirthdayMonth < 0 || c.BirthdayMonth > 12:
		return Errorf(EINVALID, "segment.birthday_month must be 1 to 12")
	case len(c.MSISDNs) > 1_000_000:
		return Errorf(EINVALID, "segment.msisdns: at most 1,000,000 numbers")
	}
	for _, t := range c.Tiers {
		if !t.Valid() {
			return Errorf(EINVALID, "segment.tiers: unknown tier %q", t)
		}
	}
	for _, text := range []string{c.Text, c.TextEn} {
		for _, p := range placeholder.FindAllString(text, -1) {
			if p != PlaceholderName && p != PlaceholderTier && p != PlaceholderPoints {
				return Errorf(EINVALID, "unknown placeholder %s: use {name}, {tier} or {points}", p)
			}
		}
		sample := rules.MarketingText(templateSample.Replace(text))
		if parts, _ := SplitSMS(sample); text != "" && len(parts) > rules.MaxParts {
			return Errorf(EINVALID, "text is too long: %d SMS parts with the [QC] line, at most %d", len(parts), rules.MaxParts)
		}
	}
	return nil
}

// CampaignStatus is what staff last told a campaign to do.
type CampaignStatus string

// Campaign states. A running campaign with nothing left to send is done.
const (
	CampaignRunning   CampaignStatus = "running"
	CampaignPaused    CampaignStatus = "paused"
	CampaignCancelled CampaignStatus = "cancelled"
	CampaignDone      CampaignStatus = "done"
)

// CampaignProgress counts a campaign's messages. Sent counts what reached
// the SMSC (submitted and after); Failed what will not reach the handset
// (failed, undeliverable, expired, cancelled): the two overlap.
type CampaignProgress struct {
	Queued    int64 // queued or being sent
	Held      int64 // quiet hours, daily cap, paused
	Sent      int64
	Delivered int64
	Failed    int64
}

// Campaign is a marketing SMS to a segment and how far it has gone.
type Campaign struct {
	ID         int64
	Name       string
	Text       string
	TextEn     string
	Segment    Segment
	Status     CampaignStatus
	SendAt     time.Time
	CreatedAt  time.Time
	Recipients int64 // messages queued at fan-out
	Progress   CampaignProgress
}

// CampaignService runs SMS campaigns.
type CampaignService interface {
	// CreateCampaign queues one message per recipient (set-based) and
	// returns the campaign; a repeated idempotency key returns the first
	// one with replay=true.
	CreateCampaign(ctx context.Context, c NewCampaign) (camp *Campaign, replay bool, err error)
	Campaign(ctx context.Context, id int64) (*Campaign, error)
	// Campaigns returns a page of campaigns, newest first, each with its
	// progress counted as Campaign counts it.
	Campaigns(ctx context.Context, p Page) ([]Campaign, error)
	// PauseCampaign holds what is not yet sent; ResumeCampaign lets it go
	// again; CancelCampaign fails it for good. A cancelled campaign cannot
	// be paused or resumed (ECONFLICT).
	PauseCampaign(ctx context.Context, id int64) (*Campaign, error)
	ResumeCampaign(ctx context.Context, id int64) (*Campaign, error)
	CancelCampaign(ctx context.Context, id int64) (*Campaign, error)
}
