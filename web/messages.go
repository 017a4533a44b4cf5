package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// SMSConfig is what the SMS endpoints need; a Server without one answers
// them 503 (the routes exist either way, so the token check covers them).
type SMSConfig struct {
	Messages  care360.MessageService
	Campaigns care360.CampaignService
	DNC       care360.DNCService
	Reports   care360.SMSReporter // GET /api/v1/reports/sms; nil: 503
	// Feedback is customer care's inbox of GY texts (feedback.go); nil: 503.
	Feedback care360.FeedbackService
	// Pushes is network-initiated USSD (pushes.go); nil: 503.
	Pushes care360.PushService
}

// smsRoutes mounts the SMS endpoints of PRODUCT.md §6. The campaign id is
// digits only: with mux's default [^/]+, "7:pause" would also match {id}.
func (s *Server) smsRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/messages", s.getMessages).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/campaigns", s.listCampaigns).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/campaigns", s.postCampaign).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/campaigns/{id:[0-9]+}", s.getCampaign).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/campaigns/{id:[0-9]+}:pause", s.controlCampaign(care360.CampaignService.PauseCampaign)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/campaigns/{id:[0-9]+}:resume", s.controlCampaign(care360.CampaignService.ResumeCampaign)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/campaigns/{id:[0-9]+}:cancel", s.controlCampaign(care360.CampaignService.CancelCampaign)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/dnc:import", s.importDNC).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/reports/sms", s.smsReport).Methods(http.MethodGet)
	s.feedbackRoutes(r)
	s.pushRoutes(r)
}

var errNoSMS = care360.Errorf(care360.EUNAVAILABLE, "SMS is not configured on this server")

// smsReady answers 503 and reports false when the SMS services are absent.
func (s *Server) smsReady(w http.ResponseWriter, r *http.Request) bool {
	if s.sms == nil {
		s.writeError(w, r, errNoSMS)
		return false
	}
	return true
}

// messageJSON is one outgoing SMS in API form; times and error are null
// until they exist.
type messageJSON struct {
	ID          int64      `json:"id"`
	MSISDN      string     `json:"msisdn"`
	Text        string     `json:"text"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	SubmittedAt *time.Time `json:"submitted_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Error       *string    `json:"error"`
}

// Message list sizes: the default is a screen, the maximum what the store
// gives in one read.
const (
	defaultMessagesLimit = 50
	maxMessagesLimit     = 500
)

// getMessages is GET /api/v1/messages?msisdn=…[&limit=…]: the subscriber's
// outgoing SMS, newest first.
func (s *Server) getMessages(w http.ResponseWriter, r *http.Request) {
	if !s.smsReady(w, r) {
		return
	}
	q := r.URL.Query()
	if q.Get("msisdn") == "" {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "the msisdn query parameter is required"))
		return
	}
	msisdn, err := s.numbering.Parse(q.Get("msisdn"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := defaultMessagesLimit
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxMessagesLimit {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "limit must be a whole number from 1 to %d", maxMessagesLimit))
			return
		}
	}
	ms, err := s.sms.Messages.Messages(r.Context(), msisdn, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = messageJSON{ID: m.ID, MSISDN: string(m.MSISDN), Text: m.Text, Kind: string(m.Kind), Status: string(m.Status),
			CreatedAt: m.CreatedAt, SubmittedAt: m.SubmittedAt, DeliveredAt: m.DeliveredAt}
		if m.Error != "" {
			out[i].Error = &ms[i].Error
		}
	}
	s.auditRead(r, "messages.read", msisdn, len(out))
	writeJSON(w, http.StatusOK, map[string][]messageJSON{"messages": out})
}
