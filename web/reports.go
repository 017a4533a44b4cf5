package web

import (
	"net/http"
	"time"

	"github.com/care360/care360"
)

// Report ranges: long enough for a year of days or a month of hours, short
// enough that one request stays one quick query.
const (
	defaultReportDays = 30
	maxPointsDays     = 366
	maxUSSDDays       = 31
	maxSMSDays        = 366
)

// reportRange reads ?from=YYYY-MM-DD&to=YYYY-MM-DD (local days, inclusive);
// the default is the last defaultReportDays days up to today.
func (s *Server) reportRange(r *http.Request, maxDays int) (from, to care360.Date, err error) {
	now := time.Now().In(s.location())
	to = care360.Date{Time: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)}
	q := r.URL.Query()
	if v := q.Get("to"); v != "" {
		if to, err = care360.ParseDate(v); err != nil {
			return from, to, care360.Errorf(care360.EINVALID, "to must be a date as YYYY-MM-DD, got %q", v)
		}
	}
	from = care360.Date{Time: to.AddDate(0, 0, 1-defaultReportDays)}
	if v := q.Get("from"); v != "" {
		if from, err = care360.ParseDate(v); err != nil {
			return from, to, care360.Errorf(care360.EINVALID, "from must be a date as YYYY-MM-DD, got %q", v)
		}
	}
	switch days := int(to.Sub(from.Time).Hours()/24) + 1; {
	case days < 1:
		return from, to, care360.Errorf(care360.EINVALID, "from must not be after to")
	case days > maxDays:
		return from, to, care360.Errorf(care360.EINVALID, "a report covers at most %d days", maxDays)
	}
	return from, to, nil
}

// location is where report days begin: it must be the store's, or "today"
// would mean different days to the two.
func (s *Server) location() *time.Location {
	if s.admin != nil && s.admin.Location != nil {
		return s.admin.Location
	}
	if loc, err := time.LoadLocation(defaultLocation); err == nil {
		return loc
	}
	return time.UTC
}

// defaultLocation is CARE360_TIMEZONE's default, the store's too.
const defaultLocation = "Asia/Ho_Chi_Minh"

type pointsDayJSON struct {
	Date             string `json:"date,omitempty"` // empty in totals
	Issued           int64  `json:"issued"`
	IssuedQualifying int64  `json:"issued_qualifying"`
	IssuedBonus      int64  `json:"issued_bonus"`
	Spent            int64  `json:"spent"`
	Entries          int64  `json:"entries"`
}

// pointsReport is GET /api/v1/reports/points?from=&to=: points issued and
// spent per local day, by the day each ledger entry was booked.
func (s *Server) pointsReport(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	from, to, err := s.reportRange(r, maxPointsDays)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	days, err := s.admin.Reports.PointsReport(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]pointsDayJSON, len(days))
	var total pointsDayJSON
	for i, d := range days {
		out[i] = pointsDayJSON{Date: d.Date.String(), Issued: d.IssuedQualifying + d.IssuedBonus,
			IssuedQualifying: d.IssuedQualifying, IssuedBonus: d.IssuedBonus, Spent: d.Spent, Entries: d.Entries}
		total.Issued += out[i].Issued
		total.IssuedQualifying += d.IssuedQualifying
		total.IssuedBonus += d.IssuedBonus
		total.Spent += d.Spent
		total.Entries += d.Entries
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.String(), "to": to.String(), "days": out, "totals": total})
}

type ussdHourJSON struct {
	Hour     time.Time `json:"hour"`
	Dials    int64     `json:"dials"`
	Answers  int64     `json:"answers"`
	Aborts   int64     `json:"aborts"`
	Failures int64     `json:"failures"`
}

// ussdReport is GET /api/v1/reports/ussd?from=&to=: USSD steps per hour
// over the local days from..to.
func (s *Server) ussdReport(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	from, to, err := s.reportRange(r, maxUSSDDays)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	loc := s.location()
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	hours, err := s.admin.Reports.USSDReport(r.Context(), start, end)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]ussdHourJSON, len(hours))
	var total ussdHourJSON
	for i, h := range hours {
		out[i] = ussdHourJSON{Hour: h.Hour.In(loc), Dials: h.Dials, Answers: h.Answers, Aborts: h.Aborts, Failures: h.Failures}
		total.Dials += h.Dials
		total.Answers += h.Answers
		total.Aborts += h.Aborts
		total.Failures += h.Failures
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.String(), "to": to.String(), "hours": out,
		"totals": map[string]int64{"dials": total.Dials, "answers": total.Answers, "aborts": total.Aborts, "failures": total.Failures}})
}
