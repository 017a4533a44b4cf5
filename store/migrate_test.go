package store_test

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// Two instances starting together both migrate; the lock makes one wait.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyDB(t)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = store.Migrate(t.Context(), url) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b := setupURL(t, url, store.Options{})
	if err := b.db.Migrate(b.ctx); err != nil { // nothing left to do
		t.Fatal(err)
	}
	if _, _, err := b.db.Register(b.ctx, newMSISDN(), "", "ussd"); err != nil {
		t.Fatal(err)
	}
}

// A gift made before 00040 keeps its stock when it gains stripes 16 to 63,
// and a stock update after spreads the new total over all 64.
func TestGiftStockGainsStripes(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyDB(t)
	ctx := t.Context()
	if err := store.MigrateTo(ctx, url, 39, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, `
		WITH g AS (INSERT INTO gifts (name, kind, cost, claim_limit, valid_from, valid_until, active, created_at, updated_at)
			VALUES ('Old gift', 'physical', 10, 1, now() - interval '1 day', now() + interval '1 day', true, now(), now()) RETURNING id),
		s AS (INSERT INTO gift_stock (gift_id, stripe, stock) SELECT g.id, i, 7 FROM g, generate_series(0, 15) i)
		SELECT id FROM g`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	var stripes, stock int64
	read := func() {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT count(*), sum(stock) FROM gift_stock WHERE gift_id = $1`, id).Scan(&stripes, &stock); err != nil {
			t.Fatal(err)
		}
	}
	if read(); stripes != 64 || stock != 16*7 {
		t.Fatalf("after 00040: %d stripes holding %d, want 64 holding %d", stripes, stock, 16*7)
	}
	b := setupURL(t, url, store.Options{})
	cat := store.NewCatalog(b.db, store.NewSMS(b.db, care360.SMSRules{}), store.CatalogOptions{})
	n := int64(100)
	if _, err := cat.UpdateGift(b.ctx, id, care360.GiftUpdate{Stock: &n}); err != nil {
		t.Fatal(err)
	}
	if read(); stripes != 64 || stock != 100 {
		t.Fatalf("after a stock update to 100: %d stripes holding %d", stripes, stock)
	}
}
