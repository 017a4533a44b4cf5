package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// connect opens a connection of the test's own to url, closed when the
// test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// explain is what EXPLAIN says of query with args on q (a connection, a
// pool or a transaction), one line of the plan per line.
func explain(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, query string, args ...any) string {
	t.Helper()
	rows, err := q.Query(t.Context(), `EXPLAIN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// explainAnalyze is what EXPLAIN ANALYZE says of query with args on conn,
// run in a transaction that is rolled back: what a statement that writes
// did, without keeping its writes.
func explainAnalyze(t *testing.T, conn *pgx.Conn, query string, args ...any) string {
	t.Helper()
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	return explain(t, tx, "(ANALYZE) "+query, args...)
}

var hanoi = mustLoad("Asia/Ho_Chi_Minh")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// bundle is what most tests need: a store on the package database whose
// clock the test moves, and a context.
type bundle struct {
	db    *store.DB
	clock *clock
	ctx   context.Context
}

// setup opens a store on the package's shared database, so every test must
// use MSISDNs from newMSISDN.
func setup(t *testing.T) *bundle {
	t.Helper()
	return setupURL(t, pgtest.DB(t), store.Options{})
}

func setupURL(t *testing.T, url string, opt store.Options) *bundle {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, hanoi)}
	opt.Now = c.Now
	ctx := t.Context()
	db, err := store.Open(ctx, url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return &bundle{db: db, clock: c, ctx: ctx}
}

// exec runs a statement of the test's own on the bundle's database.
func (b *bundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.db.Pool().Exec(b.ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
}

// subscriber registers a new subscriber, who also agrees to marketing
// (as DK QC would record), and returns its MSISDN.
func (b *bundle) subscriber(t *testing.T) care360.MSISDN {
	t.Helper()
	m := newMSISDN()
	if _, created, err := b.db.Register(b.ctx, m, care360.LangVi, care360.ChannelUSSD); err != nil || !created {
		t.Fatalf("Register(%s) = %v, %v", m, created, err)
	}
	yes := true
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: m, SetMarketing: &yes}); err != nil {
		t.Fatal(err)
	}
	return m
}

var msisdns atomic.Int64

// newMSISDN returns a number no other test in this process uses.
func newMSISDN() care360.MSISDN {
	return care360.MSISDN(fmt.Sprintf("8490%07d", msisdns.Add(1)))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// wantCode fails the test unless err carries the domain code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := care360.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func day(s string) care360.Date {
	d, err := care360.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, hanoi)
	if err != nil {
		panic(err)
	}
	return t
}
