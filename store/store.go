// Package store keeps Care360's data in PostgreSQL through pgx/v5. It
// implements the domain's service interfaces (care360.SubscriberService,
// care360.PointsService, care360.DialogueStore), applies the embedded schema
// migrations, and turns driver errors into domain errors at its edge.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	_ "time/tzdata" // Asia/Ho_Chi_Minh must load in a minimal image too

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/care360/care360"
)

// DefaultLocation is where points expire and dates begin (CARE360_TIMEZONE).
const DefaultLocation = "Asia/Ho_Chi_Minh"

// Options configure a DB; the zero value is the product's defaults.
type Options struct {
	MaxConns  int32             // pool size; 0: pgxpool's default or the URL's pool_max_conns
	Location  *time.Location    // nil: Asia/Ho_Chi_Minh
	TierRules care360.TierRules // zero: care360.DefaultTierRules
	Now       func() time.Time  // nil: time.Now; tests move the clock
	Logger    *slog.Logger      // nil: discard
}

// DB is a pool of connections with the product's rules attached.
type DB struct {
	pool   *pgxpool.Pool
	loc    *time.Location
	rules  care360.TierRules
	clock  func() time.Time
	log    *slog.Logger
	locks  lockPool     // the dialogue locks' own connections (dialogue.go)
	trips  *sharedTrips // round trips shared by concurrent dialogue steps (shared_trips.go)
	redact redactWalk   // how far the retention sweep has redacted SMS texts (redact.go)
}

var (
	_ care360.SubscriberService = (*DB)(nil)
	_ care360.PointsService     = (*DB)(nil)
	_ care360.DialogueStore     = (*DB)(nil)
	_ care360.CallerLoader      = (*DB)(nil)
	_ care360.Pinger            = (*DB)(nil)
)

// hostTimeout is how long a connection attempt waits for each host of a
// URL naming several (unless the URL sets connect_timeout): a host gone
// silent must not keep the gateway from the next one, the new primary.
const hostTimeout = 3 * time.Second

// parseConfig reads a database URL. With several hosts
// (postgres://h1,h2/db?target_session_attrs=read-write, PRODUCT.md §1) each
// attempt is bounded by hostTimeout; without one, a host whose packets
// vanish would take the caller's whole deadline and the next host would
// never be tried.
//
// Sessions run with JIT compilation off unless the URL sets jit: the
// store's statements are keyed look-ups or batches (10,000 usage events in
// one statement) whose estimates pass jit_above_cost, and compiling such a
// batch took twice as long as running it (docs/benchmarks.md, "Batches
// that were compiled").
func parseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, care360.Errorf(care360.EINVALID, "invalid database URL: %v", err)
	}
	cc := cfg.ConnConfig
	if len(cc.Fallbacks) > 0 && cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = hostTimeout
	}
	if _, set := cc.RuntimeParams["jit"]; !set {
		cc.RuntimeParams["jit"] = "off"
	}
	return cfg, nil
}

// Open connects to the database at url (a postgres:// URL or key=value
// string, which may name several hosts) and checks that it answers. It does
// not migrate: call Migrate.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	db := &DB{loc: opt.Location, rules: opt.TierRules, clock: opt.Now, log: opt.Logger}
	if db.loc == nil {
		if db.loc, err = time.LoadLocation(DefaultLocation); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	if db.rules == (care360.TierRules{}) {
		db.rules = care360.DefaultTierRules
	}
	if db.clock == nil {
		db.clock = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open database: %w", interpretError(err))
	}
	if err := db.Ping(ctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.trips = newSharedTrips(db.pool)
	return db, nil
}

// Close closes every connection; it waits for connections in use.
func (db *DB) Close() { db.trips.close(); db.pool.Close(); db.locks.close() }

// Ping reports whether the database answers (care360.Pinger, for /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", interpretError(err))
	}
	return nil
}

// Pool is the underlying pool, for benchmarks and for tests that need SQL the
// store does not offer.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// now is the clock in microseconds, which is what timestamptz keeps: an entry
// built in Go then compares equal to the same entry read back.
func (db *DB) now() time.Time { return db.clock().Truncate(time.Microsecond) }

// params collects a statement's arguments while its text is built: add
// appends one and returns its placeholder ($1, $2, …).
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}
