package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
	"github.com/care360/care360/store"
)

// Erasure (PRODUCT.md §7) leaves no trace of the member: a member who
// claimed a voucher, entered a draw that was then drawn, gave points to a
// friend, texted the short code and sent feedback, and whose profile staff
// changed (audited), is erased; then no row of any table holds its number
// (in any form) or its name. The ledger still balances, the friend keeps
// the points, the drawn draw's audit file still verifies, and erasing again
// finds nobody.
func TestEraseLeavesNoTrace(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	tr := store.NewTransfers(b.db, care360.TransferRules{})
	ds := store.NewDraws(b.db)
	const name = "Pham Thi Erasable"
	m := b.member(t, name, care360.LangVi, care360.GenderFemale, "1985-03-08", 60_000)
	friend := b.member(t, "Friend", care360.LangVi, "", "1980-01-01", 0)
	voucher := catalogueGift(100, 0)
	voucher.Kind = care360.GiftVoucher
	voucher = b.gift(t, voucher)
	if _, err := b.cat.AddCodes(b.ctx, voucher.ID, []string{"VC-ERASE-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.claim(m, voucher, "claim-"+string(m)); err != nil {
		t.Fatal(err)
	}
	d := newDraw(t, b.bundle, func(d *care360.Draw) { d.EntryCost = 0 })
	for _, who := range []care360.MSISDN{m, friend} {
		if _, err := ds.EnterDraw(b.ctx, d.ID, who, "enter-"+string(who)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ds.CloseDraw(b.ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ds.RunDraw(b.ctx, d.ID, "1 2 3"); err != nil {
		t.Fatal(err)
	}
	before := writeAudit(t, ds, d.ID)
	if _, err := tr.RequestTransfer(b.ctx, m, friend, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.ConfirmTransfer(b.ctx, m, "y-"+string(m), notifyBoth); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sms.RecordMO(b.ctx, care360.InboundSMS{MSISDN: m, From: string(m), To: "9237", Text: "GY toi la " + name, ReceivedAt: b.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sms.RecordFeedback(b.ctx, m, "toi la "+name+", so "+string(m), b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	national := "0" + string(m)[2:]
	staff := care360.Actor{Name: "dpo", Role: care360.RoleAdmin}
	if err := b.db.RecordAudit(b.ctx, &care360.AuditEntry{Actor: staff, Action: "subscriber.put", Target: string(m),
		After: []byte(`{"msisdn":"` + string(m) + `","name":"` + name + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := b.db.RecordAudit(b.ctx, &care360.AuditEntry{Actor: staff, Action: "POST /api/v1/subscribers/{msisdn}/points",
		Target: "/api/v1/subscribers/" + national + "/points"}); err != nil {
		t.Fatal(err)
	}
	friendBefore := balance(t, b.bundle, friend)

	forms := []string{string(m), national, "+" + string(m)}
	e, err := b.db.Erase(b.ctx, m, forms, "data subject request DSR-17", staff)
	if err != nil {
		t.Fatal(err)
	}
	if e.Entries != 1 || e.Redacted == 0 || !strings.HasPrefix(e.Key, "c") {
		t.Errorf("erasure %+v", e)
	}

	// No table keeps the number, in any form, or the name.
	nsn := string(m)[2:]
	rows, err := b.db.Pool().Query(b.ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var tname string
		if err := rows.Scan(&tname); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tname)
	}
	if len(tables) < 30 {
		t.Fatalf("only %d tables", len(tables))
	}
	for _, table := range tables {
		var n int
		if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM "`+table+`" t WHERE t::text LIKE '%' || $1 || '%' OR t::text LIKE '%' || $2 || '%'`, nsn, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d rows still hold the number or the name", table, n)
		}
	}

	b.checkLedger(t)
	if after := balance(t, b.bundle, friend); after.Spendable != friendBefore.Spendable {
		t.Errorf("the friend's points %+v, were %+v", after, friendBefore)
	}
	after := writeAudit(t, ds, d.ID)
	if after != before {
		t.Errorf("the drawn draw's audit file changed:\n%.400s\n%.400s", before, after)
	}
	if _, diffs, err := draw.VerifyStream(strings.NewReader(after)); err != nil || len(diffs) != 0 {
		t.Errorf("the drawn draw no longer verifies: %q, %v", diffs, err)
	}
	if _, err := b.db.Erase(b.ctx, m, forms, "again", staff); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("erasing again: %v, want not found", err)
	}
}

// The ledger's append-only trigger (migration 00037) compares the columns
// of an entry one by one; a column added to the ledger must be added there
// too, or it could be changed freely.
func TestLedgerTriggerComparesEveryColumn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rows, err := b.db.Pool().Query(b.ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'points_ledger' ORDER BY column_name`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	want := "created_at earned_at expires_at id idempotency_key kind msisdn points reason refund remaining"
	if strings.Join(got, " ") != want {
		t.Errorf("points_ledger has the columns %q; the trigger compares %q", strings.Join(got, " "), want)
	}
}

// The ledger refuses every change but its own (PRODUCT.md §8): amounts,
// reasons and keys, deleting, moving an entry to another member; an
// erasing transaction may rewrite a reason or a key, and nothing else.
func TestLedgerRefusesEdits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m, other := b.subscriber(t), b.subscriber(t)
	credit(t, b, m, care360.PointsBonus, 100, "edit-me")
	pool := b.db.Pool()
	for _, sql := range []string{
		`UPDATE points_ledger SET points = 1000 WHERE msisdn = $1`,
		`UPDATE points_ledger SET reason = 'other' WHERE msisdn = $1`,
		`UPDATE points_ledger SET idempotency_key = 'other' WHERE msisdn = $1`,
		`UPDATE points_ledger SET remaining = remaining + 1 WHERE msisdn = $1`,
		`DELETE FROM points_ledger WHERE msisdn = $1`,
		`UPDATE points_ledger SET msisdn = '` + string(other) + `' WHERE msisdn = $1`,
	} {
		if _, err := pool.Exec(b.ctx, sql, m); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", sql, err)
		}
	}
	tx, err := pool.Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(b.ctx)
	if _, err := tx.Exec(b.ctx, `SET LOCAL care360.erasing = 'on'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(b.ctx, `UPDATE points_ledger SET reason = 'erased' WHERE msisdn = $1`, m); err != nil {
		t.Errorf("an erasure rewriting a reason: %v", err)
	}
	if _, err := tx.Exec(b.ctx, `UPDATE points_ledger SET points = 1000 WHERE msisdn = $1`, m); err == nil {
		t.Error("an erasure changed an amount")
	}
}

// Allocations are checked by the database, a statement at once (migration
// 00039): taking from another member's credit, from a debit, or more than
// a credit has left (in one statement of several allocations) is refused;
// a good allocation takes its points from the credit.
func TestAllocationsCheckedByTheDatabase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m, other := b.subscriber(t), b.subscriber(t)
	credit(t, b, m, care360.PointsBonus, 100, "mine")
	credit(t, b, other, care360.PointsBonus, 100, "theirs")
	pool := b.db.Pool()
	id := func(sql string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := pool.QueryRow(b.ctx, sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	mine := id(`SELECT id FROM points_ledger WHERE msisdn = $1 AND points > 0`, m)
	theirs := id(`SELECT id FROM points_ledger WHERE msisdn = $1 AND points > 0`, other)
	debit := func(key string, points int64) int64 {
		return id(`INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at) VALUES ($1, 'bonus', $2, 'test', $3, now()) RETURNING id`, m, -points, key)
	}
	for name, sql := range map[string]string{
		"another member's credit": `INSERT INTO points_allocations (debit_id, credit_id, points) VALUES ($1, ` + fmt.Sprint(theirs) + `, 10)`,
		"a debit as the credit":   `INSERT INTO points_allocations (debit_id, credit_id, points) VALUES ($1, $1, 10)`,
		"a credit as the debit":   `INSERT INTO points_allocations (debit_id, credit_id, points) SELECT ` + fmt.Sprint(mine) + `, ` + fmt.Sprint(mine) + `, 10 WHERE $1::bigint IS NOT NULL`,
		// Two debits, 60 each, from a credit of 100, in one statement.
		"more than is left": `WITH d2 AS (INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at)
				VALUES ('` + string(m) + `', 'bonus', -60, 'test', 'second', now()) RETURNING id)
			INSERT INTO points_allocations (debit_id, credit_id, points)
			SELECT $1, ` + fmt.Sprint(mine) + `, 60 UNION ALL SELECT id, ` + fmt.Sprint(mine) + `, 60 FROM d2`,
	} {
		tx, err := pool.Begin(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var d int64
		if err := tx.QueryRow(b.ctx, `INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at) VALUES ($1, 'bonus', -120, 'test', $2, now()) RETURNING id`, m, name).Scan(&d); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(b.ctx, sql, d); err == nil {
			t.Errorf("%s: allocated", name)
		}
		tx.Rollback(b.ctx)
	}
	d := debit("good", 30)
	if _, err := pool.Exec(b.ctx, `INSERT INTO points_allocations (debit_id, credit_id, points) VALUES ($1, $2, 30)`, d, mine); err != nil {
		t.Fatalf("a good allocation: %v", err)
	}
	if left := id(`SELECT remaining FROM points_ledger WHERE id = $1`, mine); left != 70 {
		t.Errorf("the credit has %d left, want 70", left)
	}
}
