package care360

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/care360/care360/draw"
)

// DrawStatus is where a lucky draw is in its life (PRODUCT.md §4.4).
type DrawStatus string

// Draw states. A draw opens (its commitment published) when staff create
// it and takes entries within its window; closing freezes the entries and
// publishes their digest; running reveals the seed and picks the winners.
// A draw not yet run may instead be cancelled: its entries are frozen as
// at a close and every entry's points are refunded.
const (
	DrawOpen      DrawStatus = "open"
	DrawClosed    DrawStatus = "closed"
	DrawDrawn     DrawStatus = "drawn"
	DrawCancelled DrawStatus = "cancelled"
)

// ReasonCancelled refuses an entry into a draw that was cancelled, so that
// the subscriber learns it will not be drawn (and that points came back)
// rather than only that it is closed.
const ReasonCancelled = "cancelled"

// DrawPrize is one prize of a draw; rank 1 is drawn first.
type DrawPrize struct {
	Rank     int
	Name     string // Vietnamese with diacritics; plain vi is its fold
	NameEn   string // "" reuses the folded Vietnamese
	Quantity int
	// Collect says how a winner collects the prize ("" for the standard
	// text: an ID card at a MobiFone store within 30 days).
	Collect, CollectEn string
}

// Draw is a lucky draw (bốc thăm trúng thưởng).
type Draw struct {
	ID        int64
	Code      string // what subscribers see and type, e.g. TET27
	Name      string
	NameEn    string
	Prizes    []DrawPrize
	OpensAt   time.Time
	ClosesAt  time.Time
	EntryCost int64 // points; 0 is free
	// Tickets per tier: an entry's weight. A tier without tickets cannot
	// enter, which is how eligibility is set.
	Tickets map[Tier]int
	Status  DrawStatus
	// Active is false when staff have taken the draw off the menus: it
	// takes no entries until they put it back.
	Active bool

	Commitment    string // hex SHA-256(seed), published from the start
	Entries       int64  // entries so far; frozen at close
	EntriesDigest string // hex, from the close
	Witness       string // from the run
	Seed          string // hex, revealed at the run, secret before
	CreatedAt     time.Time
	ClosedAt      *time.Time
	DrawnAt       *time.Time
	CancelledAt   *time.Time
	// RequestHash is the Fingerprint of the API request that created it,
	// kept with its idempotency key: the same key sent with another request
	// is ECONFLICT. Nil (the system's own, or no key) is never compared.
	RequestHash []byte
}

var drawCodeRE = regexp.MustCompile(`^[A-Z0-9]{2,12}$`)

// Draw limits: a typo must not create a million prizes or a ticket table
// that makes one member count for thousands.
const (
	maxDrawPrizes   = 50
	maxPrizeCopies  = 100_000
	maxDrawTickets  = 100
	maxDrawNameByte = 100
)

// Validate checks a draw staff create.
func (d *Draw) Validate() error {
	if err := checkCodeAndName(d.Code, d.Name, d.NameEn); err != nil {
		return err
	}
	switch {
	case d.OpensAt.IsZero() || d.ClosesAt.IsZero() || !d.ClosesAt.After(d.OpensAt):
		return Errorf(EINVALID, "closes_at must come after opens_at")
	case d.EntryCost < 0 || d.EntryCost > MaxPointsChange:
		return Errorf(EINVALID, "entry_cost must be from 0 to %d points", MaxPointsChange)
	case len(d.Prizes) == 0 || len(d.Prizes) > maxDrawPrizes:
		return Errorf(EINVALID, "a draw has 1 to %d prizes", maxDrawPrizes)
	}
	for i, p := range d.Prizes {
		switch {
		case p.Name == "" || len(p.Name) > maxDrawNameByte || len(p.NameEn) > maxDrawNameByte:
			return Errorf(EINVALID, "prize %d: name is required, at most %d bytes", i+1, maxDrawNameByte)
		case p.Quantity < 1 || p.Quantity > maxPrizeCopies:
			return Errorf(EINVALID, "prize %d: quantity must be from 1 to %d", i+1, maxPrizeCopies)
		case len(p.Collect) > 300 || len(p.CollectEn) > 300:
			return Errorf(EINVALID, "prize %d: collect texts are at most 300 bytes", i+1)
		}
	}
	eligible := false
	for t, n := range d.Tickets {
		switch {
		case !t.Valid():
			return Errorf(EINVALID, "tickets: unknown tier %q", t)
		case n < 0 || n > maxDrawTickets:
			return Errorf(EINVALID, "tickets of %s must be from 0 to %d", t, maxDrawTickets)
		}
		eligible = eligible || n > 0
	}
	if !eligible {
		return Errorf(EINVALID, "tickets: at least one tier needs tickets, or no one can enter")
	}
	return nil
}

