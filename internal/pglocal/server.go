package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// maxSocketPath keeps "<dir>/.s.PGSQL.NNNNN" under the kernel's sun_path
// limit (108 bytes with the terminating NUL) with a margin.
const maxSocketPath = 100

// init runs initdb unless the directory already holds a cluster.
func (c *Cluster) init(ctx context.Context) error {
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return err
	}
	if err := handOver(c.dataDir, c.cred, c.log); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	if ents, err := os.ReadDir(c.dataDir); err != nil {
		return err
	} else if len(ents) > 0 {
		return fmt.Errorf("directory is not empty and holds no cluster (no PG_VERSION): refusing to initdb over it")
	}
	args := []string{"-D", c.dataDir, "-A", "trust", "-U", Superuser, "-E", "UTF8"}
	if c.opts.Fast {
		args = append(args, "--no-sync")
	}
	c.log.Info("pglocal: initdb", "dir", c.dataDir)
	out, err := c.run(ctx, "initdb", append(args, "--locale=C.UTF-8")...)
	if err != nil {
		// Not every libc has C.UTF-8; plain C sorts bytewise just the same.
		// A failed initdb has emptied the directory again.
		if out2, err2 := c.run(ctx, "initdb", append(args, "--locale=C")...); err2 != nil {
			return toolError("initdb", err2, append(out, out2...))
		}
	}
	return nil
}

// start starts the server, after clearing what a killed owner left behind.
func (c *Cluster) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	if err := c.clearStale(ctx); err != nil {
		return err
	}
	if err := handOver(c.dataDir, c.cred, c.log); err != nil {
		return err
	}
	if err := c.socketDir(); err != nil {
		return err
	}
	pick := c.opts.Port == 0 && c.port == 0
	var err error
	// A port picked by listening and closing may be taken by someone else
	// before the server binds it; then pick another.
	for attempt := 0; attempt < 3; attempt++ {
		if pick {
			if c.port, err = freePort(); err != nil {
				return err
			}
		}
		if err = c.pgctlStart(ctx); err == nil || !pick {
			break
		}
		c.log.Warn("pglocal: start failed, trying another port", "port", c.port, "err", err)
	}
	if err != nil {
		return err
	}
	c.running = true
	c.log.Info("pglocal: started", "dir", c.dataDir, "port", c.port)
	return nil
}

func (c *Cluster) pgctlStart(ctx context.Context) error {
	logFile := filepath.Join(c.dataDir, "postgres.log")
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir, "-w", "-t", "60", "-l", logFile, "start", "-o", c.serverOptions())
	if err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("%w\nlast lines of %s:\n%s", toolError("pg_ctl start", err, out), logFile, tail(log, 2000))
	}
	return nil
}

// serverOptions renders the settings as pg_ctl's -o string, which pg_ctl
// hands to /bin/sh: every argument is single-quoted.
func (c *Cluster) serverOptions() string {
	set := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    fmt.Sprint(c.port),
		"unix_socket_directories": c.sockDir,
		"max_connections":         "200",
	}
	if c.opts.Fast {
		// Tests throw the cluster away, so a crash may lose anything.
		set["fsync"] = "off"
		set["synchronous_commit"] = "off"
		set["full_page_writes"] = "off"
	}
	for k, v := range c.opts.Settings {
		set[k] = v
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "-c %s ", shellQuote(k+"="+set[k]))
	}
	return strings.TrimSpace(b.String())
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// socketDir chooses where the unix socket goes: the data directory itself
// when its path is short enough (the server user owns it, so no one else's
// directory is written to), else a fresh short temporary directory.
func (c *Cluster) socketDir() error {
	if c.sockDir != "" {
		return nil
	}
	if len(c.dataDir)+len("/.s.PGSQL.65535") <= maxSocketPath {
		c.sockDir = c.dataDir
		return nil
	}
	d, err := os.MkdirTemp("", "pgsock")
	if err != nil {
		return err
	}
	c.sockDir, c.tmpSock = d, true
	return handOver(d, c.cred, c.log)
}

// clearStale deals with a postmaster.pid left behind: if its server still
// runs (our previous owner was killed) it is stopped, else the file goes.
func (c *Cluster) clearStale(ctx context.Context) error {
	pidFile := filepath.Join(c.dataDir, "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		return nil
	}
	_, err := c.run(ctx, "pg_ctl", "-D", c.dataDir, "status")
	var ee *exec.ExitError
	switch {
	case err == nil:
		c.log.Warn("pglocal: a server left running in the data directory: stopping it", "dir", c.dataDir)
		return c.stop(ctx)
	case errors.As(err, &ee) && ee.ExitCode() == 3: // 3: not running
		c.log.Warn("pglocal: removing a stale postmaster.pid", "dir", c.dataDir)
		return os.Remove(pidFile)
	default:
		return fmt.Errorf("pg_ctl status: %w", err)
	}
}

func (c *Cluster) stop(ctx context.Context) error {
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir, "-w", "-t", "60", "-m", "fast", "stop")
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if _, serr := c.run(ctx, "pg_ctl", "-D", c.dataDir, "status"); errors.As(serr, &ee) && ee.ExitCode() == 3 {
		return nil // already down
	}
	return toolError("pg_ctl stop", err, out)
}

// run runs one of the PostgreSQL tools as the server user, with no PG*
// variables from our environment steering it to another cluster.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.tool(name), args...)
	cmd.Dir = "/" // our working directory may be closed to the server user
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl's server redirects its output to the log file; should anything
	// still hold our pipe, do not wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
