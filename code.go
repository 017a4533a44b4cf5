package care360

import (
	"context"
	"strings"
	"time"
)

// CodeKind says where a code a member shows a partner comes from.
type CodeKind string

// Kinds of partner code (PRODUCT.md §6 codes:check).
const (
	// CodeOffer is the member's own code for an mConnect or resort offer,
	// taken on the phone (menus 4 and 6) and sent by SMS.
	CodeOffer CodeKind = "offer"
	// CodeVoucher is a code from the pool of a voucher that names a
	// partner, given to the member who claimed it.
	CodeVoucher CodeKind = "voucher"
)

// ReasonExpired refuses redeeming a code whose offer or voucher is over.
const ReasonExpired = "expired"

// PartnerCode is a code a member received, as the partner honouring it
// sees it.
type PartnerCode struct {
	Code       string
	Kind       CodeKind
	Partner    string
	MSISDN     MSISDN // the member it was given to; show it Masked
	ExpiresAt  time.Time
	RedeemedAt *time.Time
	RedeemedBy string // the staff account's name
	// Valid says the code could be redeemed when it was read: not redeemed
	// and not expired.
	Valid bool
}

// Expired reports whether the code's offer or voucher is over at now.
func (c *PartnerCode) Expired(now time.Time) bool { return !now.Before(c.ExpiresAt) }

// CodeService finds and redeems partner codes. Partner "" means every
// partner's codes (see Actor.CodeScope); a code of another partner is
// ENOTFOUND, exactly as a code that does not exist, so that a partner
// learns nothing about codes that are not its own.
type CodeService interface {
	// CheckCode returns the code, or ENOTFOUND.
	CheckCode(ctx context.Context, code, partner string) (*PartnerCode, error)
	// RedeemCode marks the code used, once: a redeemed code is ECONFLICT,
	// an expired one EREFUSED with ReasonExpired.
	RedeemCode(ctx context.Context, code, partner string, by Actor) (*PartnerCode, error)
}

// CleanCode is a code as a partner typed it, without surrounding spaces;
// anything that cannot be a code is EINVALID.
func CleanCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 200 {
		return "", Errorf(EINVALID, "code is required, at most 200 bytes")
	}
	return s, nil
}