// Title is the draw's name in lang.
func (d *Draw) Title(lang Language) string { return localName(lang, d.Name, d.NameEn) }

// Title is the prize's name in lang.
func (p *DrawPrize) Title(lang Language) string { return localName(lang, p.Name, p.NameEn) }

// checkCodeAndName checks what draws and spin tables share: a code
// subscribers can type and a name in both languages.
func checkCodeAndName(code, name, nameEn string) error {
	switch {
	case !drawCodeRE.MatchString(code):
		return Errorf(EINVALID, "code must be 2 to 12 capital letters or digits")
	case name == "" || len(name) > maxDrawNameByte || len(nameEn) > maxDrawNameByte:
		return Errorf(EINVALID, "name is required, at most %d bytes (name_en too)", maxDrawNameByte)
	}
	return nil
}

// TicketsFor is what an entry of tier t weighs; 0 means t cannot enter.
func (d *Draw) TicketsFor(t Tier) int { return d.Tickets[t] }

// OpenAt reports whether the draw takes entries at t.
func (d *Draw) OpenAt(t time.Time) bool {
	return d.Status == DrawOpen && d.Active && !t.Before(d.OpensAt) && t.Before(d.ClosesAt)
}

// DrawUpdate changes a draw that has not closed; nil fields stay as they
// are. The code stays: it is on every receipt already sent.
type DrawUpdate struct {
	Name, NameEn      *string
	OpensAt, ClosesAt *time.Time
	EntryCost         *int64
	Tickets           *map[Tier]int
	Prizes            *[]DrawPrize // replaces them all, ranked in the order given
	Active            *bool
}

// Apply changes d as u says.
func (u DrawUpdate) Apply(d *Draw) {
	set(&d.Name, u.Name)
	set(&d.NameEn, u.NameEn)
	set(&d.OpensAt, u.OpensAt)
	set(&d.ClosesAt, u.ClosesAt)
	set(&d.EntryCost, u.EntryCost)
	set(&d.Tickets, u.Tickets)
	set(&d.Active, u.Active)
	if u.Prizes != nil {
		d.Prizes = make([]DrawPrize, len(*u.Prizes))
		for i, p := range *u.Prizes {
			p.Rank = i + 1
			d.Prizes[i] = p
		}
	}
}

// DrawCancellation is what cancelling a draw did: every entry's points
// came back (Refunded entries had a cost, Points in all).
type DrawCancellation struct {
	Draw     Draw
	Entries  int64
	Refunded int64
	Points   int64
	// Replay is set when the draw was cancelled already: this call
	// changed nothing (what it returns is the first cancel's outcome).
	Replay bool
	// From is the status the draw had before this call (open or closed;
	// cancelled on a replay).
	From DrawStatus
}

// PrizeOf returns the prize of the given rank, or nil.
func (d *Draw) PrizeOf(rank int) *DrawPrize {
	for i := range d.Prizes {
		if d.Prizes[i].Rank == rank {
			return &d.Prizes[i]
		}
	}
	return nil
}

// DrawEntry is one subscriber's entry in one draw: what their receipt says.
type DrawEntry struct {
	ID        int64 // the entry number: unique and increasing, with gaps
	DrawID    int64
	MSISDN    MSISDN
	Tier      Tier
	Tickets   int
	Cost      int64
	Receipt   string // the short hash the audit file lists beside the number
	CreatedAt time.Time
}

