package store_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A sim_swap event (PRODUCT.md §7) holds the member for 72 h from its at:
// giving points (at the request and at the confirmation of one pending
// since before the swap), claiming a voucher or airtime, paying points for
// a draw or a spin are refused with sim_swap_hold and when it lifts;
// looking at points, a free spin and a gift that is not a voucher still
// work; once the hold lifts, all of it works again. The event counts once
// by id, and a later swap extends the hold.
func TestSIMSwapHold(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	tr := store.NewTransfers(b.db, care360.TransferRules{})
	draws, spins := store.NewDraws(b.db), store.NewSpins(b.db)
	m := b.member(t, "Swapped", care360.LangVi, "", "1980-01-01", 60_000) // Vàng
	friend := b.member(t, "Friend", care360.LangVi, "", "1980-01-01", 0)
	if _, err := tr.RequestTransfer(b.ctx, m, friend, 1000); err != nil {
		t.Fatal(err)
	}
	voucher := catalogueGift(100, 0)
	voucher.Kind = care360.GiftVoucher
	voucher = b.gift(t, voucher)
	if _, err := b.cat.AddCodes(b.ctx, voucher.ID, []string{"VC-0001", "VC-0002"}); err != nil {
		t.Fatal(err)
	}
	partner := b.gift(t, catalogueGift(100, 5))
	paid := newDraw(t, b.bundle, nil)
	wheel := newTable(t, b.bundle, nil)
	if _, err := spins.GrantSpins(b.ctx, wheel.ID, []care360.SpinGrant{{MSISDN: m, Spins: 1, Reason: "test", IdempotencyKey: "g1",
		ExpiresAt: b.clock.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}

	swapAt := b.clock.Now().Add(-time.Hour)
	res, err := b.db.SIMSwaps(b.ctx, []care360.LifecycleEvent{
		{ID: "crm-1", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt},
		{ID: "crm-1", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt}, // the same id twice in one batch
		{ID: "crm-2", MSISDN: "84909999999", Event: care360.EventSIMSwap, At: swapAt},
	}, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	until := swapAt.Add(72 * time.Hour)
	if len(res) != 3 || res[0].Status != care360.LifecycleApplied || !res[0].HoldUntil.Equal(until) ||
		res[1].Status != care360.LifecycleDuplicate || res[2].Status != care360.LifecycleRejected || res[2].Reason != care360.LifecycleUnknownSubscriber {
		t.Fatalf("results %+v", res)
	}
	held := func(what string, err error) {
		t.Helper()
		if care360.ErrorReason(err) != care360.ReasonSIMSwapHold || !care360.ErrorUntil(err).Equal(until) {
			t.Errorf("%s: %v (until %v), want sim_swap_hold until %v", what, err, care360.ErrorUntil(err), until)
		}
	}
	_, err = tr.RequestTransfer(b.ctx, m, friend, 1000)
	held("CD", err)
	_, err = tr.ConfirmTransfer(b.ctx, m, "y-1", notifyBoth)
	held("Y to a transfer asked before the swap", err)
	_, err = b.claim(m, voucher, "c1")
	held("voucher", err)
	_, err = draws.EnterDraw(b.ctx, paid.ID, m, "e1")
	held("paid draw", err)
	if r, err := spins.Spin(b.ctx, wheel.ID, m, "s1"); err != nil || !r.Free {
		t.Errorf("free spin: %+v, %v", r, err)
	}
	_, err = spins.Spin(b.ctx, wheel.ID, m, "s2")
	held("paid spin", err)
	if _, err := b.claim(m, partner, "c2"); err != nil {
		t.Errorf("a partner gift is not held: %v", err)
	}
	if bal := balance(t, b.bundle, m); bal.Spendable <= 0 {
		t.Errorf("points not readable: %+v", bal)
	}

	// The same event again changes nothing; a later swap extends the hold.
	res, err = b.db.SIMSwaps(b.ctx, []care360.LifecycleEvent{
		{ID: "crm-1", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt},
		{ID: "crm-3", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt.Add(time.Hour)},
	}, 72*time.Hour)
	if err != nil || res[0].Status != care360.LifecycleDuplicate || res[1].Status != care360.LifecycleApplied ||
		!res[1].HoldUntil.Equal(until.Add(time.Hour)) {
		t.Fatalf("again: %+v, %v", res, err)
	}
	until = until.Add(time.Hour)
	_, err = b.claim(m, voucher, "c3")
	held("voucher under the extended hold", err)

	b.clock.Set(until.Add(time.Minute))
	if _, err := tr.RequestTransfer(b.ctx, m, friend, 1000); err != nil {
		t.Errorf("CD after the hold: %v", err)
	} else if _, err := tr.ConfirmTransfer(b.ctx, m, "y-2", notifyBoth); err != nil {
		t.Errorf("Y after the hold: %v", err)
	}
	if _, err := b.claim(m, voucher, "c4"); err != nil {
		t.Errorf("voucher after the hold: %v", err)
	}
}

// A churn closes the membership with every effect of PRODUCT.md §7, and the
// number is free: the next member with it inherits nothing. Member A has
// points, a transfer pending to a friend, an entry in an open draw and one
// in a draw already closed, a queued marketing SMS and an open dialogue.
// After the churn: A's points are forfeited in A's ledger (which stays
// whole, under A), the transfer is cancelled, the SMS dropped, the dialogue
// gone, the open draw's entry withdrawn and the closed draw's kept; the
// number is unknown, and registering it makes a new member at Đồng with no
// points and none of A's history. The event counts once by id; a second
// churn of the free number is unknown_subscriber.
func TestChurnClosesTheMembershipAndFreesTheNumber(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	tr := store.NewTransfers(b.db, care360.TransferRules{})
	draws := store.NewDraws(b.db)
	a := b.member(t, "Nguyen Van A", care360.LangVi, care360.GenderMale, "1980-01-01", 60_000) // Vàng
	friend := b.member(t, "Friend", care360.LangVi, "", "1980-01-01", 0)
	if _, err := tr.RequestTransfer(b.ctx, a, friend, 1000); err != nil {
		t.Fatal(err)
	}
	open := newDraw(t, b.bundle, func(d *care360.Draw) { d.EntryCost = 0 })
	closed := newDraw(t, b.bundle, func(d *care360.Draw) { d.EntryCost = 0 })
	for _, d := range []*care360.Draw{open, closed} {
		if _, err := draws.EnterDraw(b.ctx, d.ID, a, "enter-"+d.Code); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := draws.CloseDraw(b.ctx, closed.ID); err != nil {
		t.Fatal(err)
	}
	pool := b.db.Pool()
	if _, _, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: a, Text: "Khuyen mai", Kind: care360.KindMarketing,
		IdempotencyKey: "promo-" + string(a)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(b.ctx, `INSERT INTO ussd_dialogues (key, msisdn, state, updated_at) VALUES ('s-'||$1, $1, '\x00', now())`, a); err != nil {
		t.Fatal(err)
	}
	var memberA int64
	if err := pool.QueryRow(b.ctx, `SELECT member_id FROM subscribers WHERE msisdn = $1`, a).Scan(&memberA); err != nil {
		t.Fatal(err)
	}
	before := b.ledgerSum(t, a)
	// Rows follow their member's key only: moving them to another member
	// is refused by the database.
	if _, err := pool.Exec(b.ctx, `UPDATE points_ledger SET msisdn = $2 WHERE msisdn = $1`, a, friend); err == nil {
		t.Fatal("the database let A's ledger move to another member")
	}

	churnAt := b.clock.Now().Add(-time.Minute)
	ev := care360.LifecycleEvent{ID: "crm-churn-1", MSISDN: a, Event: care360.EventChurn, At: churnAt}
	for i, want := range []string{care360.LifecycleApplied, care360.LifecycleDuplicate} {
		r, err := b.db.Membership(b.ctx, ev)
		if err != nil || r.Status != want {
			t.Fatalf("churn %d: %+v, %v; want %s", i+1, r, err, want)
		}
	}
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "crm-churn-2", MSISDN: a, Event: care360.EventChurn, At: churnAt}); err != nil ||
		r.Status != care360.LifecycleRejected || r.Reason != care360.LifecycleUnknownSubscriber {
		t.Errorf("a second churn of the free number: %+v, %v", r, err)
	}

	// The number is free.
	if _, err := b.db.Subscriber(b.ctx, a); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("the churned number: %v, want not found", err)
	}
	// A, under its retired key: closed, its ledger whole and at zero.
	key := care360.MSISDN("c" + strconv.FormatInt(memberA, 10))
	var status, closedMSISDN, name string
	if err := pool.QueryRow(b.ctx, `SELECT status, closed_msisdn, name FROM subscribers WHERE member_id = $1`, memberA).Scan(&status, &closedMSISDN, &name); err != nil {
		t.Fatal(err)
	}
	if status != "closed" || closedMSISDN != string(a) || name != "Nguyen Van A" {
		t.Errorf("A after the churn: %s, %s, %q", status, closedMSISDN, name)
	}
	var entries, forfeited int64
	if err := pool.QueryRow(b.ctx, `SELECT count(*), count(*) FILTER (WHERE reason = 'forfeited') FROM points_ledger WHERE msisdn = $1`, key).Scan(&entries, &forfeited); err != nil {
		t.Fatal(err)
	}
	if entries < 2 || forfeited == 0 || b.ledgerSum(t, key) != 0 || before <= 0 {
		t.Errorf("A's ledger: %d entries, %d forfeitures, sum %d (was %d); want it whole, forfeited to 0", entries, forfeited, b.ledgerSum(t, key), before)
	}
	b.checkLedger(t)
	var transfer, sms string
	if err := pool.QueryRow(b.ctx, `SELECT status FROM points_transfers WHERE sender = $1`, key).Scan(&transfer); err != nil || transfer != "cancelled" {
		t.Errorf("the pending transfer: %q, %v; want cancelled", transfer, err)
	}
	if err := pool.QueryRow(b.ctx, `SELECT status FROM sms_messages WHERE msisdn = $1 AND kind = 'marketing'`, key).Scan(&sms); err != nil || sms != "failed" {
		t.Errorf("the queued marketing SMS: %q, %v; want failed", sms, err)
	}
	var dialogues, openEntries, closedEntries int
	if err := pool.QueryRow(b.ctx, `SELECT
		(SELECT count(*) FROM ussd_dialogues WHERE msisdn = $1),
		(SELECT count(*) FROM draw_entries WHERE draw_id = $2),
		(SELECT count(*) FROM draw_entries WHERE draw_id = $3 AND msisdn = $1)`, a, open.ID, closed.ID).Scan(&dialogues, &openEntries, &closedEntries); err != nil {
		t.Fatal(err)
	}
	if dialogues != 0 || openEntries != 0 || closedEntries != 1 {
		t.Errorf("dialogues %d, entries in the open draw %d, in the closed draw %d; want 0, 0, 1", dialogues, openEntries, closedEntries)
	}

	// Whoever joins with the number next starts from nothing.
	s, created, err := b.db.Register(b.ctx, a, care360.LangVi, care360.ChannelUSSD)
	if err != nil || !created {
		t.Fatalf("register the recycled number: %v, created %v", err, created)
	}
	if s.Tier != care360.TierDong || s.Name != "" || s.Birthday != (care360.Date{}) {
		t.Errorf("the new member: %+v; want Đồng, no name, no birthday", s)
	}
	if bal := balance(t, b.bundle, a); bal.Spendable != 0 || bal.Qualifying != 0 {
		t.Errorf("the new member's points: %+v; want none", bal)
	}
	if n := b.ledgerSum(t, a); n != 0 {
		t.Errorf("the new member's ledger sums to %d", n)
	}
	if _, err := draws.EnterDraw(b.ctx, open.ID, a, "enter-again"); err != nil {
		t.Errorf("the new member enters the open draw: %v", err)
	}
}

// An msisdn_change moves the member with everything it has to the new
// number; the old one is free. A change to a number another member holds
// is refused and changes nothing.
func TestMSISDNChangeMovesTheMember(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	draws := store.NewDraws(b.db)
	m := b.member(t, "Tran Thi B", care360.LangEn, care360.GenderFemale, "1985-05-05", 30_000)
	other := b.member(t, "Other", care360.LangVi, "", "1980-01-01", 0)
	open := newDraw(t, b.bundle, func(d *care360.Draw) { d.EntryCost = 0 })
	if _, err := draws.EnterDraw(b.ctx, open.ID, m, "enter"); err != nil {
		t.Fatal(err)
	}
	before := balance(t, b.bundle, m)
	at := b.clock.Now().Add(-time.Minute)
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "chg-0", MSISDN: m, Event: care360.EventMSISDNChange, At: at, NewMSISDN: other}); err != nil ||
		r.Status != care360.LifecycleRejected || r.Reason != care360.LifecycleNumberInUse {
		t.Fatalf("a change to another member's number: %+v, %v", r, err)
	}
	if _, err := b.db.Subscriber(b.ctx, m); err != nil {
		t.Fatalf("after the refused change: %v", err)
	}
	to := newMSISDN()
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "chg-1", MSISDN: m, Event: care360.EventMSISDNChange, At: at, NewMSISDN: to}); err != nil ||
		r.Status != care360.LifecycleApplied {
		t.Fatalf("the change: %+v, %v", r, err)
	}
	s, err := b.db.Subscriber(b.ctx, to)
	if err != nil || s.Name != "Tran Thi B" || s.Language != care360.LangEn {
		t.Fatalf("the member at the new number: %+v, %v", s, err)
	}
	if after := balance(t, b.bundle, to); after.Spendable != before.Spendable || after.Qualifying != before.Qualifying {
		t.Errorf("points after the move %+v, before %+v", after, before)
	}
	if _, err := b.db.Subscriber(b.ctx, m); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("the old number: %v, want free", err)
	}
	if _, err := draws.EnterDraw(b.ctx, open.ID, to, "enter-2"); care360.ErrorReason(err) != care360.ReasonLimitReached {
		t.Errorf("entering again from the new number: %v, want already entered", err)
	}
	b.checkLedger(t)
}

