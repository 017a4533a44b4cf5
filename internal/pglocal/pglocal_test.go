package pglocal_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/internal/pglocal"
)

func setup(t *testing.T) {
	t.Helper()
	if _, err := pglocal.FindBinaries(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStartCreateStop(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	c, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Fast: true, Settings: map[string]string{"max_connections": "50"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for range 2 { // idempotent
		if err := c.CreateDatabase(ctx, "app"); err != nil {
			t.Fatal(err)
		}
	}
	if got := query(t, c.URL("app"), "SELECT current_database() || ' ' || current_setting('fsync') || ' ' || current_setting('max_connections')"); got != "app off 50" {
		t.Errorf("got %q", got)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := pgx.Connect(ctx, c.URL("app")); err == nil {
		t.Fatal("connected to a stopped cluster")
	}

	// Restart keeps the port and the data.
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if got := query(t, c.URL("app"), "SELECT current_database()"); got != "app" {
		t.Errorf("after restart: %q", got)
	}
}

// A server whose owner was killed leaves postmaster.pid behind; the next Start
// must cope whether that server still runs or died with its owner.
func TestStartAfterKilledOwner(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	c1, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Stop()
	if err := c1.CreateDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}

	// Still running: the new owner stops it and starts its own.
	c2, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	if got := query(t, c2.URL("kept"), "SELECT current_database()"); got != "kept" {
		t.Errorf("got %q", got)
	}

	// Dead, pid file left: simulate with a pid that cannot be a live server.
	pid, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}
	stale := append([]byte("999999999"), pid[bytes.IndexByte(pid, '\n'):]...)
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	c3, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Stop()
	if got := query(t, c3.URL("kept"), "SELECT current_database()"); got != "kept" {
		t.Errorf("got %q", got)
	}
}

func TestStartRefusesForeignDirectory(t *testing.T) {
	t.Parallel()
	setup(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pglocal.Start(context.Background(), pglocal.Options{DataDir: dir, Fast: true}); err == nil {
		t.Fatal("Start initdb'd over a non-empty directory")
	}
}

// A unix socket path must fit in 108 bytes; a deep data directory gets its
// socket in a short temporary directory instead, removed on Stop.
func TestLongDataDir(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100), "pg")
	c, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	sock := query(t, c.URL("postgres"), "SHOW unix_socket_directories")
	if strings.HasPrefix(sock, dir) || len(sock) > 90 {
		t.Errorf("socket directory %q", sock)
	}
	if got := query(t, c.URL("postgres"), "SHOW lc_collate"); got != "C.UTF-8" && got != "C" {
		t.Errorf("lc_collate %q", got)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket directory left behind: %v", err)
	}
}

// A synchronous standby holds every acknowledged commit: with the standby
// down, a commit on the primary waits instead of being acknowledged; after
// the primary crashes the promoted standby accepts writes and has the rows.
func TestSynchronousStandbyPromote(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	dir := t.TempDir()
	p, s, err := pglocal.StartPair(ctx, dir, "app", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	defer s.Stop()
	exec(t, p.URL("postgres"), "CREATE TABLE t (n int); INSERT INTO t VALUES (1)")
	if got := query(t, s.URL("postgres"), "SELECT pg_is_in_recovery()::text || ' ' || count(*) FROM t"); got != "true 1" {
		t.Errorf("standby before promotion: %q", got)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = conn.Exec(tctx, "INSERT INTO t VALUES (2)")
	cancel()
	conn.Close(ctx)
	if err == nil {
		t.Fatal("a commit was acknowledged with the synchronous standby down")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, pglocal.MultiHostURL("postgres", p, s), "INSERT INTO t VALUES (3)")
	if err := p.Crash(); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, pglocal.MultiHostURL("postgres", p, s), "INSERT INTO t VALUES (4)")
	if got := query(t, pglocal.MultiHostURL("postgres", p, s), "SELECT pg_is_in_recovery()::text || ' ' || string_agg(n::text, ',' ORDER BY n) FROM t"); got != "false 1,2,3,4" && got != "false 1,3,4" {
		t.Errorf("promoted standby: %q", got)
	}
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
