package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

// Dialogues walked over real SMPP leave their records (PRODUCT.md §3.8),
// which GET /api/v1/dialogues streams as NDJSON or CSV, and which the
// funnel report counts per screen.
func TestDialogueRecordsOverSMPP(t *testing.T) {
	t.Parallel()
	// A database of its own: the records stay this run's under -count.
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	ctx := ctxT(t)
	h.member(t, "0903240001", map[string]any{"name": "A"}, 100, 0)
	call, err := h.sim.Dial(ctx, "0903240001", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Reply(ctx, "1"); err != nil || !call.Ended() {
		t.Fatalf("points screen: %v, ended %v: %q", err, call.Ended(), call.Screen())
	}
	call, err = h.sim.Dial(ctx, "0903240001", "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Abort(ctx); err != nil {
		t.Fatal(err)
	}

	getFor := func(msisdn, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/dialogues?msisdn="+msisdn, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(accept string) (int, string) { t.Helper(); return getFor("0903240001", accept) }
	// A number with no records: the CSV is its header row alone.
	if code, body := getFor("0912000111", "text/csv"); code != http.StatusOK || !strings.HasPrefix(body, "id,msisdn,code,") || strings.Count(body, "\n") != 1 {
		t.Fatalf("empty CSV: %d %q", code, body)
	}
	// Written in batches every second: wait for both.
	var lines []string
	for deadline := time.Now().Add(15 * time.Second); len(lines) < 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		code, body := get("application/x-ndjson")
		if code != http.StatusOK {
			t.Fatalf("dialogues: %d %s", code, body)
		}
		lines = nil
		for sc := bufio.NewScanner(strings.NewReader(body)); sc.Scan(); {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) != 2 {
		t.Fatalf("records %q, want two", lines)
	}
	var recs [2]struct {
		MSISDN, Code, Channel, Bind, Outcome string
		Steps                                int
		Path                                 []string
		LastScreen                           string `json:"last_screen"`
	}
	for i, ln := range lines {
		if err := json.Unmarshal([]byte(ln), &recs[i]); err != nil {
			t.Fatalf("line %q: %v", ln, err)
		}
	}
	if r := recs[0]; r.MSISDN != "84903240001" || r.Code != "*090#" || r.Channel != "smpp" || r.Bind != "care360" ||
		r.Outcome != "completed" || r.Steps != 2 || strings.Join(r.Path, ",") != "main,points" || r.LastScreen != "points" {
		t.Errorf("first record %+v", r)
	}
	if r := recs[1]; r.Outcome != "network_abort" || r.Steps != 2 || r.LastScreen != "main" {
		t.Errorf("aborted record %+v", r)
	}

	code, body := get("text/csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != http.StatusOK || err != nil || len(rows) != 3 || rows[0][0] != "id" || rows[1][8] != "main>points" {
		t.Fatalf("CSV: %d %v %q", code, err, rows)
	}

	var funnel struct {
		Screens []struct {
			Screen            string
			Reached, Answered int64
			Ended             map[string]int64
		}
	}
	if st := h.api(t, http.MethodGet, "/api/v1/reports/funnel?code=*090%23", nil, &funnel); st != http.StatusOK {
		t.Fatalf("funnel: %d", st)
	}
	found := false
	for _, s := range funnel.Screens {
		if s.Screen == "main" {
			found = s.Reached >= 2 && s.Answered >= 1 && s.Ended["network_abort"] >= 1
		}
	}
	if !found {
		t.Errorf("funnel %+v", funnel)
	}
}
