package schedule_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/schedule"
	"github.com/care360/care360/store"
)

// The retention job counts what each sweep removed, per kind, so an
// operator sees the sweeps work (PRODUCT.md §7).
func TestRetentionCounted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.Open(ctx, pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	old := time.Now().Add(-500 * 24 * time.Hour)
	if _, err := db.Pool().Exec(ctx, `
		INSERT INTO dialogue_records (id, started_at, ended_at, steps, outcome) VALUES ('old-1', $1, $1, 1, 'completed'), ('old-2', $1, $1, 1, 'timeout'),
			('new', now(), now(), 1, 'completed')`, old); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	jobs := schedule.Retention(db, care360.Retention{}, reg)
	if err := jobs[0].Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, reg, "care360_retention_removed_total", "dialogue_records"); got != 2 {
		t.Errorf("dialogue records removed: %v, want 2", got)
	}
	var left int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM dialogue_records`).Scan(&left); err != nil || left != 1 {
		t.Errorf("records left: %d, %v", left, err)
	}
}
