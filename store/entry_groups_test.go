package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// checkReceipts checks that every entry of draw id has the receipt its
// keyed hash gives, so that a group numbers and signs entries as an entry
// alone does.
func checkReceipts(t *testing.T, b *bundle, id int64) {
	t.Helper()
	var bad int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM draw_entries e JOIN draws d ON d.id = e.draw_id
		WHERE e.draw_id = $1 AND e.receipt <> substr(encode(sha256(d.receipt_key || int8send(e.id) || convert_to(e.msisdn, 'UTF8')), 'hex'), 1, 10)`,
		id).Scan(&bad); err != nil || bad != 0 {
		t.Errorf("%d entries with a receipt that is not theirs (%v)", bad, err)
	}
}

// A group decides each of its entries as an entry alone is decided: made,
// replayed under its key, refused for having entered, points, tier, a
// suspended member or a missing draw, and an entry whose caller gave up is
// not made. What was made is in the database as an entry alone leaves it.
func TestEntryGroupDecidesAsAloneWould(t *testing.T) {
	t.Parallel()
	b := setup(t)
	draws := store.NewDraws(b.db)
	d := newDraw(t, b, nil)
	goldOnly := newDraw(t, b, func(d *care360.Draw) { d.Tickets = map[care360.Tier]int{care360.TierVang: 2} })
	m := members(t, b, "8481", 7, care360.TierBac, 1000)
	poor := members(t, b, "8482", 1, care360.TierBac, 50)
	if _, err := draws.EnterDraw(b.ctx, d.ID, m[1], "before-1"); err != nil {
		t.Fatal(err)
	}
	before2, err := draws.EnterDraw(b.ctx, d.ID, m[2], "before-2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool().Exec(b.ctx, `UPDATE subscribers SET status = 'suspended' WHERE msisdn = $1`, m[4]); err != nil {
		t.Fatal(err)
	}
	rs := []store.EntryRequest{
		{Draw: d.ID, MSISDN: m[0], Key: "g-0"},
		{Draw: d.ID, MSISDN: m[1], Key: "other-key"},
		{Draw: d.ID, MSISDN: m[2], Key: "before-2"},
		{Draw: d.ID, MSISDN: poor[0], Key: "g-3"},
		{Draw: d.ID, MSISDN: m[4], Key: "g-4"},
		{Draw: 999_999, MSISDN: m[5], Key: "g-5"},
		{Draw: goldOnly.ID, MSISDN: m[6], Key: "g-6"},
		{Draw: d.ID, MSISDN: m[3], Key: "g-7"},
	}
	outs := draws.EnterTogether(b.ctx, rs, []bool{7: true})
	for i, o := range outs {
		if o.Alone {
			t.Errorf("entry %d was left to be made alone", i)
		}
	}
	if o := outs[0]; o.Err != nil || o.Entry.Tickets != 2 || o.Entry.Cost != 100 || len(o.Entry.Receipt) != 10 {
		t.Errorf("entry: %+v, %v; want two tickets for 100 points with a receipt", o.Entry, o.Err)
	}
	wantReason(t, outs[1].Err, care360.ReasonLimitReached)
	if o := outs[2]; o.Err != nil || !o.Replay || o.Entry.ID != before2.ID || o.Entry.Receipt != before2.Receipt {
		t.Errorf("replayed key: %+v replay %v, %v; want entry %d again", o.Entry, o.Replay, o.Err, before2.ID)
	}
	wantReason(t, outs[3].Err, care360.ReasonInsufficientPoints)
	wantReason(t, outs[4].Err, care360.ReasonSuspended)
	wantCode(t, outs[5].Err, care360.ENOTFOUND)
	wantReason(t, outs[6].Err, care360.ReasonTier)

	var entries, sms int
	var spent int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM draw_entries WHERE draw_id = $1),
		(SELECT count(*) FROM sms_messages WHERE msisdn = $2),
		(SELECT -coalesce(sum(points), 0) FROM points_ledger WHERE msisdn = ANY($3) AND points < 0)`,
		d.ID, m[0], []string{string(m[0]), string(m[3])}).Scan(&entries, &sms, &spent); err != nil {
		t.Fatal(err)
	}
	if entries != 3 || sms != 1 || spent != 100 {
		t.Errorf("entries %d, SMS to the entrant %d, points spent %d; want 3 (two before), 1, 100", entries, sms, spent)
	}
	checkReceipts(t, b, d.ID)
}

// Entries made at once go in groups: 300 members enter one draw, each
// once, each paying once, every receipt its entry's.
func TestConcurrentEntriesGoInGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	draws := store.NewDraws(b.db)
	d := newDraw(t, b, nil)
	const n = 300
	m := members(t, b, "8483", n, care360.TierDong, 1000)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n { // each member twice, with one key
		wg.Go(func() { _, errs[i] = draws.EnterDraw(b.ctx, d.ID, m[i%n], fmt.Sprint("twice-", i%n)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if draws.EntriesGrouped() == 0 {
		t.Error("no entry was decided by a group")
	}
	var entries, sms int
	var spent int64
	nums := make([]string, n)
	for i, x := range m {
		nums[i] = string(x)
	}
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM draw_entries WHERE draw_id = $1),
		(SELECT count(*) FROM sms_messages WHERE msisdn = ANY($2)),
		(SELECT -coalesce(sum(points), 0) FROM points_ledger WHERE msisdn = ANY($2) AND points < 0)`,
		d.ID, nums).Scan(&entries, &sms, &spent); err != nil {
		t.Fatal(err)
	}
	if entries != n || sms != n || spent != n*100 {
		t.Errorf("entries %d, SMS %d, points spent %d; want %d, %d, %d", entries, sms, spent, n, n, n*100)
	}
	checkReceipts(t, b, d.ID)
}
