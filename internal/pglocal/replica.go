package pglocal

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

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
	standby, err = StartStandby(ctx, primary, Options{DataDir: filepath.Join(dir, "standby"), Fast: true, Logger: log})
	if err == nil {
		if err = primary.RequireSyncStandby(ctx); err == nil {
			err = primary.waitSync(ctx)
		}
		if err != nil {
			standby.Stop()
		}
	}
	if err != nil {
		primary.Stop()
		return nil, nil, err
	}
	return primary, standby, nil
}

// waitSync waits until a standby streams as the synchronous one: until
// then a commit is acknowledged without waiting for it.
func (c *Cluster) waitSync(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'").Scan(&n); err != nil {
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
