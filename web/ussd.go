package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/care360/care360"
)

// USSDConfig serves the HTTP USSD adapters (PRODUCT.md §3.4): the very same
// dialogues as over SMPP, for operators reached through an aggregator.
type USSDConfig struct {
	Service care360.USSDService
	// Dialogues remembers each session's previous request and answer; it
	// must also be a care360.DialogueLocker, which runs a session's steps
	// one at a time across instances.
	Dialogues care360.DialogueStore
	// Allow lists the client addresses served (CARE360_USSD_HTTP_ALLOW);
	// empty turns the adapters off.
	Allow []netip.Prefix
	// Token, when set, must also be presented (CARE360_USSD_HTTP_TOKEN).
	Token string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (CARE360_TRUSTED_PROXIES); see ClientAddr.
	TrustedProxies []netip.Prefix
	// IdleTimeout bounds how long a session's previous text is remembered.
	IdleTimeout time.Duration
	// Screen limits (182 GSM-7 / 80 UCS-2 by default).
	LimitGSM, LimitUCS2 int
}

// atPrefix keys Africa's Talking sessions apart from SMPP dialogues.
const atPrefix = "at/"

// atSession is what the adapter keeps of a session between requests: who
// opened it, and the last request's text with the screen it got, so that a
// retry of that request gets the same screen again without acting twice.
type atSession struct {
	Who   string `json:"who"` // the canonical MSISDN, else the phoneNumber as sent
	Text  string `json:"text"`
	Reply string `json:"reply"`
	End   bool   `json:"end"`
}

// africasTalking answers Africa's Talking's USSD callback: form fields
// sessionId, serviceCode, phoneNumber, networkCode and text (every answer so
// far joined with '*', empty on the first request); the reply is
// "CON <screen>" to continue or "END <screen>" to finish.
func (s *Server) africasTalking(w http.ResponseWriter, r *http.Request) {
	u := s.ussd
	if err := u.admit(r); err != nil {
		s.writeError(w, r, err)
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
	req := care360.USSDRequest{Key: atPrefix + session, LimitGSM: u.LimitGSM, LimitUCS2: u.LimitUCS2, Channel: care360.ChannelHTTP,
		NetworkCode: networkCode(r.PostForm.Get("networkCode"))}
	who := "raw:" + phone
	if m, err := s.numbering.Parse(phone); err == nil {
		req.MSISDN, who = m, string(m)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var reply care360.USSDReply
	// One request of a session at a time, on any instance: a retry waits
	// for the request it repeats and then finds its answer kept.
	err := u.Dialogues.(care360.DialogueLocker).WithDialogueLock(ctx, req.Key, func(ctx context.Context) (err error) {
		reply, err = s.atStep(ctx, req, who, code, txt)
		return err
	})
	// A refusal of the request itself is an HTTP error; anything else (the
	// database, a lock wait past the budget) the subscriber sees as a
	// screen, as over SMPP.
	if code := care360.ErrorCode(err); err != nil && code != care360.EFORBIDDEN && code != care360.EINVALID {
		s.log.Error("ussd http step failed", "err", err)
		reply, err = care360.USSDReply{Text: "Dich vu tam thoi gian doan. Vui long thu lai sau.", End: true}, nil
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	prefix := "CON "
	if reply.End {
		prefix = "END "
	}
	w.Write([]byte(prefix + reply.Text))
}

// atStep runs one request of a session whose lock is held: it answers a
// repeat of the last request from what was kept, else steps the dialogue
// and keeps the new request and its answer.
func (s *Server) atStep(ctx context.Context, req care360.USSDRequest, who, code, txt string) (care360.USSDReply, error) {
	u := s.ussd
	key := atPrefix + "text/" + strings.TrimPrefix(req.Key, atPrefix)
	d, err := u.Dialogues.LoadDialogue(ctx, key, u.IdleTimeout)
	if err != nil {
		return care360.USSDReply{}, err
	}
	var prev *atSession
	if d != nil {
		prev = new(atSession)
		if json.Unmarshal(d.State, prev) != nil {
			prev = nil // kept by an older version: the session starts afresh
		}
	}
	switch {
	case prev != nil && prev.Who != who:
		return care360.USSDReply{}, care360.Errorf(care360.EFORBIDDEN, "this sessionId belongs to another phoneNumber")
	case prev != nil && prev.Text == txt:
		return care360.USSDReply{Text: prev.Reply, End: prev.End}, nil
	case prev != nil && prev.End:
		// The aggregator reused an ended session: the engine, finding no
		// dialogue, says the session has ended.
		req.Kind, req.Text = care360.USSDAnswer, txt
	case prev == nil && txt == "":
		req.Kind, req.Text = care360.USSDBegin, code
	case prev == nil:
		// A shortcut: *090*1# reaches us as serviceCode *090# and text 1.
		req.Kind, req.Text = care360.USSDBegin, strings.TrimSuffix(code, "#")+"*"+txt+"#"
	default:
		answer, ok := strings.CutPrefix(txt, prev.Text)
		if !ok || (len(prev.Text) > 0 && !strings.HasPrefix(answer, "*")) {
			return care360.USSDReply{}, care360.Errorf(care360.EINVALID, "text does not continue the session's previous text")
		}
		if len(prev.Text) > 0 {
			answer = answer[1:]
		}
		req.Kind, req.Text = care360.USSDAnswer, answer
	}
	reply, err := u.Service.Step(ctx, req)
	if err != nil {
		return care360.USSDReply{}, fmt.Errorf("ussd http step: %w", err)
	}
	// Keep the request with its answer: the next request continues it, a
	// retry gets the same screen, and an ended session stays ended.
	b, _ := json.Marshal(atSession{Who: who, Text: txt, Reply: reply.Text, End: reply.End})
	if err := u.Dialogues.SaveDialogue(ctx, &care360.Dialogue{Key: key, MSISDN: req.MSISDN, State: b}); err != nil {
		s.log.Warn("ussd http: session text not kept", "err", err)
	}
	return reply, nil
}

// admit judges the caller before anything is read: the adapters must be
// on, the client address (ClientAddr) in the allow list, and the token,
// when one is set, presented.
func (u *USSDConfig) admit(r *http.Request) error {
	if len(u.Allow) == 0 {
		return care360.Errorf(care360.EFORBIDDEN, "the HTTP USSD adapters are off: CARE360_USSD_HTTP_ALLOW is not set")
	}
	if a := ClientAddr(r, u.TrustedProxies); !a.IsValid() || !inAny(a, u.Allow) {
		return care360.Errorf(care360.EFORBIDDEN, "this address may not call the USSD adapter")
	}
	if u.Token == "" {
		return nil
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got = r.URL.Query().Get("token")
	}
	// Hashing first makes the comparison's time independent of the length
	// of either token.
	want, have := sha256.Sum256([]byte(u.Token)), sha256.Sum256([]byte(got))
	if got == "" || subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		return care360.Errorf(care360.EUNAUTHORIZED, "the USSD adapter token is missing or wrong")
	}
	return nil
}

// networkCode is the caller's network as the aggregator names it (MCC and
// MNC, "45201"), passed on to partner applications; anything else is
// dropped rather than relayed.
func networkCode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 8 || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return s
}
