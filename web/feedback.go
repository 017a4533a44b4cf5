package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// feedbackJSON is one GY item in API form. Numbers are shown whole, as on
// the other support routes: staff answering a member need to know who it is.
type feedbackJSON struct {
	ID         int64      `json:"id"`
	MSISDN     string     `json:"msisdn"`
	Text       string     `json:"text"`
	ReceivedAt time.Time  `json:"received_at"`
	Status     string     `json:"status"`
	Reply      *string    `json:"reply"`
	RepliedAt  *time.Time `json:"replied_at"`
	RepliedBy  *string    `json:"replied_by"`
}

func feedbackOut(f care360.Feedback) feedbackJSON {
	out := feedbackJSON{ID: f.ID, MSISDN: string(f.MSISDN), Text: f.Text, ReceivedAt: f.ReceivedAt,
		Status: string(f.Status), RepliedAt: f.RepliedAt}
	if f.Status == care360.FeedbackAnswered {
		out.Reply, out.RepliedBy = &f.Reply, &f.RepliedBy
	}
	return out
}

// feedbackRoutes mounts the customer-care inbox (GY, PRODUCT.md §5 and §6).
func (s *Server) feedbackRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/feedback", s.listFeedback).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/feedback/{id:[0-9]+}:reply", s.replyFeedback).Methods(http.MethodPost)
}

// feedbackReady answers 503 and reports false when there is no inbox.
func (s *Server) feedbackReady(w http.ResponseWriter, r *http.Request) bool {
	if s.sms == nil || s.sms.Feedback == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "feedback is not configured on this server"))
		return false
	}
	return true
}

// listFeedback is GET /api/v1/feedback[?status=open|answered&limit=&before=]:
// items newest first, a page at a time. The texts are what members wrote,
// so the read is audited like a member's messages are.
func (s *Server) listFeedback(w http.ResponseWriter, r *http.Request) {
	if !s.feedbackReady(w, r) {
		return
	}
	p, err := pageOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := care360.FeedbackStatus(r.URL.Query().Get("status"))
	if status != "" && !status.Valid() {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "status must be \"open\" or \"answered\""))
		return
	}
	list, err := s.sms.Feedback.FeedbackList(r.Context(), care360.FeedbackFilter{Status: status, Page: p.ask()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next := cutPage(p, list, func(f care360.Feedback) int64 { return f.ID })
	out := make([]feedbackJSON, len(list))
	ids := make([]int64, len(list))
	for i, f := range list {
		out[i], ids[i] = feedbackOut(f), f.ID
	}
	if len(out) > 0 {
		// One entry for the page, naming the items: which members' words
		// were seen is in them.
		s.audit(r, "feedback.read", "feedback", nil, map[string]any{"items": len(out), "ids": ids})
	}
	writeJSON(w, http.StatusOK, map[string]any{"feedback": out, "next": next})
}

// replyFeedback is POST /api/v1/feedback/{id}:reply {"text"}: the answer
// goes to the sender as a transactional SMS, once; a second answer to the
// same item is 409, whoever sends it.
func (s *Server) replyFeedback(w http.ResponseWriter, r *http.Request) {
	if !s.feedbackReady(w, r) {
		return
	}
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id < 1 {
		s.writeError(w, r, care360.Errorf(care360.ENOTFOUND, "no such feedback"))
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	actor, _ := actorOf(r)
	f, err := s.sms.Feedback.ReplyFeedback(r.Context(), id, req.Text, actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Who answered which item; the answer's words stay out of the audit
	// log, which outlives the SMS texts (PRODUCT.md §7).
	s.audit(r, "feedback.reply", string(f.MSISDN), nil, map[string]any{"feedback_id": f.ID, "status": f.Status})
	writeJSON(w, http.StatusOK, feedbackOut(*f))
}
