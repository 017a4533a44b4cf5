package web_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// subscriber is the GET shape of PRODUCT.md §6.
type subscriber struct {
	MSISDN      string  `json:"msisdn"`
	Name        string  `json:"name"`
	Gender      string  `json:"gender"`
	Birthday    *string `json:"birthday"`
	Language    string  `json:"language"`
	MemberSince *string `json:"member_since"`
	Status      string  `json:"status"`
	Tier        string  `json:"tier"`
	Points      points  `json:"points"`
}

type points struct {
	Spendable  int64 `json:"spendable"`
	Qualifying int64 `json:"qualifying"`
	Bonus      int64 `json:"bonus"`
	NextExpiry *struct {
		Points int64  `json:"points"`
		Date   string `json:"date"`
	} `json:"next_expiry"`
}

func ptr(s string) *string { return &s }

// keys lists the top-level keys of a JSON object.
func keys(t *testing.T, body []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON object: %s", body)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestPutSubscriberCreateThenUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := newMSISDN()
	path := "/api/v1/subscribers/" + n

	res := b.do(t, http.MethodPut, path, `{"name":"Nguyen Van An","gender":"m","birthday":"1990-05-17",
		"language":"en","member_since":"2012-03-01","status":"active"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	want := subscriber{
		MSISDN: canonical(n), Name: "Nguyen Van An", Gender: "m", Birthday: ptr("1990-05-17"),
		// Over 10 years of membership: the loyalty floor (§4.2) makes it Titan.
		Language: "en", MemberSince: ptr("2012-03-01"), Status: "active", Tier: "titan",
	}
	var got subscriber
	res.json(t, &got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("create answer (-want +got):\n%s", d)
	}
	wantKeys := []string{"birthday", "gender", "language", "marketing_consent", "member_since", "msisdn", "name", "points", "sim_swap_hold_until", "status", "tier"}
	if d := cmp.Diff(wantKeys, keys(t, res.body)); d != "" {
		t.Errorf("subscriber keys (-want +got):\n%s", d)
	}
	var raw struct{ Points json.RawMessage }
	res.json(t, &raw)
	if d := cmp.Diff([]string{"bonus", "next_expiry", "qualifying", "spendable"}, keys(t, raw.Points)); d != "" {
		t.Errorf("points keys (-want +got):\n%s", d)
	}
	if !strings.Contains(string(raw.Points), `"next_expiry":null`) {
		t.Errorf("next_expiry should be null with no points: %s", raw.Points)
	}

	// The same subscriber in the other two accepted spellings.
	res = b.do(t, http.MethodPut, "/api/v1/subscribers/+"+canonical(n), `{"name":"Nguyen Thi Binh","gender":"f",
		"birthday":"1991-06-18","language":"vi-unicode","member_since":"2012-03-01","status":"suspended"}`)
	if res.status != http.StatusOK {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	want.Name, want.Gender, want.Birthday, want.Language, want.Status = "Nguyen Thi Binh", "f", ptr("1991-06-18"), "vi-unicode", "suspended"
	res = b.do(t, http.MethodGet, "/api/v1/subscribers/"+canonical(n), "")
	got = subscriber{}
	res.json(t, &got)
	if res.status != http.StatusOK {
		t.Fatalf("get: %d %s", res.status, res.body)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after update (-want +got):\n%s", d)
	}
}

func TestPutSubscriberDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := newMSISDN()
	for _, body := range []string{`{}`, `{"name":"","language":"","status":""}`} {
		res := b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, body)
		if res.status != http.StatusCreated && res.status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", body, res.status, res.body)
		}
		var got subscriber
		res.json(t, &got)
		if got.Language != "vi" || got.Status != "active" || got.Tier != "dong" || got.Birthday != nil || got.Gender != "" {
			t.Errorf("defaults after %s: %+v", body, got)
		}
	}
}

// TestPutSubscriberKeepsChoices: an update that leaves language, status or
// member_since out keeps what is stored (the subscriber chose the language).
func TestPutSubscriberKeepsChoices(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v1/subscribers/" + newMSISDN()
	res := b.do(t, http.MethodPut, path, `{"name":"An","language":"en","status":"suspended","member_since":"2010-01-02"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	res = b.do(t, http.MethodPut, path, `{"name":"Binh"}`)
	var got subscriber
	res.json(t, &got)
	if res.status != http.StatusOK || got.Name != "Binh" || got.Language != "en" || got.Status != "suspended" ||
		got.MemberSince == nil || *got.MemberSince != "2010-01-02" {
		t.Errorf("update: %d %s", res.status, res.body)
	}
}

func TestGetUnknownSubscriber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+newMSISDN(), "").errorOf(t, http.StatusNotFound, "not_found")
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+newMSISDN()+"/ledger", "").errorOf(t, http.StatusNotFound, "not_found")
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := newMSISDN()
	if res := b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`); res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	sub := "/api/v1/subscribers/" + n
	credit := `"kind":"bonus","points":10,"reason":"test","idempotency_key":"k1"`
	tests := []struct {
		name, method, path, body string
		msg                      string // part of the message a person needs to see
	}{
		{"short msisdn", "GET", "/api/v1/subscribers/09031234", "", "MSISDN"},
		{"letters in msisdn", "GET", "/api/v1/subscribers/09031234ab", "", "MSISDN"},
		{"foreign msisdn", "PUT", "/api/v1/subscribers/+14155550100", `{}`, "MSISDN"},
		{"landline", "GET", "/api/v1/subscribers/0243123456", "", "MSISDN"},
		{"msisdn on points", "POST", "/api/v1/subscribers/12/points", `{` + credit + `}`, "MSISDN"},
		{"msisdn on ledger", "GET", "/api/v1/subscribers/12/ledger", "", "MSISDN"},
		{"malformed JSON", "PUT", sub, `{"name":`, "JSON"},
		{"not JSON", "PUT", sub, `name=An`, "JSON"},
		{"empty body", "PUT", sub, ``, "empty"},
		{"null body", "PUT", sub, `null`, "object"},
		{"array body", "PUT", sub, `[{"name":"An"}]`, "object"},
		{"unknown field", "PUT", sub, `{"name":"An","tier":"vang"}`, `"tier"`},
		{"trailing data", "PUT", sub, `{"name":"An"} {"name":"Binh"}`, "single"},
		{"trailing garbage", "PUT", sub, `{"name":"An"}x`, "single"},
		{"wrong type", "PUT", sub, `{"name":42}`, `"name"`},
		{"too large", "PUT", sub, `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, "64 KiB"},
		{"bad birthday", "PUT", sub, `{"birthday":"1990-13-01"}`, "birthday"},
		{"impossible birthday", "PUT", sub, `{"birthday":"1990-02-30"}`, "birthday"},
		{"birthday format", "PUT", sub, `{"birthday":"17/05/1990"}`, "YYYY-MM-DD"},
		{"bad member_since", "PUT", sub, `{"member_since":"2012-3-1"}`, "member_since"},
		{"bad gender", "PUT", sub, `{"gender":"x"}`, "gender"},
		{"bad language", "PUT", sub, `{"language":"fr"}`, "language"},
		{"bad status", "PUT", sub, `{"status":"gone"}`, "status"},
		{"long name", "PUT", sub, `{"name":"` + strings.Repeat("a", 201) + `"}`, "name"},
		{"bad kind", "POST", sub + "/points", `{"kind":"gold","points":10,"reason":"r","idempotency_key":"k"}`, "kind"},
		{"zero points", "POST", sub + "/points", `{"kind":"bonus","points":0,"reason":"r","idempotency_key":"k"}`, "points"},
		{"fractional points", "POST", sub + "/points", `{"kind":"bonus","points":1.5,"reason":"r","idempotency_key":"k"}`, `"points"`},
		{"huge points", "POST", sub + "/points", `{"kind":"bonus","points":1000000000,"reason":"r","idempotency_key":"k"}`, "points"},
		{"no reason", "POST", sub + "/points", `{"kind":"bonus","points":10,"idempotency_key":"k"}`, "reason"},
		{"no key", "POST", sub + "/points", `{"kind":"bonus","points":10,"reason":"r"}`, "idempotency_key"},
		{"unknown points field", "POST", sub + "/points", `{` + credit + `,"at":"2026-01-01"}`, `"at"`},
		{"limit zero", "GET", sub + "/ledger?limit=0", "", "limit"},
		{"limit too big", "GET", sub + "/ledger?limit=501", "", "limit"},
		{"limit not a number", "GET", sub + "/ledger?limit=ten", "", "limit"},
	}
	// The group returns only when its parallel subtests are done.
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				res := b.do(t, tt.method, tt.path, tt.body)
				e := res.errorOf(t, http.StatusBadRequest, "invalid")
				if !strings.Contains(e.Error.Message, tt.msg) {
					t.Errorf("message %q does not mention %q", e.Error.Message, tt.msg)
				}
				if strings.Contains(e.Error.Message, "json:") || strings.Contains(e.Error.Message, "web.") {
					t.Errorf("message leaks a Go error: %q", e.Error.Message)
				}
			})
		}
	})
	// Nothing above changed the subscriber.
	var got subscriber
	b.do(t, http.MethodGet, sub, "").json(t, &got)
	if got.Name != "An" || got.Birthday != nil || got.Points.Spendable != 0 {
		t.Errorf("a rejected request changed the subscriber: %+v", got)
	}
}
