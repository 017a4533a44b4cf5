package web

import (
	"net/http"

	"github.com/care360/care360"
)

type claimDayJSON struct {
	Date   string `json:"date"`
	GiftID int64  `json:"gift_id"`
	Name   string `json:"name"`
	Claims int64  `json:"claims"`
	Points int64  `json:"points"`
}

// claimsReport is GET /api/v1/reports/claims?from=&to=: claims given per
// local day and gift, for the chart of claims arriving.
func (s *Server) claimsReport(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	if s.loyalty.Claims == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "claim reports are not configured on this server"))
		return
	}
	from, to, err := s.reportRange(r, maxLuckDays)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	days, err := s.loyalty.Claims.ClaimReport(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]claimDayJSON, len(days))
	var claims, points int64
	for i, d := range days {
		out[i] = claimDayJSON{Date: d.Day.String(), GiftID: d.GiftID, Name: d.Name, Claims: d.Claims, Points: d.Points}
		claims += d.Claims
		points += d.Points
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"from": from.String(), "to": to.String(), "days": out,
		"totals": map[string]int64{"claims": claims, "points": points},
	})
}
