package web

import (
	"net/http"

	"github.com/care360/care360"
)

// maxLuckDays bounds a draw or spin report: a year of days.
const maxLuckDays = 366

type drawDayJSON struct {
	Date    string `json:"date"`
	DrawID  int64  `json:"draw_id"`
	Code    string `json:"code"`
	Entries int64  `json:"entries"`
	Points  int64  `json:"points"`
}

type drawTotalJSON struct {
	DrawID  int64  `json:"draw_id"`
	Code    string `json:"code"`
	Status  string `json:"status"`
	Entries int64  `json:"entries"`
	Points  int64  `json:"points"`
	Prizes  int64  `json:"prizes"`
	Awarded int64  `json:"awarded"`
}

// luckReport serves a report over ?from=YYYY-MM-DD&to=YYYY-MM-DD (local
// days, inclusive): build turns the range into the answer.
func (s *Server) luckReport(build func(r *http.Request, from, to care360.Date) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.drawsReady(w, r); !ok {
			return
		}
		from, to, err := s.reportRange(r, maxLuckDays)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out, err := build(r, from, to)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// drawReport is entries over time: per local day and draw, then each
// draw's totals.
func (s *Server) drawReport(r *http.Request, from, to care360.Date) (any, error) {
	rep, err := s.draws.Draws.DrawReport(r.Context(), from, to)
	if err != nil {
		return nil, err
	}
	out := struct {
		From  string          `json:"from"`
		To    string          `json:"to"`
		Days  []drawDayJSON   `json:"days"`
		Draws []drawTotalJSON `json:"draws"`
	}{From: from.String(), To: to.String(), Days: make([]drawDayJSON, len(rep.Days)), Draws: make([]drawTotalJSON, len(rep.Draws))}
	for i, d := range rep.Days {
		out.Days[i] = drawDayJSON{Date: d.Day.String(), DrawID: d.DrawID, Code: d.Code, Entries: d.Entries, Points: d.Points}
	}
	for i, d := range rep.Draws {
		out.Draws[i] = drawTotalJSON{DrawID: d.DrawID, Code: d.Code, Status: string(d.Status), Entries: d.Entries,
			Points: d.Points, Prizes: d.Prizes, Awarded: d.Awarded}
	}
	return out, nil
}

type spinDayJSON struct {
	Date    string `json:"date"`
	TableID int64  `json:"table_id"`
	Code    string `json:"code"`
	Spins   int64  `json:"spins"`
	Free    int64  `json:"free"`
	Points  int64  `json:"points"`
	Prizes  int64  `json:"prizes"`
}

type spinStockJSON struct {
	TableID   int64  `json:"table_id"`
	Code      string `json:"code"`
	PrizeID   int64  `json:"prize_id"`
	Name      string `json:"name"`
	Inventory int64  `json:"inventory"`
	Remaining int64  `json:"remaining"`
	Awarded   int64  `json:"awarded"`
}

// spinReport is spins and prizes awarded per local day and table, and
// every prize's remaining stock.
func (s *Server) spinReport(r *http.Request, from, to care360.Date) (any, error) {
	rep, err := s.draws.Spins.SpinReport(r.Context(), from, to)
	if err != nil {
		return nil, err
	}
	out := struct {
		From  string          `json:"from"`
		To    string          `json:"to"`
		Days  []spinDayJSON   `json:"days"`
		Stock []spinStockJSON `json:"stock"`
	}{From: from.String(), To: to.String(), Days: make([]spinDayJSON, len(rep.Days)), Stock: make([]spinStockJSON, len(rep.Stock))}
	for i, d := range rep.Days {
		out.Days[i] = spinDayJSON{Date: d.Day.String(), TableID: d.TableID, Code: d.Code, Spins: d.Spins, Free: d.Free, Points: d.Points, Prizes: d.Prizes}
	}
	for i, st := range rep.Stock {
		out.Stock[i] = spinStockJSON{TableID: st.TableID, Code: st.Code, PrizeID: st.PrizeID, Name: st.Name,
			Inventory: st.Inventory, Remaining: st.Remaining, Awarded: st.Awarded}
	}
	return out, nil
}
