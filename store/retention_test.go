package store_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// Old rows go, young rows stay, each table by its own period (feedback
// with the inbound SMS, answered or not); 2,500 old inbound SMS go in
// several batches; a queued message keeps its text
// however old; a second sweep finds nothing.
func TestRetentionSweep(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, hanoi)
	b.clock.Set(now)
	old, young := func(d time.Duration) time.Time { return now.Add(-d - time.Hour) }, func(d time.Duration) time.Time { return now.Add(-d + time.Hour) }
	r := care360.Retention{}.WithDefaults()
	b.exec(t, `INSERT INTO ussd_dialogues (key, msisdn, state, updated_at) VALUES ('old', '84903000001', '', $1), ('young', '84903000001', '', $2)`,
		old(r.Dialogues), young(r.Dialogues))
	b.exec(t, `INSERT INTO sms_inbound (msisdn, from_addr, to_addr, text, received_at)
		SELECT '84903000001', '0903000001', '9237', 'DIEM', $1 FROM generate_series(1, 2500)`, old(r.Inbound))
	b.exec(t, `INSERT INTO sms_inbound (msisdn, from_addr, to_addr, text, received_at) VALUES ('84903000001', '0903000001', '9237', 'QUA', $1)`, young(r.Inbound))
	b.exec(t, `INSERT INTO feedback (msisdn, text, received_at) VALUES ('84903000001', 'old', $1), ('84903000001', 'young', $2)`,
		old(r.Inbound), young(r.Inbound))
	b.exec(t, `INSERT INTO feedback (msisdn, text, received_at, status, reply, replied_at, replied_by) VALUES ('84903000002', 'old answered', $1, 'answered', 'ok', $1, 'Lan')`,
		old(r.Inbound))
	b.exec(t, `INSERT INTO sms_receipts_unmatched (smsc_id, state, received_at) VALUES ('A', 'delivered', $1), ('B', 'delivered', $2)`,
		old(r.Receipts), young(r.Receipts))
	b.exec(t, `INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at, status) VALUES
		('84903000001', 'Ma qua: OLD', 'transactional', 'r-old', $1, $1, 'delivered'),
		('84903000001', 'Ma qua: QUEUED', 'transactional', 'r-queued', $1, $1, 'queued'),
		('84903000001', 'Ma qua: YOUNG', 'transactional', 'r-young', $2, $2, 'delivered')`, old(r.SMSTexts), young(r.SMSTexts))
	b.exec(t, `INSERT INTO sms_queue (message_id, priority, not_before) SELECT id, 0, $1 FROM sms_messages WHERE idempotency_key = 'r-queued'`, now)
	b.exec(t, `INSERT INTO audit_log (at, actor_name, actor_role, action) VALUES ($1, 'a', 'admin', 'old'), ($2, 'a', 'admin', 'young')`,
		old(r.Audit), young(r.Audit))

	s, err := b.db.SweepRetention(b.ctx, care360.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	want := care360.RetentionSweep{Dialogues: 1, Inbound: 2500, Receipts: 1, Audit: 1, Feedback: 2, Redacted: 1}
	if s != want {
		t.Errorf("sweep %+v, want %+v", s, want)
	}
	count := func(sql string) (n int) {
		t.Helper()
		if err := b.db.Pool().QueryRow(b.ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for sql, want := range map[string]int{
		`SELECT count(*) FROM ussd_dialogues WHERE key = 'young'`:                              1,
		`SELECT count(*) FROM sms_inbound`:                                                     1,
		`SELECT count(*) FROM feedback WHERE text = 'young'`:                                   1,
		`SELECT count(*) FROM feedback`:                                                        1,
		`SELECT count(*) FROM sms_receipts_unmatched WHERE smsc_id = 'B'`:                      1,
		`SELECT count(*) FROM audit_log WHERE action = 'young'`:                                1,
		`SELECT count(*) FROM sms_messages WHERE text = '(redacted)' AND status = 'delivered'`: 1,
		`SELECT count(*) FROM sms_messages WHERE text IN ('Ma qua: QUEUED', 'Ma qua: YOUNG')`:  2,
	} {
		if got := count(sql); got != want {
			t.Errorf("%s: %d, want %d", sql, got, want)
		}
	}
	// The switch the sweep uses never opens recent history.
	tx, err := b.db.Pool().Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(b.ctx)
	if _, err := tx.Exec(b.ctx, `SET LOCAL care360.retention_sweep = 'on'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(b.ctx, `INSERT INTO audit_log (actor_name, actor_role, action) VALUES ('a', 'admin', 'recent')`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(b.ctx, `DELETE FROM audit_log WHERE action = 'recent'`); err == nil {
		t.Error("an audit entry younger than a year was deleted")
	}
	tx.Rollback(b.ctx)
	if s, err := b.db.SweepRetention(b.ctx, care360.Retention{}); err != nil || s != (care360.RetentionSweep{}) {
		t.Errorf("second sweep %+v, %v", s, err)
	}
}

// The redaction walks sms_messages once, in id order, and still misses
// nothing: a message passed while queued is redacted once it has left the
// queue, and an old message that sits behind a young one is redacted once
// the walk may go past the young one.
func TestRetentionRedactionWalk(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, hanoi)
	b.clock.Set(now)
	r := care360.Retention{}.WithDefaults()
	old, young := now.Add(-r.SMSTexts-time.Hour), now.Add(-r.SMSTexts+time.Hour)
	insert := func(key string, at time.Time, n int) {
		b.exec(t, `INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at, status)
			SELECT '84903000001', 'text of ' || $1, 'transactional', $1 || g, $2, $2, 'delivered' FROM generate_series(1, $3) g`, key, at, n)
	}
	insert("old-", old, 2500)
	insert("queued-", old, 1)
	b.exec(t, `INSERT INTO sms_queue (message_id, priority, not_before) SELECT id, 0, $1 FROM sms_messages WHERE idempotency_key = 'queued-1'`, now)
	insert("young-", young, 1)
	insert("behind-", old, 1) // created as early, numbered later (a long transaction)
	texts := func() (redacted int, kept []string) {
		t.Helper()
		rows, err := b.db.Pool().Query(b.ctx, `SELECT text FROM sms_messages ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			if s == care360.RedactedText {
				redacted++
			} else {
				kept = append(kept, s)
			}
		}
		return redacted, kept
	}
	sweep := func() {
		t.Helper()
		if _, err := b.db.SweepRetention(b.ctx, care360.Retention{}); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	if n, kept := texts(); n < 2500 || len(kept) < 2 || kept[0] != "text of queued-" || kept[1] != "text of young-" {
		t.Fatalf("first sweep: %d redacted, kept %q", n, kept)
	}
	// Sent at last: the queued message leaves the queue.
	b.exec(t, `DELETE FROM sms_queue`)
	sweep()
	if n, kept := texts(); n < 2501 || kept[0] != "text of young-" {
		t.Fatalf("after the queued message left: %d redacted, kept %q", n, kept)
	}
	b.clock.Set(now.Add(2 * time.Hour)) // the young one's texts are due too
	sweep()
	if n, kept := texts(); n != 2503 || len(kept) != 0 {
		t.Fatalf("in the end: %d redacted, kept %q", n, kept)
	}
}
