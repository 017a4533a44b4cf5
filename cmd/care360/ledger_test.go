package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360/internal/pgtest"
)

// post sends a raw body to the admin API and returns the status and answer.
func (h *harness) post(t *testing.T, path, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// The real program imports members from a CSV, takes their billing events,
// posts the points without being asked (the accepted batch triggers the
// poster), upgrades the one whose usage earns Bac and tells them by SMS
// through the outbox and the SMSC.
func TestUsageAndImportEndToEnd(t *testing.T) {
	t.Parallel()
	// A database of its own: every running program's outbox senders take
	// any due SMS, so on a shared one another test's simulator could get it.
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	st, body := h.post(t, "/api/v1/subscribers:import?id=e2e", "text/csv",
		"msisdn,name,language\n0397000001,Le Van Cuong,en\n0397000002,Pham Thi Dung,vi\nnot-a-number,X,vi\n")
	if st != http.StatusOK || !strings.Contains(body, `"created":2`) || !strings.Contains(body, `"rejected":1`) {
		t.Fatalf("import: %d %s", st, body)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	st, body = h.post(t, "/api/v1/usage", "application/json", `[
		{"msisdn":"0397000001","amount_vnd":2500000,"at":"`+now+`","id":"e2e-1"},
		{"msisdn":"0397000002","amount_vnd":15000,"at":"`+now+`","id":"e2e-2"}]`)
	if st != http.StatusOK || !strings.Contains(body, `"accepted":2`) {
		t.Fatalf("usage: %d %s", st, body)
	}
	var sub struct {
		Tier   string
		Points struct{ Spendable, Qualifying int64 }
	}
	deadline := time.Now().Add(20 * time.Second) // generous: a busy machine is not a failure
	for h.api(t, "GET", "/api/v1/subscribers/84397000001", nil, &sub); sub.Points.Spendable == 0; h.api(t, "GET", "/api/v1/subscribers/84397000001", nil, &sub) {
		if time.Now().After(deadline) {
			t.Fatal("the usage was not posted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sub.Points.Spendable != 2500 || sub.Points.Qualifying != 2500 || sub.Tier != "bac" {
		t.Errorf("after posting: %+v", sub)
	}
	if got := waitSMS(t, h, "84397000001", 1); got[0].Text != "Congratulations! You are now a Silver member of the MobiFone loyalty club." {
		t.Errorf("SMS %q", got[0].Text)
	}
}
