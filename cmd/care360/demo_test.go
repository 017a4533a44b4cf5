package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestDemoProgramme starts the program as `care360 dev` does, seeds it a
// second time as a second `make run` would, and checks that nothing
// doubled, that the drawn draw's audit file verifies, and that a newcomer
// dialling menus 2 to 6 finds the seeded gifts, draws, spins and offers.
func TestDemoProgramme(t *testing.T) {
	t.Parallel()
	d := startDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first := demoCounts(ctx, t, d.m.Config.DatabaseURL)
	if err := devData(ctx, d.m.Config); err != nil {
		t.Fatal(err)
	}
	second := demoCounts(ctx, t, d.m.Config.DatabaseURL)
	want := map[string]int64{"gifts": 7, "gift_codes": 8, "offers": 8, "draws": 2, "draw_entries": 10,
		"spin_tables": 1, "sms_campaigns": 1, "feedback": 1, "held_members": 1, "lifecycle_events": 1}
	for table, n := range want {
		if first[table] != n || second[table] != n {
			t.Errorf("%s: %d after the first seed, %d after the second; want %d", table, first[table], second[table], n)
		}
	}
	if first["campaign_messages"] == 0 || first["campaign_messages"] != second["campaign_messages"] {
		t.Errorf("the campaign's messages: %d, then %d; want some, once", first["campaign_messages"], second["campaign_messages"])
	}

	verifyDemoDraw(ctx, t, d)

	for _, c := range []struct {
		msisdn, code string
		answers      []string
		want         []string
	}{
		{"0903123456", "*090*2#", []string{"99"}, []string{"The nap 20.000d", "Goi data 2GB", "Voucher mua sam 50.000d", "Ve xem phim CGV", "Binh giu nhiet MobiFone"}},
		{"0903123456", "*090*3*1#", nil, []string{"Boc tham Loc Xuan"}},
		{"0903123456", "*090*3*2#", nil, []string{"Vong quay may man"}},
		{"0903123456", "*090*3*3#", nil, []string{"TRIAN"}},
		// Another member each few dials: a number dialling too often is
		// asked to wait.
		{"0905345678", "*090*4#", []string{"1"}, []string{"Giam 20% Pizza 4P's"}},
		{"0905345678", "*090*4#", []string{"7"}, []string{"Muong Thanh"}},
		{"0905345678", "*090*6#", nil, []string{"Vinpearl"}},
		{"0904234567", "*090*5#", nil, []string{"1."}},
	} {
		var term bytes.Buffer
		dctx, dcancel := context.WithTimeout(ctx, 15*time.Second)
		err := dial(dctx, d.control, c.msisdn, c.code, &typist{answers: c.answers, echo: &term}, &term)
		dcancel()
		if err != nil {
			t.Errorf("dial %s %s: %v", c.msisdn, c.code, err)
			continue
		}
		t.Logf("dial %s %s %v:\n%s", c.msisdn, c.code, c.answers, term.String())
		for _, w := range c.want {
			if !strings.Contains(term.String(), w) {
				t.Errorf("dial %s %s %v: no %q in\n%s", c.msisdn, c.code, c.answers, w, term.String())
			}
		}
	}
}

// demoCounts counts the rows the seed creates.
func demoCounts(ctx context.Context, t *testing.T, url string) map[string]int64 {
	t.Helper()
	pg, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	out := map[string]int64{}
	for name, q := range map[string]string{
		"gifts": `gifts`, "gift_codes": `gift_codes`, "offers": `offers`, "draws": `draws`,
		"draw_entries": `draw_entries`, "spin_tables": `spin_tables`, "sms_campaigns": `sms_campaigns`,
		"campaign_messages": `sms_messages WHERE campaign_id IS NOT NULL`, "feedback": `feedback`,
		"held_members": `subscribers WHERE sim_swap_until > now()`, "lifecycle_events": `lifecycle_events`,
	} {
		var n int64
		if err := pg.QueryRow(ctx, `SELECT count(*) FROM `+q).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		out[name] = n
	}
	return out
}

