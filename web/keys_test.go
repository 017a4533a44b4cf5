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
	if _, err := store.NewDraws(b.db).EnterDraw(context.Background(), d.ID, msisdn); err != nil {
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
