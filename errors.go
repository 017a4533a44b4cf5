package care360

import (
	"errors"
	"fmt"
	"time"
)

// Error codes shared by every adapter. The HTTP layer, the USSD screens and the
// SMS replies each map them in exactly one place; a subscriber never sees a Go
// error string.
const (
	EINVALID      = "invalid"      // bad input: 400
	EUNAUTHORIZED = "unauthorized" // no or bad credentials: 401
	EFORBIDDEN    = "forbidden"    // credentials lack the right: 403
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409: the request clashes with what exists
	EREFUSED      = "refused"      // 422: a business rule said no; Reason says which
	EUNAVAILABLE  = "unavailable"  // 503: a dependency (Postgres, SMSC) is down
	EINTERNAL     = "internal"     // 500: a bug or an unexpected failure
)

// Refusal reasons carried by EREFUSED errors (PRODUCT.md §6).
const (
	ReasonInsufficientPoints = "insufficient_points"
	ReasonOutOfStock         = "out_of_stock"
	ReasonLimitReached       = "limit_reached"
	ReasonTier               = "tier"
	ReasonWindow             = "window"
	ReasonSuspended          = "suspended"
	ReasonOptedOut           = "opted_out"     // refused marketing SMS (TC) or on the do-not-call list
	ReasonSelf               = "self"          // a transfer to oneself
	ReasonAmount             = "amount"        // not a permitted number of points (multiples, minimum)
	ReasonSIMSwapHold        = "sim_swap_hold" // a recent SIM swap holds value in the account (Until says until when)
)

// Error is a domain error: a code for machines, a message safe to show to an
// operator, and for EREFUSED a reason. Wrapped causes stay available to logs
// through Unwrap but never reach a response body.
type Error struct {
	Code    string
	Message string
	Reason  string
	Until   time.Time // for ReasonSIMSwapHold: when the hold lifts
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a domain error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Refused returns an EREFUSED error with a reason (insufficient_points, ...).
func Refused(reason, format string, args ...any) *Error {
	return &Error{Code: EREFUSED, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain,
// EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human-readable message of the first domain error in
// err's chain, or a generic text that leaks nothing for other errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorReason returns the refusal reason of the first domain error in err's chain.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ErrorUntil returns when the refusal of the first domain error in err's
// chain lifts (a SIM-swap hold), or the zero time.
func ErrorUntil(err error) time.Time {
	var e *Error
	if errors.As(err, &e) {
		return e.Until
	}
	return time.Time{}
}
