package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/care360/care360"
)

// CSV uploads (subscribers, do-not-call numbers, voucher codes) are read a
// line at a time, so memory stays bounded whatever the file's size
// (PRODUCT.md §9): a line is at most maxCSVLine bytes, and a row is one
// line (a quoted field cannot span lines). A longer line is a rejected
// row; the rest of the file is read on.
const (
	maxCSVLine = 64 << 10
	// maxCSVBytes only stops a stream that never ends: the row limit is
	// what bounds an upload.
	maxCSVBytes = 4 << 30
	// DefaultMaxCSVRows is how many data rows one upload may hold.
	DefaultMaxCSVRows = 10_000_000
)

// csvRecord is one data row of an upload: its line number (the header is
// line 1) and its fields, or why the line could not be read as a row.
type csvRecord struct {
	Line    int
	Fields  []string
	Problem string
}

// csvReader reads an upload line by line in bounded memory.
type csvReader struct {
	br      *bufio.Reader
	line    int
	rows    int
	maxRows int
	done    bool
	fields  []string
}

func newCSVReader(src io.Reader, maxRows int) *csvReader {
	if maxRows <= 0 {
		maxRows = DefaultMaxCSVRows
	}
	// Room for the longest line and its CRLF: ReadSlice then finds every
	// line end that matters within one buffer.
	return &csvReader{br: bufio.NewReaderSize(src, maxCSVLine+2), maxRows: maxRows}
}

// readLine returns the next line without its line end; long is set (and
// the line empty) when it was longer than maxCSVLine, which is skipped
// without being held.
func (c *csvReader) readLine() (line []byte, long bool, err error) {
	line, err = c.br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		long = true
		_, err = c.br.ReadSlice('\n')
	}
	if err == io.EOF && (len(line) > 0 || long) {
		err = nil
	}
	if err != nil {
		return nil, false, err
	}
	c.line++
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) > maxCSVLine {
		long = true
	}
	if long {
		line = nil
	}
	return line, long, nil
}

// header reads the header row and returns the index of the column named
// want (case-insensitive), for uploads with one column that matters.
func (c *csvReader) header(want, help string) (col int, err error) {
	fields, err := c.headerFields(help)
	if err != nil {
		return 0, err
	}
	col = -1
	for i, h := range fields {
		if strings.EqualFold(strings.TrimSpace(h), want) {
			col = i
		}
	}
	if col < 0 {
		return 0, care360.Errorf(care360.EINVALID, "the CSV header has no %s column", want)
	}
	return col, nil
}

// headerFields reads the first non-empty line as the header row.
func (c *csvReader) headerFields(help string) ([]string, error) {
	for {
		line, long, err := c.readLine()
		switch {
		case err == io.EOF:
			return nil, care360.Errorf(care360.EINVALID, "the CSV is empty: send %s", help)
		case err != nil:
			return nil, csvReadError(err)
		case long:
			return nil, care360.Errorf(care360.EINVALID, "the CSV header is longer than %d KiB", maxCSVLine>>10)
		}
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a BOM, as spreadsheets write
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return nil, care360.Errorf(care360.EINVALID, "the CSV is not UTF-8 (line %d)", c.line)
		}
		fields, err := splitCSVLine(string(line), nil)
		if err != nil {
			return nil, care360.Errorf(care360.EINVALID, "malformed CSV at line %d: %v", c.line, err)
		}
		return fields, nil
	}
}

// next returns the next data row; blank lines are skipped, as
// encoding/csv does. Past the row limit it returns one last record saying
// the rest was not read. The Fields slice is reused by the next call.
func (c *csvReader) next() (csvRecord, error) {
	if c.done {
		return csvRecord{}, io.EOF
	}
	for {
		line, long, err := c.readLine()
		if err == io.EOF {
			return csvRecord{}, io.EOF
		}
		if err != nil {
			return csvRecord{}, csvReadError(err)
		}
		if !long && len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec := csvRecord{Line: c.line}
		c.rows++
		switch {
		case c.rows > c.maxRows:
			c.done = true
			rec.Problem = fmt.Sprintf("an upload holds at most %d rows: this row and the rest were not read", c.maxRows)
		case long:
			rec.Problem = fmt.Sprintf("line %d is longer than %d KiB", c.line, maxCSVLine>>10)
		case !utf8.Valid(line):
			rec.Problem = fmt.Sprintf("line %d is not UTF-8", c.line)
		default:
			c.fields, err = splitCSVLine(string(line), c.fields[:0])
			if err != nil {
				rec.Problem = fmt.Sprintf("malformed CSV at line %d: %v", c.line, err)
			}
			rec.Fields = c.fields
		}
		return rec, nil
	}
}

