package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/care360/care360"
)

// recordJSON is a dialogue record as GET /api/v1/dialogues streams it
// (PRODUCT.md §3.8).
type recordJSON struct {
	ID         string    `json:"id"`
	MSISDN     string    `json:"msisdn"`
	Code       string    `json:"code"`
	Channel    string    `json:"channel"`
	Bind       string    `json:"bind"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
	Steps      int       `json:"steps"`
	Path       []string  `json:"path"`
	Outcome    string    `json:"outcome"`
	LastScreen string    `json:"last_screen"`
}

var recordColumns = []string{"id", "msisdn", "code", "channel", "bind", "started_at", "ended_at", "steps", "path", "outcome", "last_screen"}

// flushEvery is how many records go out between flushes of a stream: the
// client sees progress, and the server holds a few kilobytes at most.
const flushEvery = 500

func (s *Server) recordsReady(w http.ResponseWriter, r *http.Request) bool {
	if !s.adminReady(w, r) {
		return false
	}
	if s.admin.DialogueRecords == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "dialogue records are not configured on this server"))
		return false
	}
	return true
}

// timeRange reads ?from=&to= as RFC 3339 times or as local days (to
// inclusive); the default is the last 24 hours.
func (s *Server) timeRange(r *http.Request) (from, to time.Time, err error) {
	to, from = time.Now(), time.Now().Add(-24*time.Hour)
	q := r.URL.Query()
	parse := func(name, v string, end bool) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		d, err := care360.ParseDate(v)
		if err != nil {
			return time.Time{}, care360.Errorf(care360.EINVALID, "%s must be a time (RFC 3339) or a date (YYYY-MM-DD), got %q", name, v)
		}
		t := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, s.location())
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if v := q.Get("from"); v != "" {
		if from, err = parse("from", v, false); err != nil {
			return from, to, err
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parse("to", v, true); err != nil {
			return from, to, err
		}
	}
	if !from.Before(to) {
		return from, to, care360.Errorf(care360.EINVALID, "from must be before to")
	}
	return from, to, nil
}

// getDialogues answers GET /api/v1/dialogues: every record that ended in
// the range, streamed as they are read (NDJSON, or CSV with Accept:
// text/csv), however many there are. Records carry numbers, so reading them
// is audited: the number asked for, or the export as such.
func (s *Server) getDialogues(w http.ResponseWriter, r *http.Request) {
	if !s.recordsReady(w, r) {
		return
	}
	from, to, err := s.timeRange(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := care360.DialogueQuery{From: from, To: to, Code: r.URL.Query().Get("code"), Outcome: r.URL.Query().Get("outcome")}
	if v := r.URL.Query().Get("msisdn"); v != "" {
		if q.MSISDN, err = s.numbering.Parse(v); err != nil {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "msisdn: %v", err))
			return
		}
	}
	if q.Outcome != "" && !slices.Contains(care360.DialogueOutcomes, q.Outcome) {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "outcome must be one of %s", strings.Join(care360.DialogueOutcomes, ", ")))
		return
	}
	asCSV := strings.Contains(r.Header.Get("Accept"), "text/csv")
	flusher, _ := w.(http.Flusher)
	var (
		n   int
		cw  *csv.Writer
		enc = json.NewEncoder(w)
	)
	started := false
	// begin sends the status and, for CSV, the header row: at the first
	// record, or at the end when there was none.
	begin := func() {
		if started {
			return
		}
		started = true
		if asCSV {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="dialogues.csv"`)
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		w.WriteHeader(http.StatusOK)
		if asCSV {
			cw = csv.NewWriter(w)
			cw.Write(recordColumns)
		}
	}
	err = s.admin.DialogueRecords.DialogueRecords(r.Context(), q, func(rec *care360.DialogueRecord) error {
		begin()
		n++
		if cw != nil {
			cw.Write([]string{rec.ID, string(rec.MSISDN), rec.Code, rec.Channel, rec.Bind,
				rec.StartedAt.UTC().Format(time.RFC3339Nano), rec.EndedAt.UTC().Format(time.RFC3339Nano),
				strconv.Itoa(rec.Steps), strings.Join(rec.Path, ">"), rec.Outcome, rec.LastScreen})
		} else if err := enc.Encode(toRecordJSON(rec)); err != nil {
			return err
		}
		if n%flushEvery == 0 {
			if cw != nil {
				cw.Flush()
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		return nil
	})
	switch {
	case err != nil && !started:
		s.writeError(w, r, err)
		return
	case err != nil:
		// The status is sent: a cut stream is what the client sees.
		s.log.Warn("dialogue records stream cut", "err", err, "sent", n)
	}
	begin()
	if cw != nil {
		cw.Flush()
	}
	if q.MSISDN != "" {
		s.auditRead(r, "dialogues.read", q.MSISDN, n)
	} else {
		s.audit(r, "dialogues.export", "", nil, map[string]any{"items": n, "from": from, "to": to, "code": q.Code, "outcome": q.Outcome})
	}
}

func toRecordJSON(r *care360.DialogueRecord) recordJSON {
	path := r.Path
	if path == nil {
		path = []string{}
	}
	return recordJSON{ID: r.ID, MSISDN: string(r.MSISDN), Code: r.Code, Channel: r.Channel, Bind: r.Bind,
		StartedAt: r.StartedAt.UTC(), EndedAt: r.EndedAt.UTC(), Steps: r.Steps, Path: path, Outcome: r.Outcome, LastScreen: r.LastScreen}
}

type funnelStepJSON struct {
	Screen   string           `json:"screen"`
	Reached  int64            `json:"reached"`
	Answered int64            `json:"answered"`
	Ended    map[string]int64 `json:"ended"`
}

// funnelReport answers GET /api/v1/reports/funnel?from=&to=&code=: per
// screen, the dialogues that reached it, answered it, and ended on it by
// outcome, most reached first (where do members give up?).
func (s *Server) funnelReport(w http.ResponseWriter, r *http.Request) {
	if !s.recordsReady(w, r) {
		return
	}
	fromDay, toDay, err := s.reportRange(r, maxPointsDays)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	loc := s.location()
	from := time.Date(fromDay.Year(), fromDay.Month(), fromDay.Day(), 0, 0, 0, 0, loc)
	to := time.Date(toDay.Year(), toDay.Month(), toDay.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	code := r.URL.Query().Get("code")
	steps, err := s.admin.DialogueRecords.Funnel(r.Context(), from, to, code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]funnelStepJSON, len(steps))
	for i, f := range steps {
		out[i] = funnelStepJSON{Screen: f.Screen, Reached: f.Reached, Answered: f.Answered, Ended: f.Ended}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": fromDay.String(), "to": toDay.String(), "code": code, "screens": out})
}
