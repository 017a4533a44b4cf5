package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360/web"
)

type auditOut struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Actor struct {
		StaffID int64  `json:"staff_id"`
		Name    string `json:"name"`
		Role    string `json:"role"`
	} `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// auditOf returns the audit entries of one target, newest first.
func (b *bundle) auditOf(t *testing.T, target string) []auditOut {
	t.Helper()
	res := b.do(t, http.MethodGet, "/api/v1/audit?target="+target, "")
	var out struct{ Entries []auditOut }
	res.json(t, &out)
	if res.status != http.StatusOK {
		t.Fatalf("audit: %d %s", res.status, res.body)
	}
	return out.Entries
}

func TestAuditSubscriberAndPoints(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An Nguyen"}`)
	support := b.staffToken(t, "support")
	body := `{"kind":"bonus","points":500,"reason":"goodwill","idempotency_key":"k1"}`
	if res := b.send(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", body, "Bearer "+support); res.status != http.StatusCreated {
		t.Fatalf("points: %d %s", res.status, res.body)
	}
	b.send(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", body, "Bearer "+support) // a replay changes nothing
	b.send(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", `{"kind":"bonus","points":-9999,"reason":"x","idempotency_key":"k2"}`, "Bearer "+support).
		errorOf(t, http.StatusUnprocessableEntity, "refused")

	got := b.auditOf(t, canonical(n))
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3 (two profile writes, one credit): %+v", len(got), got)
	}
	pts, second, first := got[0], got[1], got[2]
	if pts.Action != "points.change" || pts.Actor.Role != "support" || !strings.HasPrefix(pts.Actor.Name, "support ") || pts.Actor.StaffID == 0 {
		t.Errorf("points entry: %+v", pts)
	}
	var before, after struct {
		Balance struct{ Spendable int64 }
		Entry   struct {
			Points int64
			Reason string
		}
	}
	json.Unmarshal(pts.Before, &before)
	json.Unmarshal(pts.After, &after)
	if before.Balance.Spendable != 0 || after.Balance.Spendable != 500 || after.Entry.Points != 500 || after.Entry.Reason != "goodwill" {
		t.Errorf("points before %s after %s", pts.Before, pts.After)
	}
	if first.Action != "subscriber.put" || string(first.Before) != "null" || !strings.Contains(string(first.After), `"name":"An"`) || first.Actor.Name != "admin" {
		t.Errorf("creation: %+v", first)
	}
	if !strings.Contains(string(second.Before), `"name":"An"`) || !strings.Contains(string(second.After), `"name":"An Nguyen"`) {
		t.Errorf("update: before %s after %s", second.Before, second.After)
	}
}

// TestAuditGeneric: a route that does not describe its own changes is
// audited by the middleware, with its JSON body, and only when it succeeds.
func TestAuditGeneric(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		c.Extra = func(r *mux.Router) {
			r.HandleFunc("/api/v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				switch r.URL.Query().Get("answer") {
				case "fail":
					w.WriteHeader(http.StatusBadRequest)
				case "silent": // writes nothing: net/http answers 200
				default:
					w.WriteHeader(http.StatusCreated)
				}
			}).Methods(http.MethodPost, http.MethodDelete)
		}
	})
	b.do(t, http.MethodPost, "/api/v1/things/1", `{"colour":"red"}`)
	b.do(t, http.MethodPost, "/api/v1/things/2?answer=fail", `{"colour":"blue"}`)
	b.do(t, http.MethodDelete, "/api/v1/things/3?answer=silent", "")
	b.do(t, http.MethodPost, "/api/v1/things/4", "msisdn\n0903123456\n")

	one := b.auditOf(t, "/api/v1/things/1")
	if len(one) != 1 || one[0].Action != "POST /api/v1/things/{id}" || string(one[0].After) != `{"colour": "red"}` && string(one[0].After) != `{"colour":"red"}` {
		t.Errorf("generic entry: %+v (after %s)", one, one[0].After)
	}
	if got := b.auditOf(t, "/api/v1/things/2"); len(got) != 0 {
		t.Errorf("a failed request was audited: %+v", got)
	}
	if got := b.auditOf(t, "/api/v1/things/3"); len(got) != 1 || got[0].Action != "DELETE /api/v1/things/{id}" || string(got[0].After) != "null" {
		t.Errorf("a silent success: %+v", got)
	}
	if got := b.auditOf(t, "/api/v1/things/4"); len(got) != 1 || !strings.Contains(string(got[0].After), `"bytes": 18`) && !strings.Contains(string(got[0].After), `"bytes":18`) {
		t.Errorf("a CSV body is recorded by size: %+v", got)
	}
}

// TestAuditIsAdminOnly: the log shows what every account did, so only
// admins read it.
func TestAuditIsAdminOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, role := range []string{"marketer", "support"} {
		b.send(t, http.MethodGet, "/api/v1/audit", "", "Bearer "+b.staffToken(t, role)).errorOf(t, http.StatusForbidden, "forbidden")
	}
}

// TestPersonalDataReadsAudited: reading a subscriber, its ledger or its
// messages through the API is recorded with who, what and when.
func TestPersonalDataReadsAudited(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t))
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	support := "Bearer " + b.staffToken(t, "support")
	for _, path := range []string{"/api/v1/subscribers/" + n, "/api/v1/subscribers/" + n + "/ledger?limit=5", "/api/v1/messages?msisdn=" + n} {
		if res := b.send(t, http.MethodGet, path, "", support); res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
	}
	// A read that finds nothing reads no personal data.
	b.send(t, http.MethodGet, "/api/v1/subscribers/"+newMSISDN(), "", support).errorOf(t, http.StatusNotFound, "not_found")

	reads := map[string]auditOut{}
	for _, e := range b.auditOf(t, canonical(n)) {
		if strings.HasSuffix(e.Action, ".read") {
			reads[e.Action] = e
		}
	}
	for _, action := range []string{"subscriber.read", "ledger.read", "messages.read"} {
		e, ok := reads[action]
		switch {
		case !ok:
			t.Errorf("no %s entry; entries: %v", action, reads)
		case e.Actor.Role != "support" || e.Actor.StaffID == 0 || e.At.IsZero() || time.Since(e.At) > time.Minute:
			t.Errorf("%s: %+v", action, e)
		}
	}
	if len(reads) != 3 {
		t.Errorf("%d read entries, want 3: %v", len(reads), reads)
	}
}