// splitCSVLine splits one line into its fields as RFC 4180 says (fields
// may be quoted, "" is a quote inside a quoted field), leading spaces
// trimmed; fields are appended to dst.
func splitCSVLine(line string, dst []string) ([]string, error) {
	for {
		line = strings.TrimLeft(line, " \t")
		if !strings.HasPrefix(line, `"`) {
			f, rest, more := strings.Cut(line, ",")
			if strings.Contains(f, `"`) {
				return nil, errors.New(`a quote in an unquoted field`)
			}
			dst = append(dst, f)
			if !more {
				return dst, nil
			}
			line = rest
			continue
		}
		var b strings.Builder
		i := 1
		for {
			j := strings.IndexByte(line[i:], '"')
			if j < 0 {
				return nil, errors.New("a quoted field does not end on its line")
			}
			b.WriteString(line[i : i+j])
			i += j + 1
			if i < len(line) && line[i] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			break
		}
		dst = append(dst, b.String())
		line = line[i:]
		if line == "" {
			return dst, nil
		}
		if line[0] != ',' {
			return nil, errors.New("text after a quoted field")
		}
		line = line[1:]
	}
}

// csvReadError says why an upload could not be read at all.
func csvReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return care360.Errorf(care360.EINVALID, "the CSV is larger than %d MiB", maxCSVBytes>>20)
	}
	return care360.Errorf(care360.EINVALID, "could not read the CSV")
}

// csvChunk is how many rows go to the store at once.
const csvChunk = 10_000

// csvCell is one data row of a one-column upload: its line number and the
// column's value (trimmed), or why the row has none.
type csvCell struct {
	Line    int
	Value   string
	Problem string
}

// chunks reads the data rows and hands them to fn csvChunk at a time,
// each with the value of column col (name says which, in reasons). fn runs
// at least once, with no rows for a file that has none, so that what it
// checks (a gift exists) is checked anyway.
func (c *csvReader) chunks(col int, name string, fn func([]csvCell) error) error {
	batch := make([]csvCell, 0, csvChunk)
	for {
		rec, err := c.next()
		if err == io.EOF {
			return fn(batch)
		}
		if err == nil && len(batch) == csvChunk {
			err = fn(batch)
			batch = batch[:0]
		}
		if err != nil {
			return err
		}
		cell := csvCell{Line: rec.Line, Problem: rec.Problem}
		switch {
		case rec.Problem != "":
		case col >= len(rec.Fields):
			cell.Problem = fmt.Sprintf("line %d has no %s field", rec.Line, name)
		default:
			cell.Value = strings.TrimSpace(rec.Fields[col])
		}
		batch = append(batch, cell)
	}
}

// uploadRow is one row's fate in an upload's report.
type uploadRow interface{ result() string }

// answerUpload reads a one-column upload's rows (column col, called name)
// in chunks, has store take each chunk and say what became of every row,
// and answers 200 with a result per row; what cannot be read at all, or
// that store refuses as a whole, is an error answer instead.
func answerUpload[R uploadRow](s *Server, w http.ResponseWriter, r *http.Request, cr *csvReader, col int, name string,
	store func([]csvCell) ([]R, error)) {
	spool, err := newRowSpool()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer spool.close()
	err = cr.chunks(col, name, func(cells []csvCell) error {
		rows, err := store(cells)
		for i := 0; err == nil && i < len(rows); i++ {
			err = spool.add(rows[i], rows[i].result())
		}
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := spool.respond(w); err != nil {
		s.log.Warn("upload report not sent whole", "route", routeOf(r), "err", err)
	}
}

// rowSpool holds an upload's report, a result per row (PRODUCT.md §6),
// in a temporary file rather than in memory: ten million rows make a
// report of hundreds of megabytes.
type rowSpool struct {
	f *os.File
	w *bufio.Writer
	n int
	// What the rows came to.
	accepted, duplicate, rejected int
}

func newRowSpool() (*rowSpool, error) {
	f, err := os.CreateTemp("", "care360-report-*.json")
	if err != nil {
		return nil, fmt.Errorf("spool the upload report: %w", err)
	}
	return &rowSpool{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// add appends one row's result: "accepted", "duplicate" or "rejected".
func (s *rowSpool) add(row any, result string) error {
	switch result {
	case "accepted":
		s.accepted++
	case "duplicate":
		s.duplicate++
	default:
		s.rejected++
	}
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	if s.n > 0 {
		s.w.WriteByte(',')
	}
	s.n++
	_, err = s.w.Write(b)
	return err
}

// respond answers 200 with the counts and then every row's result:
// {"accepted":…,"duplicate":…,"rejected":…,"rows":[…]}.
func (s *rowSpool) respond(w http.ResponseWriter) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool the upload report: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `{"accepted":%d,"duplicate":%d,"rejected":%d,"rows":[`, s.accepted, s.duplicate, s.rejected)
	io.Copy(w, s.f)
	_, err := io.WriteString(w, "]}\n")
	return err
}

// close removes the spool.
func (s *rowSpool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
