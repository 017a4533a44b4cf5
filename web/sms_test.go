package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// withSMS wires the SMS endpoints to the real store, on a clock fixed at
// 10:00 in Hanoi so that quiet hours never depend on when the test runs.
func withSMS(t *testing.T) func(*web.Config) { return withSMSOn(t, pgtest.DB(t)) }

// withSMSOn is withSMS on the database at url, for tests that must see
// only their own campaigns and messages (pgtest.FreshDB).
func withSMSOn(t *testing.T, url string) func(*web.Config) {
	return func(c *web.Config) {
		at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))
		db, err := store.Open(t.Context(), url, store.Options{Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		sms := store.NewSMS(db, care360.SMSRules{})
		c.SMS = &web.SMSConfig{Messages: sms, Campaigns: sms, DNC: sms, Reports: sms, Feedback: sms}
	}
}

// members creates n subscribers and returns their national numbers.
func (b *bundle) members(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		m := newMSISDN()
		if res := b.do(t, "PUT", "/api/v1/subscribers/"+m, `{"name":"Nguyễn Văn An","language":"vi","marketing_consent":true}`); res.status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", m, res.status, res.body)
		}
		out = append(out, m)
	}
	return out
}

type messagesBody struct {
	Messages []struct {
		ID          int64   `json:"id"`
		MSISDN      string  `json:"msisdn"`
		Text        string  `json:"text"`
		Kind        string  `json:"kind"`
		Status      string  `json:"status"`
		SubmittedAt *string `json:"submitted_at"`
		DeliveredAt *string `json:"delivered_at"`
		Error       *string `json:"error"`
	} `json:"messages"`
}

func TestMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t))
	m := newMSISDN()
	sms := store.NewSMS(b.db, care360.SMSRules{})
	for i, text := range []string{"Ma qua: ABC", "Ma qua: DEF"} {
		if _, _, err := sms.Send(t.Context(), care360.OutgoingSMS{MSISDN: care360.MSISDN(canonical(m)), Text: text,
			Kind: care360.KindTransactional, IdempotencyKey: fmt.Sprint(m, i)}); err != nil {
			t.Fatal(err)
		}
	}
	res := b.do(t, "GET", "/api/v1/messages?msisdn="+m, "")
	var got messagesBody
	res.json(t, &got)
	if res.status != http.StatusOK || len(got.Messages) != 2 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	first := got.Messages[0]
	if first.Text != "Ma qua: DEF" || first.MSISDN != canonical(m) || first.Kind != "transactional" || first.Status != "queued" ||
		first.SubmittedAt != nil || first.DeliveredAt != nil || first.Error != nil || first.ID <= got.Messages[1].ID {
		t.Errorf("newest first: %s", res.body)
	}
	for _, bad := range []string{"", "?msisdn=", "?msisdn=12345", "?msisdn=" + m + "&limit=0", "?msisdn=" + m + "&limit=x"} {
		b.do(t, "GET", "/api/v1/messages"+bad, "").errorOf(t, http.StatusBadRequest, "invalid")
	}
}

