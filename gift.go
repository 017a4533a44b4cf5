package care360

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// GiftKind says what a gift is and how it reaches the subscriber.
type GiftKind string

// Kinds of gift (PRODUCT.md §4.3). Vouchers draw a code from the gift's
// pool; airtime and data are provisioned over the operator's HTTP interface;
// partner offers and physical gifts get a confirmation code.
const (
	GiftVoucher  GiftKind = "voucher"
	GiftAirtime  GiftKind = "airtime"
	GiftData     GiftKind = "data"
	GiftPartner  GiftKind = "partner"
	GiftPhysical GiftKind = "physical"
)

// Valid reports whether k is a known kind.
func (k GiftKind) Valid() bool {
	return k == GiftVoucher || k == GiftAirtime || k == GiftData || k == GiftPartner || k == GiftPhysical
}

// Provisioned reports whether the gift is fulfilled by the operator's
// provisioning interface.
func (k GiftKind) Provisioned() bool { return k == GiftAirtime || k == GiftData }

// Occasion marks a free campaign gift; "" is a catalogue item bought with
// points.
type Occasion string

// Occasions of campaign gifts (PRODUCT.md §4.3).
const (
	OccasionNone     Occasion = ""           // redemption catalogue
	OccasionBirthday Occasion = "birthday"   // Titan and above, once a year in the birthday month
	OccasionWomen    Occasion = "womens_day" // female subscribers, 8 March and 20 October
	OccasionTet      Occasion = "tet"        // in the window staff set (Tết follows the lunar calendar)
	OccasionSegment  Occasion = "segment"    // any segment staff choose
)

// Valid reports whether o is a known occasion.
func (o Occasion) Valid() bool {
	return o == OccasionNone || o == OccasionBirthday || o == OccasionWomen || o == OccasionTet || o == OccasionSegment
}

// Refusal reasons of gifts and gifts of points, beside those in errors.go.
const (
	// ReasonNotEligible refuses a gift meant for another segment (gender,
	// list, birthday month): the subscriber is not among those it is for.
	ReasonNotEligible = "not_eligible"
	// ReasonNotMember refuses giving points to a number that is not a member.
	ReasonNotMember = "not_member"
)

// Gift is a catalogue item or a free campaign gift.
type Gift struct {
	ID       int64
	Name     string // Vietnamese with diacritics
	NameEn   string // English; empty: the folded Vietnamese
	Kind     GiftKind
	Occasion Occasion
	Cost     int64  // points; 0 for campaign gifts
	Tiers    []Tier // eligible tiers; empty: every tier
	// Segment narrows a campaign gift further (gender, birthday month, a
	// list); women's-day gifts are for female subscribers whatever it says.
	Segment Segment
	Stock   int64 // left to give; a voucher's stock is its unclaimed codes
	// Limit is how many times one subscriber may claim it: over its life,
	// or per year for a birthday gift.
	Limit      int
	ValidFrom  time.Time // claimable from (inclusive)
	ValidUntil time.Time // until (exclusive)
	Active     bool
	Value      int64 // airtime in VND or data in MB, for provisioning
	// ProvisionEndpoint names the configured Endpoint that fulfils an
	// airtime or data gift (PRODUCT.md §9): staff pick a name, never a URL.
	ProvisionEndpoint string
	// Partner names the partner that honours a voucher's codes, spelt as
	// its partner staff accounts spell it; "" for none.
	Partner   string
	Claimed   int64 // claims so far
	CreatedAt time.Time
	UpdatedAt time.Time
	// RequestHash is the Fingerprint of the API request that created it,
	// kept with its idempotency key: the same key sent with another request
	// is ECONFLICT. Nil (the system's own, or no key) is never compared.
	RequestHash []byte
}

// Campaign reports whether the gift is a free campaign gift.
func (g *Gift) Campaign() bool { return g.Occasion != OccasionNone }

// Title is the gift's name in lang.
func (g *Gift) Title(lang Language) string {
	en := g.NameEn
	if en == "" {
		en = Fold(g.Name)
	}
	return Localize(lang, g.Name, en)
}

// MaxGiftLimit bounds the per-subscriber limit of a gift.
const MaxGiftLimit = 1000

