// Package pgtest gives tests real PostgreSQL databases with the schema
// applied. Every test package that needs one calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// With CARE360_TEST_DATABASE_URL set, databases are created through that
// connection (its role needs CREATEDB); otherwise Main starts a throwaway
// local cluster from the system binaries the first time a test asks for a
// database. Without either, tests that ask are skipped, unless CI is set:
// then the package fails, so that CI never passes by testing nothing.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/care360/care360/internal/pglocal"
)

// EnvURL names the variable holding an admin connection URL to use instead
// of a local cluster.
const EnvURL = "CARE360_TEST_DATABASE_URL"

var (
	mainCalled bool
	skipReason string // set by Main when there is no database to be had

	setupOnce sync.Once
	setupErr  error
	adminURL  string
	admin     *pgxpool.Pool
	cluster   *pglocal.Cluster
	tmpDir    string
	template  string // migrated once; test databases are copies of it

	pkgOnce sync.Once
	pkgURL  string
	pkgErr  error

	mu      sync.Mutex
	created []string // databases to drop after the tests, on a shared server
)

// Main runs the tests and exits: call it from TestMain. It starts nothing
// until a test asks for a database, and afterwards drops what was created and
// stops the cluster it started.
func Main(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	mainCalled = true
	if adminURL = os.Getenv(EnvURL); adminURL == "" {
		if _, err := pglocal.FindBinaries(); err != nil {
			if os.Getenv("CI") != "" {
				fmt.Fprintf(os.Stderr, "pgtest: %v\npgtest: CI is set, so this is a failure, not a skip (or set %s)\n", err, EnvURL)
				return 1
			}
			skipReason = fmt.Sprintf("pgtest: no PostgreSQL for this test: %v (or set %s)", err, EnvURL)
		}
	}
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// DB returns the URL of this test package's database, created and migrated
// on first use and shared by all its tests: give each test its own MSISDNs.
func DB(t testing.TB) string {
	t.Helper()
	ready(t)
	pkgOnce.Do(func() { pkgURL, pkgErr = copyTemplate() })
	if pkgErr != nil {
		t.Fatal(pkgErr)
	}
	return pkgURL
}

// FreshDB returns the URL of a new migrated database for this test alone,
// dropped when the test ends.
func FreshDB(t testing.TB) string {
	t.Helper()
	ready(t)
	u, err := copyTemplate()
	if err != nil {
		t.Fatal(err)
	}
	cleanupDrop(t, u)
	return u
}

// EmptyDB returns the URL of a new database with no schema at all (for
// migration tests), dropped when the test ends.
func EmptyDB(t testing.TB) string {
	t.Helper()
	ready(t)
	name := dbName("empty")
	if err := exec(context.Background(), "CREATE DATABASE "+ident(name)); err != nil {
		t.Fatal(err)
	}
	u := urlFor(name)
	cleanupDrop(t, u)
	return u
}

// Cluster returns the local cluster this process started, or nil when the
// databases come from CARE360_TEST_DATABASE_URL or none could be had. Tests
// that restart the server use it; they must not run in parallel with others.
func Cluster() *pglocal.Cluster {
	if !mainCalled || skipReason != "" {
		return nil
	}
	setupOnce.Do(setup)
	return cluster
}
