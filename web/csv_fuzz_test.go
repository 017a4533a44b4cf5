package web

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzSplitCSVLine: any line splits or fails cleanly, and fields written
// back as CSV (every field quoted) split into the same fields.
func FuzzSplitCSVLine(f *testing.F) {
	for _, s := range []string{"a,b,c", `"a ""q"" b",c`, ` "x" , y`, `"open`, `a"b`, `"a"x`, ",,", "", "\xff\xfe", `"",""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fields, err := splitCSVLine(line, nil)
		if err != nil {
			return
		}
		var quoted []string
		for _, fl := range fields {
			quoted = append(quoted, `"`+strings.ReplaceAll(fl, `"`, `""`)+`"`)
		}
		again, err := splitCSVLine(strings.Join(quoted, ","), nil)
		if err != nil || !slices.Equal(again, fields) {
			t.Fatalf("%q split into %q; written back and split again: %q %v", line, fields, again, err)
		}
	})
}

// FuzzCSVReader: any upload reads to its end without panicking; rows come
// in line order, each with fields or a reason, none over the row limit,
// and no line is held longer than the limit.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("msisdn\n0903123456\n\n\"0903\"\r\n"), 3)
	f.Add([]byte("\xef\xbb\xbfcode\nA\nB\nC\nD\n"), 2)
	f.Add([]byte("code\n"+strings.Repeat("x", maxCSVLine+1)+"\nok\n"), 5)
	f.Add([]byte("code\n\"a\nb\"\n\xff\n"), 5)
	f.Fuzz(func(t *testing.T, data []byte, maxRows int) {
		maxRows = 1 + max(maxRows, -maxRows)%10
		cr := newCSVReader(bytes.NewReader(data), maxRows)
		if _, err := cr.headerFields("a header"); err != nil {
			return
		}
		last, rows := 1, 0
		for {
			rec, err := cr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rows++
			switch {
			case rec.Line <= last:
				t.Fatalf("line %d after line %d", rec.Line, last)
			case rows > maxRows+1:
				t.Fatalf("%d rows read, the limit is %d", rows, maxRows)
			case rec.Problem == "" && rec.Fields == nil:
				t.Fatalf("line %d: neither fields nor a reason", rec.Line)
			}
			for _, fl := range rec.Fields {
				if len(fl) > maxCSVLine {
					t.Fatalf("line %d: a field of %d bytes", rec.Line, len(fl))
				}
			}
			last = rec.Line
		}
	})
}
