package care360

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Tier is a KNDL membership tier, in API spelling.
type Tier string

// Tiers from lowest to highest (PRODUCT.md §4.2).
const (
	TierDong     Tier = "dong"      // Đồng, Bronze
	TierBac      Tier = "bac"       // Bạc, Silver
	TierTitan    Tier = "titan"     // Titan
	TierVang     Tier = "vang"      // Vàng, Gold
	TierKimCuong Tier = "kim_cuong" // Kim cương, Diamond
)

// Tiers lists every tier from lowest to highest.
var Tiers = []Tier{TierDong, TierBac, TierTitan, TierVang, TierKimCuong}

// Rank is the tier's position, 0 for Đồng; -1 for an unknown tier.
func (t Tier) Rank() int {
	for i, x := range Tiers {
		if x == t {
			return i
		}
	}
	return -1
}

// Valid reports whether t is one of Tiers.
func (t Tier) Valid() bool { return t.Rank() >= 0 }

// TierRules are the *default*-able tier parameters.
type TierRules struct {
	// Thresholds[i] is the qualifying points (last 12 months) needed for Tiers[i].
	Thresholds [5]int64
	// LoyaltyYears of membership give a floor of LoyaltyFloor (10 years: Titan).
	LoyaltyYears int
	LoyaltyFloor Tier
	// GraceDays is how long a member keeps a tier the monthly review found
	// short of points: the downgrade happens only if the points are still
	// short when it runs out (15 days).
	GraceDays int
}

// DefaultTierRules are PRODUCT.md §4.2's defaults.
var DefaultTierRules = TierRules{
	Thresholds:   [5]int64{0, 2000, 5000, 10000, 20000},
	LoyaltyYears: 10,
	LoyaltyFloor: TierTitan,
	GraceDays:    15,
}

// TierFor returns the tier that qualifying points earn, before any floor.
func (r TierRules) TierFor(qualifying int64) Tier {
	t := TierDong
	for i, min := range r.Thresholds {
		if qualifying >= min {
			t = Tiers[i]
		}
	}
	return t
}

// Floor returns the lowest tier a member since memberSince may hold on day now.
func (r TierRules) Floor(memberSince, now time.Time) Tier {
	if !memberSince.IsZero() && r.LoyaltyYears > 0 && !memberSince.AddDate(r.LoyaltyYears, 0, 0).After(now) {
		return r.LoyaltyFloor
	}
	return TierDong
}

// Next returns the tier above t and the qualifying points it needs; ok is
// false at the top tier.
func (r TierRules) Next(t Tier) (next Tier, threshold int64, ok bool) {
	i := t.Rank()
	if i < 0 || i+1 >= len(Tiers) {
		return "", 0, false
	}
	return Tiers[i+1], r.Thresholds[i+1], true
}

// MaxTier returns the higher of two tiers.
func MaxTier(a, b Tier) Tier {
	if a.Rank() >= b.Rank() {
		return a
	}
	return b
}

// Language is how screens and SMS are written for a subscriber.
type Language string

// Languages (PRODUCT.md §2).
const (
	LangVi        Language = "vi"         // Vietnamese without diacritics: GSM-7, the default
	LangViUnicode Language = "vi-unicode" // Vietnamese with diacritics: UCS-2
	LangEn        Language = "en"
)

// Valid reports whether l is a known language.
func (l Language) Valid() bool { return l == LangVi || l == LangViUnicode || l == LangEn }

// Gender of a subscriber; "" is unknown.
type Gender string

// Genders.
const (
	GenderFemale  Gender = "f"
	GenderMale    Gender = "m"
	GenderUnknown Gender = ""
)

// Valid reports whether g is f, m or unknown.
func (g Gender) Valid() bool { return g == GenderFemale || g == GenderMale || g == GenderUnknown }

// Status of a subscriber's membership.
type Status string

// Statuses.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == StatusActive || s == StatusSuspended }

// Date is a calendar date with no time of day (birthdays, member-since).
type Date struct{ time.Time }

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, Errorf(EINVALID, "invalid date %q: use YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// String formats the date as YYYY-MM-DD, or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}

// Subscriber is a member of the programme.
type Subscriber struct {
	MSISDN      MSISDN
	Name        string
	Gender      Gender
	Birthday    Date
	Language    Language
	MemberSince Date
	Status      Status
	Tier        Tier // the tier held now, floors included
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// HoldUntil is when a SIM-swap hold lifts (PRODUCT.md §7); zero when
	// none is in force.
	HoldUntil time.Time
	// MarketingConsent says whether the member agrees to marketing now
	// (PRODUCT.md §7). On PutSubscriber, SetMarketing asks to change it
	// (nil: keep, and false for a new member).
	MarketingConsent bool
	SetMarketing     *bool
	// LeaveRequested is when the member sent HUY, waiting for its Y; zero
	// when no request is pending.
	LeaveRequested time.Time
}

// CheckHold refuses moving value out (giving points, claiming vouchers or
// airtime, paying points for draws and spins) while a SIM-swap hold is in
// force: the usual way to steal points is to swap the SIM, then spend.
func (s *Subscriber) CheckHold() error {
	if s.HoldUntil.IsZero() {
		return nil
	}
	return &Error{Code: EREFUSED, Reason: ReasonSIMSwapHold, Until: s.HoldUntil,
		Message: "a SIM swap holds the account until " + s.HoldUntil.UTC().Format(time.RFC3339)}
}

// Validate checks the fields a caller may set.
func (s *Subscriber) Validate() error {
	switch {
	case len(s.Name) > 200:
		return Errorf(EINVALID, "name is longer than 200 bytes")
	case !utf8.ValidString(s.Name) || strings.ContainsRune(s.Name, 0):
		// Postgres stores neither, and one such row would fail a whole import.
		return Errorf(EINVALID, "name must be UTF-8 text without NUL characters")
	case !s.Gender.Valid():
		return Errorf(EINVALID, "gender must be \"f\", \"m\" or empty")
	case !s.Language.Valid():
		return Errorf(EINVALID, "language must be \"vi\", \"vi-unicode\" or \"en\"")
	case !s.Status.Valid():
		return Errorf(EINVALID, "status must be \"active\" or \"suspended\"")
	}
	return nil
}

// SubscriberService reads and changes subscribers.
type SubscriberService interface {
	// Subscriber returns one subscriber or an ENOTFOUND error.
	Subscriber(ctx context.Context, msisdn MSISDN) (*Subscriber, error)
	// PutSubscriber creates or updates the subscriber's profile fields (not
	// its tier or points) and reports whether it was created.
	PutSubscriber(ctx context.Context, s *Subscriber) (created bool, err error)
	// Register makes a caller a member (DK, the registration screen),
	// recording the programme consent given through channel; created is
	// false if already one.
	Register(ctx context.Context, msisdn MSISDN, lang Language, channel ConsentChannel) (s *Subscriber, created bool, err error)
	// SetLanguage remembers the subscriber's language.
	SetLanguage(ctx context.Context, msisdn MSISDN, lang Language) error
}
