package web

import (
	"net/http"

	"github.com/care360/care360"
)

// dncRow is one row's fate in an import report; row is the line number
// (the header is line 1).
type dncRow struct {
	Row    int    `json:"row"`
	MSISDN string `json:"msisdn"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

func (d dncRow) result() string { return d.Result }

// importDNC is POST /api/v1/dnc:import: a UTF-8 CSV with a header row that
// has an msisdn column, sent as the body (text/csv) or as the file of a
// multipart form. It reads the file a line at a time and stores it in
// chunks, so the national list's millions of numbers take bounded memory,
// and answers 200 with a result per row (accepted, duplicate, rejected
// with a reason: not a number, a line that cannot be read or is over
// 64 KiB). A file whose header cannot be read is a 400 that says why.
func (s *Server) importDNC(w http.ResponseWriter, r *http.Request) {
	if !s.smsReady(w, r) {
		return
	}
	src, err := csvUpload(w, r, maxCSVBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cr := newCSVReader(src, s.maxCSVRows)
	col, err := cr.header("msisdn", "a header row with an msisdn column and one number per row")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var rows []dncRow
	var valid []care360.MSISDN
	var at []int // index into rows of each valid number
	answerUpload(s, w, r, cr, col, "msisdn", func(cells []csvCell) ([]dncRow, error) {
		rows, valid, at = rows[:0], valid[:0], at[:0]
		for _, c := range cells {
			row := dncRow{Row: c.Line, MSISDN: c.Value, Result: string(care360.DNCRejected), Reason: c.Problem}
			if c.Problem == "" {
				if m, err := s.numbering.Parse(c.Value); err != nil {
					row.Reason = care360.ErrorMessage(err)
				} else {
					row.MSISDN = string(m)
					valid, at = append(valid, m), append(at, len(rows))
				}
			}
			rows = append(rows, row)
		}
		results, err := s.sms.DNC.ImportDNC(r.Context(), valid)
		for i, res := range results {
			rows[at[i]].Result = string(res)
		}
		return rows, err
	})
}
