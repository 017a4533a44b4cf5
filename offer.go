package care360

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// OfferKind says which menu an offer belongs to.
type OfferKind string

// Kinds of offer: mConnect partner offers (menu 4) and KNDL summer resort
// offers (menu 6).
const (
	OfferMConnect OfferKind = "mconnect"
	OfferResort   OfferKind = "resort"
)

// Category is an mConnect offer category.
type Category string

// mConnect categories, in menu order (PRODUCT.md §3.3 item 4).
const (
	CategoryFood      Category = "am_thuc"   // Ẩm thực
	CategoryFun       Category = "giai_tri"  // Giải trí
	CategoryBeauty    Category = "lam_dep"   // Làm đẹp
	CategoryShopping  Category = "mua_sam"   // Mua sắm
	CategoryTravel    Category = "du_lich"   // Du lịch
	CategoryHealth    Category = "suc_khoe"  // Sức khỏe
	CategoryHotel     Category = "khach_san" // Khách sạn: booked by the night, within the monthly cap
	categoryForResort Category = ""
)

// Categories lists the mConnect categories in menu order.
var Categories = []Category{CategoryFood, CategoryFun, CategoryBeauty, CategoryShopping, CategoryTravel, CategoryHealth, CategoryHotel}

// Nightly reports whether offers of the category are booked by the night.
func (c Category) Nightly() bool { return c == CategoryHotel }

// OfferRules are the *default*-able rules of offers.
type OfferRules struct {
	MonthlyNights int // hotel and resort nights per subscriber per month, per kind (7)
	// SeasonFrom and SeasonTo are the months a resort offer without dates
	// is valid in (June–August).
	SeasonFrom, SeasonTo time.Month
	ResortTiers          []Tier // who may book resorts (Kim cương, Vàng, Titan)
}

// DefaultOfferRules are the product's defaults.
var DefaultOfferRules = OfferRules{
	MonthlyNights: 7, SeasonFrom: time.June, SeasonTo: time.August,
	ResortTiers: []Tier{TierTitan, TierVang, TierKimCuong},
}

// WithDefaults fills zero fields from DefaultOfferRules.
func (r OfferRules) WithDefaults() OfferRules {
	d := DefaultOfferRules
	if r.MonthlyNights <= 0 {
		r.MonthlyNights = d.MonthlyNights
	}
	if r.SeasonFrom == 0 || r.SeasonTo == 0 {
		r.SeasonFrom, r.SeasonTo = d.SeasonFrom, d.SeasonTo
	}
	if len(r.ResortTiers) == 0 {
		r.ResortTiers = d.ResortTiers
	}
	return r
}

// Season returns the default season of a resort offer created at t: from
// the first day of SeasonFrom to the end of SeasonTo, this year or, once it
// is over, next year.
func (r OfferRules) Season(t time.Time, loc *time.Location) (from, until time.Time) {
	l := t.In(loc)
	for y := l.Year(); ; y++ {
		from = time.Date(y, r.SeasonFrom, 1, 0, 0, 0, 0, loc)
		until = time.Date(y, r.SeasonTo+1, 1, 0, 0, 0, 0, loc)
		if until.After(t) {
			return from, until
		}
	}
}

// Offer is an mConnect partner offer or a summer resort offer.
type Offer struct {
	ID       int64
	Kind     OfferKind
	Category Category // mConnect only
	Partner  string
	Title    string // Vietnamese with diacritics
	TitleEn  string // English; empty: the folded Vietnamese
	Tiers    []Tier // eligible tiers; empty: every tier (resorts: the resort tiers)
	// Code is the partner's promotion code (mConnect offers that are not
	// booked by the night). Each member who takes the offer gets it with a
	// suffix of their own ("MC4P20-7KQ3MX2ABC"), which the partner redeems
	// once; nightly bookings get a booking code of their own.
	Code       string
	Price      int64  // VND per room per night (resorts, hotels)
	CardPrice  int64  // VND when paid with the partner bank's card; 0: none
	CardName   string // which card, e.g. "TienPhong Bank Visa"
	ValidFrom  time.Time
	ValidUntil time.Time
	Active     bool
	CreatedAt  time.Time
	// RequestHash is the Fingerprint of the API request that created it,
	// kept with its idempotency key: the same key sent with another request
	// is ECONFLICT. Nil (the system's own, or no key) is never compared.
	RequestHash []byte
}

// Name is the offer's title in lang.
func (o *Offer) Name(lang Language) string {
	en := o.TitleEn
	if en == "" {
		en = Fold(o.Title)
	}
	return Localize(lang, o.Title, en)
}

// Nightly reports whether the offer is booked by the night.
func (o *Offer) Nightly() bool { return o.Kind == OfferResort || o.Category.Nightly() }

// Validate checks an offer as staff define it.
func (o *Offer) Validate() error {
	switch {
	case o.Kind != OfferMConnect && o.Kind != OfferResort:
		return Errorf(EINVALID, "kind must be mconnect or resort")
	case o.Kind == OfferMConnect && !slices.Contains(Categories, o.Category):
		return Errorf(EINVALID, "category must be one of %s", categoryList())
	case o.Kind == OfferResort && o.Category != categoryForResort:
		return Errorf(EINVALID, "resort offers have no category")
	case strings.TrimSpace(o.Title) == "" || len(o.Title) > 200 || len(o.TitleEn) > 200 || len(o.Partner) > 200:
		return Errorf(EINVALID, "title is required, at most 200 bytes (title_en and partner too)")
	case !o.Nightly() && !ValidCode(o.Code):
		return Errorf(EINVALID, "code is required: 4 to 64 printable characters without spaces")
	case o.Nightly() && (o.Price <= 0 || o.CardPrice < 0 || o.CardPrice > o.Price):
		return Errorf(EINVALID, "nightly offers need a positive price; card_price between 0 and price")
	case o.CardPrice > 0 && strings.TrimSpace(o.CardName) == "":
		return Errorf(EINVALID, "card_name says which card gets card_price")
	case o.ValidFrom.IsZero() || !o.ValidUntil.After(o.ValidFrom):
		return Errorf(EINVALID, "valid_until must be after valid_from")
	}
	for _, t := range o.Tiers {
		if !t.Valid() {
			return Errorf(EINVALID, "unknown tier %q", t)
		}
	}
	return nil
}

