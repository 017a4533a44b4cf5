package store_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// The usage journal keeps no number (migration 00052), yet a replay is
// answered as before: the same event under the number it was sent with
// is a duplicate, also after the member moved to another number; the
// same id under the member's new number, or under another member's, is
// an id conflict, like another amount or time.
func TestUsageJournalKeepsNoNumber(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	m, other := b.subscriber(t), b.subscriber(t)
	sent := b.clock.Now().Add(-2 * time.Hour)
	if got := statuses(b.ingest(t, usage("j-1", m, 5000, sent), usage("j-2", other, 7000, sent))); got[0] != "accepted/5" || got[1] != "accepted/7" {
		t.Fatalf("ingest: %v", got)
	}
	rows, err := b.db.Pool().Query(b.ctx, `SELECT t::text FROM usage_events t`)
	if err != nil {
		t.Fatal(err)
	}
	journal, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(journal) != 2 {
		t.Fatalf("journal %q, want two events", journal)
	}
	for _, row := range journal {
		for _, n := range []care360.MSISDN{m, other} {
			if strings.Contains(row, string(n)[2:]) {
				t.Errorf("the journal keeps a number: %s", row)
			}
		}
	}

	to := newMSISDN()
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "move", MSISDN: m, Event: care360.EventMSISDNChange,
		At: b.clock.Now().Add(-time.Hour), NewMSISDN: to}); err != nil || r.Status != care360.LifecycleApplied {
		t.Fatalf("number change: %+v, %v", r, err)
	}
	// One batch each: within a batch, a repeated id is compared with its
	// first occurrence there.
	var got []string
	for _, e := range []care360.UsageEvent{
		usage("j-1", m, 5000, sent),                  // as sent: the number's holder then
		usage("j-1", to, 5000, sent),                 // the member's new number
		usage("j-2", m, 7000, sent),                  // another member's event, under m's old number
		usage("j-2", other, 7000, sent),              // as sent
		usage("j-2", other, 7001, sent),              // another amount
		usage("j-1", m, 5000, sent.Add(time.Second)), // another time
	} {
		got = append(got, statuses(b.ingest(t, e))...)
	}
	want := []string{"duplicate/5", "rejected/id_conflict", "rejected/id_conflict", "duplicate/7", "rejected/id_conflict", "rejected/id_conflict"}
	if !slices.Equal(got, want) {
		t.Errorf("replays %v, want %v", got, want)
	}
	if p := b.post(t); p.Events != 2 || p.Points != 12 {
		t.Errorf("posting: %+v, want the two events once", p)
	}
	b.checkLedger(t)
}

// Erasure changes the member's salt: the journal's digest of its number no
// longer matches the number under any member, so a replay of its events
// is not taken for a duplicate (here by a new member who joined with the
// freed number).
func TestErasureUnlinksTheUsageJournal(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	m := b.subscriber(t)
	sent := b.clock.Now().Add(-2 * time.Hour)
	b.ingest(t, usage("gone-1", m, 5000, sent))
	b.post(t)
	if _, err := b.db.Erase(b.ctx, m, []string{string(m)}, "data subject request", care360.Actor{Name: "dpo", Role: care360.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	var salted, matches int
	if err := b.db.Pool().QueryRow(b.ctx, `
		SELECT count(*), count(*) FILTER (WHERE e.number_digest = usage_number_digest(s.usage_salt, $1))
		FROM usage_events e, subscribers s WHERE e.id = 'gone-1'`, string(m)).Scan(&salted, &matches); err != nil {
		t.Fatal(err)
	}
	if salted == 0 || matches != 0 {
		t.Errorf("after erasure %d of %d member salts still tie the journal to the number", matches, salted)
	}
	if _, _, err := b.db.Register(b.ctx, m, care360.LangVi, care360.ChannelUSSD); err != nil {
		t.Fatal(err)
	}
	if got := statuses(b.ingest(t, usage("gone-1", m, 5000, sent))); got[0] != "rejected/id_conflict" {
		t.Errorf("the erased member's event id under the number's new member: %v", got)
	}
}

// A journal kept by the release before (numbers in clear, an index by
// number) gets its digests from the migration: replays are answered as
// before, an erased member's rows keep nothing, and the number goes.
func TestJournalMigratesToDigests(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyDB(t)
	ctx := t.Context()
	if err := store.MigrateTo(ctx, url, 51, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	sent, changed := at("2026-11-25 09:00"), at("2026-11-25 09:30") // the bundle's clock reads 10:00
	const live, moved, newNumber = "84931000001", "84931000002", "84931000003"
	// live holds its number; the other member moved from moved to
	// newNumber after the events; old-3 is an erased member's, its number
	// replaced by the member's key.
	if _, err := conn.Exec(ctx, `
		WITH s AS (
			INSERT INTO subscribers (msisdn, language, member_since, status, tier, created_at, updated_at)
			VALUES ($1, 'vi', '2020-01-01', 'active', 'dong', $3, $3), ($2, 'vi', '2020-01-01', 'active', 'dong', $3, $3)
			RETURNING member_id, msisdn
		), n AS (
			INSERT INTO member_numbers (member_id, msisdn, until, reason)
			SELECT member_id, $4, $3, 'msisdn_change' FROM s WHERE msisdn = $2
		)
		INSERT INTO usage_events (id, msisdn, amount_vnd, points, at, received_at) VALUES
			('old-1', $1, 5000, 5, $5, $5), ('old-2', $4, 6000, 6, $5, $5), ('old-3', 'c0000042', 7000, 7, $5, $5)`,
		live, newNumber, changed, moved, sent); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	var digests int
	var keepsNumber bool
	if err := conn.QueryRow(ctx, `SELECT count(number_digest),
		EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'usage_events' AND column_name = 'msisdn')
		FROM usage_events`).Scan(&digests, &keepsNumber); err != nil {
		t.Fatal(err)
	}
	if digests != 2 || keepsNumber {
		t.Errorf("%d digests (want the two members' events), number column kept: %v", digests, keepsNumber)
	}
	b := setupURL(t, url, store.Options{})
	l := store.NewLedger(b.db, care360.UsageRules{})
	res, err := l.IngestUsage(ctx, []care360.UsageEvent{
		usage("old-1", live, 5000, sent), usage("old-2", moved, 6000, sent), usage("old-2", newNumber, 6000, sent)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(statuses(res), " "), "duplicate/5 duplicate/6 rejected/id_conflict"; got != want {
		t.Errorf("replays after the migration: %s, want %s", got, want)
	}
}