// Validate checks a gift as staff define it.
func (g *Gift) Validate() error {
	switch {
	case strings.TrimSpace(g.Name) == "" || len(g.Name) > 200 || len(g.NameEn) > 200:
		return Errorf(EINVALID, "name is required, at most 200 bytes (name_en too)")
	case !g.Kind.Valid():
		return Errorf(EINVALID, "kind must be voucher, airtime, data, partner or physical")
	case !g.Occasion.Valid():
		return Errorf(EINVALID, "occasion must be empty, birthday, womens_day, tet or segment")
	case g.Campaign() && g.Cost != 0:
		return Errorf(EINVALID, "campaign gifts are free: cost must be 0")
	case !g.Campaign() && (g.Cost <= 0 || g.Cost > MaxPointsChange):
		return Errorf(EINVALID, "cost must be 1 to %d points", MaxPointsChange)
	case g.Stock < 0:
		return Errorf(EINVALID, "stock must not be negative")
	case g.Limit < 1 || g.Limit > MaxGiftLimit:
		return Errorf(EINVALID, "limit must be 1 to %d claims per subscriber", MaxGiftLimit)
	case g.ValidFrom.IsZero() || g.ValidUntil.IsZero() || !g.ValidUntil.After(g.ValidFrom):
		return Errorf(EINVALID, "valid_from and valid_until are required, valid_until after valid_from")
	case g.Kind.Provisioned() && (g.Value <= 0 || g.ProvisionEndpoint == "" || len(g.ProvisionEndpoint) > 64):
		return Errorf(EINVALID, "airtime and data gifts need a positive value and a provision_endpoint (the name of a configured endpoint)")
	case !g.Kind.Provisioned() && (g.Value != 0 || g.ProvisionEndpoint != ""):
		return Errorf(EINVALID, "value and provision_endpoint are for airtime and data gifts only")
	case len(g.Partner) > 200 || strings.TrimSpace(g.Partner) != g.Partner:
		return Errorf(EINVALID, "partner is at most 200 bytes, without surrounding spaces")
	case g.Partner != "" && g.Kind != GiftVoucher:
		// Only a voucher's codes come from the partner, which checks them.
		return Errorf(EINVALID, "partner is for vouchers: the partner that honours their codes")
	case g.Occasion == OccasionTet && g.ValidUntil.Sub(g.ValidFrom) > 62*24*time.Hour:
		return Errorf(EINVALID, "a Tết window is at most two months")
	}
	for _, t := range g.Tiers {
		if !t.Valid() {
			return Errorf(EINVALID, "unknown tier %q", t)
		}
	}
	if !g.Segment.Gender.Valid() || g.Segment.BirthdayMonth < 0 || g.Segment.BirthdayMonth > 12 {
		return Errorf(EINVALID, "segment: gender must be f, m or empty; birthday_month 1 to 12")
	}
	if !g.Campaign() && !g.Segment.Empty() {
		return Errorf(EINVALID, "a segment is for campaign gifts only")
	}
	return nil
}

// WithDefaults fills what an occasion implies: a birthday gift is for Titan
// and above, a women's-day gift for female subscribers.
func (g *Gift) WithDefaults() {
	if g.Occasion == OccasionBirthday && len(g.Tiers) == 0 {
		g.Tiers = []Tier{TierTitan, TierVang, TierKimCuong}
	}
	if g.Occasion == OccasionWomen {
		g.Segment.Gender = GenderFemale
	}
	if g.Limit == 0 {
		g.Limit = 1
	}
}

// Period is the claim period a claim at now falls in: the local year for a
// birthday gift (once a year), else 0 (the gift's whole life).
func (g *Gift) Period(now time.Time, loc *time.Location) int {
	if g.Occasion == OccasionBirthday {
		return now.In(loc).Year()
	}
	return 0
}