func TestCampaigns(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t))
	ms := b.members(t, 3)
	body := mustJSON(t, map[string]any{
		"name": "Tri an", "text": "Chào {name}!", "idempotency_key": "camp-" + ms[0],
		"segment": map[string]any{"msisdns": ms},
	})
	res := b.do(t, "POST", "/api/v1/campaigns", body)
	var c struct {
		ID         int64  `json:"id"`
		Status     string `json:"status"`
		Recipients int64  `json:"recipients"`
		Segment    struct {
			MSISDNs []string `json:"msisdns"`
		} `json:"segment"`
		Progress map[string]int64 `json:"progress"`
	}
	res.json(t, &c)
	if res.status != http.StatusCreated || c.Recipients != 3 || c.Status != "running" || c.Progress["queued"] != 3 || c.Segment.MSISDNs[0] != canonical(ms[0]) {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var msgs messagesBody
	b.do(t, "GET", "/api/v1/messages?msisdn="+ms[1], "").json(t, &msgs)
	if len(msgs.Messages) != 1 || msgs.Messages[0].Text != "[QC] Chao Nguyen Van An! Tu choi: soan TC gui 9237" || msgs.Messages[0].Kind != "marketing" {
		t.Fatalf("message: %+v", msgs)
	}
	if res := b.do(t, "POST", "/api/v1/campaigns", body); res.status != http.StatusOK || !strings.Contains(string(res.body), fmt.Sprintf(`"id":%d`, c.ID)) {
		t.Fatalf("replay: %d %s", res.status, res.body)
	}
	path := fmt.Sprint("/api/v1/campaigns/", c.ID)
	steps := []struct {
		action, status string
		progress       string
		code           int
	}{
		{":pause", "paused", "held", http.StatusOK},
		{":resume", "running", "queued", http.StatusOK},
		{":cancel", "cancelled", "failed", http.StatusOK},
	}
	for _, s := range steps {
		res := b.do(t, "POST", path+s.action, "")
		res.json(t, &c)
		if res.status != s.code || c.Status != s.status || c.Progress[s.progress] != 3 {
			t.Fatalf("%s: %d %s", s.action, res.status, res.body)
		}
	}
	b.do(t, "POST", path+":pause", "").errorOf(t, http.StatusConflict, "conflict")
	if res := b.do(t, "GET", path, ""); res.status != http.StatusOK || !strings.Contains(string(res.body), `"status":"cancelled"`) {
		t.Fatalf("GET: %d %s", res.status, res.body)
	}
	b.do(t, "GET", "/api/v1/campaigns/999999999", "").errorOf(t, http.StatusNotFound, "not_found")
	b.do(t, "POST", "/api/v1/campaigns/999999999:resume", "").errorOf(t, http.StatusNotFound, "not_found")
	if res := b.do(t, "GET", path+":pause", ""); res.status != http.StatusMethodNotAllowed {
		t.Errorf("GET on an action: %d", res.status)
	}
	b.do(t, "POST", path+":explode", "").errorOf(t, http.StatusNotFound, "not_found")
}

func TestCampaignBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t))
	cases := map[string]struct{ body, says string }{
		"not JSON":        {`{"name":`, "malformed JSON"},
		"unknown field":   {`{"name":"x","text":"x","colour":"red"}`, `unknown field "colour"`},
		"no text":         {`{"name":"x"}`, "text is required"},
		"unknown tier":    {`{"name":"x","text":"x","segment":{"tiers":["gold"]}}`, `unknown tier "gold"`},
		"bad number":      {`{"name":"x","text":"x","segment":{"msisdns":["0903123456","12"]}}`, "segment.msisdns[1]"},
		"bad placeholder": {`{"name":"x","text":"hi {nick}"}`, "unknown placeholder {nick}"},
		"bad send_at":     {`{"name":"x","text":"x","send_at":"tomorrow"}`, "send_at"},
	}
	for name, c := range cases {
		e := b.do(t, "POST", "/api/v1/campaigns", c.body).errorOf(t, http.StatusBadRequest, "invalid")
		if !strings.Contains(e.Error.Message, c.says) {
			t.Errorf("%s: message %q lacks %q", name, e.Error.Message, c.says)
		}
	}
}

func TestImportDNC(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t))
	a, c := newMSISDN(), newMSISDN()
	csvBody := "name,MSISDN\nAn," + a + "\nBinh,not-a-number\nCuong,+" + canonical(c) + "\nAn again," + a + "\n"
	res := b.do(t, "POST", "/api/v1/dnc:import", csvBody)
	var rep struct {
		Accepted, Duplicate, Rejected int
		Rows                          []struct {
			Row            int
			MSISDN, Result string
			Reason         string
		}
	}
	res.json(t, &rep)
	if res.status != http.StatusOK || rep.Accepted != 2 || rep.Duplicate != 1 || rep.Rejected != 1 || len(rep.Rows) != 4 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if r := rep.Rows[1]; r.Row != 3 || r.Result != "rejected" || r.Reason == "" {
		t.Errorf("bad row reported as %+v", r)
	}
	if r := rep.Rows[3]; r.Result != "duplicate" || r.MSISDN != canonical(a) {
		t.Errorf("repeat reported as %+v", r)
	}

	// The same as a multipart upload, with a BOM: now all duplicates.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "dnc.csv")
	fw.Write([]byte("\xef\xbb\xbfmsisdn\n" + a + "\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", b.url+"/api/v1/dnc:import", &buf)
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("multipart: %d", resp.StatusCode)
	}

	for name, c := range map[string]struct{ body, says string }{
		"empty":      {"", "empty"},
		"no column":  {"name,phone\nAn,0903123456\n", "no msisdn column"},
		"bad header": {"\"msisdn\n", "malformed CSV at line 1"},
	} {
		e := b.do(t, "POST", "/api/v1/dnc:import", c.body).errorOf(t, http.StatusBadRequest, "invalid")
		if !strings.Contains(e.Error.Message, c.says) {
			t.Errorf("%s: %q lacks %q", name, e.Error.Message, c.says)
		}
	}
}

