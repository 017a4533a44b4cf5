package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

type transferBundle struct {
	*smsBundle
	tr *store.Transfers
}

func setupTransfers(t *testing.T) *transferBundle {
	t.Helper()
	b := setupSMS(t)
	return &transferBundle{smsBundle: b, tr: store.NewTransfers(b.db, care360.TransferRules{})}
}

// notifyBoth is what keywords will write, reduced to what tests check.
func notifyBoth(t *care360.Transfer) []care360.OutgoingSMS {
	return []care360.OutgoingSMS{
		{MSISDN: t.From, Kind: care360.KindTransactional, Text: fmt.Sprintf("sent %d, left %d", t.Points, t.FromSpendable), IdempotencyKey: fmt.Sprintf("t%d-from", t.ID)},
		{MSISDN: t.To, Kind: care360.KindTransactional, Text: fmt.Sprintf("got %d, have %d", t.Points, t.ToSpendable), IdempotencyKey: fmt.Sprintf("t%d-to", t.ID)},
	}
}

func TestTransferMovesPointsOnceKeepingExpiry(t *testing.T) {
	t.Parallel()
	b := setupTransfers(t)
	from, to := b.member(t, "A", care360.LangVi, "", "1990-01-01", 0), b.member(t, "B", care360.LangEn, "", "1990-01-01", 0)
	b.clock.Set(at("2026-02-10 10:00"))
	credit(t, b.bundle, from, care360.PointsQualifying, 2000, "feb") // expires 2027-02-28, makes Bạc
	b.clock.Set(at("2026-05-10 10:00"))
	credit(t, b.bundle, from, care360.PointsBonus, 1000, "may") // expires 2027-05-31
	b.clock.Set(at("2026-11-25 10:00"))

	tr, err := b.tr.RequestTransfer(b.ctx, from, to, 2500)
	if err != nil || tr.Status != care360.TransferPending || !tr.ExpiresAt.Equal(b.clock.Now().Add(5*time.Minute)) {
		t.Fatalf("request: %+v, %v", tr, err)
	}
	if got := balance(t, b.bundle, from).Spendable; got != 3000 {
		t.Fatalf("a request moved points: %d", got)
	}
	const n = 8 // Y delivered many times at once
	results := make([]*care360.Transfer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = b.tr.ConfirmTransfer(b.ctx, from, "", notifyBoth) })
	}
	wg.Wait()
	var done *care360.Transfer
	for i, err := range errs {
		switch {
		case err == nil && done == nil:
			done = results[i]
		case err == nil:
			t.Fatal("confirmed twice")
		case care360.ErrorCode(err) != care360.ENOTFOUND:
			t.Fatalf("unexpected: %v", err)
		}
	}
	if done == nil || done.Status != care360.TransferConfirmed || done.FromSpendable != 500 || done.ToSpendable != 2500 || done.ToLang != care360.LangEn {
		t.Fatalf("confirmed %+v", done)
	}
	if got := balance(t, b.bundle, to); got.Bonus != 2500 || got.Qualifying != 0 || got.NextExpiry == nil || got.NextExpiry.Points != 2000 || got.NextExpiry.Date != day("2027-02-28") {
		t.Fatalf("recipient balance %+v (expiry %+v)", got, got.NextExpiry)
	}
	es, err := b.db.Ledger(b.ctx, to, 10)
	if err != nil || len(es) != 2 || es[0].ExpiresAt.In(hanoi).Format("2006-01-02") != "2027-05-31" || es[0].Points != 500 {
		t.Fatalf("recipient ledger %+v, %v", es, err)
	}
	if m := b.only(t, to); m.Text != "got 2500, have 2500" {
		t.Errorf("recipient notified %q", m.Text)
	}
	if m := b.only(t, from); m.Text != "sent 2500, left 500" {
		t.Errorf("sender notified %q", m.Text)
	}
}

