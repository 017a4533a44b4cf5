package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func count(t *testing.T, dbURL, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const tables = `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('subscribers', 'points_ledger', 'ussd_dialogues')`

func TestDBIsSharedAndMigrated(t *testing.T) {
	t.Parallel()
	a, b := pgtest.DB(t), pgtest.DB(t)
	if a != b {
		t.Errorf("DB returned %s then %s", a, b)
	}
	if n := count(t, a, tables); n != 3 {
		t.Errorf("%d of 3 tables", n)
	}
	if !strings.Contains(a, "care360_test_pgtest_") {
		t.Errorf("name does not say where it came from: %s", a)
	}
}

func TestFreshDBIsDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("use", func(t *testing.T) {
		u := pgtest.FreshDB(t)
		if u == pgtest.DB(t) {
			t.Fatal("FreshDB returned the package database")
		}
		if n := count(t, u, tables); n != 3 {
			t.Errorf("%d of 3 tables", n)
		}
		p, _ := url.Parse(u)
		name = strings.TrimPrefix(p.Path, "/")
	})
	if n := count(t, pgtest.DB(t), `SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != 0 {
		t.Errorf("database %s still exists", name)
	}
}

func TestEmptyDB(t *testing.T) {
	t.Parallel()
	if n := count(t, pgtest.EmptyDB(t), tables); n != 0 {
		t.Errorf("%d tables in an empty database", n)
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := pgtest.Cluster()
	if c == nil {
		t.Skip("databases come from " + pgtest.EnvURL)
	}
	if want := fmt.Sprintf("@127.0.0.1:%d/", c.Port()); !strings.Contains(pgtest.DB(t), want) {
		t.Errorf("package database %s is not on the cluster (%s)", pgtest.DB(t), want)
	}
}