// GET /api/v1/campaigns lists campaigns newest first, a page at a time,
// each exactly as GET /api/v1/campaigns/{id} shows it.
func TestCampaignsList(t *testing.T) {
	t.Parallel()
	url := pgtest.FreshDB(t)
	b := setupOn(t, url, withSMSOn(t, url))
	ms := b.members(t, 2)
	var ids []int64
	for i := range 3 {
		res := b.do(t, "POST", "/api/v1/campaigns", mustJSON(t, map[string]any{
			"name": fmt.Sprint("Tri an ", i), "text": "Chào {name}!", "segment": map[string]any{"msisdns": ms}}))
		var c struct{ ID int64 }
		res.json(t, &c)
		if res.status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		ids = append(ids, c.ID)
	}
	b.do(t, "POST", fmt.Sprint("/api/v1/campaigns/", ids[1], ":pause"), "")

	type page struct {
		Campaigns []json.RawMessage `json:"campaigns"`
		Next      *string           `json:"next"`
	}
	var all page
	res := b.do(t, "GET", "/api/v1/campaigns", "")
	res.json(t, &all)
	if res.status != http.StatusOK || len(all.Campaigns) != 3 || all.Next != nil {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	for i, raw := range all.Campaigns {
		one := b.do(t, "GET", fmt.Sprint("/api/v1/campaigns/", ids[2-i]), "")
		var want, got any
		one.json(t, &want)
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("campaign %d in the list (-GET {id} +list):\n%s", ids[2-i], diff)
		}
	}
	if !strings.Contains(string(all.Campaigns[1]), `"held":2`) {
		t.Errorf("the paused campaign: %s", all.Campaigns[1])
	}

	var first, second page
	b.do(t, "GET", "/api/v1/campaigns?limit=2", "").json(t, &first)
	if len(first.Campaigns) != 2 || first.Next == nil || *first.Next != fmt.Sprint(ids[1]) {
		t.Fatalf("first page: %+v", first)
	}
	b.do(t, "GET", "/api/v1/campaigns?limit=2&before="+*first.Next, "").json(t, &second)
	if len(second.Campaigns) != 1 || second.Next != nil || !strings.Contains(string(second.Campaigns[0]), fmt.Sprintf(`"id":%d`, ids[0])) {
		t.Fatalf("second page: %+v", second)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "before=x", "before=-1"} {
		b.do(t, "GET", "/api/v1/campaigns?"+q, "").errorOf(t, http.StatusBadRequest, "invalid")
	}
	// Marketers list campaigns as they create them; support may not.
	if res := b.send(t, "GET", "/api/v1/campaigns", "", "Bearer "+b.staffToken(t, "marketer")); res.status != http.StatusOK {
		t.Errorf("marketer: %d %s", res.status, res.body)
	}
	b.send(t, "GET", "/api/v1/campaigns", "", "Bearer "+b.staffToken(t, "support")).errorOf(t, http.StatusForbidden, "forbidden")
}

