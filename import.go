package care360

import (
	"context"
	"iter"
	"strconv"
	"strings"
	"time"
)

// ImportColumns are the columns of a subscriber import CSV, in order.
// marketing (optional: yes or no, empty for unknown) records the member's
// marketing consent, given through the import (PRODUCT.md §7); without it
// an imported member has the programme's consent only.
var ImportColumns = []string{"msisdn", "name", "gender", "birthday", "language", "member_since", "marketing"}

// ImportRow is one data row of a subscriber import. Row is its record
// number in the file, the header being row 1, as a spreadsheet shows it.
// A row that cannot be taken carries why in Reject.
type ImportRow struct {
	Row        int
	Subscriber Subscriber
	Raw        string // the MSISDN as written, for the report
	Reject     string
}

// NewImportRow checks one row's fields as written in the CSV and returns
// the subscriber they describe, or the row with Reject set. Empty fields
// mean what they mean in PUT /api/v1/subscribers: unknown gender, no
// birthday, and (for language and member_since) the default for a new
// subscriber or what is stored for an existing one.
func NewImportRow(n Numbering, row int, msisdn, name, gender, birthday, language, memberSince, marketing string) ImportRow {
	r := ImportRow{Row: row, Raw: msisdn}
	m, err := n.Parse(msisdn)
	if err != nil {
		r.Reject = ErrorMessage(err)
		return r
	}
	s := Subscriber{MSISDN: m, Name: strings.TrimSpace(name), Gender: Gender(strings.ToLower(strings.TrimSpace(gender))),
		Language: Language(strings.ToLower(strings.TrimSpace(language)))}
	for _, d := range []struct {
		field, text string
		dst         *Date
	}{{"birthday", birthday, &s.Birthday}, {"member_since", memberSince, &s.MemberSince}} {
		if t := strings.TrimSpace(d.text); t != "" {
			if *d.dst, err = ParseDate(t); err != nil {
				r.Reject = d.field + ": " + ErrorMessage(err)
				return r
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(marketing)) {
	case "":
	case "yes", "y", "true", "1", "co":
		yes := true
		s.SetMarketing = &yes
	case "no", "n", "false", "0", "khong":
		no := false
		s.SetMarketing = &no
	default:
		r.Reject = "marketing: want yes or no, got " + strconv.Quote(marketing)
		return r
	}
	check := s // what it would be as a new subscriber
	check.Status = StatusActive
	if check.Language == "" {
		check.Language = LangVi
	}
	if err := check.Validate(); err != nil {
		r.Reject = ErrorMessage(err)
		return r
	}
	r.Subscriber = s
	return r
}

// ImportStatus is where an import is.
type ImportStatus string

// Import states: reading the upload into a staging table, writing it to
// subscribers, then done or failed.
const (
	ImportReading ImportStatus = "reading"
	ImportWriting ImportStatus = "writing"
	ImportDone    ImportStatus = "done"
	ImportFailed  ImportStatus = "failed"
)

// ImportRejection is one row that was not taken, and why.
type ImportRejection struct {
	Row    int    `json:"row"`
	MSISDN string `json:"msisdn"`
	Reason string `json:"reason"`
}

// MaxImportRejections bounds the rejections a report lists; the count is
// always complete. A file that is wrong throughout needs fixing at its
// source, not a million-line answer.
const MaxImportRejections = 10_000

// SubscriberImport is an import's progress and, once done, its report.
type SubscriberImport struct {
	ID        string
	Status    ImportStatus
	Rows      int64 // data rows read so far
	Written   int64 // rows written to subscribers so far
	Created   int64 // new subscribers
	Updated   int64 // existing subscribers whose profile changed
	Unchanged int64 // existing subscribers the row matched already
	Rejected  int64
	// Rejections lists rejected rows in row order, at most
	// MaxImportRejections of them; Truncated says some were left out.
	Rejections []ImportRejection
	Truncated  bool
	Error      string // failed: why
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// SubscriberImports loads subscribers in bulk.
type SubscriberImports interface {
	// ImportSubscribers creates or updates the subscribers of rows under
	// the import id and returns its report. Repeating a finished import's
	// id returns its report with replay=true and changes nothing; an id
	// whose import is still running is ECONFLICT. rows may yield an error
	// (a malformed file): the import then fails and writes nothing.
	ImportSubscribers(ctx context.Context, id string, rows iter.Seq2[ImportRow, error]) (imp *SubscriberImport, replay bool, err error)
	// SubscriberImport returns an import's progress or report.
	SubscriberImport(ctx context.Context, id string) (*SubscriberImport, error)
}
