package web

import (
	"encoding/json"
	"testing"
)

// unquote reads every JSON value as json.Unmarshal does, on its fast path
// (a string without escapes) and off it.
func FuzzUnquoteAsUnmarshal(f *testing.F) {
	for _, v := range []string{`"84903123456"`, `"2026-11-25T10:00:00+07:00"`, `"b1-000000042"`, `""`,
		`"a\"b"`, `"\u00e9t\u00e9"`, `"tab\tin"`, "\"\xff\xfe\"", `"Đặng"`, `null`, `42`, `true`, `[1]`, `{"a":1}`} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // the decoder hands unquote only values it has checked
		}
		var want, got string
		wantErr := json.Unmarshal(raw, &want)
		gotErr := unquote(raw, &got)
		if (wantErr == nil) != (gotErr == nil) || got != want {
			t.Errorf("unquote(%q) = %q, %v; json.Unmarshal: %q, %v", raw, got, gotErr, want, wantErr)
		}
	})
}
