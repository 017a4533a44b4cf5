package pglocal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
)

// StartStandby makes a streaming replica of primary in o.DataDir (which must
// be empty or absent) with pg_basebackup -R, and starts it on its own port:
// the standby of a failover drill (PRODUCT.md §8). For no acknowledged
// commit to be missing from the standby when it is promoted, the primary
// must wait for it: see Cluster.RequireSyncStandby.
func StartStandby(ctx context.Context, primary *Cluster, o Options) (*Cluster, error) {
	if o.DataDir == "" {
		return nil, errors.New("pglocal: Options.DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	if o.Logger == nil {
		o.Logger = primary.log
	}
	c := &Cluster{bin: primary.bin, dataDir: dir, cred: primary.cred, opts: o, log: o.Logger, port: o.Port}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
		return nil, fmt.Errorf("pglocal: standby directory %s must be empty (%v)", dir, err)
	}
	if err := handOver(dir, c.cred, c.log); err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	out, err := c.run(ctx, "pg_basebackup", "-D", dir, "-R", "-X", "stream", "-c", "fast",
		"-h", "127.0.0.1", "-p", fmt.Sprint(primary.Port()), "-U", Superuser)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", toolError("pg_basebackup", err, out))
	}
	if err := c.start(ctx); err != nil {
		return nil, fmt.Errorf("pglocal: start standby %s: %w", dir, err)
	}
	return c, nil
}

// RequireSyncStandby makes every commit on c wait until a standby has it
// (synchronous_standby_names = '*'), so that promoting the standby loses no
// acknowledged commit. The cluster must not run with Options.Fast, whose
// synchronous_commit = off would acknowledge commits before the standby has
// them.
func (c *Cluster) RequireSyncStandby(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, sql := range []string{`ALTER SYSTEM SET synchronous_standby_names = '*'`, `SELECT pg_reload_conf()`} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("pglocal: %s: %w", sql, err)
		}
	}
	return nil
}

// Promote turns a standby into a primary (pg_ctl promote) and waits until
// it takes writes.
func (c *Cluster) Promote(ctx context.Context) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir, "-w", "-t", "60", "promote"); err != nil {
		return fmt.Errorf("pglocal: %w", toolError("pg_ctl promote", err, out))
	}
	return nil
}

// Crash stops the server at once, as a power cut would (pg_ctl stop -m
// immediate: no checkpoint, clients cut off); a later start recovers.
func (c *Cluster) Crash() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if out, err := c.run(context.Background(), "pg_ctl", "-D", c.dataDir, "-w", "-m", "immediate", "stop"); err != nil {
		return fmt.Errorf("pglocal: %w", toolError("pg_ctl stop -m immediate", err, out))
	}
	c.running = false
	return nil
}
