package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/care360/care360"
)

// postErase is POST /api/v1/subscribers/{msisdn}:erase (admins; PRODUCT.md
// §7): {"reason"} closes the membership and removes the member's personal
// data. It answers what was done; the store records it in the audit log,
// under the member's retired key, never the number. A number no member
// holds (one erased already) is 404.
func (s *Server) postErase(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	if s.admin.Eraser == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "erasure is not configured on this server"))
		return
	}
	msisdn, err := s.msisdn(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	actor, _ := actorOf(r)
	e, err := s.admin.Eraser.Erase(r.Context(), msisdn, s.numberForms(msisdn), body.Reason, actor)
	// Recorded by the store, without the number: the generic record of
	// this request would carry it in its path.
	s.noChange(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"erased": true, "member": e.Key, "rows": e.Rows, "entries": e.Entries, "redacted": e.Redacted})
}

// numberForms are the ways msisdn may have been written where it is kept
// as text (request paths, bodies): international, with +, and national.
func (s *Server) numberForms(msisdn care360.MSISDN) []string {
	forms := []string{string(msisdn), "+" + string(msisdn)}
	if cc := s.numbering.CountryCode; cc != "" && strings.HasPrefix(string(msisdn), cc) {
		forms = append(forms, "0"+strings.TrimPrefix(string(msisdn), cc))
	}
	return forms
}

// historyJSON is one line of a membership's history.
type historyJSON struct {
	At     time.Time `json:"at"`
	What   string    `json:"what"`
	Detail string    `json:"detail"`
}

// getHistory is GET /api/v1/subscribers/{msisdn}/history (support and
// admins): the membership's history, oldest first: joined, consents,
// lifecycle events, numbers left, a hold in force. The read is audited.
func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	if s.admin.History == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "member history is not configured on this server"))
		return
	}
	msisdn, err := s.msisdn(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.admin.History.History(r.Context(), msisdn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]historyJSON, len(events))
	for i, e := range events {
		out[i] = historyJSON{At: e.At.UTC(), What: e.What, Detail: e.Detail}
	}
	s.auditRead(r, "subscriber.history", msisdn, len(out))
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}
