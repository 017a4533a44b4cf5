package care360

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// Privilege is a VIP privilege with Vietnam Airlines (menu 5).
type Privilege string

// VIP privileges (PRODUCT.md §3.3 item 5): the airline's Gold passengers'
// treatment, one e-code per flight.
const (
	PrivilegePriority Privilege = "priority" // priority check-in
	PrivilegeLounge   Privilege = "lounge"   // business lounge
	PrivilegeBooking  Privilege = "booking"  // priority booking (seat held on a full flight, waitlist first)
	PrivilegeBaggage  Privilege = "baggage"  // extra baggage allowance
)

// Privileges lists them in menu order. The two first keep the numbers
// they had before booking and baggage joined.
var Privileges = []Privilege{PrivilegePriority, PrivilegeLounge, PrivilegeBooking, PrivilegeBaggage}

// Valid reports whether p is a known privilege.
func (p Privilege) Valid() bool {
	switch p {
	case PrivilegePriority, PrivilegeLounge, PrivilegeBooking, PrivilegeBaggage:
		return true
	}
	return false
}

// Name is the privilege as subscribers read it.
func (p Privilege) Name(lang Language) string {
	switch p {
	case PrivilegeLounge:
		return Localize(lang, "Phòng chờ thương gia Vietnam Airlines", "Vietnam Airlines business lounge")
	case PrivilegeBooking:
		return Localize(lang, "Ưu tiên đặt chỗ Vietnam Airlines", "Vietnam Airlines priority booking")
	case PrivilegeBaggage:
		return Localize(lang, "Thêm hành lý ký gửi Vietnam Airlines", "Vietnam Airlines extra baggage allowance")
	}
	return Localize(lang, "Ưu tiên check-in Vietnam Airlines", "Vietnam Airlines priority check-in")
}

// PrivilegeRules are the *default*-able VIP rules: which tiers, and how many
// e-codes of each privilege a tier gets per calendar year.
type PrivilegeRules struct {
	Quota map[Tier]map[Privilege]int
}

// DefaultPrivilegeRules: Kim cương and Vàng only.
var DefaultPrivilegeRules = PrivilegeRules{Quota: map[Tier]map[Privilege]int{
	TierKimCuong: {PrivilegePriority: 12, PrivilegeLounge: 6, PrivilegeBooking: 12, PrivilegeBaggage: 6},
	TierVang:     {PrivilegePriority: 6, PrivilegeLounge: 2, PrivilegeBooking: 6, PrivilegeBaggage: 2},
}}

// WithDefaults fills an empty quota table from DefaultPrivilegeRules.
func (r PrivilegeRules) WithDefaults() PrivilegeRules {
	if len(r.Quota) == 0 {
		r.Quota = DefaultPrivilegeRules.Quota
	}
	return r
}

// QuotaFor is the yearly quota of p for tier t; 0 means not for that tier.
func (r PrivilegeRules) QuotaFor(t Tier, p Privilege) int { return r.Quota[t][p] }

var flightNumber = regexp.MustCompile(`^VN[1-9][0-9]{0,3}$`)

// Flight is a Vietnam Airlines flight on a date (local calendar date).
type Flight struct {
	Date   Date
	Number string // VN + 1–4 digits, no leading zeros
}

// Check applies the flight rules: a VN number and a date tomorrow or later
// in local time (PRODUCT.md §3.3: a code for today's flight comes too late
// for the airline's lists), within a year.
func (f Flight) Check(now time.Time, loc *time.Location) error {
	l := now.In(loc)
	today := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	day := time.Date(f.Date.Year(), f.Date.Month(), f.Date.Day(), 0, 0, 0, 0, loc)
	switch {
	case !flightNumber.MatchString(f.Number):
		return Errorf(EINVALID, "flight must be VN and 1 to 4 digits")
	case !day.After(today):
		return Refused(ReasonWindow, "the flight must be tomorrow or later")
	case day.After(today.AddDate(1, 0, 0)):
		return Refused(ReasonWindow, "the flight is more than a year ahead")
	}
	return nil
}

// PrivilegeRequest asks for an e-code.
type PrivilegeRequest struct {
	MSISDN         MSISDN
	Privilege      Privilege
	Flight         Flight
	IdempotencyKey string
}

// PrivilegeUse is one e-code issued.
type PrivilegeUse struct {
	ID        int64
	MSISDN    MSISDN
	Privilege Privilege
	Flight    Flight
	Code      string
	CreatedAt time.Time
	Left      int // of the year's quota, after this one
}

// UseSMS is the transactional SMS carrying the e-code.
func (u *PrivilegeUse) UseSMS(lang Language) OutgoingSMS {
	date := u.Flight.Date.Format("02/01/2006")
	text := Localize(lang,
		fmt.Sprintf("E-code %s: %s cho chuyến %s ngày %s. Xuất trình mã tại quầy Vietnam Airlines.", u.Privilege.Name(lang), u.Code, u.Flight.Number, date),
		fmt.Sprintf("E-code for %s: %s, flight %s on %s. Show it at the Vietnam Airlines desk.", u.Privilege.Name(lang), u.Code, u.Flight.Number, date))
	return OutgoingSMS{MSISDN: u.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("privilege:%d", u.ID)}
}

// PrivilegeQuota is one privilege with what is left of this year's quota.
type PrivilegeQuota struct {
	Privilege Privilege
	Quota     int
	Left      int
}

// PrivilegeService issues VIP e-codes.
type PrivilegeService interface {
	// Quotas lists the privileges msisdn's tier has and what is left this
	// year; a tier without any is refused (tier).
	Quotas(ctx context.Context, msisdn MSISDN) ([]PrivilegeQuota, error)
	// UsePrivilege issues one e-code within the yearly quota
	// (limit_reached), the SMS committed with it. One flight gets one
	// e-code per privilege: asking again returns the first (replay).
	UsePrivilege(ctx context.Context, r PrivilegeRequest) (u *PrivilegeUse, replay bool, err error)
}
