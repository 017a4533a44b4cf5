package store_test

import (
	"sync"
	"testing"

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