// Eligible applies the rules that need only the gift and the subscriber:
// active, window, tier, segment. Stock, limit and points need data and are
// the store's.
func (g *Gift) Eligible(s *Subscriber, now time.Time, loc *time.Location) error {
	switch {
	case s.Status != StatusActive:
		return Refused(ReasonSuspended, "membership is suspended")
	case !g.Active || now.Before(g.ValidFrom) || !now.Before(g.ValidUntil):
		return Refused(ReasonWindow, "gift %d is not claimable now", g.ID)
	case len(g.Tiers) > 0 && !slices.Contains(g.Tiers, s.Tier):
		return Refused(ReasonTier, "gift %d is not for tier %s", g.ID, s.Tier)
	}
	if g.Occasion == OccasionBirthday && (s.Birthday.IsZero() || s.Birthday.Month() != now.In(loc).Month()) {
		return Refused(ReasonWindow, "a birthday gift is claimable in the birthday month")
	}
	seg := g.Segment
	switch {
	case seg.Gender != "" && s.Gender != seg.Gender,
		seg.BirthdayMonth != 0 && (s.Birthday.IsZero() || int(s.Birthday.Month()) != seg.BirthdayMonth),
		len(seg.MSISDNs) > 0 && !slices.Contains(seg.MSISDNs, s.MSISDN),
		len(seg.Tiers) > 0 && !slices.Contains(seg.Tiers, s.Tier):
		return Refused(ReasonNotEligible, "gift %d is for another segment", g.ID)
	}
	return nil
}

// GiftFilter selects gifts for staff.
type GiftFilter struct {
	Campaign *bool // true: campaign gifts only; false: catalogue only
	Active   *bool
}

// GiftUpdate changes a gift; nil fields stay as they are. Stock is set for
// gifts without a code pool (a voucher's stock follows its codes).
type GiftUpdate struct {
	Name, NameEn          *string
	Cost                  *int64
	Tiers                 *[]Tier
	Stock                 *int64
	Limit                 *int
	ValidFrom, ValidUntil *time.Time
	Active                *bool
	Value                 *int64
	ProvisionEndpoint     *string
	Partner               *string
}

