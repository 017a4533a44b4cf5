package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Ho_Chi_Minh on machines without zoneinfo

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
)

// entry is a ledger entry as the API shows it.
type entry struct {
	ID             int64      `json:"id"`
	Kind           string     `json:"kind"`
	Points         int64      `json:"points"`
	Reason         string     `json:"reason"`
	IdempotencyKey string     `json:"idempotency_key"`
	EarnedAt       time.Time  `json:"earned_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
}

// pointsAnswer is the answer to POST .../points: the entry and the balance.
type pointsAnswer struct {
	entry
	Balance points `json:"balance"`
}

// newSubscriber creates a subscriber and returns its path.
func (b *bundle) newSubscriber(t *testing.T) string {
	t.Helper()
	path := "/api/v1/subscribers/" + newMSISDN()
	if res := b.do(t, http.MethodPut, path, `{"name":"Test"}`); res.status != http.StatusCreated {
		t.Fatalf("create subscriber: %d %s", res.status, res.body)
	}
	return path
}

// post posts a points change and checks the status.
func (b *bundle) post(t *testing.T, sub, kind string, n int64, reason, key string, status int) pointsAnswer {
	t.Helper()
	body := mustJSON(t, map[string]any{"kind": kind, "points": n, "reason": reason, "idempotency_key": key})
	res := b.do(t, http.MethodPost, sub+"/points", body)
	if res.status != status {
		t.Fatalf("POST %s %d: %d %s, want %d", kind, n, res.status, res.body, status)
	}
	var a pointsAnswer
	res.json(t, &a)
	return a
}

func (b *bundle) get(t *testing.T, sub string) subscriber {
	t.Helper()
	res := b.do(t, http.MethodGet, sub, "")
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", sub, res.status, res.body)
	}
	var s subscriber
	res.json(t, &s)
	return s
}

func (b *bundle) ledger(t *testing.T, sub, query string) []entry {
	t.Helper()
	res := b.do(t, http.MethodGet, sub+"/ledger"+query, "")
	if res.status != http.StatusOK {
		t.Fatalf("ledger: %d %s", res.status, res.body)
	}
	var l struct{ Entries []entry }
	res.json(t, &l)
	return l.Entries
}

func TestPointsCreditUpgradesTier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)

	a := b.post(t, sub, "qualifying", 1999, "usage", "q1", http.StatusCreated)
	if a.Kind != "qualifying" || a.Points != 1999 || a.Reason != "usage" || a.IdempotencyKey != "q1" || a.ID == 0 {
		t.Errorf("entry = %+v", a.entry)
	}
	if a.ExpiresAt == nil || !a.ExpiresAt.After(a.EarnedAt.AddDate(0, 11, 0)) {
		t.Errorf("a credit expires about a year on: earned %v, expires %v", a.EarnedAt, a.ExpiresAt)
	}
	if a.Balance.Spendable != 1999 || a.Balance.Qualifying != 1999 {
		t.Errorf("balance = %+v", a.Balance)
	}
	if s := b.get(t, sub); s.Tier != "dong" {
		t.Errorf("tier at 1.999 qualifying points = %q, want dong", s.Tier)
	}

	b.post(t, sub, "qualifying", 1, "usage", "q2", http.StatusCreated)
	s := b.get(t, sub)
	if s.Tier != "bac" || s.Points.Spendable != 2000 || s.Points.Qualifying != 2000 || s.Points.Bonus != 0 {
		t.Errorf("at 2.000 qualifying points: tier %q, points %+v", s.Tier, s.Points)
	}
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	wantDate := care360.Expiry(time.Now(), loc).Format(time.DateOnly)
	if e := s.Points.NextExpiry; e == nil || e.Points != 2000 || e.Date != wantDate {
		t.Errorf("next_expiry = %+v, want 2000 on %s", e, wantDate)
	}
}

func TestBonusPointsDoNotChangeTier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	b.post(t, sub, "qualifying", 2000, "usage", "q", http.StatusCreated)
	a := b.post(t, sub, "bonus", 30000, "campaign", "b", http.StatusCreated)
	if a.Balance.Spendable != 32000 || a.Balance.Qualifying != 2000 || a.Balance.Bonus != 30000 {
		t.Errorf("balance = %+v", a.Balance)
	}
	if s := b.get(t, sub); s.Tier != "bac" {
		t.Errorf("tier = %q after 30.000 bonus points, want bac", s.Tier)
	}

	other := b.newSubscriber(t)
	b.post(t, other, "bonus", 25000, "campaign", "b", http.StatusCreated)
	if s := b.get(t, other); s.Tier != "dong" || s.Points.Spendable != 25000 || s.Points.Qualifying != 0 {
		t.Errorf("bonus only: tier %q, points %+v", s.Tier, s.Points)
	}
}

func TestPointsReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	first := b.post(t, sub, "qualifying", 2500, "usage", "once", http.StatusCreated)
	again := b.post(t, sub, "qualifying", 2500, "usage", "once", http.StatusOK)
	if d := cmp.Diff(first, again, cmp.AllowUnexported(pointsAnswer{})); d != "" {
		t.Errorf("replay differs from the original (-first +replay):\n%s", d)
	}
	if s := b.get(t, sub); s.Points.Spendable != 2500 || s.Points.Qualifying != 2500 {
		t.Errorf("after replay: %+v", s.Points)
	}
	if l := b.ledger(t, sub, ""); len(l) != 1 {
		t.Errorf("ledger has %d entries after a replay, want 1", len(l))
	}
}

func TestDebit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	b.post(t, sub, "bonus", 100, "gift", "credit", http.StatusCreated)

	res := b.do(t, http.MethodPost, sub+"/points", `{"kind":"bonus","points":-101,"reason":"redeem","idempotency_key":"too-much"}`)
	e := res.errorOf(t, http.StatusUnprocessableEntity, "refused")
	if e.Error.Reason != "insufficient_points" {
		t.Errorf("reason = %q, want insufficient_points", e.Error.Reason)
	}
	if s := b.get(t, sub); s.Points.Spendable != 100 {
		t.Errorf("a refused debit changed the balance: %+v", s.Points)
	}

	a := b.post(t, sub, "bonus", -40, "redeem", "ok", http.StatusCreated)
	if a.Points != -40 || a.ExpiresAt != nil || a.Balance.Spendable != 60 {
		t.Errorf("debit: %+v", a)
	}
	if l := b.ledger(t, sub, ""); len(l) != 2 {
		t.Errorf("ledger has %d entries, want 2 (the refusal leaves none)", len(l))
	}
}

// TestConcurrentIdempotentPosts fires the same request many times at once:
// exactly one entry is created, every answer carries it.
func TestConcurrentIdempotentPosts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	const n = 16
	body := `{"kind":"qualifying","points":700,"reason":"usage","idempotency_key":"same"}`

	type result struct {
		status int
		id     int64
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			<-start
			req, err := http.NewRequest(http.MethodPost, b.url+sub+"/points", strings.NewReader(body))
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Authorization", "Bearer "+b.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer res.Body.Close()
			data, _ := io.ReadAll(res.Body)
			var a pointsAnswer
			if err := json.Unmarshal(data, &a); err != nil {
				results[i].err = fmt.Errorf("%d %s", res.StatusCode, data)
			}
			results[i].status, results[i].id = res.StatusCode, a.ID
		})
	}
	close(start)
	wg.Wait()

	created := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("request %d: %v", i, r.err)
		case r.status == http.StatusCreated:
			created++
		case r.status != http.StatusOK:
			t.Errorf("request %d: status %d", i, r.status)
		}
		if r.id != results[0].id {
			t.Errorf("request %d saw entry %d, request 0 saw %d", i, r.id, results[0].id)
		}
	}
	if created != 1 {
		t.Errorf("%d requests answered 201, want exactly 1", created)
	}
	if l := b.ledger(t, sub, ""); len(l) != 1 {
		t.Errorf("ledger has %d entries, want 1", len(l))
	}
	if s := b.get(t, sub); s.Points.Spendable != 700 {
		t.Errorf("spendable = %d, want 700", s.Points.Spendable)
	}
}

func TestLedgerNewestFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	if l := b.ledger(t, sub, ""); len(l) != 0 {
		t.Fatalf("new subscriber has a ledger: %+v", l)
	}
	b.post(t, sub, "qualifying", 300, "first", "k1", http.StatusCreated)
	b.post(t, sub, "bonus", 200, "second", "k2", http.StatusCreated)
	b.post(t, sub, "qualifying", 100, "third", "k3", http.StatusCreated)
	b.post(t, sub, "bonus", -50, "fourth", "k4", http.StatusCreated)

	reasons := func(l []entry) []string {
		var out []string
		for _, e := range l {
			out = append(out, e.Reason)
		}
		return out
	}
	if d := cmp.Diff([]string{"fourth", "third", "second", "first"}, reasons(b.ledger(t, sub, ""))); d != "" {
		t.Errorf("ledger order (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"fourth", "third"}, reasons(b.ledger(t, sub, "?limit=2"))); d != "" {
		t.Errorf("ledger?limit=2 (-want +got):\n%s", d)
	}

	res := b.do(t, http.MethodGet, sub+"/ledger?limit=1", "")
	var raw struct{ Entries []json.RawMessage }
	res.json(t, &raw)
	if len(raw.Entries) != 1 {
		t.Fatalf("limit=1: %s", res.body)
	}
	want := []string{"earned_at", "expires_at", "id", "idempotency_key", "kind", "points", "reason"}
	if d := cmp.Diff(want, keys(t, raw.Entries[0])); d != "" {
		t.Errorf("entry keys (-want +got):\n%s", d)
	}
}
