package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"time"

	"github.com/care360/care360"
)

// emuPrefix keeps the emulator's dialogues apart from SMPP dialogues (keyed
// by MSISDN and session) and Africa's Talking sessions ("at/").
const emuPrefix = "emu/"

var emuSession = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// emulatorRequest is the body of POST /api/v1/emulator/ussd. Action "dial"
// opens a dialogue (Text is the dialled code) and answers with a new
// session unless one is given; "answer" sends Text to the open screen;
// "hangup" drops the dialogue as a network abort would.
type emulatorRequest struct {
	MSISDN  string `json:"msisdn"`
	Session string `json:"session"`
	Action  string `json:"action"`
	Text    string `json:"text"`
}

type emulatorReply struct {
	Session string `json:"session"`
	Text    string `json:"text"`
	End     bool   `json:"end"`
}

// emulatorUSSD runs one step of a real dialogue for the console's phone,
// through the same care360.USSDService as the SMPP and HTTP adapters, with
// the same screen limits. Acting as a real member is for admins only
// (PRODUCT.md §9), and each step is audited with who, which number and
// when: staff acting as a member can spend that member's points. Steps are
// marked as the console's, so that a hang-up leaves nothing the member's
// own phone would be offered to resume.
func (s *Server) emulatorUSSD(w http.ResponseWriter, r *http.Request) {
	if s.ussd == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "USSD is not configured on this server"))
		return
	}
	var req emulatorRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	msisdn, err := s.numbering.Parse(req.MSISDN)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.mayActAs(r, msisdn); err != nil {
		s.writeError(w, r, err)
		return
	}
	step := care360.USSDRequest{MSISDN: msisdn, Text: req.Text, LimitGSM: s.ussd.LimitGSM, LimitUCS2: s.ussd.LimitUCS2, Console: true}
	switch req.Action {
	case "dial":
		step.Kind = care360.USSDBegin
		if req.Session == "" {
			req.Session = newSession()
		}
	case "answer":
		step.Kind = care360.USSDAnswer
	case "hangup":
		step.Kind = care360.USSDAbort
	default:
		s.writeError(w, r, care360.Errorf(care360.EINVALID, `action must be "dial", "answer" or "hangup"`))
		return
	}
	if !emuSession.MatchString(req.Session) {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "session must be 1 to 64 letters, digits, - or _ (dial answers one)"))
		return
	}
	if len(req.Text) > 200 {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "text is longer than 200 bytes"))
		return
	}
	step.Key = emuPrefix + string(msisdn) + "/" + req.Session
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	reply, err := s.ussd.Service.Step(ctx, step)
	if err != nil {
		s.log.Error("emulator ussd step failed", "msisdn", msisdn.Masked(), "err", err)
		reply = care360.USSDReply{Text: "Dich vu tam thoi gian doan. Vui long thu lai sau.", End: true}
	}
	out := emulatorReply{Session: req.Session, Text: reply.Text, End: reply.End || step.Kind == care360.USSDAbort}
	if step.Kind == care360.USSDAbort {
		out.Text = ""
	}
	s.audit(r, "emulator."+req.Action, string(msisdn), nil,
		map[string]any{"session": req.Session, "input": req.Text, "screen": out.Text, "end": out.End})
	writeJSON(w, http.StatusOK, out)
}

// errEmulateMember refuses the emulator on a member's number to staff below
// admin.
var errEmulateMember = care360.Errorf(care360.EFORBIDDEN, "acting as a member in the phone emulator needs an admin; other roles may dial numbers that are not members")

// mayActAs says whether the caller may run the emulator as msisdn: admins
// always, other roles only for numbers that are not members. Checked at
// every step, so a number that joins during the dialogue stops it.
func (s *Server) mayActAs(r *http.Request, msisdn care360.MSISDN) error {
	if a, _ := actorOf(r); a.Role == care360.RoleAdmin {
		return nil
	}
	_, err := s.subscribers.Subscriber(r.Context(), msisdn)
	switch care360.ErrorCode(err) {
	case care360.ENOTFOUND:
		return nil
	case "":
		return errEmulateMember
	}
	return err
}

func newSession() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
