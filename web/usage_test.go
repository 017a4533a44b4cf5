package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// withLedger serves usage and imports from the bundle's own store.
func withLedger(c *web.Config) {
	db := c.Subscribers.(*store.DB)
	c.Ledger = &web.LedgerConfig{Usage: store.NewLedger(db, care360.UsageRules{}), Imports: db}
}

type usageAnswer struct {
	Accepted, Duplicate, Rejected int
	Results                       []struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Points  *int64 `json:"points"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
}

// summary is each result as "status points" or "rejected reason".
func (a usageAnswer) summary() []string {
	var out []string
	for _, r := range a.Results {
		if r.Points != nil {
			out = append(out, fmt.Sprintf("%s %s %d", r.ID, r.Status, *r.Points))
		} else {
			out = append(out, fmt.Sprintf("%s %s %s", r.ID, r.Status, r.Reason))
		}
	}
	return out
}

func (b *bundle) postUsage(t *testing.T, body string) usageAnswer {
	t.Helper()
	res := b.do(t, http.MethodPost, "/api/v1/usage", body)
	if res.status != http.StatusOK {
		t.Fatalf("POST /api/v1/usage: %d %s", res.status, res.body)
	}
	var a usageAnswer
	res.json(t, &a)
	return a
}

func TestUsageAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	m := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+m, `{"name":"Usage"}`)
	now := time.Now().UTC().Format(time.RFC3339)
	id := func(s string) string { return m + "-" + s } // ids unique across test runs on one database
	body := fmt.Sprintf(`[
		{"msisdn":%[1]q,"amount_vnd":12500,"at":%[2]q,"id":%[3]q},
		{"msisdn":"+84%[4]s","amount_vnd":-3000,"at":%[2]q,"id":%[5]q},
		{"msisdn":%[1]q,"amount_vnd":12500,"at":%[2]q,"id":%[3]q},
		{"msisdn":"12345","amount_vnd":1000,"at":%[2]q,"id":"bad-msisdn"},
		{"msisdn":"0912999888","amount_vnd":1000,"at":%[2]q,"id":"unknown"},
		{"msisdn":%[1]q,"amount_vnd":"12000","at":%[2]q,"id":"amount-string"},
		{"msisdn":%[1]q,"amount_vnd":12.5,"at":%[2]q,"id":"amount-fraction"},
		{"msisdn":%[1]q,"amount_vnd":1000,"at":"yesterday","id":"bad-time"},
		{"msisdn":%[1]q,"amount_vnd":1000,"at":"2020-01-01T00:00:00Z","id":"old-time"},
		{"msisdn":%[1]q,"amount_vnd":1000,"at":%[2]q},
		{"msisdn":%[1]q,"amount_vnd":1000,"at":%[2]q,"id":%[6]s}
	]`, m, now, id("a"), m[1:], id("refund"), "9"+m[1:])
	a := b.postUsage(t, body)
	want := []string{
		id("a") + " accepted 12", id("refund") + " accepted -3", id("a") + " duplicate 12",
		"bad-msisdn rejected invalid_msisdn", "unknown rejected unknown_subscriber",
		"amount-string rejected invalid_amount", "amount-fraction rejected invalid_amount",
		"bad-time rejected invalid_time", "old-time rejected invalid_time", " rejected invalid_id",
		"9" + m[1:] + " accepted 1",
	}
	if diff := cmp.Diff(want, a.summary()); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if a.Accepted != 3 || a.Duplicate != 1 || a.Rejected != 7 {
		t.Errorf("counts %d/%d/%d", a.Accepted, a.Duplicate, a.Rejected)
	}
	for _, r := range a.Results {
		if r.Status == "rejected" && r.Message == "" {
			t.Errorf("rejection without a message: %+v", r)
		}
	}

	// A replay is all duplicates and changes nothing.
	again := b.postUsage(t, body)
	if again.Accepted != 0 || again.Duplicate != 4 || again.Rejected != 7 {
		t.Errorf("replay counts %d/%d/%d: %v", again.Accepted, again.Duplicate, again.Rejected, again.summary())
	}

	// Once posted, the points are on the subscriber: 12 + 1 earned, and
	// the refund's 3 taken back from them (same hour, so netted).
	if _, err := store.NewLedger(b.db, care360.UsageRules{}).PostUsage(t.Context()); err != nil {
		t.Fatal(err)
	}
	var sub struct {
		Points struct{ Spendable, Qualifying int64 }
	}
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+m, "").json(t, &sub)
	if sub.Points.Spendable != 10 || sub.Points.Qualifying != 10 {
		t.Errorf("points after posting: %+v", sub.Points)
	}

	if a := b.postUsage(t, "[]"); a.Results == nil || len(a.Results) != 0 {
		t.Errorf("empty batch: %+v", a)
	}
}

func TestUsageAPIBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	for name, tc := range map[string]struct{ body, msg string }{
		"empty":          {"", "ends too early"},
		"object":         {`{"msisdn":"0903123456"}`, "JSON array"},
		"malformed":      {`[{"msisdn":`, "ends too early"},
		"syntax":         {`[{"msisdn" "x"}]`, "malformed JSON"},
		"not objects":    {`[1, 2]`, "event 0: every event must be a JSON object"},
		"unknown field":  {`[{"msisdn":"0903123456","amount":1}]`, `event 0: unknown field "amount"`},
		"trailing":       {`[] []`, "single JSON array"},
		"unclosed array": {`[{"id":"a"}`, "ends too early"},
	} {
		res := b.do(t, http.MethodPost, "/api/v1/usage", tc.body)
		e := res.errorOf(t, http.StatusBadRequest, "invalid")
		if !strings.Contains(e.Error.Message, tc.msg) {
			t.Errorf("%s: message %q, want %q", name, e.Error.Message, tc.msg)
		}
	}
	var big strings.Builder
	big.WriteString("[")
	for i := range care360.MaxUsageEvents + 1 {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`{}`)
	}
	big.WriteString("]")
	res := b.do(t, http.MethodPost, "/api/v1/usage", big.String())
	if e := res.errorOf(t, http.StatusBadRequest, "invalid"); !strings.Contains(e.Error.Message, "at most 100000") {
		t.Errorf("oversized batch: %s", res.body)
	}

	// A server without the ledger says so.
	plain := setup(t)
	plain.do(t, http.MethodPost, "/api/v1/usage", "[]").errorOf(t, http.StatusServiceUnavailable, "unavailable")
	plain.do(t, http.MethodPost, "/api/v1/subscribers:import", "msisdn\n").errorOf(t, http.StatusServiceUnavailable, "unavailable")
}
