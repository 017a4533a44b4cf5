package web

import (
	"net/http"
	"time"

	"github.com/care360/care360"
)

// DashboardBind is one SMPP bind as the operations dashboard shows it.
type DashboardBind struct {
	Addr     string    `json:"addr"`
	SystemID string    `json:"system_id"`
	Role     string    `json:"role"`
	Type     string    `json:"bind_type"`
	Up       bool      `json:"up"`
	Since    time.Time `json:"since"`
}

type dashboardBody struct {
	At          time.Time        `json:"at"`
	Binds       []DashboardBind  `json:"binds"`
	DeadLetters map[string]int64 `json:"dead_letters"`
}

// getDashboard answers GET /api/v1/dashboard: what a wall screen in the
// operator's NOC shows, read-only and cheap enough to poll every few seconds.
func (s *Server) getDashboard(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	body := dashboardBody{At: time.Now().UTC(), Binds: []DashboardBind{}, DeadLetters: map[string]int64{}}
	if s.admin.Binds != nil {
		body.Binds = append(body.Binds, s.admin.Binds()...)
	}
	if s.admin.DeadLetters != nil {
		counts, err := s.admin.DeadLetters.DeadLetterCounts(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, k := range []string{care360.DeadLetterUsage, care360.DeadLetterSMS, care360.DeadLetterProvisioning} {
			body.DeadLetters[k] = counts[k]
		}
	}
	writeJSON(w, http.StatusOK, body)
}
