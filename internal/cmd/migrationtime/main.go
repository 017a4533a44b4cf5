// Command migrationtime measures a migration on a database of a given
// size: it creates a database, migrates it to the version before, fills it
// with members (each with a ledger credit, a claim-free history otherwise),
// and times the migration. Run under withpg:
//
//	go run ./internal/cmd/withpg -durable -- go run ./internal/cmd/migrationtime -members 1000000 -version 36
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/store"
)

func main() {
	members := flag.Int("members", 1_000_000, "members to create before the migration")
	version := flag.Int64("version", 36, "the migration to time")
	flag.Parse()
	if err := run(*members, *version); err != nil {
		fmt.Fprintln(os.Stderr, "migrationtime:", err)
		os.Exit(1)
	}
}

func run(members int, version int64) error {
	ctx := context.Background()
	admin := os.Getenv("CARE360_TEST_DATABASE_URL")
	if admin == "" {
		return fmt.Errorf("CARE360_TEST_DATABASE_URL is not set: run under internal/cmd/withpg")
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("migrationtime_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE "+name+" WITH (FORCE)")
	url := withDatabase(admin, name)
	quiet := slog.New(slog.DiscardHandler)
	if err := store.MigrateTo(ctx, url, version-1, quiet); err != nil {
		return err
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	start := time.Now()
	if _, err := db.Exec(ctx, `
		INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
		SELECT (84900000000 + i)::text, 'Member ' || i, date '2020-01-01', now(), now() FROM generate_series(1, $1) i`, members); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
		SELECT (84900000000 + i)::text, 'qualifying', 1000, 1000, 'usage', 'seed', now(), now() + interval '1 year'
		FROM generate_series(1, $1) i`, members); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return err
	}
	fmt.Printf("%d members and %d ledger entries created in %s\n", members, members, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	if err := store.MigrateTo(ctx, url, version, log); err != nil {
		return err
	}
	fmt.Printf("migration %d on %d members: %s\n", version, members, time.Since(start).Round(time.Millisecond))
	// What the members look like after it, to check the migration's work.
	var ids, consents, marketing int64
	if err := db.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM subscribers WHERE to_jsonb(subscribers) ? 'member_id' AND to_jsonb(subscribers) ->> 'member_id' IS NOT NULL),
		coalesce((SELECT count(*) FROM pg_tables WHERE tablename = 'consents'), 0),
		(SELECT count(*) FROM subscribers WHERE (to_jsonb(subscribers) ->> 'marketing_consent')::boolean)`).Scan(&ids, &consents, &marketing); err != nil {
		return err
	}
	if consents > 0 {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM consents`).Scan(&consents); err != nil {
			return err
		}
	}
	fmt.Printf("after: %d members with an id, %d consent records, %d agreeing to marketing\n", ids, consents, marketing)
	return nil
}

// withDatabase is url with its database name replaced.
func withDatabase(url, name string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return url
	}
	i := strings.LastIndex(url, "/"+cfg.Database)
	if i < 0 {
		return url
	}
	return url[:i+1] + name + url[i+1+len(cfg.Database):]
}