// verifyDemoDraw fetches the drawn draw's audit file from the admin API
// and runs `care360 draw verify` on it.
func verifyDemoDraw(ctx context.Context, t *testing.T, d *devProgram) {
	t.Helper()
	var id int64
	pg, err := pgx.Connect(ctx, d.m.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	if err := pg.QueryRow(ctx, `SELECT id FROM draws WHERE code = 'TRIAN' AND status = 'drawn'`).Scan(&id); err != nil {
		t.Fatalf("the demo's drawn draw: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/api/v1/draws/"+strconv.FormatInt(id, 10)+"/audit", nil)
	req.Header.Set("Authorization", "Bearer dev-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit: %d %s", resp.StatusCode, body)
	}
	file := filepath.Join(t.TempDir(), "audit.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runDraw([]string{"verify", file}, &out); err != nil || !strings.Contains(out.String(), "VALID") {
		t.Errorf("draw verify: %v\n%s", err, out.String())
	}
}

// TestDemoAirtimeGiftIsCredited claims the demo airtime gift in menu 2 as
// a newcomer would: dev's own provisioning interface credits it, and the
// member's export shows the claim done and the points spent.
func TestDemoAirtimeGiftIsCredited(t *testing.T) {
	t.Parallel()
	d := startDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var term bytes.Buffer
	if err := dial(ctx, d.control, "0903123456", "*090*2#", &typist{answers: []string{"1", "1"}, echo: &term}, &term); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(term.String(), "Quy khach da doi The nap 20.000d") {
		t.Fatalf("no claim confirmed in\n%s", term.String())
	}
	type export struct {
		Sections struct {
			Claims []struct {
				Gift   string `json:"gift"`
				Status string `json:"status"`
				Points int64  `json:"points"`
			} `json:"claims"`
		} `json:"sections"`
	}
	var e export
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/api/v1/subscribers/0903123456/export", nil)
		req.Header.Set("Authorization", "Bearer dev-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		e = export{}
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %d %v", resp.StatusCode, err)
		}
		if len(e.Sections.Claims) == 1 && e.Sections.Claims[0].Status == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the airtime claim was not credited in 10 s: %+v", e.Sections.Claims)
		}
	}
	if c := e.Sections.Claims[0]; c.Gift != "Thẻ nạp 20.000đ" || c.Points != 200 {
		t.Errorf("claim %+v; want the 20,000 VND airtime for 200 points", c)
	}
}

// TestDemoCampaign checks that the demo campaign goes out once the gateway
// runs and that the simulator's receipts come back: with a marketing
// window of the whole day, every member's message is delivered.
func TestDemoCampaign(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "care360.json")
	if err := os.WriteFile(conf, []byte(`{"sms": {"marketing_window": "00:00-23:59"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDevWith(t, map[string]string{"CARE360_CONFIG": conf})
	if now := time.Now().In(d.m.Config.Location); now.Hour() == 23 && now.Minute() == 59 {
		t.Skip("the last minute of the day is outside any window")
	}
	var c struct {
		Recipients int64 `json:"recipients"`
		Progress   struct {
			Delivered int64 `json:"delivered"`
		} `json:"progress"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, d.base+"/api/v1/campaigns/1", nil)
		req.Header.Set("Authorization", "Bearer dev-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if c.Recipients == int64(len(demo)) && c.Progress.Delivered == c.Recipients {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo campaign: %+v; want %d recipients, each delivered", c, len(demo))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDemoProvisioningChecksRequests: dev's provisioning interface refuses
// what the operator's would (a bad number, kind or value, a reference not
// repeated as the Idempotency-Key) and answers a replayed reference as a
// replay, so a claim retried after a lost answer is credited once.
func TestDemoProvisioningChecksRequests(t *testing.T) {
	t.Parallel()
	base, app, err := startDemoApp(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	post := func(body, key string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/provision", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct{ body, key, want string }{
		{`{"msisdn":"0903","kind":"airtime","value":20000,"reference":"Q1"}`, "Q1", "msisdn"},
		{`{"msisdn":"0903123456","kind":"gold","value":20000,"reference":"Q1"}`, "Q1", "kind"},
		{`{"msisdn":"0903123456","kind":"data","value":0,"reference":"Q1"}`, "Q1", "value"},
		{`{"msisdn":"0903123456","kind":"data","value":2048,"reference":"Q1"}`, "", "Idempotency-Key"},
		{`{"msisdn":"0903123456","kind":"data","value":2048,"reference":"Q1","extra":1}`, "Q1", "unknown field"},
		{`not json`, "Q1", "want JSON"},
	} {
		if st, body := post(c.body, c.key); st != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %q; want 400 naming %q", c.body, st, body, c.want)
		}
	}
	ok := `{"msisdn":"0903123456","kind":"airtime","value":20000,"reference":"Q7K2"}`
	for i, want := range []string{`"replay":false`, `"replay":true`} {
		if st, body := post(ok, "Q7K2"); st != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("call %d: %d %q; want 200 with %s", i+1, st, body, want)
		}
	}
}
