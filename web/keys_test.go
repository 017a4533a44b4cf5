package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// TestCallerKeysCannotTakeSystemKeys: a key chosen by an API caller lives in
// its own namespace, so that posting points with the key the draw entry of
// the same member will use ("draw:<id>") does not make that entry free.
func TestCallerKeysCannotTakeSystemKeys(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t))
	sub := b.newSubscriber(t)
	msisdn := care360.MSISDN(canonical(strings.TrimPrefix(sub, "/api/v1/subscribers/")))
	b.post(t, sub, "bonus", 1000, "welcome", "seed", http.StatusCreated)

	body := fmt.Sprintf(`{"code":"K%d","name":"Boc tham","closes_at":%q,"entry_cost":300,
		"tickets":{"dong":1,"bac":1,"titan":1,"vang":1,"kim_cuong":1},"prizes":[{"name":"Xe may","quantity":1}]}`,
		codes.Add(1), time.Now().Add(time.Hour).Format(time.RFC3339))
	var d drawOut
	res := b.do(t, http.MethodPost, "/api/v1/draws", body)
	if res.json(t, &d); res.status != http.StatusCreated {
		t.Fatalf("create draw: %d %s", res.status, res.body)
	}
	key := fmt.Sprintf("draw:%d", d.ID)
	a := b.post(t, sub, "bonus", 1, "goodwill", key, http.StatusCreated)
	if a.IdempotencyKey != key {
		t.Errorf("the answer shows the key as %q, want it as sent (%q)", a.IdempotencyKey, key)
	}
	if _, err := store.NewDraws(b.db).EnterDraw(context.Background(), d.ID, msisdn, ""); err != nil {
		t.Fatalf("enter draw: %v", err)
	}
	if got := b.get(t, sub).Points.Spendable; got != 1000+1-300 {
		t.Errorf("after the entry: %d spendable, want %d (the entry must cost its 300 points)", got, 1000+1-300)
	}
	var mine, system int
	for _, e := range b.ledger(t, sub, "") {
		switch {
		case e.Points == 1:
			mine++
		case e.Points == -300:
			system++
		}
	}
	if mine != 1 || system != 1 {
		t.Errorf("ledger holds %d caller entries and %d draw debits, want one of each", mine, system)
	}
}

// TestSameKeyDifferentRequest: a key seen before with a different request is
// 409 conflict and changes nothing; the identical request is 200 with the
// original outcome.
func TestSameKeyDifferentRequest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	first := b.post(t, sub, "bonus", 100, "goodwill", "k1", http.StatusCreated)

	for name, body := range map[string]string{
		"amount": `{"kind":"bonus","points":200,"reason":"goodwill","idempotency_key":"k1"}`,
		"kind":   `{"kind":"qualifying","points":100,"reason":"goodwill","idempotency_key":"k1"}`,
		"reason": `{"kind":"bonus","points":100,"reason":"other","idempotency_key":"k1"}`,
	} {
		e := b.do(t, http.MethodPost, sub+"/points", body).errorOf(t, http.StatusConflict, "conflict")
		if !strings.Contains(e.Error.Message, "idempotency_key") {
			t.Errorf("%s: message %q does not name the key", name, e.Error.Message)
		}
	}
	again := b.post(t, sub, "bonus", 100, "goodwill", "k1", http.StatusOK)
	if again.ID != first.ID || again.IdempotencyKey != "k1" || again.Points != 100 || again.Balance.Spendable != 100 {
		t.Errorf("replay = %+v, want the first entry %+v", again, first)
	}
	if got := b.get(t, sub).Points.Spendable; got != 100 {
		t.Errorf("spendable = %d after a credit, two conflicts and a replay; want 100", got)
	}
	long := strings.Repeat("k", 197)
	b.do(t, http.MethodPost, sub+"/points", `{"kind":"bonus","points":1,"reason":"r","idempotency_key":"`+long+`"}`).
		errorOf(t, http.StatusBadRequest, "invalid")
	b.post(t, sub, "bonus", 1, "r", long[:196], http.StatusCreated)
}

