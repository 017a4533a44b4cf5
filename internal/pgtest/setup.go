package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/care360/care360/internal/pglocal"
	"github.com/care360/care360/store"
)

func ready(t testing.TB) {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest: call pgtest.Main(m) from this package's TestMain")
	}
	if skipReason != "" {
		t.Skip(skipReason)
	}
	setupOnce.Do(setup)
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// setup connects (starting a cluster if need be) and migrates the template.
func setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setupErr = func() error {
		if adminURL == "" {
			var err error
			if tmpDir, err = os.MkdirTemp("", "care360-pgtest-"); err != nil {
				return err
			}
			cluster, err = pglocal.Start(ctx, pglocal.Options{DataDir: filepath.Join(tmpDir, "pg"), Fast: true})
			if err != nil {
				return err
			}
			adminURL = cluster.URL("postgres")
		}
		if u, err := url.Parse(adminURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("%s must be a postgres:// URL", EnvURL)
		}
		cfg, err := pgxpool.ParseConfig(adminURL)
		if err != nil {
			return err
		}
		cfg.MaxConns = 4
		if admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return err
		}
		template = dbName("tmpl")
		if err := exec(ctx, "CREATE DATABASE "+ident(template)); err != nil {
			return err
		}
		if err := store.Migrate(ctx, urlFor(template)); err != nil {
			return fmt.Errorf("migrate the template database: %w", err)
		}
		return nil
	}()
	if setupErr != nil {
		setupErr = fmt.Errorf("pgtest: %w", setupErr)
	}
}

// copyTemplate creates a database from the migrated template.
func copyTemplate() (string, error) {
	name := dbName("")
	// The copy needs the template to have no sessions; the migration's last
	// one may take a moment to go, which CREATE DATABASE waits for.
	err := exec(context.Background(), "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	return urlFor(name), nil
}

func cleanupDrop(t testing.TB, u string) {
	t.Cleanup(func() {
		name := strings.TrimPrefix(mustParse(u).Path, "/")
		if err := drop(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
}

func drop(name string) error {
	err := exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
	mu.Lock()
	defer mu.Unlock()
	for i, n := range created {
		if n == name {
			created = append(created[:i], created[i+1:]...)
			break
		}
	}
	return err
}

// exec runs an admin statement, remembering created databases.
func exec(ctx context.Context, sql string) error {
	if _, err := admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	if f := strings.Fields(sql); len(f) > 2 && f[0] == "CREATE" && f[1] == "DATABASE" {
		mu.Lock()
		created = append(created, strings.Trim(f[2], `"`))
		mu.Unlock()
	}
	return nil
}

func teardown() error {
	var errs []error
	if admin != nil {
		if cluster == nil { // a shared server: leave it as we found it
			mu.Lock()
			names := append([]string(nil), created...)
			mu.Unlock()
			for _, n := range names {
				errs = append(errs, drop(n))
			}
		}
		admin.Close()
	}
	if cluster != nil {
		errs = append(errs, cluster.Stop())
		errs = append(errs, os.RemoveAll(tmpDir))
	}
	return errors.Join(errs...)
}

// dbName is care360_test_<package>[_<what>]_<random>, so that a database
// left behind on a shared server says where it came from.
func dbName(what string) string {
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	pkg = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, pkg)
	if len(pkg) > 20 {
		pkg = pkg[:20]
	}
	if what != "" {
		pkg += "_" + what
	}
	b := make([]byte, 5)
	rand.Read(b)
	return "care360_test_" + pkg + "_" + hex.EncodeToString(b)
}

func urlFor(name string) string {
	u := mustParse(adminURL)
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
