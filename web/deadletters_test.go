package web_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// Dead letters are listed for admins, with the reason, and counted in
// /metrics; a billing event that can never be posted shows up there.
func TestDeadLettersListedAndCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.db.Pool().Exec(t.Context(), `
		INSERT INTO dead_letters (kind, ref, reason, payload, attempts, set_aside_at)
		VALUES ('usage', 'bill-42', 'ERROR: value too long (SQLSTATE 23514)', '{"id":"bill-42"}', 3, now())`)
	if err != nil {
		t.Fatal(err)
	}
	res := b.do(t, http.MethodGet, "/api/v1/dead-letters?kind=usage", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"ref":"bill-42"`) || !strings.Contains(string(res.body), "23514") {
		t.Fatalf("dead letters: %d %s", res.status, res.body)
	}
	res = b.send(t, http.MethodGet, "/metrics", "", "")
	if !strings.Contains(string(res.body), `care360_dead_letters_total{kind="usage"}`) {
		t.Fatalf("metric missing:\n%s", res.body)
	}
}

// The billing feed end to end: an id too long for its ledger key is
// refused in the batch's answer; two events that can never be posted
// (queued by an older version: one with such an id, one whose subscriber
// is gone) sit in a bucket with a good one. Within a few posting passes the
// good events are posted, the two are listed by GET /api/v1/dead-letters
// with the database's reasons, and care360_dead_letters_total counts them.
func TestPoisonUsageSetAsideEndToEnd(t *testing.T) {
	t.Parallel()
	var ledger *store.Ledger
	b := setupOn(t, pgtest.FreshDB(t), func(c *web.Config) {
		withLedger(c)
		ledger = c.Ledger.Usage.(*store.Ledger)
	})
	m := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+m, `{"name":"Poison"}`)
	now := time.Now().UTC()
	a := b.postUsage(t, fmt.Sprintf(`[
		{"msisdn":%[1]q,"amount_vnd":12000,"at":%[2]q,"id":"good-1"},
		{"msisdn":%[1]q,"amount_vnd":3000,"at":%[3]q,"id":"good-2"},
		{"msisdn":%[1]q,"amount_vnd":1000,"at":%[2]q,"id":%[4]q}
	]`, m, now.Add(-2*time.Hour).Format(time.RFC3339), now.Format(time.RFC3339), strings.Repeat("x", care360.MaxUsageIDLen+1)))
	if a.Accepted != 2 || a.Rejected != 1 || a.Results[2].Reason != care360.UsageInvalidID ||
		!strings.Contains(a.Results[2].Message, strconv.Itoa(care360.MaxUsageIDLen)) {
		t.Fatalf("a 195-byte id: %+v", a)
	}
	long := "a" + strings.Repeat("z", care360.MaxUsageIDLen+2) // its ledger key would be 203 bytes
	if _, err := b.db.Pool().Exec(t.Context(), `
		WITH e AS (
			INSERT INTO usage_events (id, amount_vnd, points, at, received_at) VALUES ($1, 5000, 5, $3, $3)
		)
		INSERT INTO usage_pending (bucket, msisdn, points, at, event_id) VALUES
			(hashtext($2) & 63, $2, 5, $3, $1), (hashtext($2) & 63, '84999000111', 7, $3, 'ghost-1')`,
		long, m, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		ledger.PostUsage(t.Context()) // the first passes fail: the bucket is poisoned
	}
	var sub struct{ Points struct{ Spendable int64 } }
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+m, "").json(t, &sub)
	if sub.Points.Spendable != 15 {
		t.Errorf("spendable %d, want the good events' 15", sub.Points.Spendable)
	}
	var list struct {
		DeadLetters []care360.DeadLetter `json:"dead_letters"`
	}
	res := b.do(t, http.MethodGet, "/api/v1/dead-letters?kind=usage", "")
	res.json(t, &list)
	reasons := map[string]string{}
	for _, d := range list.DeadLetters {
		reasons[d.Ref] = d.Reason
		if d.FirstFailedAt.IsZero() || d.FirstFailedAt.After(d.SetAsideAt) || d.Attempts < 1 || len(d.Payload) == 0 {
			t.Errorf("dead letter %+v", d)
		}
	}
	if len(reasons) != 2 || !strings.Contains(reasons[long], "23514") || !strings.Contains(reasons["ghost-1"], "23503") {
		t.Fatalf("dead letters: %s", res.body)
	}
	metrics := string(b.send(t, http.MethodGet, "/metrics", "", "").body)
	if got := regexp.MustCompile(`(?m)^care360_dead_letters_total\{kind="usage"\} (\d+)$`).FindStringSubmatch(metrics); got == nil || got[1] != "2" {
		t.Errorf("care360_dead_letters_total{kind=\"usage\"}: %q", got)
	}
}

// The operations dashboard counts dead letters by kind and lists the binds
// (none in this server).
func TestDashboardShape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.db.Pool().Exec(t.Context(), `
		INSERT INTO dead_letters (kind, ref, reason, payload, attempts, set_aside_at)
		VALUES ('sms', 'm-1', 'refused', '{}', 3, now())`); err != nil {
		t.Fatal(err)
	}
	res := b.do(t, http.MethodGet, "/api/v1/dashboard", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"binds":[]`) || !regexp.MustCompile(`"sms":[1-9]`).Match(res.body) {
		t.Fatalf("dashboard: %d %s", res.status, res.body)
	}
}
