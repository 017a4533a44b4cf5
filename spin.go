package care360

import (
	"context"
	"fmt"
	"time"
)

// SpinTable is a lucky-spin prize table (quay số may mắn, PRODUCT.md §4.5):
// each prize has a weight and an inventory, and the "no prize" slot a
// weight of its own. A spin lands on a slot with probability weight /
// TotalWeight. A prize that has run out is never awarded: a spin landing
// on it wins nothing, so its probability goes to "no prize", as the
// published table says.
type SpinTable struct {
	ID            int64
	Code          string
	Name          string
	NameEn        string
	CostPoints    int64 // per spin when no free spin is left; 0: free
	DailyCap      int   // spins per subscriber per local day
	NoPrizeWeight int64
	Prizes        []SpinPrize
	StartsAt      time.Time
	EndsAt        time.Time
	// Active is false when staff have taken the table off the menus: it
	// takes no spins until they put it back.
	Active    bool
	CreatedAt time.Time
	// RequestHash is the Fingerprint of the API request that created it,
	// kept with its idempotency key: the same key sent with another request
	// is ECONFLICT. Nil (the system's own, or no key) is never compared.
	RequestHash []byte
}

// SpinPrize is one slot of a table with a prize behind it.
type SpinPrize struct {
	ID        int64
	Slot      int // 1.. in the order given
	Name      string
	NameEn    string
	Weight    int64
	Inventory int64 // as stocked
	Remaining int64 // left to award; never below zero
	Collect   string
	CollectEn string
}

// Spin limits.
const (
	maxSpinPrizes = 50
	maxSpinWeight = 1_000_000_000
	maxSpinCap    = 1000
	maxInventory  = 100_000_000
)

// Validate checks a table staff create.
func (t *SpinTable) Validate() error {
	if err := checkCodeAndName(t.Code, t.Name, t.NameEn); err != nil {
		return err
	}
	switch {
	case t.StartsAt.IsZero() || t.EndsAt.IsZero() || !t.EndsAt.After(t.StartsAt):
		return Errorf(EINVALID, "ends_at must come after starts_at")
	case t.CostPoints < 0 || t.CostPoints > MaxPointsChange:
		return Errorf(EINVALID, "cost_points must be from 0 to %d", MaxPointsChange)
	case t.DailyCap < 1 || t.DailyCap > maxSpinCap:
		return Errorf(EINVALID, "daily_cap must be from 1 to %d", maxSpinCap)
	case t.NoPrizeWeight < 0 || t.NoPrizeWeight > maxSpinWeight:
		return Errorf(EINVALID, "no_prize_weight must be from 0 to %d", maxSpinWeight)
	case len(t.Prizes) == 0 || len(t.Prizes) > maxSpinPrizes:
		return Errorf(EINVALID, "a table has 1 to %d prizes", maxSpinPrizes)
	}
	for i, p := range t.Prizes {
		switch {
		case p.Name == "" || len(p.Name) > maxDrawNameByte || len(p.NameEn) > maxDrawNameByte:
			return Errorf(EINVALID, "prize %d: name is required, at most %d bytes", i+1, maxDrawNameByte)
		case p.Weight < 1 || p.Weight > maxSpinWeight:
			return Errorf(EINVALID, "prize %d: weight must be from 1 to %d", i+1, maxSpinWeight)
		case p.Inventory < 0 || p.Inventory > maxInventory:
			return Errorf(EINVALID, "prize %d: inventory must be from 0 to %d", i+1, maxInventory)
		case len(p.Collect) > 300 || len(p.CollectEn) > 300:
			return Errorf(EINVALID, "prize %d: collect texts are at most 300 bytes", i+1)
		}
	}
	return nil
}

// Title is the table's name in lang.
func (t *SpinTable) Title(lang Language) string { return localName(lang, t.Name, t.NameEn) }

// Title is the prize's name in lang.
func (p *SpinPrize) Title(lang Language) string { return localName(lang, p.Name, p.NameEn) }

// TotalWeight is the sum of every slot's weight, "no prize" included.
func (t *SpinTable) TotalWeight() int64 {
	w := t.NoPrizeWeight
	for _, p := range t.Prizes {
		w += p.Weight
	}
	return w
}

// Slot maps a number r in [0, TotalWeight) to the prize whose slot it
// falls in, or nil for "no prize" (the last slot). Stock is not looked at:
// the store decides, in the spin's transaction, whether a prize is left.
func (t *SpinTable) Slot(r int64) *SpinPrize {
	for i := range t.Prizes {
		if r < t.Prizes[i].Weight {
			return &t.Prizes[i]
		}
		r -= t.Prizes[i].Weight
	}
	return nil
}

// ActiveAt reports whether the table takes spins at now.
func (t *SpinTable) ActiveAt(now time.Time) bool {
	return t.Active && !now.Before(t.StartsAt) && now.Before(t.EndsAt)
}

// SpinTableUpdate changes a table; nil fields stay as they are. The code
// and the prizes stay: spins already made name them, and the stock is
// counted against them (a new prize table is a new table).
type SpinTableUpdate struct {
	Name, NameEn     *string
	CostPoints       *int64
	DailyCap         *int
	NoPrizeWeight    *int64
	StartsAt, EndsAt *time.Time
	Active           *bool
}

// Apply changes t as u says.
func (u SpinTableUpdate) Apply(t *SpinTable) {
	set(&t.Name, u.Name)
	set(&t.NameEn, u.NameEn)
	set(&t.CostPoints, u.CostPoints)
	set(&t.DailyCap, u.DailyCap)
	set(&t.NoPrizeWeight, u.NoPrizeWeight)
	set(&t.StartsAt, u.StartsAt)
	set(&t.EndsAt, u.EndsAt)
	set(&t.Active, u.Active)
}

