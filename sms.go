package care360

import (
	"context"
	"strings"
	"time"
)

// MessageKind says which rules an outgoing SMS follows. Marketing messages
// obey Vietnam's anti-spam rules (Decree 91/2020/NĐ-CP, Circular
// 22/2021/TT-BTTTT); transactional ones (codes, replies, receipts, draw
// results, tier changes) are never held.
type MessageKind string

// Kinds of outgoing SMS.
const (
	KindTransactional MessageKind = "transactional"
	KindMarketing     MessageKind = "marketing"
)

// MessageKinds lists every kind, in the order reports show them.
var MessageKinds = []MessageKind{KindTransactional, KindMarketing}

// Valid reports whether k is a known kind.
func (k MessageKind) Valid() bool { return k == KindTransactional || k == KindMarketing }

// MessageStatus is where an outgoing SMS is in the outbox (PRODUCT.md §6).
type MessageStatus string

// Outbox states: queued → sending → submitted → delivered, undeliverable,
// expired or failed; held while quiet hours, the daily cap or a paused
// campaign keep it back.
const (
	MessageQueued        MessageStatus = "queued"
	MessageHeld          MessageStatus = "held"
	MessageSending       MessageStatus = "sending"
	MessageSubmitted     MessageStatus = "submitted"
	MessageDelivered     MessageStatus = "delivered"
	MessageUndeliverable MessageStatus = "undeliverable"
	MessageExpired       MessageStatus = "expired"
	MessageFailed        MessageStatus = "failed"
)

// OutgoingSMS is a request to send one SMS. The idempotency key makes a
// retried request harmless: the outbox keeps one message per key.
type OutgoingSMS struct {
	MSISDN         MSISDN
	Text           string
	Kind           MessageKind
	IdempotencyKey string
}

// Validate checks a request before it reaches the outbox; maxParts bounds
// the concatenated parts the text may take.
func (o OutgoingSMS) Validate(maxParts int) error {
	switch {
	case o.MSISDN == "":
		return Errorf(EINVALID, "msisdn is required")
	case !o.Kind.Valid():
		return Errorf(EINVALID, "kind must be \"transactional\" or \"marketing\"")
	case strings.TrimSpace(o.Text) == "":
		return Errorf(EINVALID, "text is required")
	case o.IdempotencyKey == "" || len(o.IdempotencyKey) > 200:
		return Errorf(EINVALID, "idempotency_key is required, at most 200 bytes")
	}
	if parts, _ := SplitSMS(o.Text); len(parts) > maxParts {
		return Errorf(EINVALID, "text needs %d SMS parts; at most %d are allowed", len(parts), maxParts)
	}
	return nil
}

// Message is an outgoing SMS as the outbox holds it.
type Message struct {
	ID          int64
	MSISDN      MSISDN
	Text        string
	Kind        MessageKind
	Status      MessageStatus
	CampaignID  int64 // 0: not part of a campaign
	Parts       int   // concatenated parts, once submitted
	NotBefore   time.Time
	CreatedAt   time.Time
	SubmittedAt *time.Time
	DeliveredAt *time.Time
	Error       string // why it failed or was not delivered
}

// Outbox accepts outgoing SMS. Once Send returns, the message is stored and
// will be sent, whatever happens to this process or the SMSC.
type Outbox interface {
	// Send stores the message; a repeated idempotency key returns the
	// original message and replay=true. A marketing message to a subscriber
	// who opted out or is on the do-not-call list is refused (opted_out).
	Send(ctx context.Context, m OutgoingSMS) (msg *Message, replay bool, err error)
}

// MessageService lists what was sent to a subscriber.
type MessageService interface {
	// Messages returns msisdn's outgoing SMS, newest first.
	Messages(ctx context.Context, msisdn MSISDN, limit int) ([]Message, error)
}

// SMSDay counts one kind of outgoing SMS due on one local day, by where
// each has got to now. Sent counts what reached the SMSC (submitted and
// after); Failed what the SMSC refused or could not deliver (failed,
// undeliverable, and campaign messages cancelled or dropped by TC); Sent and
// Failed overlap in the undeliverable ones.
type SMSDay struct {
	Day       Date
	Kind      MessageKind
	Messages  int64 // every message due that day, whatever its state
	Sent      int64
	Delivered int64
	Failed    int64
	Expired   int64 // the SMSC gave up before the handset took it
}

// SMSReporter counts outgoing SMS per day and kind, for the console's chart
// of delivery.
type SMSReporter interface {
	// SMSReport covers first..last, local days inclusive: a row for every
	// day and every kind in MessageKinds, zeros included. A message counts
	// on the day it was due to go (transactional: when it was accepted;
	// marketing: when it was planned, quiet hours and the daily cap applied).
	SMSReport(ctx context.Context, first, last Date) ([]SMSDay, error)
}

