package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// withDraws serves draws and spins from a second pool on the package's
// database (setup opens the first one itself).
func withDraws(t *testing.T) func(*web.Config) {
	return func(c *web.Config) {
		db, err := store.Open(context.Background(), pgtest.DB(t), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		c.Draws = &web.DrawsConfig{Draws: store.NewDraws(db), Spins: store.NewSpins(db)}
	}
}

var codes atomic.Int64

// drawBody is a valid POST /api/v1/draws body with a code of its own.
func drawBody(key string) string {
	return fmt.Sprintf(`{"code":"W%d","name":"Bốc thăm Tết","name_en":"Tet draw","closes_at":%q,"entry_cost":0,
		"tickets":{"dong":1,"bac":2,"titan":3,"vang":4,"kim_cuong":5},
		"prizes":[{"name":"Xe máy","quantity":1},{"name":"Voucher","name_en":"Voucher","quantity":2}],"idempotency_key":%q}`,
		codes.Add(1), time.Now().Add(time.Hour).Format(time.RFC3339), key)
}

type drawOut struct {
	ID            int64  `json:"id"`
	Code          string `json:"code"`
	Status        string `json:"status"`
	Commitment    string `json:"commitment"`
	Entries       int64  `json:"entries"`
	EntriesDigest string `json:"entries_digest"`
	Seed          string `json:"seed"`
	Prizes        []struct {
		Rank int `json:"rank"`
	} `json:"prizes"`
}

// The routes with a colon really match, and only with digits and POST.
func TestDrawRoutesMatch(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t))
	var d drawOut
	res := b.do(t, http.MethodPost, "/api/v1/draws", drawBody(""))
	res.json(t, &d)
	if res.status != http.StatusCreated || len(d.Commitment) != 64 || d.Seed != "" || d.Status != "open" {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	res = b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:close", d.ID), "")
	res.json(t, &d)
	if res.status != http.StatusOK || d.Status != "closed" || len(d.EntriesDigest) != 64 {
		t.Fatalf(":close: %d %s", res.status, res.body)
	}
	res = b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", d.ID), `{"witness":"1 2 3"}`)
	if res.status != http.StatusCreated || !strings.Contains(string(res.body), `"status":"drawn"`) {
		t.Fatalf(":run: %d %s", res.status, res.body)
	}
	b.do(t, http.MethodGet, fmt.Sprintf("/api/v1/draws/%d:close", d.ID), "").errorOf(t, http.StatusMethodNotAllowed, "method_not_allowed")
	e := b.do(t, http.MethodPost, "/api/v1/draws/abc:close", "").errorOf(t, http.StatusNotFound, "not_found")
	if e.Error.Message != "no such endpoint" {
		t.Errorf("a non-numeric id matched a route: %+v", e)
	}
	b.do(t, http.MethodPost, "/api/v1/draws/99999999:close", "").errorOf(t, http.StatusNotFound, "not_found")
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:open", d.ID), "").errorOf(t, http.StatusNotFound, "not_found")
}

func TestDrawAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t))
	body := drawBody("draw-api-1")
	var d, again drawOut
	b.do(t, http.MethodPost, "/api/v1/draws", body).json(t, &d)
	if res := b.do(t, http.MethodPost, "/api/v1/draws", body); res.status != http.StatusOK {
		t.Fatalf("replay: %d %s", res.status, res.body)
	} else if res.json(t, &again); again.ID != d.ID || again.Commitment != d.Commitment {
		t.Fatalf("replay answered another draw: %s", res.body)
	}
	if len(d.Prizes) != 2 || d.Prizes[1].Rank != 2 {
		t.Errorf("prizes %+v", d.Prizes)
	}
	for name, bad := range map[string]string{
		"malformed":     `{"code":`,
		"unknown field": `{"code":"X1","colour":"red"}`,
		"bad tier":      strings.Replace(drawBody(""), `"dong":1`, `"gold":1`, 1),
		"no prizes":     strings.Replace(drawBody(""), `"prizes":[`, `"prizes":[],"x":[`, 1),
		"array":         `[]`,
	} {
		if res := b.do(t, http.MethodPost, "/api/v1/draws", bad); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, res.status, res.body)
		}
	}

	// Two members enter through the store (entries come from USSD), then
	// the draw is closed, run and audited over HTTP.
	ds := store.NewDraws(b.db)
	var ms []string
	for range 2 {
		m := newMSISDN()
		b.do(t, http.MethodPut, "/api/v1/subscribers/"+m, `{"name":"A"}`)
		if _, err := ds.EnterDraw(context.Background(), d.ID, care360.MSISDN(canonical(m)), ""); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, canonical(m))
	}
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", d.ID), `{"witness":"1"}`).errorOf(t, http.StatusConflict, "conflict")
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:close", d.ID), "").json(t, &d)
	if d.Entries != 2 {
		t.Fatalf("closed with %d entries", d.Entries)
	}
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", d.ID), `{"witness":""}`).errorOf(t, http.StatusBadRequest, "invalid")
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", d.ID), `{"witness":1}`).errorOf(t, http.StatusBadRequest, "invalid")
	var run struct {
		Draw    drawOut `json:"draw"`
		Winners []struct {
			Position int    `json:"position"`
			MSISDN   string `json:"msisdn"`
		} `json:"winners"`
	}
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", d.ID), `{"witness":"4 4 2"}`).json(t, &run)
	if run.Draw.Status != "drawn" || len(run.Draw.Seed) != 64 || len(run.Winners) != 2 {
		t.Fatalf("run: %+v", run)
	}
	if res := b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", d.ID), `{"witness":"4 4 2"}`); res.status != http.StatusOK {
		t.Errorf("the same run again: %d", res.status)
	}
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", d.ID), `{"witness":"4 4 3"}`).errorOf(t, http.StatusConflict, "conflict")

	res := b.do(t, http.MethodGet, fmt.Sprintf("/api/v1/draws/%d/audit", d.ID), "")
	var a draw.Audit
	res.json(t, &a)
	if diffs := draw.Verify(&a); res.status != http.StatusOK || len(diffs) != 0 {
		t.Fatalf("audit: %d %v", res.status, diffs)
	}
	if _, diffs, err := draw.VerifyStream(bytes.NewReader(res.body)); err != nil || len(diffs) != 0 {
		t.Fatalf("the streamed audit file, verified as it is read: %v %v", diffs, err)
	}
	for _, m := range ms {
		if strings.Contains(string(res.body), m[3:]) {
			t.Errorf("the audit file shows %s", m)
		}
	}
	var list struct {
		Draws []drawOut `json:"draws"`
	}
	b.do(t, http.MethodGet, "/api/v1/draws?status=drawn", "").json(t, &list)
	if !slicesHas(list.Draws, d.ID) {
		t.Errorf("drawn list lacks draw %d", d.ID)
	}
	b.do(t, http.MethodGet, "/api/v1/draws?status=lost", "").errorOf(t, http.StatusBadRequest, "invalid")
	b.do(t, http.MethodGet, "/api/v1/draws/99999999/audit", "").errorOf(t, http.StatusNotFound, "not_found")
}