// DrawOffer is an open draw as one subscriber sees it; Entry is their
// entry, nil if they have not entered.
type DrawOffer struct {
	Draw  Draw
	Entry *DrawEntry
}

// DrawResult is one of a subscriber's entries and what came of it; Prize
// is nil while the draw is not run, and when the entry won nothing.
type DrawResult struct {
	Draw  Draw
	Entry DrawEntry
	Prize *DrawPrize
}

// DrawWinner is a prize awarded at a run, the Position-th entry drawn.
type DrawWinner struct {
	Position int
	Prize    DrawPrize
	Entry    DrawEntry
}

// DrawService runs lucky draws. Entries, the close and the run are each
// one transaction: points, entries, winners and their SMS commit together.
type DrawService interface {
	// CreateDraw opens a draw: it generates the secret seed and fills in
	// the commitment. A repeated idempotency key returns the original draw
	// and replay=true.
	CreateDraw(ctx context.Context, d *Draw, idempotencyKey string) (replay bool, err error)
	// Draws lists draws, newest first; status "" lists all.
	Draws(ctx context.Context, status DrawStatus) ([]Draw, error)
	// Draw returns one draw (its seed only once drawn).
	Draw(ctx context.Context, id int64) (*Draw, error)
	// OpenDraws lists the draws taking entries now, with msisdn's entries.
	OpenDraws(ctx context.Context, msisdn MSISDN) ([]DrawOffer, error)
	// EnterDraw enters msisdn once, deducting the entry cost, and queues
	// the receipt SMS. Refused: window (not open), tier (no tickets for the
	// subscriber's tier), insufficient_points, limit_reached (entered
	// already), suspended.
	// A key (optional, at most 200 bytes) that made msisdn's entry returns
	// it again: a retried step enters once.
	EnterDraw(ctx context.Context, id int64, msisdn MSISDN, key string) (*DrawEntry, error)
	// CloseDraw freezes the entries and publishes their count and digest.
	CloseDraw(ctx context.Context, id int64) (*Draw, error)
	// RunDraw reveals the seed, picks the winners from the witness value
	// and queues their SMS. Running a drawn draw again with the same
	// witness returns the original result and replay=true; another witness
	// is a conflict, and so is running a cancelled draw.
	RunDraw(ctx context.Context, id int64, witness string) (d *Draw, winners []DrawWinner, replay bool, err error)
	// UpdateDraw changes an open draw (after the close: ECONFLICT) and
	// checks the result as CreateDraw does.
	UpdateDraw(ctx context.Context, id int64, u DrawUpdate) (*Draw, error)
	// CancelDraw cancels a draw that has not been run: entries stop, and
	// every entry's points are credited back and its entrant told by SMS,
	// all in one transaction. Cancelling again changes nothing and returns
	// the same outcome; a drawn draw is ECONFLICT.
	CancelDraw(ctx context.Context, id int64) (*DrawCancellation, error)
	// DrawAudit returns the audit file as far as the draw has got.
	DrawAudit(ctx context.Context, id int64) (*draw.Audit, error)
	// WriteDrawAudit writes the same file to the writer open returns for
	// the file without its entries (which it may not keep), streaming the
	// entries: a draw of millions is never held. An error after open was
	// called leaves the file cut short.
	WriteDrawAudit(ctx context.Context, id int64, open func(head *draw.Audit) (io.Writer, error)) error
	// DrawResults lists msisdn's entries, newest first.
	DrawResults(ctx context.Context, msisdn MSISDN, limit int) ([]DrawResult, error)
	// DrawReport counts entries per local day and draw, from and to
	// included.
	DrawReport(ctx context.Context, from, to Date) (*DrawReport, error)
}

// DrawReport is entries over time (PRODUCT.md §6 reports).
type DrawReport struct {
	From, To Date
	Days     []DrawDay     // per local day and draw, oldest first
	Draws    []DrawSummary // every draw with entries in the range
}

// DrawDay is one draw's entries on one local day.
type DrawDay struct {
	Day     Date
	DrawID  int64
	Code    string
	Entries int64
	Points  int64 // entry costs paid
}

