package care360

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Role says what a member of the operator's staff may do through the admin
// API. What each role may call is one table in web/roles.go.
type Role string

// Roles of staff accounts.
const (
	// RoleAdmin may do everything, including managing staff and reading the
	// audit log. The built-in account (CARE360_ADMIN_TOKEN) is an admin.
	RoleAdmin Role = "admin"
	// RoleMarketer runs the programme: gifts, offers, campaigns, draws, spins.
	RoleMarketer Role = "marketer"
	// RoleSupport answers subscribers: reads subscribers and messages, and
	// adjusts points with a reason.
	RoleSupport Role = "support"
	// RolePartner is the staff of one partner (a restaurant, a hotel): it
	// checks and redeems the codes members show it, of its own offers and
	// vouchers only, and nothing else. Its account names the partner.
	RolePartner Role = "partner"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleMarketer, RoleSupport, RolePartner}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleMarketer || r == RoleSupport || r == RolePartner
}

// RoleLimits bound the points adjustments staff below admin may make
// (PRODUCT.md §9); admins have none. Both count credits and debits alike.
type RoleLimits struct {
	PerRequest int64 // points in one request (default 10.000)
	PerDay     int64 // points in one local day, over all of the account's requests (default 50.000)
}

// DefaultRoleLimits are the defaults of PRODUCT.md §9.
var DefaultRoleLimits = RoleLimits{PerRequest: 10_000, PerDay: 50_000}

// WithDefaults fills unset limits from DefaultRoleLimits.
func (l RoleLimits) WithDefaults() RoleLimits {
	if l.PerRequest <= 0 {
		l.PerRequest = DefaultRoleLimits.PerRequest
	}
	if l.PerDay <= 0 {
		l.PerDay = DefaultRoleLimits.PerDay
	}
	return l
}

// Validate checks limits read from the configuration; zero means the default.
func (l RoleLimits) Validate() error {
	switch {
	case l.PerRequest < 0 || l.PerDay < 0:
		return Errorf(EINVALID, "role limits must be positive")
	case l.PerRequest > 0 && l.PerDay > 0 && l.PerRequest > l.PerDay:
		return Errorf(EINVALID, "the per-request limit (%d) is above the daily one (%d)", l.PerRequest, l.PerDay)
	}
	return nil
}

// Allow applies the per-request limit to a change of points by a, and
// returns the daily quota the change must also fit in (nil for admins).
// Going over either is EFORBIDDEN: the change needs an admin.
func (l RoleLimits) Allow(a Actor, points int64) (*PointsQuota, error) {
	if a.Role == RoleAdmin {
		return nil, nil
	}
	l = l.WithDefaults()
	if points > l.PerRequest || points < -l.PerRequest {
		return nil, Errorf(EFORBIDDEN, "role %s may adjust at most %d points in one request; more needs an admin", a.Role, l.PerRequest)
	}
	return &PointsQuota{StaffID: a.StaffID, Role: a.Role, PerDay: l.PerDay}, nil
}

// PointsQuota is a staff account's daily allowance of points adjustments.
// The ledger counts each change against it in the change's transaction, so
// that concurrent requests can never add up to more.
type PointsQuota struct {
	StaffID int64
	Role    Role
	PerDay  int64
}

// Exceeded is the error for a change that would take the account past its
// daily allowance, having adjusted done points today already.
func (q *PointsQuota) Exceeded(done int64) error {
	return Errorf(EFORBIDDEN, "role %s may adjust at most %d points a day (%d adjusted today); more needs an admin", q.Role, q.PerDay, done)
}

// Actor is who makes a request: a staff account, or the built-in admin
// (StaffID 0). Audit entries carry it.
type Actor struct {
	StaffID int64
	Name    string
	Role    Role
	Partner string // RolePartner: the partner the account belongs to
}

// CodeScope is the partner whose codes a may check and redeem, or "" for
// every partner's: only a partner's own staff are held to its codes.
func (a Actor) CodeScope() string {
	if a.Role == RolePartner {
		return a.Partner
	}
	return ""
}

// BuiltinAdmin is the actor of requests made with CARE360_ADMIN_TOKEN.
var BuiltinAdmin = Actor{Name: "admin", Role: RoleAdmin}

// Staff is a staff account. Its token is shown once when it is created and
// only a hash of its secret is kept.
type Staff struct {
	ID         int64
	Name       string
	Role       Role
	Partner    string // RolePartner only: offers' and gifts' partner, exactly
	CreatedAt  time.Time
	CreatedBy  string     // the actor's name
	DisabledAt *time.Time // a disabled account's token no longer works
}

// Actor is the account as the actor of a request.
func (s *Staff) Actor() Actor {
	return Actor{StaffID: s.ID, Name: s.Name, Role: s.Role, Partner: s.Partner}
}

// NewStaff is a request to create a staff account. Partner is required for
// RolePartner and refused for the other roles, which are the operator's.
type NewStaff struct {
	Name    string
	Role    Role
	Partner string
}

