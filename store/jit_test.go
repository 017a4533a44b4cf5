package store_test

import (
	"strings"
	"testing"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// costly is planned far above jit_above_cost's default (100,000), so a
// session with JIT on compiles it and EXPLAIN says so.
const costly = `SELECT sum(x) FROM generate_series(1, 10000000) x`

// TestStoreSessionsRunWithoutJIT: the store's statements are either keyed
// look-ups or set-based batches whose estimates pass jit_above_cost
// (10,000 usage events at once), and compiling such a batch took longer
// than running it. The store's sessions run without JIT unless the
// database URL asks for it.
func TestStoreSessionsRunWithoutJIT(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	var available bool
	if err := connect(t, url).QueryRow(t.Context(), `SELECT pg_jit_available()`).Scan(&available); err != nil {
		t.Fatal(err)
	}
	if !available {
		t.Skip("this server cannot JIT-compile (built without LLVM)")
	}
	plan := func(t *testing.T, url string) string {
		t.Helper()
		return explain(t, setupURL(t, url, store.Options{}).db.Pool(), costly)
	}
	if p := plan(t, url); strings.Contains(p, "JIT:") {
		t.Errorf("the store's session plans JIT compilation:\n%s", p)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	if p := plan(t, url+sep+"jit=on"); !strings.Contains(p, "JIT:") {
		t.Errorf("a URL with jit=on: the plan has no JIT, want the URL's choice kept:\n%s", p)
	}
}
