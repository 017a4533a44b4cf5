package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A claim's key and count find the gift's claims by index even while
// gift_claims has an empty table's statistics, as on a new deployment
// until autovacuum first analyzes it: the generic plan each connection
// cached the statement with while the table held a few claims scanned
// every claim of the table, for every claim, until the next analyze.
func TestClaimKeyFindsClaimsByIndexOnEmptyStatistics(t *testing.T) {
	t.Parallel()
	if p := claimKeyPlan(t, false, false); !strings.Contains(p, "Seq Scan on gift_claims") {
		t.Logf("this server plans the claim's key and count by index even without the settings:\n%s", p)
	}
	if p := claimKeyPlan(t, true, false); strings.Contains(p, "Seq Scan on gift_claims") {
		t.Errorf("with KeyedPlans the claim's key and count still scan every claim:\n%s", p)
	}
}

// The same for a group's keys and counts (claim_groups.go), which run in
// a transaction with KeyedPlans too: each claim's count by the slot index.
func TestGroupKeyFindsClaimsByIndexOnEmptyStatistics(t *testing.T) {
	t.Parallel()
	if p := claimKeyPlan(t, true, true); strings.Contains(p, "Seq Scan on gift_claims") || !strings.Contains(p, "gift_claims_slot") {
		t.Errorf("a group's keys and counts do not find each claim's count by the slot index:\n%s", p)
	}
}

// claimKeyPlan is the plan a connection caches a claim's key and count
// with, on a database of its own: chosen at the statement's sixth run, in
// the first seconds, when the table held a few claims; explained once the
// claims of a busy minute are in. settings: in a transaction with
// KeyedPlans.
func claimKeyPlan(t *testing.T, settings, group bool) string {
	t.Helper()
	ctx := t.Context()
	conn := connect(t, pgtest.FreshDB(t))
	// Statistics of the empty tables.
	if _, err := conn.Exec(ctx, `ANALYZE gift_claims; ANALYZE gifts`); err != nil {
		t.Fatal(err)
	}
	var gift int64
	if err := conn.QueryRow(ctx, `
		WITH g AS (INSERT INTO gifts (name, kind, cost, claim_limit, valid_from, valid_until, active, created_at, updated_at)
			VALUES ('Plan', 'physical', 10, 1, now() - interval '1 day', now() + interval '1 day', true, now(), now()) RETURNING id),
		s AS (INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
			SELECT '8490' || lpad(i::text, 7, '0'), 'Plan', current_date, now(), now() FROM generate_series(1, 20000) i)
		SELECT id FROM g`).Scan(&gift); err != nil {
		t.Fatal(err)
	}
	claims := func(from, to int) {
		t.Helper()
		if _, err := conn.Exec(ctx, `
			INSERT INTO gift_claims (gift_id, msisdn, period, slot, claim_limit, points, code, status, idempotency_key, created_at, updated_at)
			SELECT $1, '8490' || lpad(i::text, 7, '0'), 0, 1, 1, 0, '', 'done', 'plan:' || i, now(), now()
			FROM generate_series($2::int, $3::int) i`, gift, from, to); err != nil {
			t.Fatal(err)
		}
	}
	claims(1, 50)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if settings {
		if _, err := tx.Exec(ctx, store.KeyedPlans); err != nil {
			t.Fatal(err)
		}
	}
	prepare, execute := `PREPARE claim_key (text, bigint, text, int) AS `+store.ClaimKeySQL, `EXECUTE claim_key ('plan:%[1]s', %[2]d, '84900%[3]s', 2026)`
	if group {
		prepare = `PREPARE claim_key (text[], bigint[], text[], int) AS ` + store.GroupKeySQL
		execute = `EXECUTE claim_key (ARRAY['plan:%[1]s', 'plan:%[1]s2'], ARRAY[%[2]d, %[2]d], ARRAY['84900%[3]s', '84901%[3]s'], 2026)`
	}
	if _, err := tx.Exec(ctx, prepare); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := tx.Exec(ctx, fmt.Sprintf(execute, fmt.Sprint("x", i), gift, fmt.Sprintf("%05d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO gift_claims (gift_id, msisdn, period, slot, claim_limit, points, code, status, idempotency_key, created_at, updated_at)
		SELECT $1, '8490' || lpad(i::text, 7, '0'), 0, 1, 1, 0, '', 'done', 'plan:' || i, now(), now()
		FROM generate_series(51, 20000) i`, gift); err != nil {
		t.Fatal(err)
	}
	return explain(t, tx, fmt.Sprintf(execute, "y", gift, "00001"))
}