// Usage around a closing (PRODUCT.md §7): an event dated before the churn,
// arriving after it, goes to the closed membership and earns nothing (a
// replay says the same); one dated after is unknown_subscriber while nobody
// has the number, then the new member's. Usage not yet posted at the churn
// earns nothing either. After a number change, an event for the old number
// dated before the change is the member's, at its new number.
func TestUsageAroundAClosing(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	a := b.subscriber(t)
	b.ingest(t, usage("u-0", a, 500_000, b.clock.Now().Add(-2*time.Hour))) // ingested, not posted yet
	churnAt := b.clock.Now().Add(-time.Hour)
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "churn", MSISDN: a, Event: care360.EventChurn, At: churnAt}); err != nil || r.Status != care360.LifecycleApplied {
		t.Fatalf("churn: %+v, %v", r, err)
	}
	before := usage("u-1", a, 100_000, churnAt.Add(-time.Minute))
	after := usage("u-2", a, 200_000, churnAt.Add(time.Minute))
	if got := statuses(b.ingest(t, before, after)); got[0] != "accepted/0" || got[1] != "rejected/unknown_subscriber" {
		t.Fatalf("before and after the churn: %v", got)
	}
	if got := statuses(b.ingest(t, before)); got[0] != "duplicate/0" {
		t.Errorf("the replay: %v", got)
	}
	if _, _, err := b.db.Register(b.ctx, a, care360.LangVi, care360.ChannelUSSD); err != nil {
		t.Fatal(err)
	}
	if got := statuses(b.ingest(t, after)); got[0] != "accepted/200" {
		t.Errorf("after the churn, once the number is a new member's: %v", got)
	}
	b.post(t)
	if bal := balance(t, b.bundle, a); bal.Qualifying != 200 {
		t.Errorf("the new member earned %d qualifying points, want 200 (only its own usage)", bal.Qualifying)
	}

	m := b.subscriber(t)
	to := newMSISDN()
	changeAt := b.clock.Now().Add(-time.Hour)
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "change", MSISDN: m, Event: care360.EventMSISDNChange, At: changeAt, NewMSISDN: to}); err != nil || r.Status != care360.LifecycleApplied {
		t.Fatalf("change: %+v, %v", r, err)
	}
	if got := statuses(b.ingest(t, usage("u-3", m, 300_000, changeAt.Add(-time.Minute)))); got[0] != "accepted/300" {
		t.Fatalf("usage of the old number before the change: %v", got)
	}
	b.post(t)
	if bal := balance(t, b.bundle, to); bal.Qualifying != 300 {
		t.Errorf("the moved member earned %d, want 300", bal.Qualifying)
	}
	b.checkLedger(t)
}