// GET /api/v1/reports/sms counts messages per local day and kind, by where
// they got to, with totals; it takes its range as the other reports do.
func TestSMSReport(t *testing.T) {
	t.Parallel()
	url := pgtest.FreshDB(t)
	b := setupOn(t, url, withSMSOn(t, url))
	ms := b.members(t, 1)
	// Two transactional messages on the server's day (withSMSOn's clock):
	// one delivered, one refused by the SMSC.
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	db, err := store.Open(t.Context(), url, store.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	outbox := store.NewSMS(db, care360.SMSRules{})
	msisdn := care360.MSISDN(canonical(ms[0]))
	for i, text := range []string{"Ma qua: ABC", "Ma qua: DEF"} {
		if _, _, err := outbox.Send(t.Context(), care360.OutgoingSMS{MSISDN: msisdn, Text: text,
			Kind: care360.KindTransactional, IdempotencyKey: fmt.Sprint("report-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := outbox.Claim(t.Context(), "t", 10, time.Minute)
	if err != nil || len(cs) != 2 {
		t.Fatalf("claim: %+v, %v", cs, err)
	}
	_, err = outbox.Settle(t.Context(), "t", []care360.Outcome{
		{ID: cs[0].ID, Token: cs[0].Token, Kind: care360.OutcomeSubmitted, TotalParts: 1, Parts: []care360.SubmittedPart{{Part: 1, SMSCID: "R1"}}},
		{ID: cs[1].ID, Token: cs[1].Token, Kind: care360.OutcomeFailed, Error: "refused"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Receipts(t.Context(), []care360.Receipt{{SMSCID: "R1", State: care360.ReceiptDelivered, At: at}}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "POST", "/api/v1/campaigns", mustJSON(t, map[string]any{"name": "x", "text": "x", "segment": map[string]any{"msisdns": ms}}))

	type counts struct {
		Date                                       string
		Kind                                       string
		Messages, Sent, Delivered, Failed, Expired int64
	}
	var rep struct {
		From, To string
		Days     []counts
		Kinds    []counts
		Totals   counts
	}
	res := b.do(t, "GET", "/api/v1/reports/sms?from=2026-11-24&to=2026-11-25", "")
	res.json(t, &rep)
	want := []counts{
		{Date: "2026-11-24", Kind: "transactional"},
		{Date: "2026-11-24", Kind: "marketing"},
		{Date: "2026-11-25", Kind: "transactional", Messages: 2, Sent: 1, Delivered: 1, Failed: 1},
		{Date: "2026-11-25", Kind: "marketing", Messages: 1},
	}
	if res.status != http.StatusOK || rep.From != "2026-11-24" || rep.To != "2026-11-25" {
		t.Fatalf("report: %d %s", res.status, res.body)
	}
	if diff := cmp.Diff(want, rep.Days); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}
	wantKinds := []counts{{Kind: "transactional", Messages: 2, Sent: 1, Delivered: 1, Failed: 1}, {Kind: "marketing", Messages: 1}}
	if diff := cmp.Diff(wantKinds, rep.Kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(counts{Messages: 3, Sent: 1, Delivered: 1, Failed: 1}, rep.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}

	var def struct{ Days []counts }
	b.do(t, "GET", "/api/v1/reports/sms", "").json(t, &def)
	if len(def.Days) != 30*2 {
		t.Errorf("default range: %d rows, want 30 days of 2 kinds", len(def.Days))
	}
	for _, q := range []string{"from=2026-13-01", "to=yesterday", "from=2026-11-02&to=2026-11-01", "from=2020-01-01&to=2026-01-01"} {
		b.do(t, "GET", "/api/v1/reports/sms?"+q, "").errorOf(t, http.StatusBadRequest, "invalid")
	}
	if res := b.send(t, "GET", "/api/v1/reports/sms", "", "Bearer "+b.staffToken(t, "marketer")); res.status != http.StatusOK {
		t.Errorf("marketer: %d %s", res.status, res.body)
	}
	b.send(t, "GET", "/api/v1/reports/sms", "", "Bearer "+b.staffToken(t, "support")).errorOf(t, http.StatusForbidden, "forbidden")
}

// Without SMS services the endpoints exist (so the token guards them) and
// say they are unavailable.
func TestSMSNotConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.do(t, "GET", "/api/v1/messages?msisdn=0903123456", "").errorOf(t, http.StatusServiceUnavailable, "unavailable")
	b.do(t, "POST", "/api/v1/campaigns/1:pause", "").errorOf(t, http.StatusServiceUnavailable, "unavailable")
	b.do(t, "GET", "/api/v1/campaigns", "").errorOf(t, http.StatusServiceUnavailable, "unavailable")
	b.do(t, "GET", "/api/v1/reports/sms", "").errorOf(t, http.StatusServiceUnavailable, "unavailable")
}