// SMSRules are the *default*-able rules of outgoing SMS (PRODUCT.md §5).
type SMSRules struct {
	ShortCode string // the sender of notifications and where TC goes, "9237"
	// Marketing may be sent from WindowOpen to WindowClose local time (since
	// midnight: 07:00–22:00); outside it, it is held until the next opening.
	WindowOpen, WindowClose time.Duration
	DailyCap                int // marketing SMS per subscriber per 24 h (1; 3 is the legal ceiling)
	MaxParts                int // concatenated parts per message (6)
}

// DefaultSMSRules are PRODUCT.md §5's defaults.
var DefaultSMSRules = SMSRules{
	ShortCode: "9237", WindowOpen: 7 * time.Hour, WindowClose: 22 * time.Hour,
	DailyCap: 1, MaxParts: DefaultMaxSMSParts,
}

// LegalDailyCap is the ceiling Circular 22/2021/TT-BTTTT sets.
const LegalDailyCap = 3

// WithDefaults fills in zero fields from DefaultSMSRules.
func (r SMSRules) WithDefaults() SMSRules {
	d := DefaultSMSRules
	if r.ShortCode == "" {
		r.ShortCode = d.ShortCode
	}
	if r.WindowOpen == 0 && r.WindowClose == 0 {
		r.WindowOpen, r.WindowClose = d.WindowOpen, d.WindowClose
	}
	if r.DailyCap <= 0 {
		r.DailyCap = d.DailyCap
	}
	r.DailyCap = min(r.DailyCap, LegalDailyCap)
	if r.MaxParts <= 0 {
		r.MaxParts = d.MaxParts
	}
	return r
}

// MarketingPrefix starts every marketing SMS.
const MarketingPrefix = "[QC]"

// RefusalLine is how a marketing SMS ends: how to refuse more.
func (r SMSRules) RefusalLine() string { return "Tu choi: soan TC gui " + r.ShortCode }

// MarketingText makes body a lawful marketing text: it starts with [QC] and
// ends with the refusal line, each added only if missing.
func (r SMSRules) MarketingText(body string) string {
	body = strings.TrimSpace(body)
	if !strings.HasPrefix(body, MarketingPrefix) {
		body = MarketingPrefix + " " + body
	}
	if !strings.HasSuffix(body, r.RefusalLine()) {
		body += " " + r.RefusalLine()
	}
	return body
}

// InWindow reports whether marketing may go out at t (local time in loc).
func (r SMSRules) InWindow(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	since := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute +
		time.Duration(l.Second())*time.Second + time.Duration(l.Nanosecond())
	return since >= r.WindowOpen && since < r.WindowClose
}

// NextWindow returns t if marketing may go out then, else the next opening.
func (r SMSRules) NextWindow(t time.Time, loc *time.Location) time.Time {
	if r.InWindow(t, loc) {
		return t
	}
	l := t.In(loc)
	open := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).Add(r.WindowOpen)
	if !open.After(t) {
		open = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc).Add(r.WindowOpen)
	}
	return open
}

// MarketingPrefs records who refuses marketing SMS (TC) and who takes it
// back (DK QC). Neither needs the subscriber to be a member.
type MarketingPrefs interface {
	OptOut(ctx context.Context, msisdn MSISDN) (changed bool, err error)
	OptIn(ctx context.Context, msisdn MSISDN) (changed bool, err error)
}

// DNCResult is what an import did with one number.
type DNCResult string

// Results of a do-not-call import row.
const (
	DNCAccepted  DNCResult = "accepted"
	DNCDuplicate DNCResult = "duplicate"
	DNCRejected  DNCResult = "rejected"
)

// DNCService keeps the national do-not-call list.
type DNCService interface {
	// ImportDNC adds numbers to the list and reports, for each, whether it
	// was new (accepted) or already listed (duplicate).
	ImportDNC(ctx context.Context, msisdns []MSISDN) ([]DNCResult, error)
}

// InboundSMS is a mobile-originated SMS to our short code.
type InboundSMS struct {
	MSISDN     MSISDN // canonical sender
	From       string // source_addr as received
	To         string // destination_addr as received
	Text       string
	ReceivedAt time.Time
}

// MOService handles keyword SMS. Receive returns once the message is
// stored and its reply queued; an error means the SMSC should deliver it
// again (nothing it did is lost or doubled by that).
type MOService interface {
	Receive(ctx context.Context, m InboundSMS) error
}

// InboundLog keeps every MO received, before anything is done with it.
type InboundLog interface {
	RecordMO(ctx context.Context, m InboundSMS) (id int64, err error)
}
