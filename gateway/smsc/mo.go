package smsc

import (
	"errors"
	"net/http"
)

// MORequest is the body of POST /v1/mo: a handset texting a short code.
type MORequest struct {
	From string `json:"from"`
	To   string `json:"to"`   // default "9237"
	Text string `json:"text"` // sent as GSM-7 if it fits, else UCS-2
}

// serveMO delivers an MO from the control API and answers with the ESME's
// deliver_sm_resp status: {"status":0} once the gateway has it stored.
func (s *Server) serveMO(w http.ResponseWriter, r *http.Request) {
	var req MORequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.From == "" || req.Text == "" {
		writeError(w, http.StatusBadRequest, errors.New("from and text are required"))
		return
	}
	if req.To == "" {
		req.To = "9237"
	}
	coding := byte(codingDefault)
	if _, err := encodeText(req.Text, codingDefault); err != nil {
		coding = codingUCS2
	}
	st, err := s.SendMO(r.Context(), req.From, req.To, req.Text, coding)
	if err != nil {
		writeError(w, errStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint32{"status": st})
}
