package pglocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// StartStandby copies the running cluster c with `pg_basebackup -R` into
// o.DataDir (which must be empty or absent) and starts the copy as a
// streaming standby of c. With sync, c then waits for the standby before it
// acknowledges a commit (synchronous_standby_names = '*'): only then is no
// acknowledged commit lost when the standby is promoted after c crashes.
// Synchronous waiting needs synchronous_commit on at the primary, so a sync
// standby of a Fast cluster is refused unless its Settings turn it back on.
func (c *Cluster) StartStandby(ctx context.Context, o Options, sync bool) (*Cluster, error) {
	if o.DataDir == "" {
		return nil, errors.New("pglocal: Options.DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	if o.Logger == nil {
		o.Logger = c.log
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("pglocal: standby directory %s is not empty", dir)
	}
	s := &Cluster{bin: c.bin, dataDir: dir, cred: c.cred, opts: o, log: o.Logger, port: o.Port}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	if err := handOver(dir, s.cred, s.log); err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	out, err := s.run(ctx, "pg_basebackup", "-D", dir, "-R", "-X", "stream", "-c", "fast",
		"-h", "127.0.0.1", "-p", fmt.Sprint(c.Port()), "-U", Superuser)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", toolError("pg_basebackup", err, out))
	}
	// The copy carries the primary's postmaster.opts and logs; its own
	// settings come from the command line at start.
	os.Remove(filepath.Join(dir, "postgres.log"))
	if err := s.start(ctx); err != nil {
		return nil, fmt.Errorf("pglocal: start standby %s: %w", dir, err)
	}
	if sync {
		if err := c.requireSyncStandby(ctx); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// requireSyncStandby makes c wait for a standby at every commit, then
// checks that a commit does wait for it.
func (c *Cluster) requireSyncStandby(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: synchronous standby: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = '*'"); err != nil {
		return fmt.Errorf("pglocal: synchronous standby: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("pglocal: synchronous standby: %w", err)
	}
	var commit string
	if err := conn.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&commit); err != nil {
		return fmt.Errorf("pglocal: synchronous standby: %w", err)
	}
	if commit == "off" || commit == "local" {
		return fmt.Errorf("pglocal: synchronous standby: the primary runs with synchronous_commit=%s, so commits would not wait for it", commit)
	}
	// Wait until the standby streams as the synchronous one; until then a
	// commit would not be on it yet.
	for {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'").Scan(&n)
		if err != nil {
			return fmt.Errorf("pglocal: synchronous standby: %w", err)
		}
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pglocal: synchronous standby never streamed: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Promote turns a standby into a primary (`pg_ctl promote`), waiting until
// it accepts writes.
func (c *Cluster) Promote(ctx context.Context) error {
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir, "-w", "-t", "60", "promote")
	if err != nil {
		return fmt.Errorf("pglocal: %w", toolError("pg_ctl promote", err, out))
	}
	return nil
}

// Crash stops the server at once (`pg_ctl stop -m immediate`): no
// checkpoint, sessions cut, as when the machine dies with its disk intact.
func (c *Cluster) Crash() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	out, err := c.run(context.Background(), "pg_ctl", "-D", c.dataDir, "-w", "-t", "60", "-m", "immediate", "stop")
	if err != nil {
		return fmt.Errorf("pglocal: %w", toolError("pg_ctl stop -m immediate", err, out))
	}
	c.running = false
	c.log.Info("pglocal: crashed", "dir", c.dataDir)
	return nil
}

// MultiHostURL is a connection URL naming every cluster's host, in order,
// with target_session_attrs=read-write: a client tries them in turn and keeps
// the first that accepts writes, as CARE360_DATABASE_URL does in production
// with a primary and its standbys.
func MultiHostURL(dbname string, cs ...*Cluster) string {
	hosts := make([]string, len(cs))
	for i, c := range cs {
		hosts[i] = net.JoinHostPort("127.0.0.1", fmt.Sprint(c.Port()))
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     strings.Join(hosts, ","),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
	}
	return u.String()
}

// StartPair starts, under dir, a Fast primary with synchronous_commit back
// on and a synchronous standby of it, after creating database dbname: the
// pair that failover tests and drills promote. On error nothing is left
// running.
func StartPair(ctx context.Context, dir, dbname string, log *slog.Logger) (primary, standby *Cluster, err error) {
	primary, err = Start(ctx, Options{DataDir: filepath.Join(dir, "primary"), Fast: true, Logger: log,
		Settings: map[string]string{"synchronous_commit": "on"}})
	if err != nil {
		return nil, nil, err
	}
	if err := primary.CreateDatabase(ctx, dbname); err != nil {
		primary.Stop()
		return nil, nil, err
	}
	standby, err = primary.StartStandby(ctx, Options{DataDir: filepath.Join(dir, "standby"), Fast: true, Logger: log}, true)
	if err != nil {
		primary.Stop()
		return nil, nil, err
	}
	return primary, standby, nil
}
