package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// pushRequest is the body of POST /api/v1/ussd/pushes (PRODUCT.md §3.6).
type pushRequest struct {
	MSISDN         string             `json:"msisdn"`
	Segment        *segmentJSON       `json:"segment"`
	Kind           string             `json:"kind"`
	Text           string             `json:"text"`
	Screen         care360.PushScreen `json:"screen"`
	Marketing      bool               `json:"marketing"`
	FallbackSMS    bool               `json:"fallback_sms"`
	ExpiresAt      string             `json:"expires_at"` // RFC 3339; empty: an hour from now
	IdempotencyKey string             `json:"idempotency_key"`
}

// pushJSON is a push with its counts per outcome.
type pushJSON struct {
	ID          int64              `json:"id"`
	Kind        string             `json:"kind"`
	MSISDN      string             `json:"msisdn,omitempty"`
	Segment     *segmentJSON       `json:"segment,omitempty"`
	Text        string             `json:"text,omitempty"`
	Screen      care360.PushScreen `json:"screen"`
	Marketing   bool               `json:"marketing"`
	FallbackSMS bool               `json:"fallback_sms"`
	ExpiresAt   time.Time          `json:"expires_at"`
	CreatedAt   time.Time          `json:"created_at"`
	CreatedBy   string             `json:"created_by,omitempty"`
	Targets     int64              `json:"targets"`
	Excluded    int64              `json:"excluded"`
	Counts      map[string]int64   `json:"counts"`
	Done        bool               `json:"done"`
}

func pushOut(p *care360.Push) pushJSON {
	j := pushJSON{ID: p.ID, Kind: string(p.Kind), MSISDN: string(p.MSISDN), Text: p.Text, Screen: p.Screen,
		Marketing: p.Marketing, FallbackSMS: p.FallbackSMS, ExpiresAt: p.ExpiresAt, CreatedAt: p.CreatedAt,
		CreatedBy: p.CreatedBy, Targets: p.Targets, Excluded: p.Excluded, Counts: p.Counts, Done: p.Done()}
	if p.Segment != nil {
		seg := segmentOut(*p.Segment)
		j.Segment = &seg
	}
	return j
}

func (s *Server) pushRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/ussd/pushes", s.listPushes).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/ussd/pushes", s.postPush).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/ussd/pushes/{id:[0-9]+}", s.getPush).Methods(http.MethodGet)
}

var errNoPushes = care360.Errorf(care360.EUNAVAILABLE, "USSD pushes are not configured on this server")

func (s *Server) pushesReady(w http.ResponseWriter, r *http.Request) bool {
	if s.sms == nil || s.sms.Pushes == nil {
		s.writeError(w, r, errNoPushes)
		return false
	}
	return true
}

// postPush queues a push to one member or a segment: 201 with the push and
// how many it was queued for, or 200 with the first one when the
// idempotency key was seen before.
func (s *Server) postPush(w http.ResponseWriter, r *http.Request) {
	if !s.pushesReady(w, r) {
		return
	}
	var req pushRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, fp, err := callerKey(req.IdempotencyKey, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	np := care360.NewPush{Kind: care360.PushKind(req.Kind), Text: req.Text, Screen: req.Screen, Marketing: req.Marketing,
		FallbackSMS: req.FallbackSMS, IdempotencyKey: key, RequestHash: fp}
	if a, ok := actorOf(r); ok {
		np.CreatedBy = a.Name
	}
	if req.MSISDN != "" {
		m, err := s.numbering.Parse(req.MSISDN)
		if err != nil {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "msisdn: %s", care360.ErrorMessage(err)))
			return
		}
		np.MSISDN = m
	}
	if req.Segment != nil {
		seg, err := s.segmentIn(*req.Segment)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		np.Segment = &seg
	}
	if req.ExpiresAt != "" {
		at, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "expires_at must be an RFC 3339 time such as 2026-12-01T09:00:00+07:00"))
			return
		}
		np.ExpiresAt = at
	}
	p, replay, err := s.sms.Pushes.CreatePush(r.Context(), np)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
	}
	writeJSON(w, status, pushOut(p))
}

// getPush shows a push with its counts per outcome, counted now.
func (s *Server) getPush(w http.ResponseWriter, r *http.Request) {
	if !s.pushesReady(w, r) {
		return
	}
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		s.writeError(w, r, care360.Errorf(care360.ENOTFOUND, "no push %s", mux.Vars(r)["id"]))
		return
	}
	p, err := s.sms.Pushes.Push(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pushOut(p))
}

// listPushes is GET /api/v1/ussd/pushes[?limit=]: the latest pushes, newest
// first, with their counts.
func (s *Server) listPushes(w http.ResponseWriter, r *http.Request) {
	if !s.pushesReady(w, r) {
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "limit must be 1 to 200"))
			return
		}
		limit = n
	}
	list, err := s.sms.Pushes.Pushes(r.Context(), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]pushJSON, len(list))
	for i := range list {
		out[i] = pushOut(&list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"pushes": out})
}
