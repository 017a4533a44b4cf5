package care360

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// FeedbackStatus says whether staff have answered a feedback item.
type FeedbackStatus string

// Feedback states: open until staff reply, then answered for good.
const (
	FeedbackOpen     FeedbackStatus = "open"
	FeedbackAnswered FeedbackStatus = "answered"
)

// Valid reports whether s is a known status.
func (s FeedbackStatus) Valid() bool { return s == FeedbackOpen || s == FeedbackAnswered }

// MaxFeedbackText bounds the text of one feedback item, in characters. A
// concatenated MO of six parts holds at most 6×153 GSM-7 characters; an SMSC
// that sends the text in message_payload could send 64 KB, which is not a
// question for customer care any more. Longer texts are cut, not refused:
// the subscriber has paid for the SMS and staff still see what it says.
const MaxFeedbackText = 1000

// FeedbackText is what is kept of a GY text: trimmed, at most
// MaxFeedbackText characters, cut on a character boundary. A UCS-2 MO may
// carry NUL or broken surrogates, which Postgres text cannot hold: a text
// that could not be stored would be refused, and the SMSC would deliver it
// again for ever.
func FeedbackText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= MaxFeedbackText {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxFeedbackText {
			return strings.TrimSpace(s[:i])
		}
		n++
	}
	return s
}

// Feedback is a question or remark texted to the short code (GY, PRODUCT.md
// §5), with staff's answer once given. The sender need not be a member.
type Feedback struct {
	ID         int64
	MSISDN     MSISDN
	Text       string
	ReceivedAt time.Time
	Status     FeedbackStatus
	Reply      string     // "" while open
	RepliedAt  *time.Time // nil while open
	RepliedBy  string     // the staff member's name, "" while open
	// Replay is set when RecordFeedback found the item already recorded
	// (the same MO delivered again).
	Replay bool
}

// FeedbackFilter chooses feedback items: newest first, a page at a time.
type FeedbackFilter struct {
	Status FeedbackStatus // "" for both
	Page   Page
}

// FeedbackInbox records feedback as it arrives by SMS.
type FeedbackInbox interface {
	// RecordFeedback stores text from msisdn received at at. An SMSC may
	// deliver one MO twice, and an MO carries no identity of its own: an
	// open item from the same number with the same text is that MO again,
	// so it is returned (Replay set) and nothing new is stored.
	RecordFeedback(ctx context.Context, msisdn MSISDN, text string, at time.Time) (*Feedback, error)
}

// FeedbackService is the inbox as staff see it.
type FeedbackService interface {
	// FeedbackList returns items newest first.
	FeedbackList(ctx context.Context, f FeedbackFilter) ([]Feedback, error)
	// ReplyFeedback answers item id once: the item becomes answered and the
	// answer is queued as a transactional SMS to its sender, in one
	// transaction. An item already answered is ECONFLICT; an unknown id
	// ENOTFOUND.
	ReplyFeedback(ctx context.Context, id int64, text string, by Actor) (*Feedback, error)
}