// Validate checks a new account before it is stored.
func (n NewStaff) Validate() error {
	switch {
	case strings.TrimSpace(n.Name) == "":
		return Errorf(EINVALID, "name is required")
	case len(n.Name) > 100:
		return Errorf(EINVALID, "name is longer than 100 bytes")
	case !n.Role.Valid():
		return Errorf(EINVALID, "role must be \"admin\", \"marketer\", \"support\" or \"partner\"")
	case n.Role == RolePartner && (n.Partner == "" || strings.TrimSpace(n.Partner) != n.Partner || len(n.Partner) > 200):
		return Errorf(EINVALID, "a partner account needs partner: the partner's name as its offers and gifts spell it (at most 200 bytes, no surrounding spaces)")
	case n.Role != RolePartner && n.Partner != "":
		return Errorf(EINVALID, "partner is for role \"partner\" only")
	}
	return nil
}

// Page asks for one page of a list that is read newest first: at most Limit
// items with IDs below Before (0: from the newest).
type Page struct {
	Before int64
	Limit  int
}

// StaffService keeps staff accounts.
type StaffService interface {
	// CreateStaff stores a new account with the SHA-256 of its token secret.
	CreateStaff(ctx context.Context, n NewStaff, secretHash [32]byte, by Actor) (*Staff, error)
	// StaffToken returns an account and the hash of its secret, or ENOTFOUND.
	StaffToken(ctx context.Context, id int64) (*Staff, [32]byte, error)
	// ListStaff returns accounts, newest first.
	ListStaff(ctx context.Context, p Page) ([]Staff, error)
	// DisableStaff stops an account's token from working; disabling a
	// disabled account changes nothing.
	DisableStaff(ctx context.Context, id int64) (*Staff, error)
}

// staffTokenPrefix marks staff tokens, so that a token found in a log or a
// repository can be recognised and revoked.
const staffTokenPrefix = "c360s_"

// NewStaffSecret makes the random part of a staff token (32 bytes) and the
// hash of it that is stored. StaffToken puts the token together once the
// account has its id.
func NewStaffSecret() (secret string, hash [32]byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, sha256.Sum256([]byte(secret))
}

// StaffToken is the bearer token of account id: a prefix, the id (so that
// checking a token is a primary-key read and a constant-time comparison,
// never a search by secret) and the secret.
func StaffToken(id int64, secret string) string {
	return staffTokenPrefix + strconv.FormatInt(id, 10) + "_" + secret
}

// ParseStaffToken splits a staff token into its account id and the hash of
// its secret; ok is false for anything that is not shaped like one.
func ParseStaffToken(token string) (id int64, secretHash [32]byte, ok bool) {
	rest, ok := strings.CutPrefix(token, staffTokenPrefix)
	if !ok {
		return 0, secretHash, false
	}
	num, secret, ok := strings.Cut(rest, "_")
	if !ok || secret == "" || len(secret) > 100 {
		return 0, secretHash, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil || id <= 0 {
		return 0, secretHash, false
	}
	return id, sha256.Sum256([]byte(secret)), true
}

// SameHash compares two secret hashes in constant time.
func SameHash(a, b [32]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// AuditEntry records one change made through the admin API: who, what, to
// which object, when, and the object before and after (JSON; null when it
// did not exist or is gone).
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  Actor
	Action string // "points.change", "staff.create", or "POST /api/v1/…" for routes without their own
	Target string // the object changed: an MSISDN, "staff/3", a path
	Before json.RawMessage
	After  json.RawMessage
}

// AuditFilter chooses audit entries; empty fields match everything.
type AuditFilter struct {
	Page
	Actor  string // exact actor name
	Action string // action prefix
	Target string // exact target
}

// AuditService keeps the audit log. It is append-only.
type AuditService interface {
	RecordAudit(ctx context.Context, e *AuditEntry) error
	// AuditLog returns entries, newest first.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// PointsDay is one local day of the points report: points credited (by
// kind) and debited, by the day the ledger entry was booked.
type PointsDay struct {
	Date             Date
	IssuedQualifying int64
	IssuedBonus      int64
	Spent            int64 // positive
	Entries          int64
}

// USSDHour is one hour of USSD traffic across every channel (SMPP, HTTP
// adapters, the console's emulator) and every instance.
type USSDHour struct {
	Hour     time.Time
	Dials    int64 // dialogues begun
	Answers  int64 // answers to a screen
	Aborts   int64 // dialogues dropped by the network or the phone
	Failures int64 // steps that could show nothing (the adapter's "service unavailable")
}

// ReportService computes the admin reports (PRODUCT.md §6 /api/v1/reports).
type ReportService interface {
	// PointsReport returns every local day from..to (inclusive), zeros included.
	PointsReport(ctx context.Context, from, to Date) ([]PointsDay, error)
	// USSDReport returns every hour in [from, to), zeros included.
	USSDReport(ctx context.Context, from, to time.Time) ([]USSDHour, error)
}
