package provision_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/provision"
	"github.com/care360/care360/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// operator stands in for the operator's provisioning system: it answers
// each call with the next status of its script (the last one repeats) and
// records what it was sent.
type operator struct {
	mu     sync.Mutex
	script []int
	got    []map[string]any
	keys   []string
}

func (o *operator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	o.got = append(o.got, body)
	o.keys = append(o.keys, r.Header.Get("Idempotency-Key"))
	status := o.script[min(len(o.got)-1, len(o.script)-1)]
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":%d}`, status)
}

func (o *operator) calls() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.got)
}

type bundle struct {
	db  *store.DB
	cat *store.Catalog
	sms *store.SMS
	w   *provision.Worker
	ctx context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	sms := store.NewSMS(db, care360.SMSRules{})
	cat := store.NewCatalog(db, sms, store.CatalogOptions{})
	return &bundle{db: db, cat: cat, sms: sms, ctx: ctx}
}

// worker is the bundle's worker, calling the endpoint "airtime" at url
// through transport (nil: the default, verifying TLS against the system's
// roots) with the given headers.
func (b *bundle) worker(url string, transport http.RoundTripper, headers map[string]string) {
	b.w = provision.New(provision.Config{Queue: b.cat, Backoff: time.Millisecond, MaxAttempts: 3, Transport: transport,
		Endpoints: care360.Endpoints{"airtime": {Name: "airtime", URL: url, Headers: headers, Timeout: 3 * time.Second}}})
}

// claimAirtime makes a member with 5,000 points claim a 10,000 VND top-up
// costing 1,000 points from the operator at url (the endpoint "airtime").
func (b *bundle) claimAirtime(t *testing.T, msisdn, url string) (*care360.Claim, *care360.Gift) {
	t.Helper()
	if b.w == nil {
		b.worker(url, nil, nil)
	}
	m := care360.MSISDN(msisdn)
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: m, Name: "T", Language: care360.LangEn}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsQualifying, Points: 5000, Reason: "t", IdempotencyKey: "t"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	g, _, err := b.cat.CreateGift(b.ctx, &care360.Gift{Name: "Nạp 10.000đ", NameEn: "10,000 VND airtime", Kind: care360.GiftAirtime,
		Cost: 1000, Stock: 5, Limit: 1, Active: true, Value: 10000, ProvisionEndpoint: "airtime",
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := b.cat.ClaimGift(b.ctx, care360.ClaimRequest{MSISDN: m, GiftID: g.ID})
	if err != nil || c.Status != care360.ClaimPending {
		t.Fatalf("claim: %+v %v", c, err)
	}
	return c, g
}

// drain runs passes until nothing is due.
func (b *bundle) drain(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := b.w.RunOnce(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pending int
		if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM provision_calls WHERE status = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if n == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Fatal("provisioning calls still pending")
}

// state reads the claim's and the call's outcome, the points and the stock.
func (b *bundle) state(t *testing.T, c *care360.Claim) (claim, call string, attempts, lastStatus int, spendable, stock int64) {
	t.Helper()
	err := b.db.Pool().QueryRow(b.ctx, `
		SELECT k.status, p.status, p.attempts, coalesce(p.last_status, 0),
			(SELECT sum(stock) FROM gift_stock s WHERE s.gift_id = k.gift_id)
		FROM gift_claims k JOIN provision_calls p ON p.claim_id = k.id
		WHERE k.id = $1`, c.ID).Scan(&claim, &call, &attempts, &lastStatus, &stock)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := b.db.Balance(b.ctx, c.MSISDN)
	if err != nil {
		t.Fatal(err)
	}
	return claim, call, attempts, lastStatus, bal.Spendable, stock
}

func TestProvisionSucceedsAfterRetries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	op := &operator{script: []int{503, 429, 200}}
	srv := httptest.NewServer(op)
	t.Cleanup(srv.Close)
	c, _ := b.claimAirtime(t, "84903000001", srv.URL+"/topup")
	b.drain(t)
	claim, call, attempts, last, spendable, stock := b.state(t, c)
	if claim != "done" || call != "done" || attempts != 3 || last != 200 || spendable != 4000 || stock != 4 {
		t.Fatalf("claim %s call %s attempts %d last %d spendable %d stock %d", claim, call, attempts, last, spendable, stock)
	}
	if op.calls() != 3 || op.got[0]["msisdn"] != "84903000001" || op.got[0]["value"] != float64(10000) ||
		op.got[0]["kind"] != "airtime" || op.got[2]["reference"] != c.Code || op.keys[1] != c.Code {
		t.Fatalf("operator saw %v %v", op.got, op.keys)
	}
}

func TestProvisionRefusedRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	op := &operator{script: []int{400}}
	srv := httptest.NewServer(op)
	t.Cleanup(srv.Close)
	c, g := b.claimAirtime(t, "84903000002", srv.URL)
	b.drain(t)
	claim, call, attempts, last, spendable, stock := b.state(t, c)
	if claim != "failed" || call != "failed" || attempts != 1 || last != 400 || spendable != 5000 || stock != 5 {
		t.Fatalf("claim %s call %s attempts %d last %d spendable %d stock %d", claim, call, attempts, last, spendable, stock)
	}
	ms, err := b.sms.Messages(b.ctx, c.MSISDN, 10)
	if err != nil || len(ms) != 2 || ms[0].Text != fmt.Sprintf("Sorry, 10,000 VND airtime (reference %s) could not be added. 1000 points were refunded.", c.Code) {
		t.Fatalf("SMS: %+v %v", ms, err)
	}
	// The refunded slot is free again: the member may claim once more.
	if _, _, err := b.cat.ClaimGift(b.ctx, care360.ClaimRequest{MSISDN: c.MSISDN, GiftID: g.ID}); err != nil {
		t.Fatalf("claim after refund: %v", err)
	}
}

func TestProvisionGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	op := &operator{script: []int{502}}
	srv := httptest.NewServer(op)
	t.Cleanup(srv.Close)
	c, _ := b.claimAirtime(t, "84903000003", srv.URL)
	b.drain(t)
	claim, call, attempts, _, spendable, stock := b.state(t, c)
	if claim != "failed" || call != "failed" || attempts != 3 || op.calls() != 3 || spendable != 5000 || stock != 5 {
		t.Fatalf("claim %s call %s attempts %d calls %d spendable %d stock %d", claim, call, attempts, op.calls(), spendable, stock)
	}
	// Given up on: set aside where staff look, with the operator's last word.
	dl, err := b.db.DeadLetters(b.ctx, care360.DeadLetterFilter{Kind: care360.DeadLetterProvisioning, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, d := range dl {
		var p struct{ Claim int64 }
		json.Unmarshal(d.Payload, &p)
		if p.Claim == c.ID {
			found = d.Attempts == 3 && strings.Contains(d.Reason, "HTTP 502")
		}
	}
	if !found {
		t.Fatalf("no dead letter for claim %d in %+v", c.ID, dl)
	}
}

// The same worker claims a call again after its lease lapsed (its first
// attempt hung): the first attempt's late outcome is fenced off by its
// attempt number and the claim is settled once, by the current attempt.
func TestProvisionLateOutcomeFenced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := b.claimAirtime(t, "84903000009", "http://127.0.0.1:1/never-called")
	first, err := b.cat.ClaimCalls(b.ctx, "w", 10, time.Millisecond)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim %+v, %v", first, err)
	}
	time.Sleep(5 * time.Millisecond)
	second, err := b.cat.ClaimCalls(b.ctx, "w", 10, time.Minute)
	if err != nil || len(second) != 1 {
		t.Fatalf("reclaim %+v, %v", second, err)
	}
	late := care360.ProvisionOutcome{ID: first[0].ID, Attempt: first[0].Attempts, Status: 500, Error: "late"}
	if err := b.cat.SettleCall(b.ctx, "w", late); err != nil {
		t.Fatal(err)
	}
	if claim, call, _, _, _, _ := b.state(t, c); claim == "failed" || call != "pending" {
		t.Fatalf("the late outcome was applied: claim %s call %s", claim, call)
	}
	if err := b.cat.SettleCall(b.ctx, "w", care360.ProvisionOutcome{ID: second[0].ID, Attempt: second[0].Attempts, OK: true, Status: 200}); err != nil {
		t.Fatal(err)
	}
	if claim, call, _, _, _, _ := b.state(t, c); claim != "done" || call != "done" {
		t.Fatalf("claim %s call %s", claim, call)
	}
}

func TestProvisionUnreachableRetriesThenRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c, _ := b.claimAirtime(t, "84903000004", url)
	b.drain(t)
	if claim, _, attempts, last, spendable, _ := b.state(t, c); claim != "failed" || attempts != 3 || last != 0 || spendable != 5000 {
		t.Fatalf("claim %s attempts %d last %d spendable %d", claim, attempts, last, spendable)
	}
}

// The worker started and stopped like serve does it: it finds the call on
// its own and stops cleanly, twice.
func TestWorkerLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	op := &operator{script: []int{200}}
	srv := httptest.NewServer(op)
	t.Cleanup(srv.Close)
	w := provision.New(provision.Config{Queue: b.cat, Poll: 10 * time.Millisecond,
		Endpoints: care360.Endpoints{"airtime": {Name: "airtime", URL: srv.URL, Timeout: time.Second}}})
	w.Start()
	c, _ := b.claimAirtime(t, "84903000005", srv.URL)
	deadline := time.Now().Add(5 * time.Second)
	for op.calls() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// Stopping while the call may still be in flight lets it finish.
	for _, ctx := range []context.Context{b.ctx, b.ctx} {
		if err := w.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if claim, _, _, _, _, _ := b.state(t, c); claim != "done" || op.calls() != 1 {
		t.Fatalf("claim %s after %d calls", claim, op.calls())
	}
}

func TestProvisionRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	target := &operator{script: []int{200}}
	tsrv := httptest.NewServer(target)
	t.Cleanup(tsrv.Close)
	redir := httptest.NewServer(http.RedirectHandler(tsrv.URL+"/collect", http.StatusTemporaryRedirect))
	t.Cleanup(redir.Close)
	c, _ := b.claimAirtime(t, "84903000006", redir.URL)
	b.drain(t)
	claim, call, attempts, last, spendable, stock := b.state(t, c)
	if claim != "failed" || call != "failed" || attempts != 1 || last != 307 || spendable != 5000 || stock != 5 || target.calls() != 0 {
		t.Fatalf("claim %s call %s attempts %d last %d spendable %d stock %d target saw %d", claim, call, attempts, last, spendable, stock, target.calls())
	}
}

// An endpoint whose certificate no trusted authority signed is never
// called: the attempts fail and the points come back.
func TestProvisionUntrustedTLSFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	op := &operator{script: []int{200}}
	srv := httptest.NewTLSServer(op)
	t.Cleanup(srv.Close)
	c, _ := b.claimAirtime(t, "84903000007", srv.URL)
	b.drain(t)
	claim, call, attempts, _, spendable, stock := b.state(t, c)
	var lastErr string
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT last_error FROM provision_calls WHERE claim_id = $1`, c.ID).Scan(&lastErr); err != nil {
		t.Fatal(err)
	}
	if claim != "failed" || call != "failed" || attempts != 3 || spendable != 5000 || stock != 5 || op.calls() != 0 ||
		!strings.Contains(lastErr, "certificate") || strings.Contains(lastErr, srv.URL) {
		t.Fatalf("claim %s call %s attempts %d spendable %d stock %d operator saw %d error %q",
			claim, call, attempts, spendable, stock, op.calls(), lastErr)
	}
}

// The configured headers (the operator's credentials) reach the endpoint,
// over TLS the worker trusts; they appear in no log line.
func TestProvisionSendsConfiguredHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var got http.Header
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	b.w = provision.New(provision.Config{Queue: b.cat, Transport: srv.Client().Transport,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Endpoints: care360.Endpoints{"airtime": {Name: "airtime", URL: srv.URL + "/topup", Timeout: time.Second,
			Headers: map[string]string{"Authorization": "Bearer s3cret-token", "X-Partner": "care360"}}}})
	c, _ := b.claimAirtime(t, "84903000008", srv.URL)
	b.drain(t)
	if claim, _, _, _, _, _ := b.state(t, c); claim != "done" {
		t.Fatalf("claim %s", claim)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Get("Authorization") != "Bearer s3cret-token" || got.Get("X-Partner") != "care360" || got.Get("Idempotency-Key") != c.Code {
		t.Fatalf("endpoint saw headers %v", got)
	}
	if logs.Len() == 0 || strings.Contains(logs.String(), "s3cret") {
		t.Fatalf("logs: %s", logs.String())
	}
}

// A call queued before endpoints were configured (its gift held a URL
// staff typed) is never made: it fails at once and refunds.
func TestProvisionCallWithoutEndpointRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	op := &operator{script: []int{200}}
	srv := httptest.NewServer(op)
	t.Cleanup(srv.Close)
	c, _ := b.claimAirtime(t, "84903000009", srv.URL)
	if _, err := b.db.Pool().Exec(b.ctx, `UPDATE provision_calls SET endpoint = '', retired_url = $2 WHERE claim_id = $1`, c.ID, srv.URL); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	claim, call, attempts, _, spendable, stock := b.state(t, c)
	if claim != "failed" || call != "failed" || attempts != 1 || spendable != 5000 || stock != 5 || op.calls() != 0 {
		t.Fatalf("claim %s call %s attempts %d spendable %d stock %d operator saw %d", claim, call, attempts, spendable, stock, op.calls())
	}
}

// The operator's answer is quoted in the call's record, its first 200
// bytes: a Vietnamese message longer than that is cut inside a character,
// and a body may hold a NUL. Postgres stores neither, so the outcome could
// never be recorded: the call was made again at every lease, past its last
// attempt, for ever, and the claim never refunded. Now the quote is made
// storable and the call ends as any other.
func TestProvisionAnswerNotText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, strings.Repeat("x", 198)+"\x00ỗi hệ thống") // the 200th byte is inside "ỗ"
	}))
	t.Cleanup(srv.Close)
	c, _ := b.claimAirtime(t, "84903000011", srv.URL)
	b.drain(t)
	claim, call, attempts, _, spendable, _ := b.state(t, c)
	if claim != "failed" || call != "failed" || attempts != 3 || calls.Load() != 3 || spendable != 5000 {
		t.Fatalf("claim %s call %s attempts %d calls %d spendable %d", claim, call, attempts, calls.Load(), spendable)
	}
}
