package web

import (
	"fmt"
	"io"
	"net/http"
	"strings"

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
	spool, err := newRowSpool()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer spool.close()
	var accepted, duplicate, rejected int
	var batch []dncRow
	var valid []care360.MSISDN
	var at []int // index into batch of each valid number
	flush := func() error {
		results, err := s.sms.DNC.ImportDNC(r.Context(), valid)
		if err != nil {
			return err
		}
		for i, res := range results {
			batch[at[i]].Result = string(res)
			if res == care360.DNCAccepted {
				accepted++
			} else {
				duplicate++
			}
		}
		for _, row := range batch {
			if err := spool.add(row); err != nil {
				return err
			}
		}
		batch, valid, at = batch[:0], valid[:0], at[:0]
		return nil
	}
	for {
		rec, err := cr.next()
		if err == io.EOF {
			break
		}
		if err == nil && len(batch) == csvChunk {
			err = flush()
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		row := dncRow{Row: rec.Line, Result: string(care360.DNCRejected)}
		switch {
		case rec.Problem != "":
			row.Reason = rec.Problem
		case col >= len(rec.Fields):
			row.Reason = fmt.Sprintf("line %d has no msisdn field", rec.Line)
		default:
			row.MSISDN = strings.TrimSpace(rec.Fields[col])
			m, err := s.numbering.Parse(row.MSISDN)
			if err != nil {
				row.Reason = care360.ErrorMessage(err)
				break
			}
			row.MSISDN, row.Result = string(m), ""
			valid, at = append(valid, m), append(at, len(batch))
		}
		if row.Result == string(care360.DNCRejected) {
			rejected++
		}
		batch = append(batch, row)
	}
	if err := flush(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := spool.respond(w, accepted, duplicate, rejected); err != nil {
		s.log.Warn("dnc import: report not sent whole", "err", err)
	}
}
