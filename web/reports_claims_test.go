package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// TestClaimsReport: claims made on the phone show up per day and gift, which
// is what the console charts.
func TestClaimsReport(t *testing.T) {
	t.Parallel()
	b := setup(t, withLoyalty)
	res := b.do(t, http.MethodPost, "/api/v1/gifts", `{"name":"Qua thu bao cao","kind":"physical","cost":100,"stock":10,
		"valid_from":"2026-01-01T00:00:00+07:00","valid_until":"2030-01-01T00:00:00+07:00"}`)
	var g gift
	res.json(t, &g)
	if res.status != http.StatusCreated {
		t.Fatalf("gift: %d %s", res.status, res.body)
	}
	cat := store.NewCatalog(b.db, store.NewSMS(b.db, care360.SMSRules{}), store.CatalogOptions{})
	for i := range 3 {
		m := newMSISDN()
		b.do(t, http.MethodPut, "/api/v1/subscribers/"+m, `{"name":"R"}`)
		b.do(t, http.MethodPost, "/api/v1/subscribers/"+m+"/points", fmt.Sprintf(`{"kind":"qualifying","points":500,"reason":"t","idempotency_key":"r%d"}`, i))
		msisdn, _ := care360.ParseMSISDN(m)
		if _, _, err := cat.ClaimGift(context.Background(), care360.ClaimRequest{MSISDN: msisdn, GiftID: g.ID, IdempotencyKey: "claim-" + m}); err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	today := time.Now().In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly)
	var rep struct {
		Days []struct {
			Date   string `json:"date"`
			GiftID int64  `json:"gift_id"`
			Name   string `json:"name"`
			Claims int64  `json:"claims"`
			Points int64  `json:"points"`
		} `json:"days"`
	}
	res = b.do(t, http.MethodGet, "/api/v1/reports/claims?from="+today+"&to="+today, "")
	res.json(t, &rep)
	found := false
	for _, d := range rep.Days {
		if d.GiftID == g.ID {
			found = d.Claims == 3 && d.Points == 300 && d.Date == today && d.Name == "Qua thu bao cao"
		}
	}
	if res.status != http.StatusOK || !found {
		t.Fatalf("report: %d %s", res.status, res.body)
	}
	b.do(t, http.MethodGet, "/api/v1/reports/claims?from=2026-13-01", "").errorOf(t, http.StatusBadRequest, "invalid")
}
