package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pglocal"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// Failover to a streaming replica (PRODUCT.md §1, §8): the gateway's
// database URL names both hosts (target_session_attrs=read-write). Points
// are credited without a pause while the primary crashes (pg_ctl stop -m
// immediate) and the standby is promoted: writes resume within 10 s of the
// promotion, and every credit the store acknowledged is in the new
// primary's ledger, once. Commits wait for the standby (synchronous
// replication); without that an acknowledged commit could be lost.
func TestFailoverToStandbyLosesNoCommittedPoints(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two clusters")
	}
	ctx := t.Context()
	root, err := os.MkdirTemp("", "care360-failover-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	log := slog.New(slog.DiscardHandler)
	primary, err := pglocal.Start(ctx, pglocal.Options{DataDir: filepath.Join(root, "primary"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Stop() })
	if err := primary.CreateDatabase(ctx, "care360"); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, primary.URL("care360")); err != nil {
		t.Fatal(err)
	}
	standby, err := pglocal.StartStandby(ctx, primary, pglocal.Options{DataDir: filepath.Join(root, "standby"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop() })
	if err := primary.RequireSyncStandby(ctx); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://%s@127.0.0.1:%d,127.0.0.1:%d/care360?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		pglocal.Superuser, primary.Port(), standby.Port())
	db, err := store.Open(ctx, url, store.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	m := care360.MSISDN("84903555001")
	if _, _, err := db.Register(ctx, m, care360.LangVi, care360.ChannelUSSD); err != nil {
		t.Fatal(err)
	}
	waitSync(t, primary)

	// Credits one after another; each acknowledged one is remembered.
	var mu sync.Mutex
	var acked []string
	var lastFail, firstAfter time.Time
	var promoted time.Time
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("failover-%d", i)
			for {
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				_, _, err := db.ChangePoints(cctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: 1, Reason: "drill", IdempotencyKey: key})
				cancel()
				now := time.Now()
				mu.Lock()
				if err == nil {
					acked = append(acked, key)
					if !lastFail.IsZero() && firstAfter.IsZero() {
						firstAfter = now
					}
				} else {
					lastFail = now
				}
				mu.Unlock()
				if err == nil {
					break
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}()
	countAcked := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for deadline := time.Now().Add(30 * time.Second); countAcked() < 50; {
		if time.Now().After(deadline) {
			t.Fatal("no writes before the crash")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := primary.Crash(); err != nil {
		t.Fatal(err)
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	promoted = time.Now()
	for deadline := time.Now().Add(30 * time.Second); ; {
		mu.Lock()
		resumed := !firstAfter.IsZero()
		mu.Unlock()
		if resumed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes did not resume within 30 s of the promotion")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := countAcked()
	for deadline := time.Now().Add(10 * time.Second); countAcked() < before+20 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	<-done

	mu.Lock()
	resumeAfter := firstAfter.Sub(promoted)
	keys := append([]string(nil), acked...)
	mu.Unlock()
	t.Logf("%d credits acknowledged; writes resumed %v after the promotion", len(keys), resumeAfter.Round(time.Millisecond))
	if resumeAfter > 10*time.Second {
		t.Errorf("writes resumed %v after the promotion, want within 10 s", resumeAfter)
	}
	conn, err := pgx.Connect(ctx, standby.URL("care360"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var missing, twice int
	err = conn.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1) FROM (
			SELECT k, (SELECT count(*) FROM points_ledger WHERE msisdn = $1 AND idempotency_key = 'api:' || k) AS n
			FROM unnest($2::text[]) k) x`, m, keys).Scan(&missing, &twice)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || twice != 0 {
		t.Fatalf("of %d acknowledged credits, %d missing and %d twice on the promoted standby", len(keys), missing, twice)
	}
}

// waitSync waits until the standby streams synchronously from primary.
func waitSync(t *testing.T, primary *pglocal.Cluster) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for deadline := time.Now().Add(30 * time.Second); ; {
		var n int
		err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'`).Scan(&n)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby never became synchronous")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A host that accepts connections but never answers (a machine gone
// silent, not one that refuses) must not hold the gateway off the next
// host in CARE360_DATABASE_URL: each host gets a few seconds.
func TestMultiHostSkipsSilentHost(t *testing.T) {
	t.Parallel()
	cfg, err := pgx.ParseConfig(pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	silent, err := net.Listen("tcp", "127.0.0.1:0") // the kernel accepts; nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(cfg.User, cfg.Password),
		Host:     silent.Addr().String() + "," + net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)),
		Path:     "/" + cfg.Database,
		RawQuery: "sslmode=disable&target_session_attrs=read-write",
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := store.Migrate(ctx, u.String()); err != nil {
		t.Fatalf("migrate after %s: %v", time.Since(start), err)
	}
	db, err := store.Open(ctx, u.String(), store.Options{})
	if err != nil {
		t.Fatalf("open after %s: %v", time.Since(start), err)
	}
	defer db.Close()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("migrate and open took %s", took)
	}
}
