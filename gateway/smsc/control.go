package smsc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// CallState is a call as the control API reports it.
type CallState struct {
	Call   string `json:"call"`   // id for /v1/calls/{id}/...
	Screen string `json:"screen"` // text of the latest screen
	End    bool   `json:"end"`    // the call is over
	Op     int    `json:"op"`     // ussd_service_op of the latest screen
}

// DialRequest is the body of POST /v1/dial.
type DialRequest struct {
	MSISDN string `json:"msisdn"`
	Code   string `json:"code"`
	// DataCoding of the phone's texts; absent means 0x0F (see DialOptions).
	DataCoding *int `json:"data_coding,omitempty"`
}

type replyRequest struct {
	Text string `json:"text"`
}

type phoneRequest struct {
	Behaviour string `json:"behaviour"`
}

// Bounds of GET /v1/pushes/next's wait.
const (
	defaultPushWait = 30 * time.Second
	maxPushWait     = 120 * time.Second
)

// maxBody bounds control request bodies.
const maxBody = 1 << 16

// ControlHandler serves the control API for a phone in another process
// (`care360 dial` against `care360 dev`):
//
//	POST /v1/dial                 {"msisdn","code","data_coding"?} → CallState
//	POST /v1/calls/{id}/reply     {"text"} → CallState
//	POST /v1/calls/{id}/abort     → CallState
//	POST /v1/mo                   {"from","to"?,"text"} → {"status":N} (an SMS to the short code)
//	GET  /v1/messages?msisdn=...  → {"messages":[Message...]}
//	GET  /v1/pushes/next?msisdn=...&wait=30s → CallState
//	PUT  /v1/phones/{msisdn}      {"behaviour":"answers"|"ignores"|"busy"|"absent"} → 204
//	GET  /v1/status               → {"bound":N}
//
// /v1/pushes/next takes the oldest push to the MSISDN not yet taken,
// waiting for one up to wait (default 30s, at most 120s): a menu is an open
// call to reply to or abort like a dialled one; a notification comes ended
// (end true, op 3). /v1/phones sets how a phone treats pushes (see
// PhoneBehaviour).
//
// Errors are {"error":"..."} with a 4xx/5xx status (504 when the application
// did not answer in time or no push came, 404 for an unknown or ended call).
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/dial", s.serveDial)
	mux.HandleFunc("POST /v1/calls/{id}/reply", s.serveReply)
	mux.HandleFunc("POST /v1/calls/{id}/abort", s.serveAbort)
	mux.HandleFunc("POST /v1/mo", s.serveMO) // mo.go
	mux.HandleFunc("GET /v1/messages", func(w http.ResponseWriter, r *http.Request) {
		msisdn := r.URL.Query().Get("msisdn")
		if msisdn == "" {
			writeError(w, http.StatusBadRequest, errors.New("msisdn is required"))
			return
		}
		writeJSON(w, http.StatusOK, map[string][]Message{"messages": s.Messages(msisdn)})
	})
	mux.HandleFunc("GET /v1/pushes/next", s.servePush)
	mux.HandleFunc("PUT /v1/phones/{msisdn}", s.servePhone)
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"bound": s.Bound()})
	})
	return mux
}

func (s *Server) serveDial(w http.ResponseWriter, r *http.Request) {
	var req DialRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.MSISDN == "" || req.Code == "" {
		writeError(w, http.StatusBadRequest, errors.New("msisdn and code are required"))
		return
	}
	var opt DialOptions
	if dc := req.DataCoding; dc != nil {
		if *dc < 0 || *dc > 0xFF {
			writeError(w, http.StatusBadRequest, fmt.Errorf("data_coding %d out of range", *dc))
			return
		}
		opt.DataCoding, opt.Coding00 = byte(*dc), *dc == 0
	}
	// The request's context is the phone: if the client goes away, it hangs up.
	c, err := s.Dial(r.Context(), req.MSISDN, req.Code, opt)
	if err != nil {
		writeError(w, errStatus(err), err)
		return
	}
	s.exposeCall(c)
	writeJSON(w, http.StatusOK, state(c))
}

// exposeCall gives an open call an id over the control API.
func (s *Server) exposeCall(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only steps end a call and none can run before its id is known, so an
	// open call cannot end between this check and the registration.
	if !c.Ended() {
		s.nextCall++
		c.ctlID = fmt.Sprint(s.nextCall)
		s.ctlCalls[c.ctlID] = c
	}
}

func (s *Server) servePush(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	msisdn := q.Get("msisdn")
	if msisdn == "" {
		writeError(w, http.StatusBadRequest, errors.New("msisdn is required"))
		return
	}
	wait := defaultPushWait
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("wait %q is not a positive duration", v))
			return
		}
		wait = min(d, maxPushWait)
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	c, err := s.WaitPush(ctx, msisdn)
	if err != nil {
		writeError(w, errStatus(err), err)
		return
	}
	s.exposeCall(c)
	writeJSON(w, http.StatusOK, state(c))
}

func (s *Server) servePhone(w http.ResponseWriter, r *http.Request) {
	var req phoneRequest
	if !readJSON(w, r, &req) {
		return
	}
	b, ok := parsePhone(req.Behaviour)
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Errorf("behaviour %q: want answers, ignores, busy or absent", req.Behaviour))
		return
	}
	s.SetPhone(r.PathValue("msisdn"), b)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveReply(w http.ResponseWriter, r *http.Request) {
	var req replyRequest
	c := s.ctlCall(w, r)
	if c == nil || !readJSON(w, r, &req) {
		return
	}
	if err := c.Reply(r.Context(), req.Text); err != nil {
		writeError(w, errStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, state(c))
}

func (s *Server) serveAbort(w http.ResponseWriter, r *http.Request) {
	c := s.ctlCall(w, r)
	if c == nil {
		return
	}
	if err := c.Abort(r.Context()); err != nil {
		writeError(w, errStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, state(c))
}

// ctlCall finds the open call named in the path, or answers 404.
func (s *Server) ctlCall(w http.ResponseWriter, r *http.Request) *Call {
	id := r.PathValue("id")
	s.mu.Lock()
	c := s.ctlCalls[id]
	s.mu.Unlock()
	if c == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("no open call %q (it may have ended)", id))
	}
	return c
}

func state(c *Call) CallState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CallState{Call: c.ctlID, Screen: c.text, End: c.ended, Op: int(c.op)}
}

// errStatus maps the simulator's errors to HTTP status codes in one place.
func errStatus(err error) int {
	switch {
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrEnded):
		return http.StatusConflict
	case errors.Is(err, ErrNoLink), errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrRejected):
		return http.StatusBadGateway
	case errors.Is(err, errText):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad JSON body: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