// A lifecycle event the database refuses to apply (here a trigger standing
// for any constraint the event breaks) is set aside, not retried forever
// and not failing the batch: it is rejected with set_aside, recorded, put
// in the dead letters once, answered the same when sent again; the next
// member's churn goes on.
func TestPoisonLifecycleEventIsSetAside(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	poison := b.member(t, "Poison", care360.LangVi, "", "1980-01-01", 100)
	fine := b.member(t, "Fine", care360.LangVi, "", "1980-01-01", 100)
	refuseUpdatesOf(t, b.bundle, poison)
	at := b.clock.Now().Add(-time.Minute)
	for i := range 2 {
		r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "poison-1", MSISDN: poison, Event: care360.EventChurn, At: at})
		if err != nil || r.Status != care360.LifecycleRejected || r.Reason != care360.LifecycleSetAside {
			t.Fatalf("poison event, time %d: %+v, %v", i+1, r, err)
		}
	}
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "fine-1", MSISDN: fine, Event: care360.EventChurn, At: at}); err != nil || r.Status != care360.LifecycleApplied {
		t.Fatalf("the next event: %+v, %v", r, err)
	}
	ds, err := b.db.DeadLetters(b.ctx, care360.DeadLetterFilter{Kind: care360.DeadLetterLifecycle})
	if err != nil || len(ds) != 1 || ds[0].Ref != "poison-1" {
		t.Fatalf("dead letters %+v, %v; want the poison event once", ds, err)
	}
	if _, err := b.db.Subscriber(b.ctx, poison); err != nil {
		t.Errorf("the poison event's member: %v, want it untouched", err)
	}
}

