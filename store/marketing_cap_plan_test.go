package store_test

import (
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// A part's move looks up the week's marketing of its own members, by their
// numbers, for the daily cap. Grouping every member's marketing of the week
// and joining the part to it read the whole week for each part: a part of
// 10,000 took 0.17 s after a quiet week and 0.75–0.98 s after a week of
// 1,000,000 marketing SMS, an operator's ordinary week.
func TestPartMoveReadsOnlyItsMembersMarketing(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	ms := b.members(t, 5)
	c := b.campaign(t, care360.NewCampaign{Name: "cap lookups", Text: "Uu dai", Segment: care360.Segment{MSISDNs: ms}})
	rows, err := b.db.Pool().Query(b.ctx, `SELECT member_id FROM subscribers WHERE msisdn = ANY($1)`, ms)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) != len(ms) {
		t.Fatalf("member ids: %v, %v", ids, err)
	}
	// plan is what the part's move does, in a transaction rolled back.
	plan := func(analyze bool) planNode {
		t.Helper()
		tx, err := b.db.Pool().Begin(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(b.ctx)
		if _, err := tx.Exec(b.ctx, store.PartSettings); err != nil {
			t.Fatal(err)
		}
		q, args := b.sms.PartMove(c.ID, "Uu dai", ids, b.clock.Now())
		opts := "(FORMAT JSON) "
		if analyze {
			opts = "(ANALYZE, FORMAT JSON) "
		}
		text := explain(t, tx, opts+q, args...)
		var doc []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(text), &doc); err != nil || len(doc) != 1 {
			t.Fatalf("plan: %v\n%s", err, text)
		}
		return doc[0].Plan
	}
	// On a new deployment's statistics (the table empty when last
	// analyzed) a lookup planned as a scan would read, for each member, the
	// rows the statement itself inserts before it: a first campaign's part
	// would take the square of its size.
	if _, err := b.db.Pool().Exec(b.ctx, `TRUNCATE sms_messages, sms_queue; ANALYZE sms_messages`); err != nil {
		t.Fatal(err)
	}
	plan(false).walk(func(n planNode) {
		if n.Relation == "sms_messages" && n.Type == "Seq Scan" {
			t.Errorf("on an empty table's statistics the part's lookups scan sms_messages")
		}
	})
	if _, err := b.db.Pool().Exec(b.ctx, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, submitted_at, created_at)
		SELECT msisdn, 'Uu dai', 'marketing', 'submitted', 'again:' || msisdn, $2, $2, $2 FROM unnest($1::text[]) msisdn`,
		ms, b.clock.Now().AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	// A week of other members' marketing.
	if _, err := b.db.Pool().Exec(b.ctx, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, submitted_at, created_at)
		SELECT '8497' || lpad(g::text, 7, '0'), 'Uu dai khac', 'marketing', 'submitted', 'week:' || g, $1, $1, $1
		FROM generate_series(1, 20000) g`, b.clock.Now().AddDate(0, 0, -2)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool().Exec(b.ctx, `ANALYZE sms_messages`); err != nil {
		t.Fatal(err)
	}
	// The part moved again, each member having had an offer yesterday.
	p := plan(true)
	read := int64(0)
	p.walk(func(n planNode) {
		if n.Relation == "sms_messages" && n.Type != "ModifyTable" { // a table's insert is not a scan of it
			read += n.Rows * n.Loops
		}
	})
	if read > int64(2*len(ms)) {
		t.Errorf("the move of a part of %d read %d rows of sms_messages, want its members' own (%d)", len(ms), read, len(ms))
	}
}
