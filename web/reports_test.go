package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// TestReportsPointsToday books points through the API and reads them back
// from today's row of the points report (live from the ledger).
func TestReportsPointsToday(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	hcm, _ := time.LoadLocation("Asia/Ho_Chi_Minh") // the default, the store's and the server's
	today := time.Now().In(hcm).Format(time.DateOnly)
	before := b.pointsOn(t, today)
	b.do(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", `{"kind":"qualifying","points":1200,"reason":"t","idempotency_key":"r1"}`)
	b.do(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", `{"kind":"bonus","points":300,"reason":"t","idempotency_key":"r2"}`)
	b.do(t, http.MethodPost, "/api/v1/subscribers/"+n+"/points", `{"kind":"bonus","points":-400,"reason":"t","idempotency_key":"r3"}`)
	after := b.pointsOn(t, today)
	// Other tests share the database: compare differences.
	if d := after.IssuedQualifying - before.IssuedQualifying; d < 1200 {
		t.Errorf("qualifying issued grew by %d, want at least 1200", d)
	}
	if after.Issued-before.Issued < 1500 || after.Spent-before.Spent < 400 || after.Entries-before.Entries < 3 {
		t.Errorf("before %+v after %+v", before, after)
	}

	res := b.do(t, http.MethodGet, "/api/v1/reports/points", "")
	var def struct {
		From, To string
		Days     []struct{ Date string }
	}
	res.json(t, &def)
	if len(def.Days) != 30 || def.To != today || def.Days[29].Date != today {
		t.Errorf("default range: %s", res.body)
	}
	for _, q := range []string{"from=2026-13-01", "to=yesterday", "from=2026-11-02&to=2026-11-01", "from=2020-01-01&to=2026-01-01"} {
		b.do(t, http.MethodGet, "/api/v1/reports/points?"+q, "").errorOf(t, http.StatusBadRequest, "invalid")
	}
	b.do(t, http.MethodGet, "/api/v1/reports/ussd?from=2026-01-01&to=2026-03-01", "").errorOf(t, http.StatusBadRequest, "invalid")
}

type pointsDay struct {
	Date             string
	Issued           int64
	IssuedQualifying int64 `json:"issued_qualifying"`
	Spent, Entries   int64
}

func (b *bundle) pointsOn(t *testing.T, day string) pointsDay {
	t.Helper()
	res := b.do(t, http.MethodGet, "/api/v1/reports/points?from="+day+"&to="+day, "")
	var out struct {
		Days   []pointsDay
		Totals pointsDay
	}
	res.json(t, &out)
	if res.status != http.StatusOK || len(out.Days) != 1 || out.Days[0].Date != day || out.Totals.Issued != out.Days[0].Issued {
		t.Fatalf("report of %s: %d %s", day, res.status, res.body)
	}
	return out.Days[0]
}

// TestReportsUSSD counts emulator steps through a TrafficCounter, as serve
// wires every channel, and reads them per hour.
func TestReportsUSSD(t *testing.T) {
	t.Parallel()
	var counter *store.TrafficCounter
	hcm, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	b := setup(t, withUSSD("127.0.0.0/8"), func(c *web.Config) {
		db := c.Subscribers.(*store.DB)
		counter = db.NewTrafficCounter(time.Hour)
		c.USSD.Service = counter.Wrap(c.USSD.Service)
		c.Admin.Location = hcm
	})
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	s := b.emulate(t, "Bearer "+b.token, map[string]string{"msisdn": n, "action": "dial", "text": "*090#"})
	b.emulate(t, "Bearer "+b.token, map[string]string{"msisdn": n, "session": s.Session, "action": "answer", "text": "1"})
	if err := counter.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(hcm).Format(time.DateOnly)
	res := b.do(t, http.MethodGet, "/api/v1/reports/ussd?from="+today+"&to="+today, "")
	var out struct {
		Hours []struct {
			Hour           time.Time
			Dials, Answers int64
		}
		Totals map[string]int64
	}
	res.json(t, &out)
	if res.status != http.StatusOK || len(out.Hours) != 24 {
		t.Fatalf("ussd report: %d %s", res.status, res.body)
	}
	if _, off := out.Hours[0].Hour.Zone(); off != 7*3600 || out.Hours[0].Hour.Hour() != 0 {
		t.Errorf("hours are not local: %v", out.Hours[0].Hour)
	}
	if out.Totals["dials"] < 1 || out.Totals["answers"] < 1 {
		t.Errorf("totals %v", out.Totals)
	}
	var _ care360.ReportService = (*store.DB)(nil)
}