// Apply changes g as u says.
func (u GiftUpdate) Apply(g *Gift) {
	set(&g.Name, u.Name)
	set(&g.NameEn, u.NameEn)
	set(&g.Cost, u.Cost)
	set(&g.Tiers, u.Tiers)
	set(&g.Stock, u.Stock)
	set(&g.Limit, u.Limit)
	set(&g.ValidFrom, u.ValidFrom)
	set(&g.ValidUntil, u.ValidUntil)
	set(&g.Active, u.Active)
	set(&g.Value, u.Value)
	set(&g.ProvisionEndpoint, u.ProvisionEndpoint)
	set(&g.Partner, u.Partner)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// CodeResult is what a code-pool upload did with one row.
type CodeResult struct {
	Row    int // 1-based data row (the header is row 0)
	Code   string
	Result string // accepted, duplicate, rejected
	Reason string // why it was rejected
}

// Results of a code upload row.
const (
	CodeAccepted  = "accepted"
	CodeDuplicate = "duplicate"
	CodeRejected  = "rejected"
)

// ValidCode reports whether a voucher code is acceptable: 4–64 printable
// ASCII characters without spaces, so it survives GSM-7 and a partner's till.
func ValidCode(c string) bool {
	if len(c) < 4 || len(c) > 64 {
		return false
	}
	for _, r := range c {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// ClaimStatus is where a claim is.
type ClaimStatus string

// Claim states: most are done at once; a provisioned gift is pending until
// the operator answers, and failed (points refunded) if it finally refuses.
const (
	ClaimDone    ClaimStatus = "done"
	ClaimPending ClaimStatus = "pending"
	ClaimFailed  ClaimStatus = "failed"
)

// ClaimRequest asks for one gift for one subscriber. The idempotency key
// makes a retried request harmless: one claim per key.
type ClaimRequest struct {
	MSISDN         MSISDN
	GiftID         int64
	IdempotencyKey string
}

// Claim is one gift given to one subscriber.
type Claim struct {
	ID        int64
	GiftID    int64
	MSISDN    MSISDN
	Points    int64  // points spent
	Code      string // voucher code or confirmation code
	Status    ClaimStatus
	CreatedAt time.Time
	Gift      *Gift // filled in by ClaimGift; its Stock says only whether any was left (1 or 0)
}

// ClaimSMS is the transactional SMS that tells the subscriber what they got.
func (c *Claim) ClaimSMS(lang Language) OutgoingSMS {
	g := c.Gift
	var text string
	switch {
	case g.Kind.Provisioned():
		text = Localize(lang,
			fmt.Sprintf("Quý khách đã đổi quà %s. Quà sẽ được nạp vào thuê bao trong ít phút. Mã giao dịch: %s.", g.Title(lang), c.Code),
			fmt.Sprintf("You claimed %s. It will be added to your line within minutes. Reference: %s.", g.Title(lang), c.Code))
	case g.Kind == GiftVoucher:
		text = Localize(lang,
			fmt.Sprintf("Quý khách đã nhận quà %s. Mã voucher: %s. Hạn dùng theo điều kiện của đối tác.", g.Title(lang), c.Code),
			fmt.Sprintf("You received %s. Voucher code: %s. Valid on the partner's terms.", g.Title(lang), c.Code))
	default:
		text = Localize(lang,
			fmt.Sprintf("Quý khách đã nhận quà %s. Mã xác nhận: %s. MobiFone sẽ liên hệ để trao quà.", g.Title(lang), c.Code),
			fmt.Sprintf("You received %s. Confirmation code: %s. MobiFone will contact you to deliver it.", g.Title(lang), c.Code))
	}
	return OutgoingSMS{MSISDN: c.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("claim:%d", c.ID)}
}

// RefundSMS tells the subscriber a provisioned gift failed and the points
// came back.
func (c *Claim) RefundSMS(lang Language) OutgoingSMS {
	g := c.Gift
	text := Localize(lang,
		fmt.Sprintf("Rất tiếc, quà %s (mã %s) chưa nạp được. %d điểm đã được hoàn lại.", g.Title(lang), c.Code, c.Points),
		fmt.Sprintf("Sorry, %s (reference %s) could not be added. %d points were refunded.", g.Title(lang), c.Code, c.Points))
	if c.Points == 0 {
		text = Localize(lang,
			fmt.Sprintf("Rất tiếc, quà %s (mã %s) chưa nạp được. Vui lòng liên hệ 9090.", g.Title(lang), c.Code),
			fmt.Sprintf("Sorry, %s (reference %s) could not be added. Please call 9090.", g.Title(lang), c.Code))
	}
	return OutgoingSMS{MSISDN: c.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("claim:%d:refund", c.ID)}
}

// AnnounceText is the marketing text announcing a campaign gift (the
// campaign adds [QC] and the refusal line); {name} is the member's name.
func (g *Gift) AnnounceText(ussdCode string) (vi, en string) {
	return fmt.Sprintf("MobiFone Care360 gửi {name} quà %s. Bấm %s chọn Quà tặng để nhận.", g.Name, ussdCode),
		fmt.Sprintf("MobiFone Care360 has a gift for {name}: %s. Dial %s, Gifts, to claim it.", g.Title(LangEn), ussdCode)
}

// GiftService is the catalogue and the claims.
type GiftService interface {
	// CreateGift stores a new gift; a repeated idempotency key (optional)
	// returns the first gift with replay=true.
	CreateGift(ctx context.Context, g *Gift, idempotencyKey string) (created *Gift, replay bool, err error)
	Gift(ctx context.Context, id int64) (*Gift, error)
	Gifts(ctx context.Context, f GiftFilter) ([]Gift, error)
	UpdateGift(ctx context.Context, id int64, u GiftUpdate) (*Gift, error)
	// AddCodes adds voucher codes to a gift's pool (and to its stock) and
	// reports on every row; codes already in the pool are duplicates.
	AddCodes(ctx context.Context, giftID int64, codes []string) ([]CodeResult, error)
	// ClaimableGifts lists what msisdn may pick now in menu 2 (and QUA):
	// campaign gifts it can claim, then the catalogue for its tier. Their
	// Stock says only whether any is left (1 or 0).
	ClaimableGifts(ctx context.Context, msisdn MSISDN) ([]Gift, error)
	// ClaimGift gives one gift exactly once: points, stock, code, limit and
	// the SMS in one transaction. A repeated key returns the first claim
	// with replay=true. Refusals: insufficient_points, out_of_stock,
	// limit_reached, tier, window, not_eligible, suspended.
	ClaimGift(ctx context.Context, r ClaimRequest) (c *Claim, replay bool, err error)
}

// GiftLister is what the QUA keyword needs: the gifts claimable now.
type GiftLister interface {
	ClaimableGifts(ctx context.Context, msisdn MSISDN) ([]Gift, error)
}

// GiftAnnouncer announces newly claimable campaign gifts by marketing SMS;
// a scheduler calls it daily, and running it twice (or on two instances)
// announces nothing twice.
type GiftAnnouncer interface {
	AnnounceGifts(ctx context.Context) (campaigns int, err error)
}
