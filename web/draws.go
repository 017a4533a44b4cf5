package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
)

// DrawsConfig is what the draw and spin endpoints need; a Server without
// one answers them 503 (the routes exist either way, so the token check
// covers them).
type DrawsConfig struct {
	Draws care360.DrawService
	Spins care360.SpinService
}

// drawRoutes mounts the draws, spins and their reports (PRODUCT.md §6).
// Ids are digits only: with mux's default [^/]+, "7:close" would match {id}.
func (s *Server) drawRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/draws", s.getDraws).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/draws", s.postDraw).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/draws/{id:[0-9]+}", s.drawAction(care360.DrawService.Draw)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/draws/{id:[0-9]+}:close", s.drawAction(care360.DrawService.CloseDraw)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/draws/{id:[0-9]+}", s.patchDraw).Methods(http.MethodPatch)
	r.HandleFunc("/api/v1/draws/{id:[0-9]+}:run", s.runDraw).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/draws/{id:[0-9]+}:cancel", s.cancelDraw).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/draws/{id:[0-9]+}/audit", s.getDrawAudit).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/spins", s.getSpins).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/spins", s.postSpins).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/spins/{id:[0-9]+}", s.patchSpinTable).Methods(http.MethodPatch)
	r.HandleFunc("/api/v1/spins/{id:[0-9]+}/grants", s.postSpinGrants).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/reports/draws", s.luckReport(s.drawReport)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/reports/spins", s.luckReport(s.spinReport)).Methods(http.MethodGet)
}

var errNoDraws = care360.Errorf(care360.EUNAVAILABLE, "draws and spins are not configured on this server")

// drawsReady answers 503 and reports false when the services are absent;
// otherwise it reads the {id} of the route, if it has one.
func (s *Server) drawsReady(w http.ResponseWriter, r *http.Request) (id int64, ok bool) {
	if s.draws == nil {
		s.writeError(w, r, errNoDraws)
		return 0, false
	}
	if v, has := mux.Vars(r)["id"]; has {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.writeError(w, r, care360.Errorf(care360.ENOTFOUND, "no such draw or table"))
			return 0, false
		}
		id = n
	}
	return id, true
}

type drawPrizeJSON struct {
	Rank      int    `json:"rank"` // ignored in requests: prizes rank in the order given
	Name      string `json:"name"`
	NameEn    string `json:"name_en"`
	Quantity  int    `json:"quantity"`
	Collect   string `json:"collect"`
	CollectEn string `json:"collect_en"`
}

// drawRequest is the body of POST /api/v1/draws. opens_at defaults to now.
type drawRequest struct {
	Code           string          `json:"code"`
	Name           string          `json:"name"`
	NameEn         string          `json:"name_en"`
	OpensAt        *time.Time      `json:"opens_at"`
	ClosesAt       time.Time       `json:"closes_at"`
	EntryCost      int64           `json:"entry_cost"`
	Tickets        map[string]int  `json:"tickets"`
	Prizes         []drawPrizeJSON `json:"prizes"`
	IdempotencyKey string          `json:"idempotency_key"`
}

