package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/care360/care360"
)

// USSDConfig serves the HTTP USSD adapters (PRODUCT.md §3.4): the very same
// dialogues as over SMPP, for operators reached through an aggregator.
type USSDConfig struct {
	Service   care360.USSDService
	Dialogues care360.DialogueStore // remembers each session's previous text
	Allow     []netip.Prefix        // CARE360_USSD_HTTP_ALLOW
	// IdleTimeout bounds how long a session's previous text is remembered.
	IdleTimeout time.Duration
	// Screen limits (182 GSM-7 / 80 UCS-2 by default).
	LimitGSM, LimitUCS2 int
}

// atPrefix keys Africa's Talking sessions apart from SMPP dialogues.
const atPrefix = "at/"

// endedMark is kept as an ended session's text (no answer contains a NUL).
const endedMark = "\x00"

// africasTalking answers Africa's Talking's USSD callback: form fields
// sessionId, serviceCode, phoneNumber, networkCode and text (every answer so
// far joined with '*', empty on the first request); the reply is
// "CON <screen>" to continue or "END <screen>" to finish.
func (s *Server) africasTalking(w http.ResponseWriter, r *http.Request) {
	u := s.ussd
	if !u.allowed(r) {
		s.writeError(w, r, care360.Errorf(care360.EFORBIDDEN, "this address may not call the USSD adapter"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "form body expected (application/x-www-form-urlencoded, at most 8 KiB)"))
		return
	}
	session, code, phone, txt := r.PostForm.Get("sessionId"), strings.TrimSpace(r.PostForm.Get("serviceCode")), r.PostForm.Get("phoneNumber"), r.PostForm.Get("text")
	if session == "" || code == "" || phone == "" || len(session) > 100 {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "sessionId, serviceCode and phoneNumber are required"))
		return
	}
	req := care360.USSDRequest{Key: atPrefix + session, LimitGSM: u.LimitGSM, LimitUCS2: u.LimitUCS2}
	if m, err := s.numbering.Parse(phone); err == nil {
		req.MSISDN = m
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	prevKey := atPrefix + "text/" + session
	prev, err := u.Dialogues.LoadDialogue(ctx, prevKey, u.IdleTimeout)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case prev != nil && string(prev.State) == endedMark:
		// The aggregator reused an ended session: the engine, finding no
		// dialogue, says the session has ended.
		req.Kind, req.Text = care360.USSDAnswer, txt
	case prev == nil && txt == "":
		req.Kind, req.Text = care360.USSDBegin, code
	case prev == nil:
		// A shortcut: *090*1# reaches us as serviceCode *090# and text 1.
		req.Kind, req.Text = care360.USSDBegin, strings.TrimSuffix(code, "#")+"*"+txt+"#"
	default:
		answer, ok := strings.CutPrefix(txt, string(prev.State))
		if !ok || (len(prev.State) > 0 && !strings.HasPrefix(answer, "*")) {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "text does not continue the session's previous text"))
			return
		}
		if len(prev.State) > 0 {
			answer = answer[1:]
		}
		req.Kind, req.Text = care360.USSDAnswer, answer
	}
	reply, err := u.Service.Step(ctx, req)
	if err != nil {
		s.log.Error("ussd http step failed", "err", err)
		reply = care360.USSDReply{Text: "Dich vu tam thoi gian doan. Vui long thu lai sau.", End: true}
	}
	// Keep the text for the next request, or mark the session ended so that
	// a reused session id cannot replay its choices as a new dial.
	keep := txt
	if reply.End {
		keep = endedMark
	}
	err = u.Dialogues.SaveDialogue(ctx, &care360.Dialogue{Key: prevKey, MSISDN: req.MSISDN, State: []byte(keep)})
	if err != nil {
		s.log.Warn("ussd http: session text not kept", "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	prefix := "CON "
	if reply.End {
		prefix = "END "
	}
	w.Write([]byte(prefix + reply.Text))
}

// allowed reports whether the caller's address is in the allow list. The
// peer address is used, never X-Forwarded-For: the list names the
// aggregator's own addresses.
func (u *USSDConfig) allowed(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range u.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
