package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// partPlan is a campaign of n members whose part's move can be explained.
type partPlan struct {
	b   *smsBundle
	ms  []care360.MSISDN
	ids []int64
	id  int64
}

func newPartPlan(t *testing.T, n int) *partPlan {
	t.Helper()
	b := setupSMS(t)
	ms := b.members(t, n)
	c := b.campaign(t, care360.NewCampaign{Name: "plan", Text: "Uu dai", Segment: care360.Segment{MSISDNs: ms}})
	rows, err := b.db.Pool().Query(b.ctx, `SELECT member_id FROM subscribers WHERE msisdn = ANY($1)`, ms)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) != len(ms) {
		t.Fatalf("member ids: %v, %v", ids, err)
	}
	return &partPlan{b: b, ms: ms, ids: ids, id: c.ID}
}

// exec runs q on the test's database.
func (p *partPlan) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	p.b.exec(t, q, args...)
}

// plan is what the move of the campaign's members as a part does, in a
// transaction rolled back (with analyze, run: each member's message is
// already there, which the statement's ON CONFLICT keeps).
func (p *partPlan) plan(t *testing.T, analyze bool) planNode {
	t.Helper()
	tx, err := p.b.db.Pool().Begin(p.b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(p.b.ctx)
	if _, err := tx.Exec(p.b.ctx, store.PartSettings); err != nil {
		t.Fatal(err)
	}
	q, args := p.b.sms.PartMove(p.id, "Uu dai", p.ids, p.b.clock.Now())
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

// read is how many rows the scans of relation read in the move, in all
// their loops: those they returned and those their filters removed (a
// table's insert is not a scan of it). Each scan is logged.
func (p *partPlan) read(t *testing.T, relation string) int64 {
	t.Helper()
	n := int64(0)
	p.plan(t, true).walk(func(x planNode) {
		if x.Relation == relation && x.Type != "ModifyTable" {
			n += (x.Rows + x.Removed) * x.Loops
			t.Logf("%s of %s %s: %d rows and %d removed a loop, %d loops", x.Type, relation, x.Index, x.Rows, x.Removed, x.Loops)
		}
	})
	return n
}

// A part's move looks up the week's marketing of its own members, by their
// numbers, for the daily cap. Grouping every member's marketing of the week
// and joining the part to it read the whole week for each part: a part of
// 10,000 took 0.16–0.18 s after a quiet week and 0.76–0.91 s after a week
// of 1,000,000 marketing SMS, what a campaign of a million sends.
func TestPartMoveReadsOnlyItsMembersMarketing(t *testing.T) {
	t.Parallel()
	p := newPartPlan(t, 5)
	// On a new deployment's statistics (the table empty when last
	// analyzed) a look-up planned as a scan would read, for each member,
	// the rows the statement itself inserts before it: a first campaign's
	// part would take the square of its size.
	p.exec(t, `TRUNCATE sms_messages, sms_queue; ANALYZE sms_messages`)
	p.plan(t, false).walk(func(n planNode) {
		if n.Relation == "sms_messages" && n.Type == "Seq Scan" {
			t.Errorf("on an empty table's statistics the part's look-ups scan sms_messages")
		}
	})
	// Each member had an offer yesterday, among a week of others'.
	p.exec(t, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, submitted_at, created_at)
		SELECT msisdn, 'Uu dai', 'marketing', 'submitted', 'again:' || msisdn, $2, $2, $2 FROM unnest($1::text[]) msisdn`,
		p.ms, p.b.clock.Now().AddDate(0, 0, -1))
	p.exec(t, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, submitted_at, created_at)
		SELECT '8497' || lpad(g::text, 7, '0'), 'Uu dai khac', 'marketing', 'submitted', 'week:' || g, $1, $1, $1
		FROM generate_series(1, 20000) g`, p.b.clock.Now().AddDate(0, 0, -2))
	p.exec(t, `ANALYZE sms_messages`)
	if read := p.read(t, "sms_messages"); read > int64(2*len(p.ms)) {
		t.Errorf("the move of a part of %d read %d rows of sms_messages, want its members' own (%d)", len(p.ms), read, len(p.ms))
	}
}

// A part's move finds its members' marketing of the week by their numbers
// also while the statistics have seen none: analyzed after transactional
// traffic alone, the table looked to hold no marketing, so reading all of
// the SMS report's partial index of marketing by time looked free, and the
// planner took it for each member, reading every marketing SMS of the
// week. Each part of a campaign then read all the parts queued before it:
// in the bench, after the MT and push runs, a second campaign's first part
// took 15–47 s and a third's 26–77 s, against 1.5 s.
func TestPartMoveReadsByNumberBeforeMarketingIsAnalyzed(t *testing.T) {
	t.Parallel()
	p := newPartPlan(t, 5)
	p.exec(t, `TRUNCATE sms_messages, sms_queue`)
	p.exec(t, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, submitted_at, created_at)
		SELECT '8496' || lpad((g % 10000)::text, 7, '0'), 'Ma OTP', 'transactional', 'delivered', 'otp:' || g, $1, $1, $1
		FROM generate_series(1, 30000) g`, p.b.clock.Now().Add(-time.Hour))
	p.exec(t, `ANALYZE sms_messages`)
	// A campaign's earlier parts, queued since, to these members and others.
	p.exec(t, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, created_at)
		SELECT '8497' || lpad(g::text, 7, '0'), 'Uu dai khac', 'marketing', 'queued', 'part:' || g, $1, $1
		FROM generate_series(1, 10000) g`, p.b.clock.Now().Add(-time.Minute))
	p.exec(t, `
		INSERT INTO sms_messages (msisdn, text, kind, status, idempotency_key, scheduled_at, created_at)
		SELECT msisdn, 'Uu dai', 'marketing', 'queued', 'before:' || msisdn, $2, $2 FROM unnest($1::text[]) msisdn`,
		p.ms, p.b.clock.Now().Add(-time.Minute))
	if read := p.read(t, "sms_messages"); read > int64(2*len(p.ms)) {
		t.Errorf("the move of a part of %d read %d rows of sms_messages, want its members' own (%d)", len(p.ms), read, len(p.ms))
	}
}

// A part's move asks whether each of its members opted out or is on the
// national do-not-call list by their numbers: the list holds millions of
// numbers, and hashing all of it for each part of 10,000 made a part's
// cost grow with the list.
func TestPartMoveLooksUpOnlyItsMembersRefusals(t *testing.T) {
	t.Parallel()
	p := newPartPlan(t, 5)
	// Numbers that sort among the members' (each member's number and four
	// more digits), as a national list's numbers do: a merge of the part
	// with the list reads it between the part's first and last number.
	for _, table := range []string{"sms_dnc", "sms_optouts"} {
		p.exec(t, `INSERT INTO `+table+` SELECT m || lpad(g::text, 4, '0'), now() FROM unnest($1::text[]) m, generate_series(1, 4000) g`, p.ms)
	}
	p.exec(t, `ANALYZE sms_dnc, sms_optouts`)
	for _, table := range []string{"sms_dnc", "sms_optouts"} {
		if read := p.read(t, table); read > int64(len(p.ms)) {
			t.Errorf("the move of a part of %d read %d rows of %s", len(p.ms), read, table)
		}
	}
}
