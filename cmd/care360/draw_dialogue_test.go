package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/care360/care360/internal/pgtest"
)

// TestDrawDialogues plays the transcripts of menu 3 (testdata/draws/*.txt)
// like TestDialogues does, over SMPP and over HTTP. Draws and wheels are
// seen by every subscriber, so each transcript runs on a gateway and a
// database of its own, where it sets up what it needs with @api.
func TestDrawDialogues(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/draws/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, f := range files {
		for _, path := range []string{"smpp", "http"} {
			t.Run(strings.TrimSuffix(filepath.Base(f), ".txt")+"/"+path, func(t *testing.T) {
				t.Parallel()
				h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
				runTranscript(t, h, f, path)
			})
		}
	}
}

// apiDirective runs "@api METHOD PATH [JSON]" and fails the transcript
// unless the answer is 2xx; {msisdn} in the body is the transcript's
// member on this path.
func apiDirective(t *testing.T, h *harness, spec, msisdn string) {
	t.Helper()
	method, rest, _ := strings.Cut(spec, " ")
	path, body, _ := strings.Cut(rest, " ")
	var in any
	if body = strings.ReplaceAll(body, "{msisdn}", msisdn); body != "" {
		in = json.RawMessage(body)
	}
	var out json.RawMessage
	if st := h.api(t, method, path, in, &out); st/100 != 2 {
		t.Fatalf("@api %s %s: %d %s", method, path, st, out)
	}
}
