package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/care360/care360"
)

// maxCSVBytes bounds an uploaded list: the national do-not-call list is a
// few million numbers of a dozen bytes.
const maxCSVBytes = 64 << 20

// dncRow is one row's fate in an import report; row counts the header as 1.
type dncRow struct {
	Row    int    `json:"row"`
	MSISDN string `json:"msisdn"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

type dncReport struct {
	Accepted  int      `json:"accepted"`
	Duplicate int      `json:"duplicate"`
	Rejected  int      `json:"rejected"`
	Rows      []dncRow `json:"rows"`
}

// importDNC is POST /api/v1/dnc:import: a UTF-8 CSV with a header row that
// has an msisdn column, sent as the body (text/csv) or as the file of a
// multipart form. It answers 200 with a result per row (accepted,
// duplicate, rejected with a reason); a file that cannot be read at all is a
// 400 that says why.
func (s *Server) importDNC(w http.ResponseWriter, r *http.Request) {
	if !s.smsReady(w, r) {
		return
	}
	data, err := readCSVUpload(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, col, err := parseCSV(data, "msisdn")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var rep dncReport
	var valid []care360.MSISDN
	var at []int // index into rep.Rows of each valid number
	for i, rec := range rows {
		row := dncRow{Row: i + 2, MSISDN: rec[col]}
		if m, err := s.numbering.Parse(rec[col]); err != nil {
			row.Result, row.Reason = string(care360.DNCRejected), care360.ErrorMessage(err)
			rep.Rejected++
		} else {
			row.MSISDN = string(m)
			valid, at = append(valid, m), append(at, len(rep.Rows))
		}
		rep.Rows = append(rep.Rows, row)
	}
	results, err := s.sms.DNC.ImportDNC(r.Context(), valid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i, res := range results {
		rep.Rows[at[i]].Result = string(res)
		if res == care360.DNCAccepted {
			rep.Accepted++
		} else {
			rep.Duplicate++
		}
	}
	writeJSON(w, http.StatusOK, rep)
}

// readCSVUpload returns the uploaded file (see csvUpload), whole.
func readCSVUpload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	src, err := csvUpload(w, r, maxCSVBytes)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(src)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, care360.Errorf(care360.EINVALID, "the CSV is larger than %d MiB", maxCSVBytes>>20)
		}
		return nil, care360.Errorf(care360.EINVALID, "could not read the CSV")
	}
	return data, nil
}

// parseCSV reads a UTF-8 CSV with a header row and returns its data rows and
// the index of the column named want (case-insensitive).
func parseCSV(data []byte, want string) (rows [][]string, col int, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM, as spreadsheets write
	if !utf8.Valid(data) {
		return nil, 0, care360.Errorf(care360.EINVALID, "the CSV is not UTF-8")
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	all, err := cr.ReadAll()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, care360.Errorf(care360.EINVALID, "malformed CSV at line %d: %v", pe.Line, pe.Err)
		}
		return nil, 0, care360.Errorf(care360.EINVALID, "malformed CSV")
	}
	if len(all) == 0 {
		return nil, 0, care360.Errorf(care360.EINVALID, "the CSV is empty: send a header row (%s) and one number per row", want)
	}
	col = -1
	for i, h := range all[0] {
		if strings.EqualFold(strings.TrimSpace(h), want) {
			col = i
		}
	}
	if col < 0 {
		return nil, 0, care360.Errorf(care360.EINVALID, "the CSV header has no %s column", want)
	}
	for i, rec := range all[1:] {
		if col >= len(rec) {
			return nil, 0, care360.Errorf(care360.EINVALID, "row %d has no %s column", i+2, want)
		}
		rec[col] = strings.TrimSpace(rec[col])
	}
	return all[1:], col, nil
}
