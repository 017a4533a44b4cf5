// Package pglocal runs a private PostgreSQL cluster from the system's server
// binaries: `care360 dev` keeps one in ./.data/pg, and tests and benchmarks
// start throwaway ones. It listens on 127.0.0.1 only and trusts every local
// connection, so it is for a laptop or a test machine, never for production.
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
	"sync"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Superuser is the role initdb creates; URL connects as it.
const Superuser = "care360"

// Options say where and how to run a cluster.
type Options struct {
	DataDir  string            // created and initdb'd on first use
	Port     int               // 0 = a free TCP port on 127.0.0.1
	Fast     bool              // for tests: no fsync, no synchronous commit, no full-page writes
	Settings map[string]string // extra server settings (-c name=value); they win over ours
	Logger   *slog.Logger      // nil: discard
}

// Cluster is a running (or stopped) local cluster. Its methods are safe for
// concurrent use.
type Cluster struct {
	bin, dataDir string
	cred         *syscall.Credential
	opts         Options
	log          *slog.Logger

	mu      sync.Mutex
	port    int
	sockDir string // where the unix socket lives; removed on Stop if tmpSock
	tmpSock bool
	running bool
}

// Start starts a cluster in o.DataDir, running initdb first if the directory
// holds no cluster yet. One process at a time may own a data directory; a
// server left running by a killed owner is stopped and started afresh, and a
// stale postmaster.pid is removed.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.DataDir == "" {
		return nil, errors.New("pglocal: Options.DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	bin, err := FindBinaries()
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	cred, err := credential()
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	c := &Cluster{bin: bin, dataDir: dir, cred: cred, opts: o, log: o.Logger, port: o.Port}
	if err := c.init(ctx); err != nil {
		return nil, fmt.Errorf("pglocal: initdb %s: %w", dir, err)
	}
	if err := c.start(ctx); err != nil {
		return nil, fmt.Errorf("pglocal: start %s: %w", dir, err)
	}
	return c, nil
}

// URL returns a connection URL for database dbname as the superuser.
func (c *Cluster) URL(dbname string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", fmt.Sprint(c.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the TCP port the cluster listens on (on 127.0.0.1).
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// DataDir is the cluster's absolute data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// CreateDatabase creates database name unless it exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pe *pgconn.PgError
	// 42P04 duplicate_database; 23505 when two creators race in the catalog.
	if errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pglocal: create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast mode: open sessions are disconnected).
// Stopping a stopped cluster does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if err := c.stop(context.Background()); err != nil {
		return fmt.Errorf("pglocal: stop %s: %w", c.dataDir, err)
	}
	c.running = false
	if c.tmpSock {
		os.RemoveAll(c.sockDir)
		c.sockDir, c.tmpSock = "", false
	}
	c.log.Info("pglocal: stopped", "dir", c.dataDir)
	return nil
}

// Restart starts the cluster again on the same port and data directory,
// stopping it first if it is running: tests use it to take the database away
// and bring it back.
func (c *Cluster) Restart(ctx context.Context) error {
	if err := c.Stop(); err != nil {
		return err
	}
	if err := c.start(ctx); err != nil {
		return fmt.Errorf("pglocal: restart %s: %w", c.dataDir, err)
	}
	return nil
}