func categoryList() string {
	return strings.Join(strs(Categories), ", ")
}

func strs[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// Eligible applies the rules that need only the offer and the subscriber.
func (o *Offer) Eligible(s *Subscriber, now time.Time) error {
	switch {
	case s.Status != StatusActive:
		return Refused(ReasonSuspended, "membership is suspended")
	case len(o.Tiers) > 0 && !slices.Contains(o.Tiers, s.Tier):
		return Refused(ReasonTier, "offer %d is not for tier %s", o.ID, s.Tier)
	case !o.Active || now.Before(o.ValidFrom) || !now.Before(o.ValidUntil):
		return Refused(ReasonWindow, "offer %d is not valid now", o.ID)
	}
	return nil
}

// OfferFilter selects offers.
type OfferFilter struct {
	Kind     OfferKind // "" for every kind
	Category Category  // "" for every category
}

// OfferUpdate changes an offer; nil fields stay as they are. The kind
// stays: it is the menu the offer belongs to.
type OfferUpdate struct {
	Category              *Category
	Partner               *string
	Title, TitleEn        *string
	Tiers                 *[]Tier
	Code                  *string
	Price, CardPrice      *int64
	CardName              *string
	ValidFrom, ValidUntil *time.Time
	Active                *bool
}

// Apply changes o as u says.
func (u OfferUpdate) Apply(o *Offer) {
	set(&o.Category, u.Category)
	set(&o.Partner, u.Partner)
	set(&o.Title, u.Title)
	set(&o.TitleEn, u.TitleEn)
	set(&o.Tiers, u.Tiers)
	set(&o.Code, u.Code)
	set(&o.Price, u.Price)
	set(&o.CardPrice, u.CardPrice)
	set(&o.CardName, u.CardName)
	set(&o.ValidFrom, u.ValidFrom)
	set(&o.ValidUntil, u.ValidUntil)
	set(&o.Active, u.Active)
}

// Booking is one take of an offer: a code sent, or nights booked.
type Booking struct {
	ID        int64
	OfferID   int64
	MSISDN    MSISDN
	Nights    int // 0 for a code-only offer
	Code      string
	CreatedAt time.Time
	Offer     *Offer
}

// BookingSMS is the transactional SMS with the code.
func (b *Booking) BookingSMS(lang Language) OutgoingSMS {
	o := b.Offer
	var text string
	if b.Nights == 0 {
		text = Localize(lang,
			fmt.Sprintf("Ưu đãi mConnect %s: mã %s. Xuất trình mã tại %s.", o.Name(lang), b.Code, o.Partner),
			fmt.Sprintf("mConnect offer %s: code %s. Show it at %s.", o.Name(lang), b.Code, o.Partner))
	} else {
		price := Localize(lang,
			fmt.Sprintf("%s VND/phòng/đêm", Number(o.Price, lang)),
			fmt.Sprintf("%s VND/room/night", Number(o.Price, lang)))
		if o.CardPrice > 0 {
			price += Localize(lang,
				fmt.Sprintf(", %s VND khi thanh toán bằng thẻ %s", Number(o.CardPrice, lang), o.CardName),
				fmt.Sprintf(", %s VND paying with %s", Number(o.CardPrice, lang), o.CardName))
		}
		text = Localize(lang,
			fmt.Sprintf("Mã đặt phòng %s: %s, %d đêm, %s.", o.Name(lang), b.Code, b.Nights, price),
			fmt.Sprintf("Booking code for %s: %s, %d nights, %s.", o.Name(lang), b.Code, b.Nights, price))
	}
	return OutgoingSMS{MSISDN: b.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("booking:%d", b.ID)}
}

// BookRequest takes an offer: nights for nightly offers, else 0.
type BookRequest struct {
	MSISDN         MSISDN
	OfferID        int64
	Nights         int
	IdempotencyKey string
}

// OfferService keeps offers and their bookings.
type OfferService interface {
	// CreateOffer stores an offer (a resort offer without dates gets the
	// season); a repeated idempotency key returns the first.
	CreateOffer(ctx context.Context, o *Offer, idempotencyKey string) (created *Offer, replay bool, err error)
	Offers(ctx context.Context, f OfferFilter) ([]Offer, error)
	Offer(ctx context.Context, id int64) (*Offer, error)
	// UpdateOffer changes an offer and checks the result as CreateOffer
	// does; an inactive offer leaves the menus and takes no bookings.
	UpdateOffer(ctx context.Context, id int64, u OfferUpdate) (*Offer, error)
	// AvailableOffers lists what msisdn may take now: eligible, in window.
	// For resorts, a tier outside ResortTiers is refused (tier), and no
	// offer in season is refused (window).
	AvailableOffers(ctx context.Context, msisdn MSISDN, f OfferFilter) ([]Offer, error)
	// Book sends an offer's code or books nights within the monthly cap
	// (limit_reached), the SMS committed with it.
	Book(ctx context.Context, r BookRequest) (b *Booking, replay bool, err error)
}