// TestKeysOnEveryCreate: every route that takes an idempotency key answers
// the identical request again with 200, the same key with a different
// request with 409, and refuses a key too long for its namespace.
func TestKeysOnEveryCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t), withLoyalty, withSMS(t))
	ms := b.members(t, 2)
	spin := func(key string, cap int) string {
		return fmt.Sprintf(`{"code":"S%d","name":"Vong quay","cost_points":0,"daily_cap":%d,"no_prize_weight":3,"ends_at":%q,
			"prizes":[{"name":"B","weight":4,"inventory":9}],"idempotency_key":%q}`, codes.Add(1), cap, time.Now().Add(time.Hour).Format(time.RFC3339), key)
	}
	offer := func(key string, price int) string {
		return fmt.Sprintf(`{"kind":"resort","partner":"Vinpearl","title":"Vinpearl","price":%d,"idempotency_key":%q}`, price, key)
	}
	campaign := func(key, text string) string {
		return mustJSON(t, map[string]any{"name": "Tri an", "text": text, "idempotency_key": key, "segment": map[string]any{"msisdns": ms}})
	}
	for _, c := range []struct {
		path           string
		first, changed string
		long           string
	}{
		{"/api/v1/gifts", fmt.Sprintf(voucherJSON, "g1"), strings.Replace(fmt.Sprintf(voucherJSON, "g1"), `"cost":2000`, `"cost":2100`, 1),
			fmt.Sprintf(voucherJSON, strings.Repeat("g", 197))},
		{"/api/v1/offers", offer("o1", 100), offer("o1", 200), offer(strings.Repeat("o", 197), 100)},
		{"/api/v1/draws", drawBody("d1"), drawBody("d1"), drawBody(strings.Repeat("d", 197))},
		{"/api/v1/spins", spin("s1", 2), spin("s1", 3), spin(strings.Repeat("s", 197), 2)},
		{"/api/v1/campaigns", campaign("c1", "Chao {name}!"), campaign("c1", "Xin chao {name}!"), campaign(strings.Repeat("c", 197), "x")},
	} {
		first := b.do(t, http.MethodPost, c.path, c.first)
		if first.status != http.StatusCreated {
			t.Errorf("%s: %d %s", c.path, first.status, first.body)
			continue
		}
		if again := b.do(t, http.MethodPost, c.path, c.first); again.status != http.StatusOK || string(again.body) != string(first.body) && !strings.Contains(c.path, "campaigns") {
			t.Errorf("%s: the identical request again: %d %s", c.path, again.status, again.body)
		}
		res := b.do(t, http.MethodPost, c.path, c.changed)
		if e := (apiError{}); res.status != http.StatusConflict {
			t.Errorf("%s: the same key with a different request: %d %s, want 409", c.path, res.status, res.body)
		} else if res.json(t, &e); e.Error.Code != "conflict" {
			t.Errorf("%s: %s", c.path, res.body)
		}
		if res := b.do(t, http.MethodPost, c.path, c.long); res.status != http.StatusBadRequest {
			t.Errorf("%s: a key of 197 bytes: %d %s, want 400", c.path, res.status, res.body)
		}
	}

	// Grants answer per item: the same key for another grant is rejected.
	var tb struct{ ID int64 }
	b.do(t, http.MethodPost, "/api/v1/spins", spin("s2", 2)).json(t, &tb)
	grant := func(spins int) string {
		return fmt.Sprintf(`{"grants":[{"msisdn":%q,"spins":%d,"reason":"campaign","idempotency_key":"gr1"}]}`, ms[0], spins)
	}
	path := fmt.Sprintf("/api/v1/spins/%d/grants", tb.ID)
	for _, c := range []struct{ body, want string }{
		{grant(2), `[{"result":"accepted"}]`},
		{grant(2), `[{"result":"duplicate"}]`},
		{grant(5), `[{"result":"rejected","reason":"idempotency_key was used before for a different grant"}]`},
	} {
		if res := b.do(t, http.MethodPost, path, c.body); res.status != http.StatusOK || !strings.Contains(string(res.body), c.want) {
			t.Errorf("grants %s: %d %s, want %s", c.body, res.status, res.body, c.want)
		}
	}
}

// TestCallerKeysCannotStopUsagePosting: a caller's key shaped like the
// key of a usage credit ("usage:<event id>") neither takes the credit's
// place nor stops the billing feed from being posted.
func TestCallerKeysCannotStopUsagePosting(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	sub := b.newSubscriber(t)
	n := strings.TrimPrefix(sub, "/api/v1/subscribers/")
	id := "bill-" + n
	b.post(t, sub, "bonus", 5, "goodwill", "usage:"+id, http.StatusCreated)
	b.postUsage(t, fmt.Sprintf(`[{"msisdn":%q,"amount_vnd":12000,"at":%q,"id":%q}]`, n, time.Now().Add(-time.Minute).Format(time.RFC3339), id))
	if _, err := store.NewLedger(b.db, care360.UsageRules{}).PostUsage(t.Context()); err != nil {
		t.Fatalf("posting usage: %v", err)
	}
	if p := b.get(t, sub).Points; p.Spendable != 17 || p.Qualifying != 12 {
		t.Errorf("points after posting = %+v, want 17 spendable of which 12 qualifying", p)
	}
}
