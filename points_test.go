package care360_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
)

func TestExpiry(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ earned, want string }{
		{"2026-01-15T10:00:00+07:00", "2027-01-31T23:59:59+07:00"},
		{"2026-12-31T23:30:00+07:00", "2027-12-31T23:59:59+07:00"},
		// 18:00 UTC on 31 Jan is already 1 Feb in Hanoi.
		{"2026-01-31T18:00:00Z", "2027-02-28T23:59:59+07:00"},
		{"2027-02-10T00:00:00+07:00", "2028-02-29T23:59:59+07:00"},
	}
	for _, c := range cases {
		earned, _ := time.Parse(time.RFC3339, c.earned)
		want, _ := time.Parse(time.RFC3339, c.want)
		if got := care360.Expiry(earned, loc); !got.Equal(want) {
			t.Errorf("Expiry(%s) = %s; want %s", c.earned, got, want)
		}
	}
}

func TestTierRules(t *testing.T) {
	t.Parallel()
	r := care360.DefaultTierRules
	cases := map[int64]care360.Tier{
		0: care360.TierDong, 1999: care360.TierDong, 2000: care360.TierBac, 4999: care360.TierBac,
		5000: care360.TierTitan, 10000: care360.TierVang, 19999: care360.TierVang, 20000: care360.TierKimCuong,
	}
	for q, want := range cases {
		if got := r.TierFor(q); got != want {
			t.Errorf("TierFor(%d) = %s; want %s", q, got, want)
		}
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	if got := r.Floor(time.Date(2016, 11, 25, 0, 0, 0, 0, time.UTC), now); got != care360.TierTitan {
		t.Errorf("10-year member floor = %s; want titan", got)
	}
	if got := r.Floor(time.Date(2016, 11, 26, 0, 0, 0, 0, time.UTC), now); got != care360.TierDong {
		t.Errorf("9-year member floor = %s; want dong", got)
	}
	if next, need, ok := r.Next(care360.TierTitan); !ok || next != care360.TierVang || need != 10000 {
		t.Errorf("Next(titan) = %s %d %v", next, need, ok)
	}
	if _, _, ok := r.Next(care360.TierKimCuong); ok {
		t.Error("Next(kim_cuong) should not exist")
	}
}
