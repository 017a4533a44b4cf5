package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/care360/care360"
)

// errorStatus is the one place where domain error codes become HTTP status
// codes (PRODUCT.md §6). Anything it does not know is a 500.
func errorStatus(code string) int {
	switch code {
	case care360.EINVALID:
		return http.StatusBadRequest
	case care360.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case care360.EFORBIDDEN:
		return http.StatusForbidden
	case care360.ENOTFOUND:
		return http.StatusNotFound
	case care360.ECONFLICT:
		return http.StatusConflict
	case care360.EREFUSED:
		return http.StatusUnprocessableEntity
	case care360.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// codeMethodNotAllowed is not a domain code: only HTTP has methods. It stays
// private so that no service can return it.
const codeMethodNotAllowed = "method_not_allowed"

// errorBody is the JSON error shape of PRODUCT.md §6.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Reason  string `json:"reason,omitempty"`
	// Until is when a refusal lifts (sim_swap_hold).
	Until *time.Time `json:"until,omitempty"`
}

// writeError answers with err's code and safe message. Errors without a known
// domain code are logged in full and answered with a generic message, so a Go
// error string never reaches a client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := care360.ErrorCode(err)
	status := errorStatus(code)
	msg := care360.ErrorMessage(err)
	switch {
	case status == http.StatusInternalServerError:
		code, msg = care360.EINTERNAL, "internal error"
		level := slog.LevelError
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The client went away; nobody reads this answer and nothing is broken.
			level = slog.LevelInfo
		}
		s.log.LogAttrs(r.Context(), level, "request failed", slog.String("route", routeOf(r)), slog.Any("error", err))
	case status == http.StatusServiceUnavailable:
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "dependency unavailable", slog.String("route", routeOf(r)), slog.Any("error", err))
	}
	body := errorBody{Error: errorDetail{Code: code, Message: msg}}
	if code == care360.EREFUSED {
		body.Error.Reason = care360.ErrorReason(err)
		if u := care360.ErrorUntil(err); !u.IsZero() {
			u = u.UTC()
			body.Error.Until = &u
		}
	}
	writeJSON(w, status, body)
}

// writeMethodNotAllowed answers 405 in the same JSON shape as every other error.
func writeMethodNotAllowed(w http.ResponseWriter) {
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
		Code:    codeMethodNotAllowed,
		Message: "method not allowed on this endpoint",
	}})
}

// writeJSON writes v as the whole response. An encoding failure can only be a
// bug in our own types or a client gone away, and the status is already sent.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
