package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A push's targets are claimed where they lie: the claim writes the lease
// columns, which no index holds, so it is a heap-only update when the
// target's page has room for the new version. Targets are queued by the
// thousand into packed pages, so each claim went to another page with a
// new entry in five of the table's seven indexes: 27 buffers and 7.8 WAL
// records a target claimed, the costliest statement of a push.
func TestPushClaimsChangeTargetsOnTheirPages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.FreshDB(t)
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pushes := store.NewPushes(store.NewSMS(db, care360.SMSRules{}), time.Hour, "*090#")
	const n = 4000
	members := make([]care360.MSISDN, n)
	for i := range members {
		members[i] = care360.MSISDN(fmt.Sprintf("84%d", 930000001+i))
	}
	if _, err := db.Pool().Exec(ctx, `
		INSERT INTO subscribers (msisdn, name, member_since, tier)
		SELECT m, 'Room ' || m, date '2020-01-01', 'dong' FROM unnest($1::text[]) m`, members); err != nil {
		t.Fatal(err)
	}
	p, _, err := pushes.CreatePush(ctx, care360.NewPush{Segment: &care360.Segment{MSISDNs: members}, Kind: care360.PushNotify,
		Text: "Diem cua quy khach sap het han", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil || p.Targets != n {
		t.Fatalf("push to %d members: %+v, %v", n, p, err)
	}
	for claimed := 0; claimed < n; {
		cs, err := pushes.ClaimPushes(ctx, "room", 500, time.Minute)
		if err != nil || len(cs) == 0 {
			t.Fatalf("claim after %d: %d claimed, %v", claimed, len(cs), err)
		}
		claimed += len(cs)
	}
	db.Close() // the backends report their counts as they exit

	f := heapOnlyShare(t, connect(t, url), "ussd_push_targets", n)
	t.Logf("%.0f %% of %d claims heap-only", 100*f, n)
	if f < 0.6 {
		t.Errorf("%.0f %% of %d claims heap-only, want at least 60 %%", 100*f, n)
	}
}
