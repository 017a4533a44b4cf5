package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies the embedded migrations to the database at url. Two
// processes may run it at once (two instances starting together): a session
// advisory lock makes the second wait and then find nothing left to do.
func Migrate(ctx context.Context, url string) error {
	cfg, err := parseConfig(url)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg.ConnConfig)
	defer sqlDB.Close()
	return migrate(ctx, sqlDB, slog.New(slog.DiscardHandler))
}

// Migrate applies the embedded migrations through db's pool.
func (db *DB) Migrate(ctx context.Context) error {
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()
	return migrate(ctx, sqlDB, db.log)
}

// MigrateTo applies the embedded migrations to the database at url up to
// version and no further, logging what each took: for measuring a
// migration on a database of a given size.
func MigrateTo(ctx context.Context, url string, version int64, log *slog.Logger) error {
	cfg, err := parseConfig(url)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg.ConnConfig)
	defer sqlDB.Close()
	return migrateTo(ctx, sqlDB, log, version)
}

func migrate(ctx context.Context, sqlDB *sql.DB, log *slog.Logger) error {
	return migrateTo(ctx, sqlDB, log, 0)
}

// migrateTo applies the migrations up to version (0: all of them).
func migrateTo(ctx context.Context, sqlDB *sql.DB, log *slog.Logger, version int64) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Poll for the lock every second (not goose's 5 s) for up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker), goose.WithSlog(log))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var results []*goose.MigrationResult
	if version > 0 {
		results, err = p.UpTo(ctx, version)
	} else {
		results, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", interpretError(err))
	}
	for _, r := range results {
		log.Info("migrated", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}
