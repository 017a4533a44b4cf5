package web

import (
	"crypto/rand"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// importJSON is an import's progress, and once done its report. Rows counts
// data rows read; taken those written (created, updated or unchanged).
type importJSON struct {
	ID                  string                    `json:"id"`
	Status              string                    `json:"status"`
	Rows                int64                     `json:"rows"`
	Taken               int64                     `json:"taken"`
	Created             int64                     `json:"created"`
	Updated             int64                     `json:"updated"`
	Unchanged           int64                     `json:"unchanged"`
	Rejected            int64                     `json:"rejected"`
	Rejections          []care360.ImportRejection `json:"rejections"`
	RejectionsTruncated bool                      `json:"rejections_truncated"`
	Error               string                    `json:"error,omitempty"`
	StartedAt           time.Time                 `json:"started_at"`
	FinishedAt          *time.Time                `json:"finished_at"`
	Progress            string                    `json:"progress"` // where to GET this
}

func newImportJSON(imp *care360.SubscriberImport) importJSON {
	out := importJSON{
		ID: imp.ID, Status: string(imp.Status), Rows: imp.Rows, Taken: imp.Written, Created: imp.Created,
		Updated: imp.Updated, Unchanged: imp.Unchanged, Rejected: imp.Rejected, Rejections: imp.Rejections,
		RejectionsTruncated: imp.Truncated, Error: imp.Error, StartedAt: imp.StartedAt, FinishedAt: imp.FinishedAt,
		Progress: "/api/v1/imports/" + imp.ID,
	}
	if out.Rejections == nil {
		out.Rejections = []care360.ImportRejection{}
	}
	return out
}

// importSubscribers is POST /api/v1/subscribers:import[?id=…]: a UTF-8 CSV
// with the header msisdn,name,gender,birthday,language,member_since (any
// order; only msisdn is required), as the body or as the file of a
// multipart form. It answers, once the import is done, 200 with the report:
// rows taken and rejected with their row number (the header is row 1) and
// why. The upload streams into the store as it arrives; while it runs, GET
// /api/v1/imports/{id} shows how far it got, so a console that chose the
// id (or a second terminal reading the log line "import progress") can
// follow a million-row file. The id also makes the request idempotent: the
// same id again returns the report of the import that ran.
func (s *Server) importSubscribers(w http.ResponseWriter, r *http.Request) {
	if s.ledger == nil || s.ledger.Imports == nil {
		s.writeError(w, r, errNoLedger)
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		id = newImportID()
	}
	src, err := csvUpload(w, r, maxCSVBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cr := newCSVReader(src, s.maxCSVRows)
	cols, err := importHeader(cr)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	imp, _, err := s.ledger.Imports.ImportSubscribers(r.Context(), id, s.importRows(cr, cols))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newImportJSON(imp))
}

// getImport is GET /api/v1/imports/{id}: progress while it runs, the
// report once done.
func (s *Server) getImport(w http.ResponseWriter, r *http.Request) {
	if s.ledger == nil || s.ledger.Imports == nil {
		s.writeError(w, r, errNoLedger)
		return
	}
	imp, err := s.ledger.Imports.SubscriberImport(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newImportJSON(imp))
}

// csvUpload returns an upload of at most limit bytes as a stream: the body
// itself, or the first file of a multipart form.
func csvUpload(w http.ResponseWriter, r *http.Request, limit int64) (io.Reader, error) {
	allowLongBody(r)
	body := http.MaxBytesReader(w, r.Body, limit)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return body, nil
	}
	r.Body = body
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, care360.Errorf(care360.EINVALID, "malformed multipart form")
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, care360.Errorf(care360.EINVALID, "the form has no file: send the CSV as a file field")
		}
		if p.FileName() != "" {
			return p, nil
		}
	}
}

// importHeader reads the header row and returns the index of each of
// care360.ImportColumns in it (-1 when absent).
func importHeader(cr *csvReader) ([]int, error) {
	header, err := cr.headerFields("the header row " + strings.Join(care360.ImportColumns, ",") + " and a row per subscriber")
	if err != nil {
		return nil, err
	}
	cols := make([]int, len(care360.ImportColumns))
	for i := range cols {
		cols[i] = -1
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // a BOM, as spreadsheets write
		j := slices.Index(care360.ImportColumns, name)
		if j < 0 {
			return nil, care360.Errorf(care360.EINVALID, "unknown column %q: the columns are %s", h, strings.Join(care360.ImportColumns, ","))
		}
		if cols[j] >= 0 {
			return nil, care360.Errorf(care360.EINVALID, "column %q appears twice", name)
		}
		cols[j] = i
	}
	if cols[0] < 0 {
		return nil, care360.Errorf(care360.EINVALID, "the CSV header has no msisdn column")
	}
	return cols, nil
}

// importRows yields each data row, checked; a row that cannot be read (a
// line over 64 KiB, bad quoting, not UTF-8) or has the wrong number of
// fields is rejected, and the import goes on. A body that cannot be read
// at all ends the import with an error.
func (s *Server) importRows(cr *csvReader, cols []int) func(yield func(care360.ImportRow, error) bool) {
	return func(yield func(care360.ImportRow, error) bool) {
		var width int
		for _, c := range cols {
			width = max(width, c+1)
		}
		for {
			rec, err := cr.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(care360.ImportRow{}, err)
				return
			}
			field := func(i int) string {
				if cols[i] < 0 || cols[i] >= len(rec.Fields) {
					return ""
				}
				return rec.Fields[cols[i]]
			}
			var ir care360.ImportRow
			switch {
			case rec.Problem != "":
				ir = care360.ImportRow{Row: rec.Line, Reject: rec.Problem}
			case len(rec.Fields) < width:
				ir = care360.ImportRow{Row: rec.Line, Raw: field(0), Reject: fmt.Sprintf("%d fields, the header has %d", len(rec.Fields), width)}
			default:
				ir = care360.NewImportRow(s.numbering, rec.Line, field(0), field(1), field(2), field(3), field(4), field(5), field(6))
			}
			if !yield(ir, nil) {
				return
			}
		}
	}
}

// newImportID names an import whose client did not: the time, then random
// letters so that two uploads in the same second differ.
func newImportID() string {
	return "import-" + time.Now().UTC().Format("20060102T150405") + "-" + strings.ToLower(rand.Text()[:8])
}
