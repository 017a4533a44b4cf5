package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
)

func (b *ledgerBundle) review(t *testing.T) care360.TierReview {
	t.Helper()
	r, err := b.l.ReviewTiers(b.ctx)
	if err != nil {
		t.Fatalf("ReviewTiers: %v", err)
	}
	return r
}

func (b *bundle) tier(t *testing.T, m care360.MSISDN) care360.Tier {
	t.Helper()
	s, err := b.db.Subscriber(b.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return s.Tier
}

// member registers a subscriber with a language and member-since date.
func (b *ledgerBundle) member(t *testing.T, lang care360.Language, since string) care360.MSISDN {
	t.Helper()
	s := &care360.Subscriber{MSISDN: newMSISDN(), Language: lang, MemberSince: day(since)}
	if _, err := b.db.PutSubscriber(b.ctx, s); err != nil {
		t.Fatal(err)
	}
	return s.MSISDN
}

// The monthly review on the 1st warns, waits out the grace, and then
// downgrades only those still short; points that recover cancel it, and
// the 10-year floor bounds how far a long-standing member drops.
func TestTierReviewWithGrace(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	b.clock.Set(at("2026-01-15 10:00"))
	short := b.member(t, care360.LangEn, "2020-01-01")          // Vang, falls to Dong
	recovers := b.member(t, care360.LangVi, "2020-01-01")       // Vang, earns it back during the grace
	veteran := b.member(t, care360.LangViUnicode, "2010-06-01") // Vang, floor Titan
	steady := b.member(t, care360.LangVi, "2020-01-01")         // Bac, earned recently: no change
	for _, m := range []care360.MSISDN{short, recovers, veteran} {
		credit(t, b.bundle, m, care360.PointsQualifying, 10_000, "jan-2026")
	}
	b.clock.Set(at("2026-12-20 10:00"))
	credit(t, b.bundle, steady, care360.PointsQualifying, 2_000, "dec-2026")
	for m, want := range map[care360.MSISDN]care360.Tier{short: care360.TierVang, recovers: care360.TierVang, veteran: care360.TierVang, steady: care360.TierBac} {
		if got := b.tier(t, m); got != want {
			t.Fatalf("%s before the review: %s, want %s", m, got, want)
		}
	}

	// The review of 1 February 2027: January 2026's points no longer count.
	b.clock.Set(at("2027-02-01 00:30"))
	r := b.review(t)
	if want := (care360.TierReview{Cycle: day("2027-02-01"), Reviewed: true, Pending: 3}); r != want {
		t.Errorf("review = %+v, want %+v", r, want)
	}
	if r := b.review(t); r.Reviewed || r.Pending != 0 {
		t.Errorf("second run the same day: %+v", r)
	}
	// Nobody drops during the grace.
	for _, m := range []care360.MSISDN{short, recovers, veteran} {
		if got := b.tier(t, m); got != care360.TierVang {
			t.Errorf("%s during the grace: %s", m, got)
		}
	}
	if got := smsTo(t, b.bundle, short); len(got) != 1 || got[0] != "Your Gold tier drops to Bronze on 16/02/2027 unless you reach 10,000 qualifying points (now 0)." {
		t.Errorf("warning to short: %q", got)
	}
	if got := smsTo(t, b.bundle, veteran); len(got) != 1 || got[0] != "Hạng Vàng của Quý khách sẽ chuyển xuống Titan từ ngày 16/02/2027 nếu chưa đạt 10.000 điểm xét hạng (hiện có 0). Hãy tích thêm điểm để giữ hạng." {
		t.Errorf("warning to veteran: %q", got)
	}

	b.clock.Set(at("2027-02-10 09:00"))
	credit(t, b.bundle, recovers, care360.PointsQualifying, 10_000, "feb-2027")
	if r := b.review(t); r.Kept != 1 || r.Downgraded != 0 {
		t.Errorf("review after recovery: %+v", r)
	}
	if got := smsTo(t, b.bundle, recovers); len(got) != 2 || got[1] != "Quy khach da du diem va tiep tuc giu hang Vang. Xin cam on!" {
		t.Errorf("SMS to recovers: %q", got)
	}

	b.clock.Set(at("2027-02-15 23:59"))
	if r := b.review(t); r.Downgraded != 0 {
		t.Errorf("downgraded before the grace ran out: %+v", r)
	}
	b.clock.Set(at("2027-02-16 00:00"))
	if r := b.review(t); r.Downgraded != 2 || r.Kept != 0 {
		t.Errorf("review when due: %+v", r)
	}
	got := map[care360.MSISDN]care360.Tier{}
	for _, m := range []care360.MSISDN{short, recovers, veteran, steady} {
		got[m] = b.tier(t, m)
	}
	want := map[care360.MSISDN]care360.Tier{short: care360.TierDong, recovers: care360.TierVang, veteran: care360.TierTitan, steady: care360.TierBac}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tiers after the grace (-want +got):\n%s", diff)
	}
	if texts := smsTo(t, b.bundle, short); len(texts) != 2 || texts[1] != "Your membership tier is now Bronze. Thank you for staying with MobiFone." {
		t.Errorf("SMS to short: %q", texts)
	}
	if len(smsTo(t, b.bundle, steady)) != 0 {
		t.Errorf("steady was told something")
	}
	if r := b.review(t); r != (care360.TierReview{Cycle: day("2027-02-01")}) {
		t.Errorf("nothing left to do, yet: %+v", r)
	}

	// A missed 1st is caught up the next day, with the grace from the 1st.
	b.clock.Set(at("2027-03-02 08:00"))
	if r := b.review(t); !r.Reviewed || r.Cycle != day("2027-03-01") {
		t.Errorf("March review: %+v", r)
	}
}

