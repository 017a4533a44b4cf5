package store_test

import (
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
)

// csvRows turns CSV-like records (msisdn, name, gender, birthday,
// language, member_since) into import rows numbered from 2, as the web
// handler does; an error at index failAt ends the stream.
func csvRows(recs [][6]string, failAt int) iter.Seq2[care360.ImportRow, error] {
	return func(yield func(care360.ImportRow, error) bool) {
		for i, r := range recs {
			if i == failAt {
				yield(care360.ImportRow{}, care360.Errorf(care360.EINVALID, "malformed CSV at line %d", i+2))
				return
			}
			if !yield(care360.NewImportRow(care360.VietnamMobile, i+2, r[0], r[1], r[2], r[3], r[4], r[5], ""), nil) {
				return
			}
		}
	}
}

func TestImportSubscribers(t *testing.T) {
	t.Parallel()
	b := setupLedger(t) // an import touches many subscribers: a database of its own
	existing := &care360.Subscriber{MSISDN: "84903000001", Name: "Old Name", Language: care360.LangEn, MemberSince: day("2010-01-01")}
	same := &care360.Subscriber{MSISDN: "84903000002", Name: "Same", Gender: care360.GenderFemale, Language: care360.LangVi, MemberSince: day("2015-05-05")}
	for _, s := range []*care360.Subscriber{existing, same} {
		if _, err := b.db.PutSubscriber(b.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	recs := [][6]string{
		{"0903000001", "New Name", "m", "1980-02-03", "", ""},                           // 2: updated, keeps en and 2010
		{"84903000002", "Same", "f", "", "vi", "2015-05-05"},                            // 3: unchanged
		{"+84903000003", "Trần Thị Hoa", "F", "1990-08-08", "vi-unicode", "2012-01-01"}, // 4: created
		{"12345", "Bad Number", "", "", "", ""},                                         // 5: rejected
		{"0903000004", "Bad Gender", "x", "", "", ""},                                   // 6: rejected
		{"0903000005", "Bad Date", "", "1990-13-01", "", ""},                            // 7: rejected
		{"0903000006", "Bad Language", "", "", "fr", ""},                                // 8: rejected
		{"0903000003", "Again", "", "", "", ""},                                         // 9: the same number as row 4
		{"0903000007", "", "", "", "", ""},                                              // 10: created with defaults
	}
	imp, replay, err := b.db.ImportSubscribers(b.ctx, "first", csvRows(recs, -1))
	if err != nil || replay {
		t.Fatalf("import: %v, replay %v", err, replay)
	}
	want := care360.SubscriberImport{ID: "first", Status: care360.ImportDone, Rows: 9, Written: 4, Created: 2, Updated: 1, Unchanged: 1, Rejected: 5}
	got := *imp
	got.Rejections, got.StartedAt, got.UpdatedAt, got.FinishedAt = nil, time.Time{}, time.Time{}, nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	var rows []int
	for _, r := range imp.Rejections {
		rows = append(rows, r.Row)
		if r.Reason == "" {
			t.Errorf("rejection without a reason: %+v", r)
		}
	}
	if diff := cmp.Diff([]int{5, 6, 7, 8, 9}, rows); diff != "" {
		t.Errorf("rejected rows (-want +got):\n%s", diff)
	}
	if r := imp.Rejections[4]; r.MSISDN != "84903000003" || r.Reason != "the same number as row 4" {
		t.Errorf("repeat: %+v", r)
	}

	s, err := b.db.Subscriber(b.ctx, "84903000001")
	if err != nil || s.Name != "New Name" || s.Gender != care360.GenderMale || s.Language != care360.LangEn ||
		s.MemberSince != day("2010-01-01") || s.Birthday != day("1980-02-03") || s.Tier != care360.TierTitan {
		t.Errorf("updated: %+v, %v", s, err)
	}
	s, err = b.db.Subscriber(b.ctx, "84903000003")
	if err != nil || s.Name != "Trần Thị Hoa" || s.Gender != care360.GenderFemale || s.Language != care360.LangViUnicode {
		t.Errorf("created: %+v, %v", s, err)
	}
	s, err = b.db.Subscriber(b.ctx, "84903000007")
	if err != nil || s.Language != care360.LangVi || s.MemberSince != day("2026-11-25") || s.Status != care360.StatusActive {
		t.Errorf("created with defaults: %+v, %v", s, err)
	}
	// The two created joined with the programme consent through the
	// import, and nothing more (PRODUCT.md §7).
	var consents int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM consents WHERE msisdn IN ('84903000003', '84903000007')
		AND purpose = 'programme' AND granted AND channel = 'import' AND text_version = $1`, care360.ConsentTextVersion).Scan(&consents); err != nil || consents != 2 {
		t.Errorf("the imported members' consents: %d, %v; want the programme's for each", consents, err)
	}
	if s.MarketingConsent {
		t.Error("an imported member agrees to marketing without saying so")
	}

	// The same id again returns the report and changes nothing.
	again, replay, err := b.db.ImportSubscribers(b.ctx, "first", csvRows([][6]string{{"0903000009", "x", "", "", "", ""}}, -1))
	if err != nil || !replay || again.Created != 2 || len(again.Rejections) != 5 {
		t.Errorf("replay: %+v, %v, %v", again, replay, err)
	}
	if _, err := b.db.Subscriber(b.ctx, "84903000009"); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("a replay imported rows: %v", err)
	}
	// The same file under another id: nothing to change.
	imp, _, err = b.db.ImportSubscribers(b.ctx, "second", csvRows(recs, -1))
	if err != nil || imp.Created != 0 || imp.Updated != 0 || imp.Unchanged != 4 {
		t.Errorf("second import of the same file: %+v, %v", imp, err)
	}
}

// A stream that breaks half-way fails the import and writes nothing; the
// id may then be used again.
func TestImportFailsCleanly(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	recs := [][6]string{{"0903100001", "A", "", "", "", ""}, {"0903100002", "B", "", "", "", ""}}
	_, _, err := b.db.ImportSubscribers(b.ctx, "broken", csvRows(recs, 1))
	wantCode(t, err, care360.EINVALID)
	if _, err := b.db.Subscriber(b.ctx, "84903100001"); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("a failed import wrote rows: %v", err)
	}
	imp, err := b.db.SubscriberImport(b.ctx, "broken")
	if err != nil || imp.Status != care360.ImportFailed || imp.Error == "" {
		t.Errorf("after failing: %+v, %v", imp, err)
	}
	if imp, _, err := b.db.ImportSubscribers(b.ctx, "broken", csvRows(recs, -1)); err != nil || imp.Created != 2 {
		t.Errorf("retry: %+v, %v", imp, err)
	}
	_, _, err = b.db.ImportSubscribers(b.ctx, "bad id!", csvRows(recs, -1))
	wantCode(t, err, care360.EINVALID)
	_, err = b.db.SubscriberImport(b.ctx, "nope")
	wantCode(t, err, care360.ENOTFOUND)

	// An import still running (a fresh heartbeat) cannot be started twice.
	if _, err := b.db.Pool().Exec(b.ctx, `INSERT INTO subscriber_imports (id, status, started_at, updated_at) VALUES ('busy', 'writing', $1, $1)`, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.db.ImportSubscribers(b.ctx, "busy", csvRows(recs, -1))
	wantCode(t, err, care360.ECONFLICT)
	// One whose process died long ago can.
	b.clock.Add(time.Hour)
	if _, _, err := b.db.ImportSubscribers(b.ctx, "busy", csvRows(recs, -1)); err != nil {
		t.Errorf("taking over a stale import: %v", err)
	}
}

// A file larger than a chunk, with a bad row every thousand and numbers
// repeated: every row is accounted for, and progress was recorded on the way.
func TestImportBigFile(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	const n = 55_000 // more than a chunk (50,000 rows) and a progress update
	rows := func(yield func(care360.ImportRow, error) bool) {
		for i := range n {
			msisdn := fmt.Sprintf("0905%06d", i%(n-500)) // the last 500 rows repeat earlier numbers
			if i%1000 == 999 {
				msisdn = "bad"
			}
			r := care360.NewImportRow(care360.VietnamMobile, i+2, msisdn, fmt.Sprint("Member ", i), "f", "1990-01-01", "vi", "2016-01-01", "")
			if !yield(r, nil) {
				return
			}
		}
	}
	imp, _, err := b.db.ImportSubscribers(b.ctx, "big", rows)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Rows != n || imp.Rejected != 55+500-1 || imp.Written+imp.Rejected != n || imp.Created != imp.Written {
		// 55 bad rows, and 500 repeats of which one is also a bad row.
		t.Errorf("report: rows %d, written %d, created %d, rejected %d", imp.Rows, imp.Written, imp.Created, imp.Rejected)
	}
	var count int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM subscribers`).Scan(&count); err != nil || count != imp.Created {
		t.Errorf("%d subscribers, %d created (%v)", count, imp.Created, err)
	}
	got, err := b.db.SubscriberImport(b.ctx, "big")
	if err != nil || got.Status != care360.ImportDone || got.Rows != n || len(got.Rejections) != int(imp.Rejected) {
		t.Errorf("stored report: %+v, %v", got, err)
	}
}

// A row whose name Postgres cannot store (a NUL byte, bytes that are not
// UTF-8) is one rejected row, with its reason; the rows around it are
// imported.
func TestImportRowNotText(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	recs := [][6]string{
		{"0903200001", "Before", "", "", "", ""},
		{"0903200002", "Nul\x00Name", "", "", "", ""},
		{"0903200003", "Bad \xff bytes", "", "", "", ""},
		{"09032\x0000005", "Nul in the number", "", "", "", ""},
		{"0903200004", "After", "", "", "", ""},
	}
	imp, _, err := b.db.ImportSubscribers(b.ctx, "not-text", csvRows(recs, -1))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if imp.Status != care360.ImportDone || imp.Created != 2 || imp.Rejected != 3 || len(imp.Rejections) != 3 ||
		imp.Rejections[0].Row != 3 || imp.Rejections[1].Row != 4 || imp.Rejections[2].Row != 5 || imp.Rejections[0].Reason == "" {
		t.Fatalf("report %+v", imp)
	}
}
