package web

import (
	"net/http"
	"time"

	"github.com/care360/care360"
)

// spinPrizeJSON is one slot of a table. Odds are the chance of winning it
// on the next spin: weight / total while in stock, 0 once it has run out
// (its chance then goes to "no prize", as published).
type spinPrizeJSON struct {
	ID        int64   `json:"id"`
	Slot      int     `json:"slot"`
	Name      string  `json:"name"`
	NameEn    string  `json:"name_en"`
	Weight    int64   `json:"weight"`
	Inventory int64   `json:"inventory"`
	Remaining int64   `json:"remaining"`
	Odds      float64 `json:"odds"`
	Collect   string  `json:"collect"`
	CollectEn string  `json:"collect_en"`
}

type spinTableJSON struct {
	ID            int64           `json:"id"`
	Code          string          `json:"code"`
	Name          string          `json:"name"`
	NameEn        string          `json:"name_en"`
	CostPoints    int64           `json:"cost_points"`
	DailyCap      int             `json:"daily_cap"`
	NoPrizeWeight int64           `json:"no_prize_weight"`
	NoPrizeOdds   float64         `json:"no_prize_odds"`
	StartsAt      time.Time       `json:"starts_at"`
	EndsAt        time.Time       `json:"ends_at"`
	Active        bool            `json:"active"`
	Prizes        []spinPrizeJSON `json:"prizes"`
	CreatedAt     time.Time       `json:"created_at"`
}

func spinTableOut(t *care360.SpinTable) spinTableJSON {
	out := spinTableJSON{ID: t.ID, Code: t.Code, Name: t.Name, NameEn: t.NameEn, CostPoints: t.CostPoints,
		DailyCap: t.DailyCap, NoPrizeWeight: t.NoPrizeWeight, StartsAt: t.StartsAt, EndsAt: t.EndsAt, Active: t.Active,
		Prizes: make([]spinPrizeJSON, len(t.Prizes)), CreatedAt: t.CreatedAt}
	total := float64(t.TotalWeight())
	out.NoPrizeOdds = 1
	for i, p := range t.Prizes {
		out.Prizes[i] = spinPrizeJSON{ID: p.ID, Slot: p.Slot, Name: p.Name, NameEn: p.NameEn, Weight: p.Weight,
			Inventory: p.Inventory, Remaining: p.Remaining, Collect: p.Collect, CollectEn: p.CollectEn}
		if p.Remaining > 0 && total > 0 {
			out.Prizes[i].Odds = float64(p.Weight) / total
			out.NoPrizeOdds -= out.Prizes[i].Odds
		}
	}
	return out
}

// spinTableRequest is the body of POST /api/v1/spins. starts_at defaults
// to now; prizes take slots in the order given.
type spinTableRequest struct {
	Code           string          `json:"code"`
	Name           string          `json:"name"`
	NameEn         string          `json:"name_en"`
	CostPoints     int64           `json:"cost_points"`
	DailyCap       int             `json:"daily_cap"`
	NoPrizeWeight  int64           `json:"no_prize_weight"`
	StartsAt       *time.Time      `json:"starts_at"`
	EndsAt         time.Time       `json:"ends_at"`
	Prizes         []spinPrizeJSON `json:"prizes"`
	IdempotencyKey string          `json:"idempotency_key"`
}