// DrawSummary is one draw's totals in the range, and its state.
type DrawSummary struct {
	DrawID  int64
	Code    string
	Status  DrawStatus
	Entries int64
	Points  int64
	Prizes  int64 // prize copies offered
	Awarded int64 // prize copies awarded (once drawn)
}

// maxWitness bounds the witness value: a few dice or lottery numbers.
const maxWitness = 200

// CheckWitness refuses a witness value that is empty, too long, or not
// printable text: it is typed at the ceremony and printed in the minutes.
func CheckWitness(w string) error {
	if w == "" || len(w) > maxWitness {
		return Errorf(EINVALID, "witness is required, at most %d bytes", maxWitness)
	}
	for _, r := range w {
		if r < ' ' || r == 0x7f {
			return Errorf(EINVALID, "witness must be printable text")
		}
	}
	return nil
}

// Draw texts sent by SMS (transactional: never held). They are domain
// content, like tier names: the store queues them inside the transaction
// that enters or draws, so the text cannot be lost or sent twice.

// DrawReceiptSMS is the receipt an entrant gets.
func DrawReceiptSMS(d *Draw, e *DrawEntry, lang Language, loc *time.Location) OutgoingSMS {
	text := fmt.Sprintf(Localize(lang,
		"Care360: Quý khách đã tham gia %s (%s). Phiếu số %d, mã %s, %d vé. Kết quả sau %s.",
		"Care360: You entered %s (%s). Entry no. %d, receipt %s, %d tickets. Results after %s."),
		d.Title(lang), d.Code, e.ID, e.Receipt, e.Tickets, d.ClosesAt.In(loc).Format("02/01/2006"))
	return OutgoingSMS{MSISDN: e.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("draw-entry:%d", e.ID)}
}

// DrawCancelSMS tells an entrant the draw was cancelled and, if the entry
// cost anything, that the points came back. One per entry, hence per draw
// and member.
func DrawCancelSMS(d *Draw, e *DrawEntry, lang Language) OutgoingSMS {
	text := fmt.Sprintf(Localize(lang,
		"Care360: Chương trình %s (%s) đã hủy. Phiếu số %d không còn hiệu lực.",
		"Care360: The draw %s (%s) was cancelled. Entry no. %d is void."),
		d.Title(lang), d.Code, e.ID)
	if e.Cost > 0 {
		text += fmt.Sprintf(Localize(lang, " %s điểm đã được hoàn lại.", " %s points were refunded."), Number(e.Cost, lang))
	}
	return OutgoingSMS{MSISDN: e.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("draw-cancel:%d:%d", d.ID, e.ID)}
}

// DrawWinnerSMS tells a winner what they won and how to collect it.
func DrawWinnerSMS(d *Draw, w *DrawWinner, lang Language) OutgoingSMS {
	text := fmt.Sprintf(Localize(lang,
		"Chúc mừng! Quý khách trúng %s, bốc thăm %s (phiếu số %d). %s",
		"Congratulations! You won %s in the draw %s (entry no. %d). %s"),
		w.Prize.Title(lang), d.Code, w.Entry.ID, collectText(lang, w.Prize.Collect, w.Prize.CollectEn))
	return OutgoingSMS{MSISDN: w.Entry.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("draw-win:%d", w.Entry.ID)}
}

// localName picks a name staff wrote in Vietnamese with diacritics and,
// optionally, English.
func localName(lang Language, vi, en string) string {
	if en == "" {
		en = Fold(vi)
	}
	return Localize(lang, vi, en)
}

// collectText says how to collect a prize in lang: staff's text in that
// language if they wrote one (English readers get the Vietnamese folded
// rather than nothing specific), else the standard text.
func collectText(lang Language, vi, en string) string {
	switch {
	case lang == LangEn && en != "":
		return en
	case vi != "":
		return localName(lang, vi, en)
	}
	return Localize(lang, "Mang CCCD đến cửa hàng MobiFone trong 30 ngày để nhận giải. Hỏi đáp: 9090.",
		"Bring your ID card to a MobiFone store within 30 days to collect it. Help: 9090.")
}
