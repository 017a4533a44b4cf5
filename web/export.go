package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"time"

	"github.com/care360/care360"
)

// getExport answers GET /api/v1/subscribers/{msisdn}/export (admins): one
// JSON document with everything the gateway holds about the member
// (PRODUCT.md §7 access), written as it is read from one snapshot:
// {"msisdn","exported_at","sections":{"profile":[…],"ledger":[…],…}}.
// Each section is an array of the rows of one table, every column. The
// read is audited with the number of rows.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	if s.admin.Export == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "exports are not configured on this server"))
		return
	}
	msisdn, err := s.msisdn(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var (
		bw      *bufio.Writer
		rows    int
		inArray bool // a section is open
		first   bool // no row yet in the open section
	)
	start := func() {
		if bw != nil {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="care360-export-`+string(msisdn)+`.json"`)
		w.WriteHeader(http.StatusOK)
		bw = bufio.NewWriterSize(w, 32<<10)
		head, _ := json.Marshal(string(msisdn))
		at, _ := json.Marshal(time.Now().UTC())
		bw.WriteString(`{"msisdn":` + string(head) + `,"exported_at":` + string(at) + `,"sections":{`)
	}
	err = s.admin.Export.Export(r.Context(), msisdn,
		func(name string) error {
			start()
			if inArray {
				bw.WriteString("],")
			}
			n, _ := json.Marshal(name)
			bw.Write(n)
			bw.WriteString(":[")
			inArray, first = true, true
			return nil
		},
		func(obj []byte) error {
			if !first {
				bw.WriteByte(',')
			}
			first = false
			rows++
			_, err := bw.Write(obj)
			return err
		})
	switch {
	case err != nil && bw == nil:
		s.writeError(w, r, err)
		return
	case err != nil:
		s.log.Warn("export cut", "err", err, "rows", rows)
		bw.Flush()
		return
	}
	start()
	if inArray {
		bw.WriteString("]")
	}
	bw.WriteString("}}\n")
	if err := bw.Flush(); err != nil {
		s.log.Info("export not delivered", "err", err)
	}
	s.auditRead(r, "subscriber.export", msisdn, rows)
}