// getSpins lists the prize tables with their stock and odds; ?active=true
// keeps those taking spins now.
func (s *Server) getSpins(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.drawsReady(w, r); !ok {
		return
	}
	ts, err := s.draws.Spins.SpinTables(r.Context(), r.URL.Query().Get("active") == "true")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Spins []spinTableJSON `json:"spins"`
	}{Spins: make([]spinTableJSON, len(ts))}
	for i := range ts {
		out.Spins[i] = spinTableOut(&ts[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postSpins(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.drawsReady(w, r); !ok {
		return
	}
	var req spinTableRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	t := &care360.SpinTable{Code: req.Code, Name: req.Name, NameEn: req.NameEn, CostPoints: req.CostPoints,
		DailyCap: req.DailyCap, NoPrizeWeight: req.NoPrizeWeight, StartsAt: time.Now(), EndsAt: req.EndsAt}
	if req.StartsAt != nil {
		t.StartsAt = *req.StartsAt
	}
	for _, p := range req.Prizes {
		t.Prizes = append(t.Prizes, care360.SpinPrize{Name: p.Name, NameEn: p.NameEn, Weight: p.Weight,
			Inventory: p.Inventory, Collect: p.Collect, CollectEn: p.CollectEn})
	}
	key, fp, err := callerKey(req.IdempotencyKey, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t.RequestHash = fp
	replay, err := s.draws.Spins.CreateSpinTable(r.Context(), t, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, createdOrReplayed(replay), spinTableOut(t))
}

// spinTablePatch is the body of PATCH /api/v1/spins/{id}: only the fields
// present change (active:false takes the table off the menus). The code
// and the prizes stay: spins made already name them.
type spinTablePatch struct {
	Name          *string    `json:"name"`
	NameEn        *string    `json:"name_en"`
	CostPoints    *int64     `json:"cost_points"`
	DailyCap      *int       `json:"daily_cap"`
	NoPrizeWeight *int64     `json:"no_prize_weight"`
	StartsAt      *time.Time `json:"starts_at"`
	EndsAt        *time.Time `json:"ends_at"`
	Active        *bool      `json:"active"`
}

func (s *Server) patchSpinTable(w http.ResponseWriter, r *http.Request) {
	id, ok := s.drawsReady(w, r)
	if !ok {
		return
	}
	var p spinTablePatch
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.draws.Spins.UpdateSpinTable(r.Context(), id, care360.SpinTableUpdate{Name: p.Name, NameEn: p.NameEn,
		CostPoints: p.CostPoints, DailyCap: p.DailyCap, NoPrizeWeight: p.NoPrizeWeight, StartsAt: p.StartsAt, EndsAt: p.EndsAt, Active: p.Active})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, spinTableOut(t))
}

type grantJSON struct {
	MSISDN         string     `json:"msisdn"`
	Spins          int        `json:"spins"`
	Reason         string     `json:"reason"`
	IdempotencyKey string     `json:"idempotency_key"`
	ExpiresAt      *time.Time `json:"expires_at"` // default: when the table ends
}

// maxGrants bounds one request; a campaign sends several.
const maxGrants = 1000

// postSpinGrants gives free spins (a campaign's). The answer has a result
// per grant: accepted, duplicate (key seen before) or rejected (with why).
func (s *Server) postSpinGrants(w http.ResponseWriter, r *http.Request) {
	id, ok := s.drawsReady(w, r)
	if !ok {
		return
	}
	var req struct {
		Grants []grantJSON `json:"grants"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Grants) == 0 || len(req.Grants) > maxGrants {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "send 1 to %d grants", maxGrants))
		return
	}
	type result struct {
		Result string `json:"result"`
		Reason string `json:"reason,omitempty"`
	}
	results := make([]result, len(req.Grants))
	var grants []care360.SpinGrant
	var at []int // index in the request of each grant sent on
	for i, g := range req.Grants {
		m, err := s.numbering.Parse(g.MSISDN)
		if err != nil {
			results[i] = result{string(care360.GrantRejected), "invalid msisdn"}
			continue
		}
		if err := care360.ValidateCallerKey(g.IdempotencyKey); err != nil {
			results[i] = result{string(care360.GrantRejected), care360.ErrorMessage(err)}
			continue
		}
		sg := care360.SpinGrant{MSISDN: m, Spins: g.Spins, Reason: g.Reason, IdempotencyKey: care360.CallerKey(g.IdempotencyKey)}
		if g.ExpiresAt != nil {
			sg.ExpiresAt = *g.ExpiresAt
		}
		if err := sg.Validate(); err != nil {
			results[i] = result{string(care360.GrantRejected), care360.ErrorMessage(err)}
			continue
		}
		grants, at = append(grants, sg), append(at, i)
	}
	if len(grants) > 0 {
		rs, err := s.draws.Spins.GrantSpins(r.Context(), id, grants)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for j, res := range rs {
			results[at[j]] = result{Result: string(res)}
			switch res {
			case care360.GrantRejected:
				results[at[j]].Reason = "not a member"
			case care360.GrantConflict:
				results[at[j]] = result{string(care360.GrantRejected), "idempotency_key was used before for a different grant"}
			}
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Results []result `json:"results"`
	}{results})
}
