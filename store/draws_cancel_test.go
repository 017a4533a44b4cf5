package store_test

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// refunds sums, per member, the refund credits of draw id.
func refunds(t *testing.T, b *bundle, id int64) (perMember map[care360.MSISDN]int64, credits int) {
	t.Helper()
	rows, err := b.db.Pool().Query(b.ctx, `SELECT msisdn, points FROM points_ledger WHERE idempotency_key LIKE $1`,
		fmt.Sprintf("refund:draw:%d:%%", id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	perMember = map[care360.MSISDN]int64{}
	for rows.Next() {
		var m care360.MSISDN
		var p int64
		if err := rows.Scan(&m, &p); err != nil {
			t.Fatal(err)
		}
		perMember[m] += p
		credits++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return perMember, credits
}

func spendable(t *testing.T, b *bundle, m care360.MSISDN) int64 {
	t.Helper()
	bal, err := b.db.Balance(b.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return bal.Spendable
}

func TestCancelDrawRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ds := store.NewDraws(b.db)
	d := newDraw(t, b, nil)
	ms := members(t, b, "8497410", 3, care360.TierTitan, 250)
	for _, m := range ms[:2] {
		if _, err := ds.EnterDraw(b.ctx, d.ID, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := spendable(t, b, ms[0]); got != 150 {
		t.Fatalf("after the entry: %d points", got)
	}

	c, err := ds.CancelDraw(b.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Draw.Status != care360.DrawCancelled || c.Draw.CancelledAt == nil || c.Draw.EntriesDigest == "" ||
		c.Entries != 2 || c.Refunded != 2 || c.Points != 200 || c.Replay {
		t.Fatalf("cancel: %+v", c)
	}
	for _, m := range ms {
		if got := spendable(t, b, m); got != 250 {
			t.Errorf("%s has %d points after the refund, want 250", m, got)
		}
	}
	again, err := ds.CancelDraw(b.ctx, d.ID)
	if err != nil || !again.Replay || again.Entries != c.Entries || again.Points != c.Points || !again.Draw.CancelledAt.Equal(*c.Draw.CancelledAt) {
		t.Fatalf("second cancel: %+v, %v", again, err)
	}
	per, credits := refunds(t, b, d.ID)
	if credits != 2 || per[ms[0]] != 100 || per[ms[1]] != 100 || per[ms[2]] != 0 {
		t.Fatalf("refund credits %d: %v", credits, per)
	}
	var sms int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM sms_messages WHERE idempotency_key LIKE $1 AND text LIKE '%100 points were refunded.'`,
		fmt.Sprintf("draw-cancel:%d:%%", d.ID)).Scan(&sms); err != nil || sms != 2 {
		t.Fatalf("%d cancellation SMS, %v", sms, err)
	}

	// Nothing more happens to a cancelled draw.
	_, err = ds.EnterDraw(b.ctx, d.ID, ms[2], "")
	if care360.ErrorReason(err) != care360.ReasonCancelled {
		t.Fatalf("entry after the cancel: %v", err)
	}
	if _, err := ds.CloseDraw(b.ctx, d.ID); care360.ErrorCode(err) != care360.ECONFLICT {
		t.Fatalf("close after the cancel: %v", err)
	}
	if _, _, _, err := ds.RunDraw(b.ctx, d.ID, "1 2 3"); care360.ErrorCode(err) != care360.ECONFLICT {
		t.Fatalf("run after the cancel: %v", err)
	}
	if _, err := ds.UpdateDraw(b.ctx, d.ID, care360.DrawUpdate{Name: ptr("Khác")}); care360.ErrorCode(err) != care360.ECONFLICT {
		t.Fatalf("change after the cancel: %v", err)
	}

	// A closed draw may still be cancelled; a drawn one may not.
	closed := newDraw(t, b, nil)
	if _, err := ds.EnterDraw(b.ctx, closed.ID, ms[2], ""); err != nil {
		t.Fatal(err)
	}
	shut, err := ds.CloseDraw(b.ctx, closed.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err = ds.CancelDraw(b.ctx, closed.ID)
	if err != nil || c.Points != 100 || c.Draw.EntriesDigest != shut.EntriesDigest || !c.Draw.ClosedAt.Equal(*shut.ClosedAt) {
		t.Fatalf("cancel after the close: %+v, %v", c, err)
	}
	if got := spendable(t, b, ms[2]); got != 250 {
		t.Errorf("%d points after the refund of a closed draw", got)
	}
	drawn := newDraw(t, b, nil)
	if _, err := ds.CloseDraw(b.ctx, drawn.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ds.RunDraw(b.ctx, drawn.ID, "4 4 4"); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.CancelDraw(b.ctx, drawn.ID); care360.ErrorCode(err) != care360.ECONFLICT {
		t.Fatalf("cancel of a drawn draw: %v", err)
	}
	if _, err := ds.CancelDraw(b.ctx, 1<<40); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("cancel of no draw: %v", err)
	}
}

// Members enter from two gateway instances while two staff cancel the
// draw at once from two more: exactly one cancel does the work, every
// accepted entry is refunded exactly once, nothing is entered after, and
// every member ends with the points they started with.
func TestConcurrentCancels(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	a, b := setupURL(t, url, store.Options{MaxConns: 8}), setupURL(t, url, store.Options{MaxConns: 8})
	pools := []*store.Draws{store.NewDraws(a.db), store.NewDraws(b.db)}
	staff := []*store.Draws{
		store.NewDraws(setupURL(t, url, store.Options{MaxConns: 2}).db),
		store.NewDraws(setupURL(t, url, store.Options{MaxConns: 2}).db),
	}
	d := newDraw(t, a, nil)
	const n = 400
	ms := members(t, a, "8497420", n, care360.TierBac, 250)

	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	var done atomic.Int64
	for i := range 2 * n {
		wg.Go(func() {
			_, errs[i] = pools[i%2].EnterDraw(a.ctx, d.ID, ms[i/2], "")
			done.Add(1)
		})
	}
	for done.Load() < n/2 { // a quarter of the attempts are done, the rest in flight
		time.Sleep(time.Millisecond)
	}
	cs := make([]*care360.DrawCancellation, 2)
	cerrs := make([]error, 2)
	var cw sync.WaitGroup
	for i := range cs {
		cw.Go(func() { cs[i], cerrs[i] = staff[i].CancelDraw(a.ctx, d.ID) })
	}
	cw.Wait()
	wg.Wait()
	for _, err := range cerrs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if cs[0].Replay == cs[1].Replay || cs[0].Entries != cs[1].Entries || cs[0].Points != cs[1].Points || !cs[0].Draw.CancelledAt.Equal(*cs[1].Draw.CancelledAt) {
		t.Fatalf("the two cancels answered differently: %+v / %+v", cs[0], cs[1])
	}
	accepted := 0
	for _, err := range errs {
		switch care360.ErrorReason(err) {
		case "":
			accepted++
		case care360.ReasonLimitReached, care360.ReasonCancelled:
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if accepted == 0 || int64(accepted) != cs[0].Entries || cs[0].Points != int64(accepted)*100 {
		t.Fatalf("%d entries accepted, cancel says %+v", accepted, cs[0])
	}
	per, credits := refunds(t, a, d.ID)
	if credits != accepted {
		t.Fatalf("%d refund credits for %d entries", credits, accepted)
	}
	var entered []care360.MSISDN
	if err := a.db.Pool().QueryRow(a.ctx, `SELECT array_agg(msisdn) FROM draw_entries WHERE draw_id = $1`, d.ID).Scan(&entered); err != nil {
		t.Fatal(err)
	}
	for _, m := range entered {
		if per[m] != 100 {
			t.Errorf("%s entered and got %d back", m, per[m])
		}
	}
	var wrong int
	if err := a.db.Pool().QueryRow(a.ctx, `
		SELECT count(*) FROM subscribers s WHERE s.msisdn = ANY($1)
		AND (SELECT coalesce(sum(points), 0) FROM points_ledger l WHERE l.msisdn = s.msisdn) <> 250`, ms).Scan(&wrong); err != nil || wrong != 0 {
		t.Fatalf("%d members do not have their 250 points back (%v)", wrong, err)
	}
}

// Staff change an open draw, take it off the menus and put it back; after
// the close nothing changes.
func TestUpdateDraw(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ds := store.NewDraws(b.db)
	d := newDraw(t, b, nil)
	m := members(t, b, "8497430", 1, care360.TierTitan, 250)[0]
	prizes := []care360.DrawPrize{{Name: "Ô tô", NameEn: "Car", Quantity: 1}}
	got, err := ds.UpdateDraw(b.ctx, d.ID, care360.DrawUpdate{Name: ptr("Bốc thăm Xuân"), EntryCost: ptr(int64(50)), Prizes: &prizes})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Bốc thăm Xuân" || got.NameEn != d.NameEn || got.EntryCost != 50 || len(got.Prizes) != 1 ||
		got.Prizes[0].Rank != 1 || got.Prizes[0].Name != "Ô tô" || got.Commitment != d.Commitment || !got.Active {
		t.Fatalf("changed: %+v", got)
	}
	for name, u := range map[string]care360.DrawUpdate{
		"window":    {ClosesAt: ptr(d.OpensAt.Add(-time.Minute))},
		"no prizes": {Prizes: &[]care360.DrawPrize{}},
		"cost":      {EntryCost: ptr(int64(-1))},
		"tickets":   {Tickets: &map[care360.Tier]int{}},
	} {
		if _, err := ds.UpdateDraw(b.ctx, d.ID, u); care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Inactive: off the list and refused, until it is put back.
	if _, err := ds.UpdateDraw(b.ctx, d.ID, care360.DrawUpdate{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	offers, err := ds.OpenDraws(b.ctx, m)
	if err != nil || hasDraw(offers, d.ID) {
		t.Fatalf("an inactive draw is listed: %v", err)
	}
	if _, err := ds.EnterDraw(b.ctx, d.ID, m, ""); care360.ErrorReason(err) != care360.ReasonWindow {
		t.Fatalf("entry into an inactive draw: %v", err)
	}
	if _, err := ds.UpdateDraw(b.ctx, d.ID, care360.DrawUpdate{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	e, err := ds.EnterDraw(b.ctx, d.ID, m, "")
	if err != nil || e.Cost != 50 {
		t.Fatalf("entry at the new cost: %+v, %v", e, err)
	}
	// Entered: the terms stay (the same values may be sent again), the
	// rest may still change.
	for name, u := range map[string]care360.DrawUpdate{
		"cost":    {EntryCost: ptr(int64(10))},
		"tickets": {Tickets: &map[care360.Tier]int{care360.TierTitan: 9}},
	} {
		if _, err := ds.UpdateDraw(b.ctx, d.ID, u); care360.ErrorCode(err) != care360.ECONFLICT {
			t.Errorf("%s after an entry: %v", name, err)
		}
	}
	same := maps.Clone(d.Tickets)
	if _, err := ds.UpdateDraw(b.ctx, d.ID, care360.DrawUpdate{EntryCost: ptr(int64(50)), Tickets: &same, NameEn: ptr("Spring draw")}); err != nil {
		t.Fatalf("same terms after an entry: %v", err)
	}

	if _, err := ds.CloseDraw(b.ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ds.UpdateDraw(b.ctx, d.ID, care360.DrawUpdate{Name: ptr("Muộn")})
	if care360.ErrorCode(err) != care360.ECONFLICT || !strings.Contains(care360.ErrorMessage(err), "only before it closes") {
		t.Fatalf("change after the close: %v", err)
	}
	if _, err := ds.UpdateDraw(b.ctx, 1<<40, care360.DrawUpdate{}); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("no draw: %v", err)
	}
}

func hasDraw(offers []care360.DrawOffer, id int64) bool {
	for _, o := range offers {
		if o.Draw.ID == id {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