// SpinGrant gives a subscriber free spins on a table (campaigns do).
type SpinGrant struct {
	MSISDN         MSISDN
	Spins          int
	Reason         string
	IdempotencyKey string
	ExpiresAt      time.Time
}

// GrantResult is what GrantSpins did with one grant.
type GrantResult string

// Results of a grant: new, a repeat of a key already seen, refused
// because the number is not a member, or refused because its key was used
// for another grant of the member.
const (
	GrantAccepted  GrantResult = "accepted"
	GrantDuplicate GrantResult = "duplicate"
	GrantRejected  GrantResult = "rejected"
	GrantConflict  GrantResult = "conflict"
)

// maxGrantSpins bounds the free spins of one grant.
const maxGrantSpins = 1000

// Validate checks a grant before it reaches the store.
func (g SpinGrant) Validate() error {
	switch {
	case g.MSISDN == "":
		return Errorf(EINVALID, "msisdn is required")
	case g.Spins < 1 || g.Spins > maxGrantSpins:
		return Errorf(EINVALID, "spins must be from 1 to %d", maxGrantSpins)
	case g.Reason == "" || len(g.Reason) > 500:
		return Errorf(EINVALID, "reason is required, at most 500 bytes")
	case g.IdempotencyKey == "" || len(g.IdempotencyKey) > 200:
		return Errorf(EINVALID, "idempotency_key is required, at most 200 bytes")
	}
	return nil
}

// SpinResult is one spin's outcome.
type SpinResult struct {
	ID    int64
	Table SpinTable  // Prizes left out
	Prize *SpinPrize // nil: no prize
	// OutOfStock is set when the number landed on a prize that had run
	// out: the spin won nothing, as published.
	OutOfStock bool
	Free       bool  // a free spin was used
	Points     int64 // points paid
	SpunAt     time.Time
}

// SpinOffer is a table as one subscriber sees it before spinning.
type SpinOffer struct {
	Table      SpinTable
	FreeSpins  int   // unexpired free spins left
	SpunToday  int   // spins today, against the daily cap
	Spendable  int64 // points
	CostPoints int64 // what the next spin costs: 0 when a free spin is used
}

// SpinService runs the lucky spins.
type SpinService interface {
	// CreateSpinTable stocks a table; a repeated idempotency key returns
	// the original and replay=true.
	CreateSpinTable(ctx context.Context, t *SpinTable, idempotencyKey string) (replay bool, err error)
	// SpinTables lists tables with their remaining stock, newest first;
	// activeOnly keeps those taking spins now.
	SpinTables(ctx context.Context, activeOnly bool) ([]SpinTable, error)
	// UpdateSpinTable changes a table and checks the result as
	// CreateSpinTable does.
	UpdateSpinTable(ctx context.Context, id int64, u SpinTableUpdate) (*SpinTable, error)
	// GrantSpins gives free spins; each grant's key makes a retry harmless.
	// It reports what became of each grant, in order.
	GrantSpins(ctx context.Context, tableID int64, grants []SpinGrant) ([]GrantResult, error)
	// SpinOffer is what msisdn's next spin on the table would cost.
	SpinOffer(ctx context.Context, tableID int64, msisdn MSISDN) (*SpinOffer, error)
	// Spin spins once with crypto/rand: it uses a free spin or deducts the
	// cost, takes the prize from stock and queues the result SMS, all in
	// one transaction. Refused: window, limit_reached (daily cap),
	// insufficient_points, suspended.
	// A key (optional, at most 200 bytes) already used by msisdn returns
	// that spin again: a retried step spins once.
	Spin(ctx context.Context, tableID int64, msisdn MSISDN, key string) (*SpinResult, error)
	// SpinResults lists msisdn's spins, newest first.
	SpinResults(ctx context.Context, msisdn MSISDN, limit int) ([]SpinResult, error)
	// SpinReport counts spins and prizes per local day and table, from
	// and to included, with every prize's stock.
	SpinReport(ctx context.Context, from, to Date) (*SpinReport, error)
}

// SpinReport is spins and prizes awarded over time, and what is left.
type SpinReport struct {
	From, To Date
	Days     []SpinDay   // per local day and table, oldest first
	Stock    []SpinStock // every prize of every table
}

// SpinDay is one table's spins on one local day.
type SpinDay struct {
	Day     Date
	TableID int64
	Code    string
	Spins   int64
	Free    int64 // spins that used a free spin
	Points  int64 // points paid
	Prizes  int64 // prizes awarded
}

// SpinStock is one prize's stock, and how many were awarded in the range.
type SpinStock struct {
	TableID   int64
	Code      string
	PrizeID   int64
	Name      string
	Inventory int64
	Remaining int64
	Awarded   int64
}

// SpinResultSMS tells the subscriber what the spin gave.
func SpinResultSMS(r *SpinResult, msisdn MSISDN, lang Language) OutgoingSMS {
	var text string
	if r.Prize != nil {
		text = fmt.Sprintf(Localize(lang, "Chúc mừng! Quý khách quay trúng %s (%s). %s", "Congratulations! Your spin on %[2]s won %[1]s. %[3]s"),
			r.Prize.Title(lang), r.Table.Code, collectText(lang, r.Prize.Collect, r.Prize.CollectEn))
	} else {
		text = fmt.Sprintf(Localize(lang, "Care360: Lượt quay %s lần này chưa trúng thưởng. Chúc quý khách may mắn lần sau!",
			"Care360: No prize on your %s spin this time. Better luck next time!"), r.Table.Code)
	}
	return OutgoingSMS{MSISDN: msisdn, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("spin:%d", r.ID)}
}