// drawJSON is a draw as the API shows it: the commitment from the start,
// the digest from the close, the witness and seed from the run.
type drawJSON struct {
	ID            int64           `json:"id"`
	Code          string          `json:"code"`
	Name          string          `json:"name"`
	NameEn        string          `json:"name_en"`
	Status        string          `json:"status"`
	Active        bool            `json:"active"`
	OpensAt       time.Time       `json:"opens_at"`
	ClosesAt      time.Time       `json:"closes_at"`
	EntryCost     int64           `json:"entry_cost"`
	Tickets       map[string]int  `json:"tickets"`
	Prizes        []drawPrizeJSON `json:"prizes"`
	Commitment    string          `json:"commitment"`
	Entries       int64           `json:"entries"`
	EntriesDigest string          `json:"entries_digest,omitempty"`
	Witness       string          `json:"witness,omitempty"`
	Seed          string          `json:"seed,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	ClosedAt      *time.Time      `json:"closed_at"`
	DrawnAt       *time.Time      `json:"drawn_at"`
	CancelledAt   *time.Time      `json:"cancelled_at,omitempty"`
}

func drawOut(d *care360.Draw) drawJSON {
	out := drawJSON{
		ID: d.ID, Code: d.Code, Name: d.Name, NameEn: d.NameEn, Status: string(d.Status), Active: d.Active,
		OpensAt: d.OpensAt, ClosesAt: d.ClosesAt, EntryCost: d.EntryCost, Tickets: map[string]int{},
		Prizes: make([]drawPrizeJSON, len(d.Prizes)), Commitment: d.Commitment, Entries: d.Entries,
		EntriesDigest: d.EntriesDigest, Witness: d.Witness, Seed: d.Seed,
		CreatedAt: d.CreatedAt, ClosedAt: d.ClosedAt, DrawnAt: d.DrawnAt, CancelledAt: d.CancelledAt,
	}
	for t, n := range d.Tickets {
		out.Tickets[string(t)] = n
	}
	for i, p := range d.Prizes {
		out.Prizes[i] = drawPrizeJSON{Rank: p.Rank, Name: p.Name, NameEn: p.NameEn, Quantity: p.Quantity, Collect: p.Collect, CollectEn: p.CollectEn}
	}
	return out
}

func (s *Server) getDraws(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.drawsReady(w, r); !ok {
		return
	}
	status := care360.DrawStatus(r.URL.Query().Get("status"))
	switch status {
	case "", care360.DrawOpen, care360.DrawClosed, care360.DrawDrawn, care360.DrawCancelled:
	default:
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "status must be open, closed, drawn or cancelled"))
		return
	}
	ds, err := s.draws.Draws.Draws(r.Context(), status)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Draws []drawJSON `json:"draws"`
	}{Draws: make([]drawJSON, len(ds))}
	for i := range ds {
		out.Draws[i] = drawOut(&ds[i])
	}
	writeJSON(w, http.StatusOK, out)
}

// postDraw opens a draw: its commitment is in the answer. A replayed
// idempotency key answers 200 with the original draw.
func (s *Server) postDraw(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.drawsReady(w, r); !ok {
		return
	}
	var req drawRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d := &care360.Draw{Code: req.Code, Name: req.Name, NameEn: req.NameEn, ClosesAt: req.ClosesAt,
		EntryCost: req.EntryCost, Tickets: map[care360.Tier]int{}, OpensAt: time.Now()}
	if req.OpensAt != nil {
		d.OpensAt = *req.OpensAt
	}
	for t, n := range req.Tickets {
		d.Tickets[care360.Tier(t)] = n
	}
	for _, p := range req.Prizes {
		d.Prizes = append(d.Prizes, care360.DrawPrize{Name: p.Name, NameEn: p.NameEn, Quantity: p.Quantity, Collect: p.Collect, CollectEn: p.CollectEn})
	}
	key, fp, err := callerKey(req.IdempotencyKey, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d.RequestHash = fp
	replay, err := s.draws.Draws.CreateDraw(r.Context(), d, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, createdOrReplayed(replay), drawOut(d))
}

// drawAction serves GET /api/v1/draws/{id} and POST {id}:close, which both
// take an id and answer the draw as it is afterwards (closing again
// answers the same: the count and digest published the first time).
func (s *Server) drawAction(do func(care360.DrawService, context.Context, int64) (*care360.Draw, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.drawsReady(w, r)
		if !ok {
			return
		}
		d, err := do(s.draws.Draws, r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, drawOut(d))
	}
}

// createdOrReplayed is 201 for something new, 200 for a replayed key.
func createdOrReplayed(replay bool) int {
	if replay {
		return http.StatusOK
	}
	return http.StatusCreated
}

// drawPatch is the body of PATCH /api/v1/draws/{id}: only the fields
// present change, and only while the draw is open (after the close, 409);
// entry_cost and tickets only until someone has entered (409).
// prizes, when present, replace them all; active:false takes the draw off
// the menus and stops entries. The code stays: receipts name it.
type drawPatch struct {
	Name      *string          `json:"name"`
	NameEn    *string          `json:"name_en"`
	OpensAt   *time.Time       `json:"opens_at"`
	ClosesAt  *time.Time       `json:"closes_at"`
	EntryCost *int64           `json:"entry_cost"`
	Tickets   *map[string]int  `json:"tickets"`
	Prizes    *[]drawPrizeJSON `json:"prizes"`
	Active    *bool            `json:"active"`
}

func (s *Server) patchDraw(w http.ResponseWriter, r *http.Request) {
	id, ok := s.drawsReady(w, r)
	if !ok {
		return
	}
	var p drawPatch
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := care360.DrawUpdate{Name: p.Name, NameEn: p.NameEn, OpensAt: p.OpensAt, ClosesAt: p.ClosesAt, EntryCost: p.EntryCost, Active: p.Active}
	if p.Tickets != nil {
		ts := map[care360.Tier]int{}
		for t, n := range *p.Tickets {
			ts[care360.Tier(t)] = n
		}
		u.Tickets = &ts
	}
	if p.Prizes != nil {
		ps := make([]care360.DrawPrize, len(*p.Prizes))
		for i, x := range *p.Prizes {
			ps[i] = care360.DrawPrize{Name: x.Name, NameEn: x.NameEn, Quantity: x.Quantity, Collect: x.Collect, CollectEn: x.CollectEn}
		}
		u.Prizes = &ps
	}
	d, err := s.draws.Draws.UpdateDraw(r.Context(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, drawOut(d))
}

// cancellationJSON is the answer of :cancel.
type cancellationJSON struct {
	Draw            drawJSON `json:"draw"`
	Entries         int64    `json:"entries"`
	RefundedEntries int64    `json:"refunded_entries"`
	RefundedPoints  int64    `json:"refunded_points"`
}

// cancelDraw cancels a draw that has not been run and refunds every entry.
// Like :close, it answers 200 with the outcome however often it is sent:
// a repeat (a retry after a lost answer) changes nothing and finds the
// first cancel's outcome. A drawn draw is a 409.
func (s *Server) cancelDraw(w http.ResponseWriter, r *http.Request) {
	id, ok := s.drawsReady(w, r)
	if !ok {
		return
	}
	c, err := s.draws.Draws.CancelDraw(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := cancellationJSON{Draw: drawOut(&c.Draw), Entries: c.Entries, RefundedEntries: c.Refunded, RefundedPoints: c.Points}
	if c.Replay {
		s.noChange(r)
	} else {
		s.audit(r, "draw.cancel", fmt.Sprintf("/api/v1/draws/%d", id), map[string]any{"status": c.From},
			map[string]any{"status": c.Draw.Status, "entries": c.Entries, "refunded_entries": c.Refunded, "refunded_points": c.Points})
	}
	writeJSON(w, http.StatusOK, out)
}

type runRequest struct {
	Witness string `json:"witness"`
}

type winnerJSON struct {
	Position  int    `json:"position"`
	PrizeRank int    `json:"prize_rank"`
	Prize     string `json:"prize"`
	EntryID   int64  `json:"entry_id"`
	MSISDN    string `json:"msisdn"` // in full: staff hand the prizes over
	Receipt   string `json:"receipt"`
}

// runDraw takes the witnesses' value, reveals the seed and draws. Running
// again with the same value answers 200 with the same result; another
// value is a 409.
func (s *Server) runDraw(w http.ResponseWriter, r *http.Request) {
	id, ok := s.drawsReady(w, r)
	if !ok {
		return
	}
	var req runRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, ws, replay, err := s.draws.Draws.RunDraw(r.Context(), id, req.Witness)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Draw    drawJSON     `json:"draw"`
		Winners []winnerJSON `json:"winners"`
	}{Draw: drawOut(d), Winners: make([]winnerJSON, len(ws))}
	for i, x := range ws {
		out.Winners[i] = winnerJSON{Position: x.Position, PrizeRank: x.Prize.Rank, Prize: x.Prize.Name,
			EntryID: x.Entry.ID, MSISDN: string(x.Entry.MSISDN), Receipt: x.Entry.Receipt}
	}
	writeJSON(w, createdOrReplayed(replay), out)
}

// getDrawAudit serves the audit file, with a file name for browsers,
// streamed as the entries are read: a draw of a million entries is never
// held in memory. An error once the file has started aborts the response,
// so the client sees a cut transfer, never a shorter file that parses.
func (s *Server) getDrawAudit(w http.ResponseWriter, r *http.Request) {
	id, ok := s.drawsReady(w, r)
	if !ok {
		return
	}
	started := false
	err := s.draws.Draws.WriteDrawAudit(r.Context(), id, func(a *draw.Audit) (io.Writer, error) {
		started = true
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="draw-%s-audit.json"`, a.Draw.Code))
		w.WriteHeader(http.StatusOK)
		return w, nil
	})
	switch {
	case err == nil:
	case !started:
		s.writeError(w, r, err)
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "audit file cut short", slog.Int64("draw", id), slog.Any("error", err))
		panic(http.ErrAbortHandler)
	}
}
