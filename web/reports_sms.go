package web

import (
	"net/http"

	"github.com/care360/care360"
)

// smsCountsJSON is one row of the SMS report: a day and kind, a kind's
// totals (no date), or the grand totals (neither).
type smsCountsJSON struct {
	Date      string `json:"date,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Messages  int64  `json:"messages"`
	Sent      int64  `json:"sent"`
	Delivered int64  `json:"delivered"`
	Failed    int64  `json:"failed"`
	Expired   int64  `json:"expired"`
}

func (c *smsCountsJSON) add(d care360.SMSDay) {
	c.Messages += d.Messages
	c.Sent += d.Sent
	c.Delivered += d.Delivered
	c.Failed += d.Failed
	c.Expired += d.Expired
}

// smsReport is GET /api/v1/reports/sms?from=&to=: outgoing SMS per local
// day and kind by where they got to, each kind's totals and the totals.
func (s *Server) smsReport(w http.ResponseWriter, r *http.Request) {
	if !s.smsReady(w, r) {
		return
	}
	if s.sms.Reports == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "SMS reports are not configured on this server"))
		return
	}
	from, to, err := s.reportRange(r, maxSMSDays)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	days, err := s.sms.Reports.SMSReport(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]smsCountsJSON, len(days))
	kinds := make([]smsCountsJSON, len(care360.MessageKinds))
	var total smsCountsJSON
	for i, k := range care360.MessageKinds {
		kinds[i].Kind = string(k)
	}
	for i, d := range days {
		out[i] = smsCountsJSON{Date: d.Day.String(), Kind: string(d.Kind)}
		out[i].add(d)
		total.add(d)
		for j := range kinds {
			if kinds[j].Kind == string(d.Kind) {
				kinds[j].add(d)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.String(), "to": to.String(), "days": out, "kinds": kinds, "totals": total})
}