// A member whose floor hides the drop is recorded but not told.
func TestTierReviewFloorHidesDrop(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	b.clock.Set(at("2026-01-15 10:00"))
	m := b.member(t, care360.LangVi, "2005-01-01")
	credit(t, b.bundle, m, care360.PointsQualifying, 6_000, "jan-2026") // Titan earned, Titan floor
	b.clock.Set(at("2027-02-01 00:30"))
	if r := b.review(t); r.Pending != 1 {
		t.Errorf("review: %+v", r)
	}
	b.clock.Set(at("2027-02-16 00:30"))
	if r := b.review(t); r.Downgraded != 1 {
		t.Errorf("settle: %+v", r)
	}
	if got := b.tier(t, m); got != care360.TierTitan {
		t.Errorf("tier %s, want the Titan floor", got)
	}
	if got := smsTo(t, b.bundle, m); len(got) != 0 {
		t.Errorf("told of a change they cannot see: %q", got)
	}
}

// An upgrade during the grace cancels the pending downgrade at once.
func TestUpgradeCancelsPendingDowngrade(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	b.clock.Set(at("2026-01-15 10:00"))
	m := b.member(t, care360.LangVi, "2020-01-01")
	credit(t, b.bundle, m, care360.PointsQualifying, 2_000, "jan-2026")
	b.clock.Set(at("2027-02-01 00:30"))
	b.review(t)
	b.clock.Set(at("2027-02-03 00:30"))
	b.ingest(t, usage("big", m, 5_000_000, b.clock.Now()))
	if p := b.post(t); p.Upgrades != 1 {
		t.Fatalf("posting: %+v", p)
	}
	if got := b.tier(t, m); got != care360.TierTitan {
		t.Fatalf("tier %s", got)
	}
	b.clock.Set(at("2027-02-20 00:30"))
	if r := b.review(t); r.Downgraded != 0 || r.Kept != 0 {
		t.Errorf("settle after the upgrade: %+v", r)
	}
	if got := b.tier(t, m); got != care360.TierTitan {
		t.Errorf("tier %s after the grace", got)
	}
}
