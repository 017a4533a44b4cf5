package web_test

import (
	"net/http"
	"strings"
	"testing"
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