func slicesHas(ds []drawOut, id int64) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

func TestSpinAPIAndReports(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t))
	code := fmt.Sprintf("S%d", codes.Add(1))
	body := fmt.Sprintf(`{"code":%q,"name":"Vòng quay","cost_points":0,"daily_cap":2,"no_prize_weight":3,"ends_at":%q,
		"prizes":[{"name":"A","weight":1,"inventory":0},{"name":"B","weight":4,"inventory":9}]}`, code, time.Now().Add(time.Hour).Format(time.RFC3339))
	var tb struct {
		ID          int64   `json:"id"`
		NoPrizeOdds float64 `json:"no_prize_odds"`
		Prizes      []struct {
			Odds float64 `json:"odds"`
		} `json:"prizes"`
	}
	res := b.do(t, http.MethodPost, "/api/v1/spins", body)
	res.json(t, &tb)
	// A is out of stock: its eighth goes to "no prize", as published.
	if res.status != http.StatusCreated || tb.Prizes[0].Odds != 0 || tb.Prizes[1].Odds != 0.5 || tb.NoPrizeOdds != 0.5 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	b.do(t, http.MethodPost, "/api/v1/spins", `{"code":"X"}`).errorOf(t, http.StatusBadRequest, "invalid")
	m := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+m, `{"name":"A"}`)
	grants := fmt.Sprintf(`{"grants":[{"msisdn":%q,"spins":2,"reason":"campaign","idempotency_key":"g1"},
		{"msisdn":%q,"spins":2,"reason":"campaign","idempotency_key":"g1"},{"msisdn":"12","spins":1,"reason":"x","idempotency_key":"g2"},
		{"msisdn":%q,"spins":0,"reason":"x","idempotency_key":"g3"}]}`, m, m, m)
	res = b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/spins/%d/grants", tb.ID), grants)
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `[{"result":"accepted"},{"result":"duplicate"},{"result":"rejected","reason":"invalid msisdn"},{"result":"rejected"`) {
		t.Fatalf("grants: %d %s", res.status, res.body)
	}
	if _, err := store.NewSpins(b.db).Spin(context.Background(), tb.ID, care360.MSISDN(canonical(m)), ""); err != nil {
		t.Fatal(err)
	}
	var sr struct {
		Days []struct {
			Code  string `json:"code"`
			Spins int64  `json:"spins"`
			Free  int64  `json:"free"`
		} `json:"days"`
		Stock []struct {
			Code      string `json:"code"`
			Remaining int64  `json:"remaining"`
		} `json:"stock"`
	}
	b.do(t, http.MethodGet, "/api/v1/reports/spins", "").json(t, &sr)
	found := false
	for _, d := range sr.Days {
		found = found || d.Code == code && d.Spins == 1 && d.Free == 1
	}
	if !found {
		t.Errorf("the spin report lacks today's spin: %+v", sr.Days)
	}
	var dr struct {
		From string            `json:"from"`
		Days []json.RawMessage `json:"days"`
	}
	b.do(t, http.MethodGet, "/api/v1/reports/draws?from=2026-01-01&to=2026-01-31", "").json(t, &dr)
	if dr.From != "2026-01-01" || dr.Days == nil {
		t.Errorf("draw report: %+v", dr)
	}
	b.do(t, http.MethodGet, "/api/v1/reports/draws?from=yesterday", "").errorOf(t, http.StatusBadRequest, "invalid")
	b.do(t, http.MethodGet, "/api/v1/reports/spins?from=2026-02-01&to=2026-01-01", "").errorOf(t, http.StatusBadRequest, "invalid")
}

// A server without the draw services answers their routes 503.
func TestDrawsNotConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.do(t, http.MethodGet, "/api/v1/draws", "").errorOf(t, http.StatusServiceUnavailable, "unavailable")
	b.do(t, http.MethodPost, "/api/v1/spins/1/grants", "{}").errorOf(t, http.StatusServiceUnavailable, "unavailable")
}
