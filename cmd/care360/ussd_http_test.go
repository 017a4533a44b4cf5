package main

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestServeUSSDHTTPOff: `serve` without CARE360_USSD_HTTP_ALLOW serves no
// HTTP USSD at all, not even to loopback, and says how to turn it on.
func TestServeUSSDHTTPOff(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_USSD_HTTP_ALLOW": ""})
	h.member(t, "0903230001", map[string]any{"name": "O"}, 100, 0)
	resp, err := http.PostForm(h.base+"/ussd/africastalking", url.Values{
		"sessionId": {"off-1"}, "serviceCode": {"*090#"}, "phoneNumber": {"+84903230001"}, "text": {""}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "CARE360_USSD_HTTP_ALLOW") {
		t.Fatalf("adapter in serve without an allow list: %d %s", resp.StatusCode, body)
	}
}

// atSession is an aggregator's session on the harness.
type atSession struct {
	h          *harness
	id, msisdn string
	// others are the HTTP bases of more instances on the same database:
	// requests go round them, as an aggregator's load balancer sends them.
	others []string
	n      atomic.Int64
}

func (s *atSession) post(t *testing.T, text string) (int, string) {
	t.Helper()
	bases := append([]string{s.h.base}, s.others...)
	base := bases[int(s.n.Add(1))%len(bases)]
	resp, err := http.PostForm(base+"/ussd/africastalking", url.Values{
		"sessionId": {s.id}, "serviceCode": {"*090#"}, "phoneNumber": {s.msisdn}, "networkCode": {"45201"}, "text": {text}})
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// walk sends each text in turn, each answered CON.
func (s *atSession) walk(t *testing.T, texts ...string) {
	t.Helper()
	for _, txt := range texts {
		if st, body := s.post(t, txt); st != 200 || !strings.HasPrefix(body, "CON ") {
			t.Fatalf("text %q: %d %q", txt, st, body)
		}
	}
}

// retryConcurrently sends the same request n times at once, as an
// aggregator retrying a slow confirmation does, then once more after; every
// answer must be the same END screen, which is returned.
func (s *atSession) retryConcurrently(t *testing.T, n int, text string) string {
	t.Helper()
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, body := s.post(t, text)
			if st != 200 {
				t.Errorf("retry %d: status %d %q", i, st, body)
			}
			bodies[i] = body
		}()
	}
	wg.Wait()
	_, late := s.post(t, text)
	bodies = append(bodies, late)
	for i, b := range bodies {
		if b != bodies[0] || !strings.HasPrefix(b, "END ") {
			t.Errorf("answer %d of %d: %q; the first: %q", i, len(bodies), b, bodies[0])
		}
	}
	return bodies[0]
}

// count runs a counting query on the harness's database.
func (h *harness) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := h.m.DB.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// smsCount is how many SMS the simulator has received for msisdn once
// the first has arrived (up to 10 s) and the outbox has had a moment more
// to send any other.
func (h *harness) smsCount(t *testing.T, msisdn string) int {
	t.Helper()
	m, _ := care360.ParseMSISDN(msisdn)
	for deadline := time.Now().Add(10 * time.Second); len(h.sim.Messages(string(m))) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	return len(h.sim.Messages(string(m)))
}

// TestHTTPRetriedConfirmationActsOnce: an aggregator that sends the
// confirming request of a gift claim several times at once (it retries a
// slow "1. Dong y") gets one claim, one debit, one SMS, and the same END
// screen every time (PRODUCT.md §9), though the requests land on two
// gateway instances.
func TestHTTPRetriedConfirmationActsOnce(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	const gift = `{"name":"Voucher 50.000d","name_en":"Voucher","kind":"partner","cost":1000,"stock":100,"limit":10,` +
		`"valid_from":"2020-01-01T00:00:00Z","valid_until":"2100-01-01T00:00:00Z"}`
	var g map[string]any
	if st := h.api(t, "POST", "/api/v1/gifts", json.RawMessage(gift), &g); st != 201 {
		t.Fatalf("POST gift: %d %v", st, g)
	}
	h.member(t, "0903230010", map[string]any{"name": "G"}, 2500, 0)
	// A second instance on the same database takes every other request.
	m2 := &Main{Config: h.m.Config}
	if err := m2.Run(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m2.Close(context.Background()) })
	s := &atSession{h: h, id: "retry-gift", msisdn: "+84903230010", others: []string{"http://" + m2.HTTPAddr()}}
	s.walk(t, "", "2", "2*1")
	end := s.retryConcurrently(t, 8, "2*1*1")
	if !strings.Contains(end, "Voucher 50.000d") {
		t.Errorf("END screen: %q", end)
	}
	if n := h.count(t, `SELECT count(*) FROM gift_claims WHERE msisdn = '84903230010'`); n != 1 {
		t.Errorf("%d claims; want 1", n)
	}
	if n := h.count(t, `SELECT count(*) FROM points_ledger WHERE msisdn = '84903230010' AND points < 0`); n != 1 {
		t.Errorf("%d debits; want 1", n)
	}
	var sub struct {
		Points struct{ Spendable int64 } `json:"points"`
	}
	h.api(t, "GET", "/api/v1/subscribers/0903230010", nil, &sub)
	if sub.Points.Spendable != 1500 {
		t.Errorf("spendable %d; want 1500", sub.Points.Spendable)
	}
	if n := h.smsCount(t, "0903230010"); n != 1 {
		t.Errorf("%d SMS; want 1", n)
	}
}

// TestHTTPRetriedGiftPointsActsOnce: the same for menu 7: one transfer,
// one debit, one SMS to each side, the same END screen for every retry.
func TestHTTPRetriedGiftPointsActsOnce(t *testing.T) {
	t.Parallel()
	// A database of its own: every gateway on a shared one sends its SMS.
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	h.member(t, "0903230020", map[string]any{"name": "F"}, 2500, 0)
	h.member(t, "0903230021", map[string]any{"name": "T"}, 100, 0)
	s := &atSession{h: h, id: "retry-gp", msisdn: "+84903230020"}
	s.walk(t, "", "7", "7*0903230021", "7*0903230021*500")
	end := s.retryConcurrently(t, 8, "7*0903230021*500*1")
	if !strings.Contains(end, "500") {
		t.Errorf("END screen: %q", end)
	}
	if n := h.count(t, `SELECT count(*) FROM points_transfers WHERE sender = '84903230020' AND status = 'confirmed'`); n != 1 {
		t.Errorf("%d transfers; want 1", n)
	}
	if n := h.count(t, `SELECT coalesce(sum(points), 0) FROM points_ledger WHERE msisdn = '84903230021' AND points > 0`); n != 600 {
		t.Errorf("recipient holds %d points; want 600", n)
	}
	if f, r := h.smsCount(t, "0903230020"), h.smsCount(t, "0903230021"); f != 1 || r != 1 {
		t.Errorf("SMS: %d to the sender, %d to the recipient; want 1 each", f, r)
	}
}
