package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
)

// TestLoyaltyDialogues plays the transcripts of menus 2 and 4–7
// (testdata/loyalty/*.txt) like TestDialogues, over SMPP and over HTTP.
// Gifts and offers are seen by every subscriber, so each transcript runs on
// a gateway and a database of its own, which it fills with @api; an
// operator's provisioning interface, configured as the endpoints "airtime"
// and "data", answers top-ups.
// Besides {expiry}, these transcripts may use:
//
//	{time+N}   an RFC 3339 time N days from now (N may be negative)
//	{ddmm+N}   the date N days from today as a flight is typed (2811)
//	{date+N}   the same date as screens and SMS show it (28/11/2026)
//	{birthday} a birthday in the current month
//	@sms TEXT  the member received an SMS (parts joined) matching TEXT,
//	           where * stands for any characters
func TestLoyaltyDialogues(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/loyalty/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	operator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(operator.Close)
	config := filepath.Join(t.TempDir(), "care360.json")
	if err := os.WriteFile(config, fmt.Appendf(nil, `{"endpoints":{"airtime":{"url":%[1]q},"data":{"url":%[1]q}}}`, operator.URL+"/provision"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		for _, path := range []string{"smpp", "http"} {
			t.Run(strings.TrimSuffix(filepath.Base(f), ".txt")+"/"+path, func(t *testing.T) {
				t.Parallel()
				h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t), "CARE360_CONFIG": config})
				runTranscript(t, h, f, path)
			})
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{(time|ddmm|date)([+-][0-9]+)\}`)

// expand fills in the placeholders of a transcript line.
func expand(h *harness, line string) string {
	if !strings.Contains(line, "{") {
		return line
	}
	loc := h.m.Config.Location
	now := time.Now().In(loc)
	line = placeholderRE.ReplaceAllStringFunc(line, func(p string) string {
		m := placeholderRE.FindStringSubmatch(p)
		n, _ := strconv.Atoi(m[2])
		switch d := now.AddDate(0, 0, n); m[1] {
		case "time":
			return d.Format(time.RFC3339)
		case "ddmm":
			return d.Format("0201")
		default:
			return d.Format("02/01/2006")
		}
	})
	return strings.ReplaceAll(line, "{birthday}", fmt.Sprintf("1990-%02d-15", now.Month()))
}

// unexpand puts back the {date+N} a screen shows, for -update.
func unexpand(h *harness, screen string) string {
	now := time.Now().In(h.m.Config.Location)
	for n := 0; n <= 60; n++ {
		screen = strings.ReplaceAll(screen, now.AddDate(0, 0, n).Format("02/01/2006"), fmt.Sprintf("{date+%d}", n))
	}
	return screen
}

// smsDirective waits (up to 5 s) until msisdn's SMS, their parts joined in
// the order the simulator received them, match the pattern.
func smsDirective(t *testing.T, h *harness, msisdn, pattern string) {
	t.Helper()
	m, err := care360.ParseMSISDN(msisdn)
	if err != nil {
		t.Fatalf("@sms: %v", err)
	}
	parts := strings.Split(pattern, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	re := regexp.MustCompile(strings.Join(parts, ".*"))
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = got[:0]
		for _, msg := range h.sim.Messages(string(m)) {
			got = append(got, msg.Text)
		}
		if re.MatchString(strings.Join(got, "")) {
			return
		}
	}
	t.Errorf("@sms %s: no SMS matches %q; received %q", msisdn, pattern, got)
}
