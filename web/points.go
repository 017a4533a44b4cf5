package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/care360/care360"
)

// Ledger page sizes: the default keeps an admin page quick, the maximum keeps
// one request from reading a subscriber's whole history.
const (
	defaultLedgerLimit = 50
	maxLedgerLimit     = 500
)

// pointsRequest is the body of POST /api/v1/subscribers/{msisdn}/points.
type pointsRequest struct {
	Kind           string `json:"kind"`
	Points         int64  `json:"points"`
	Reason         string `json:"reason"`
	IdempotencyKey string `json:"idempotency_key"`
}

// entryJSON is one ledger entry in API form. ExpiresAt is null for debits.
type entryJSON struct {
	ID             int64      `json:"id"`
	Kind           string     `json:"kind"`
	Points         int64      `json:"points"`
	Reason         string     `json:"reason"`
	IdempotencyKey string     `json:"idempotency_key"`
	EarnedAt       time.Time  `json:"earned_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
}

// pointsResponse is the entry with the balance after it, flat, so that the
// entry's fields sit at the top level as PRODUCT.md §6 lists them.
type pointsResponse struct {
	entryJSON
	Balance pointsJSON `json:"balance"`
}

// postPoints credits or debits a subscriber. A replayed idempotency key
// answers 200 with the original entry and changes nothing (PRODUCT.md §6).
func (s *Server) postPoints(w http.ResponseWriter, r *http.Request) {
	msisdn, err := s.msisdn(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req pointsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	change := care360.PointsChange{
		Kind:           care360.PointsKind(req.Kind),
		Points:         req.Points,
		Reason:         req.Reason,
		IdempotencyKey: req.IdempotencyKey,
	}
	if err := change.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	actor, _ := actorOf(r)
	if change.Quota, err = s.roleLimits.Allow(actor, change.Points); err != nil {
		s.writeError(w, r, err)
		return
	}
	before, err := s.points.Balance(r.Context(), msisdn) // for the audit log
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entry, replay, err := s.points.ChangePoints(r.Context(), msisdn, change)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bal, err := s.points.Balance(r.Context(), msisdn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if replay {
		s.noChange(r)
	} else {
		s.audit(r, "points.change", string(msisdn), map[string]any{"balance": balanceJSON(before)},
			map[string]any{"entry": ledgerEntryJSON(entry), "balance": balanceJSON(bal)})
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
	}
	out := pointsResponse{entryJSON: ledgerEntryJSON(entry), Balance: balanceJSON(bal)}
	out.IdempotencyKey = req.IdempotencyKey // as sent; the ledger shows it in its namespace
	writeJSON(w, status, out)
}

// getLedger lists a subscriber's ledger, newest first.
func (s *Server) getLedger(w http.ResponseWriter, r *http.Request) {
	msisdn, err := s.msisdn(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := defaultLedgerLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLedgerLimit {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "limit must be a whole number from 1 to %d", maxLedgerLimit))
			return
		}
		limit = n
	}
	// An unknown subscriber is a 404, not an empty ledger that looks real.
	if _, err := s.subscribers.Subscriber(r.Context(), msisdn); err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, err := s.points.Ledger(r.Context(), msisdn, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Entries []entryJSON `json:"entries"`
	}{Entries: make([]entryJSON, 0, len(entries))}
	for i := range entries {
		out.Entries = append(out.Entries, ledgerEntryJSON(&entries[i]))
	}
	s.auditRead(r, "ledger.read", msisdn, len(entries))
	writeJSON(w, http.StatusOK, out)
}

func ledgerEntryJSON(e *care360.LedgerEntry) entryJSON {
	return entryJSON{
		ID:             e.ID,
		Kind:           string(e.Kind),
		Points:         e.Points,
		Reason:         e.Reason,
		IdempotencyKey: e.IdempotencyKey,
		EarnedAt:       e.EarnedAt,
		ExpiresAt:      e.ExpiresAt,
	}
}