// A run of closings is applied together with the results one at a time
// would give: each member closed with its points forfeited; an event about
// a number the run already freed, or no member's, is unknown_subscriber;
// an id used earlier in the run is answered as that one; the run sent
// again is duplicates. A member whose closing the database refuses is set
// aside, and the rest of its run still closes.
func TestClosingsInOneRun(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	a := b.member(t, "A", care360.LangVi, "", "1980-01-01", 5000)
	c := b.member(t, "C", care360.LangVi, "", "1980-01-01", 5000)
	at := b.clock.Now().Add(-time.Minute)
	run := []care360.LifecycleEvent{
		{ID: "r-1", MSISDN: a, Event: care360.EventChurn, At: at},
		{ID: "r-2", MSISDN: c, Event: care360.EventPortOut, At: at},
		{ID: "r-3", MSISDN: a, Event: care360.EventChurn, At: at},
		{ID: "r-4", MSISDN: newMSISDN(), Event: care360.EventChurn, At: at},
		{ID: "r-1", MSISDN: a, Event: care360.EventChurn, At: at},
	}
	got, err := b.db.Closings(b.ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"applied/", "applied/", "rejected/unknown_subscriber", "rejected/unknown_subscriber", "duplicate/"}
	for i, r := range got {
		if s := r.Status + "/" + r.Reason; s != want[i] || r.ID != run[i].ID {
			t.Errorf("event %d (%s): %s, want %s", i+1, r.ID, s, want[i])
		}
	}
	for _, m := range []care360.MSISDN{a, c} {
		if _, err := b.db.Subscriber(b.ctx, m); care360.ErrorCode(err) != care360.ENOTFOUND {
			t.Errorf("%s after the run: %v, want closed", m, err)
		}
	}
	var open int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT coalesce(sum(remaining), 0) FROM points_ledger l JOIN subscribers s ON s.msisdn = l.msisdn
		WHERE s.closed_msisdn = ANY($1)`, []string{string(a), string(c)}).Scan(&open); err != nil || open != 0 {
		t.Errorf("points left to the closed members: %d, %v", open, err)
	}
	b.checkLedger(t)
	again, err := b.db.Closings(b.ctx, run[:2])
	if err != nil || again[0].Status != care360.LifecycleDuplicate || again[1].Status != care360.LifecycleDuplicate {
		t.Errorf("the run again: %+v, %v", again, err)
	}

	// One refused member does not hold back the rest of its run.
	poison := b.member(t, "Poison", care360.LangVi, "", "1980-01-01", 100)
	fine := b.member(t, "Fine", care360.LangVi, "", "1980-01-01", 100)
	refuseUpdatesOf(t, b.bundle, poison)
	got, err = b.db.Closings(b.ctx, []care360.LifecycleEvent{
		{ID: "p-1", MSISDN: poison, Event: care360.EventChurn, At: at},
		{ID: "p-2", MSISDN: fine, Event: care360.EventChurn, At: at},
	})
	if err != nil || got[0].Reason != care360.LifecycleSetAside || got[1].Status != care360.LifecycleApplied {
		t.Fatalf("a run with a refused member: %+v, %v", got, err)
	}
}

// refuseUpdatesOf makes the test's database refuse any update of m's
// subscriber row, as a constraint the event breaks would: a poison event.
func refuseUpdatesOf(t *testing.T, b *bundle, m care360.MSISDN) {
	t.Helper()
	if _, err := b.db.Pool().Exec(b.ctx, `
		CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF OLD.msisdn = '`+string(m)+`' THEN
				RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'check_violation';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_poison BEFORE UPDATE ON subscribers FOR EACH ROW EXECUTE FUNCTION refuse_poison();`); err != nil {
		t.Fatal(err)
	}
}

// A batch of sim_swap events reads the holds it set once, not once an
// event: each event's answer looked its member up in all of the batch's
// holds, so a batch cost the square of its size (about 90 ms for 1,000
// events, 1.3–1.7 s for 5,000, 4.3 s for 10,000, the most the API takes).
func TestSIMSwapBatchReadsItsHoldsOnce(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.FreshDB(t))
	const batch = 2_000
	addMembers(t, conn, "8494", batch)
	ids, msisdns, ats := make([]string, batch), make([]string, batch), make([]time.Time, batch)
	now := time.Now()
	for i := range batch {
		ids[i], msisdns[i], ats[i] = fmt.Sprintf("swap-once-%d", i), fmt.Sprintf("8494%07d", i+1), now
	}
	p := explainAnalyze(t, conn, store.SIMSwapsSQL, ids, msisdns, ats, 72*time.Hour, now)
	scans := regexp.MustCompile(`CTE Scan on holds.* loops=(\d+)`).FindAllStringSubmatch(p, -1)
	if len(scans) == 0 {
		t.Fatalf("no scan of the holds:\n%s", p)
	}
	for _, m := range scans {
		if loops, _ := strconv.Atoi(m[1]); loops > 1 {
			t.Errorf("a batch of %d events scanned its holds %d times:\n%s", batch, loops, p)
		}
	}
}
