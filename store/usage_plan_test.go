package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A usage batch finds its events' members by key: an operator has
// millions of members and a batch holds thousands of events, and reading
// every member for each batch made ingest cost grow with the member base
// (300 ms a batch of 10,000 at 1,000,000 members, three times the rest of
// the statement).
func TestUsageBatchFindsMembersByKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	const members, batch = 200_000, 2_000
	if _, err := conn.Exec(ctx, `
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
		SELECT '8491' || lpad(i::text, 7, '0'), 'Usage', current_date, now(), now() FROM generate_series(1, $1::int) i`, members); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE subscribers; ANALYZE member_numbers; ANALYZE usage_events`); err != nil {
		t.Fatal(err)
	}
	var ids, msisdns []string
	var amounts, points []int64
	var at []time.Time
	now := time.Now()
	for i := range batch {
		ids = append(ids, fmt.Sprintf("plan-%06d", i))
		msisdns = append(msisdns, fmt.Sprintf("8491%07d", 1+i*(members/batch)))
		amounts, points, at = append(amounts, 10_000), append(points, 1), append(at, now)
	}
	if p := explain(t, conn, store.IngestSQL, ids, msisdns, amounts, points, at, now, 63); strings.Contains(p, "Seq Scan on subscribers") {
		t.Errorf("a batch of %d events reads all %d members:\n%s", batch, members, p)
	}
}
