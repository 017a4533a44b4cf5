package schedule_test

import (
	"context"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/schedule"
	"github.com/care360/care360/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The ledger's jobs on a real store: an accepted batch is posted at once,
// without waiting for the next period.
func TestLedgerJobsPostAfterIngest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.Open(ctx, pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	l := store.NewLedger(db, care360.UsageRules{})
	jobs := schedule.Ledger(l)
	for i := range jobs {
		jobs[i].Every = time.Hour // only the trigger can run them in time
	}
	s := schedule.New(schedule.Config{}, jobs...)
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })

	m := care360.MSISDN("84903555666")
	if _, _, err := db.Register(ctx, m, care360.LangVi, care360.ChannelUSSD); err != nil {
		t.Fatal(err)
	}
	usage := schedule.AfterIngest(l, s)
	res, err := usage.IngestUsage(ctx, []care360.UsageEvent{{ID: "x1", MSISDN: m, AmountVND: 25_000, At: time.Now()}})
	if err != nil || res[0].Status != care360.UsageAccepted {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	waitFor(t, "the points", func() bool {
		b, err := db.Balance(ctx, m)
		return err == nil && b.Spendable == 25
	})
}