func TestTransferLapsesAndCancels(t *testing.T) {
	t.Parallel()
	b := setupTransfers(t)
	from, to := b.member(t, "A", care360.LangVi, "", "1990-01-01", 3000), b.member(t, "B", care360.LangVi, "", "1990-01-01", 0)
	if _, err := b.tr.RequestTransfer(b.ctx, from, to, 100); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(5*time.Minute + time.Second)
	_, err := b.tr.ConfirmTransfer(b.ctx, from, "", notifyBoth)
	if care360.ErrorReason(err) != care360.ReasonWindow {
		t.Fatalf("late Y: %v", err)
	}
	_, err = b.tr.ConfirmTransfer(b.ctx, from, "", notifyBoth)
	wantCode(t, err, care360.ENOTFOUND)
	if _, err := b.tr.RequestTransfer(b.ctx, from, to, 100); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.tr.CancelTransfer(b.ctx, from); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := b.tr.CancelTransfer(b.ctx, from); ok {
		t.Error("cancelled twice")
	}
	_, err = b.tr.ConfirmTransfer(b.ctx, from, "", notifyBoth)
	wantCode(t, err, care360.ENOTFOUND)
	// A new request replaces a pending one.
	b.tr.RequestTransfer(b.ctx, from, to, 100)
	b.tr.RequestTransfer(b.ctx, from, to, 200)
	tr, err := b.tr.ConfirmTransfer(b.ctx, from, "", nil)
	if err != nil || tr.Points != 200 {
		t.Fatalf("confirmed %+v, %v", tr, err)
	}
	if got := balance(t, b.bundle, from).Spendable; got != 2800 {
		t.Fatalf("spendable %d", got)
	}
}

func TestTransferRules(t *testing.T) {
	t.Parallel()
	b := setupTransfers(t)
	bac := b.member(t, "A", care360.LangVi, "", "1990-01-01", 2000)
	rich := b.member(t, "R", care360.LangVi, "", "1990-01-01", 30_000)
	dong := b.member(t, "B", care360.LangVi, "", "1990-01-01", 1500)
	cases := []struct {
		name     string
		from, to care360.MSISDN
		points   int64
		code     string
		reason   string
	}{
		{"Dong tier", dong, bac, 100, care360.EREFUSED, care360.ReasonTier},
		{"not a multiple", bac, dong, 150, care360.EREFUSED, care360.ReasonAmount},
		{"below the minimum", bac, dong, 0, care360.EREFUSED, care360.ReasonAmount},
		{"to oneself", bac, bac, 100, care360.EREFUSED, care360.ReasonSelf},
		{"unknown recipient", bac, newMSISDN(), 100, care360.ENOTFOUND, ""},
		{"unknown sender", newMSISDN(), bac, 100, care360.ENOTFOUND, ""},
		{"too few points", bac, dong, 2100, care360.EREFUSED, care360.ReasonInsufficientPoints},
		{"over the monthly cap", rich, dong, 10_100, care360.EREFUSED, care360.ReasonLimitReached},
	}
	for _, c := range cases {
		_, err := b.tr.RequestTransfer(b.ctx, c.from, c.to, c.points)
		if care360.ErrorCode(err) != c.code || care360.ErrorReason(err) != c.reason {
			t.Errorf("%s: %v, want %s %s", c.name, err, c.code, c.reason)
		}
	}
	// The cap counts what was sent this month: 10.000 then 100 more is over.
	if _, err := b.tr.RequestTransfer(b.ctx, rich, dong, 10_000); err != nil {
		t.Fatal(err)
	}
	if _, err := b.tr.ConfirmTransfer(b.ctx, rich, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.tr.RequestTransfer(b.ctx, rich, dong, 100); care360.ErrorReason(err) != care360.ReasonLimitReached {
		t.Fatalf("after 10.000 this month: %v", err)
	}
	b.clock.Set(at("2026-12-01 00:00"))
	if _, err := b.tr.RequestTransfer(b.ctx, rich, dong, 100); err != nil {
		t.Fatalf("a new month: %v", err)
	}
}

// TestConfirmTransferKeyed: a confirmation repeated with its key returns
// the transfer it confirmed and moves nothing more.
func TestConfirmTransferKeyed(t *testing.T) {
	t.Parallel()
	b := setupTransfers(t)
	from, to := b.member(t, "A", care360.LangVi, "", "1990-01-01", 0), b.member(t, "B", care360.LangEn, "", "1990-01-01", 0)
	credit(t, b.bundle, from, care360.PointsQualifying, 3000, "seed")
	if _, err := b.tr.RequestTransfer(b.ctx, from, to, 500); err != nil {
		t.Fatal(err)
	}
	first, err := b.tr.ConfirmTransfer(b.ctx, from, "ussd:k:7", notifyBoth)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.tr.ConfirmTransfer(b.ctx, from, "ussd:k:7", notifyBoth)
	if err != nil || again.ID != first.ID || again.FromSpendable != first.FromSpendable || again.Points != 500 {
		t.Fatalf("again: %+v %v; first %+v", again, err, first)
	}
	if _, err := b.tr.ConfirmTransfer(b.ctx, from, "ussd:k:8", notifyBoth); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("another key with nothing pending: %v", err)
	}
}
