package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// Two SERIALIZABLE transactions each read what the other writes (write skew):
// one must fail with 40001, and Transact runs it again until it succeeds.
func TestTransactRetriesSerializationFailure(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	var attempts atomic.Int32
	var read sync.WaitGroup // both have read before either writes, on the first try
	read.Add(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		first := true
		wg.Go(func() {
			errs[i] = b.db.TransactWith(b.ctx, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
				attempts.Add(1)
				var n int
				if err := tx.QueryRow(b.ctx, `SELECT count(*) FROM ussd_dialogues WHERE msisdn = '84900000000'`).Scan(&n); err != nil {
					return err
				}
				if first {
					first = false
					read.Done()
					waitTimeout(&read, 10*time.Second)
				}
				_, err := tx.Exec(b.ctx, `INSERT INTO ussd_dialogues VALUES ($1, '84900000000', '', now())`, fmt.Sprint("k", i, "-", n))
				return err
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := attempts.Load(); got < 3 {
		t.Errorf("%d attempts: no transaction was retried", got)
	}
	var n int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM ussd_dialogues`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d rows (%v), want 2", n, err)
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func TestTransactGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		err  error
		want int
	}{
		{&pgconn.PgError{Code: "40001"}, 5},
		{&pgconn.PgError{Code: "40P01"}, 5},
		{&pgconn.PgError{Code: "23505"}, 1},
		{errors.New("boom"), 1},
	} {
		calls := 0
		err := b.db.Transact(b.ctx, func(pgx.Tx) error { calls++; return c.err })
		if !errors.Is(err, c.err) || calls != c.want {
			t.Errorf("%v: %d calls, err %v; want %d calls", c.err, calls, err, c.want)
		}
	}
	// A cancelled context stops the retries.
	ctx, cancel := context.WithCancel(b.ctx)
	calls := 0
	err := b.db.Transact(ctx, func(pgx.Tx) error { calls++; cancel(); return &pgconn.PgError{Code: "40001"} })
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled: %d calls, %v", calls, err)
	}
}

// transactFrom's BEGIN travels with its first statements: what they and fn
// write commits together when fn succeeds, and nothing of it stays when fn
// fails or a statement of the first batch does; no connection is left in a
// transaction.
func TestTransactFromCommitsOrLeavesNothing(t *testing.T) {
	t.Parallel()
	url := pgtest.FreshDB(t)
	b := setupURL(t, url, store.Options{MaxConns: 2})
	ctx := b.ctx
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, `CREATE TABLE scratch (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(ns ...int) func(*pgx.Batch) {
		return func(b *pgx.Batch) {
			for _, n := range ns {
				b.Queue(`INSERT INTO scratch VALUES ($1)`, n)
			}
		}
	}
	refused := errors.New("refused")
	// Committed: the first batch's row and the one fn adds.
	err = store.TransactFrom(b.db, ctx, insert(1), func(tx pgx.Tx, br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scratch VALUES (2)`)
		return err
	})
	if err != nil {
		t.Fatalf("committed: %v", err)
	}
	// fn fails after writing: rolled back.
	err = store.TransactFrom(b.db, ctx, insert(3), func(tx pgx.Tx, br pgx.BatchResults) error {
		br.Close()
		if _, err := tx.Exec(ctx, `INSERT INTO scratch VALUES (4)`); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("fn fails: %v, want its error", err)
	}
	// A statement of the first batch fails (1 is taken): rolled back.
	err = store.TransactFrom(b.db, ctx, insert(5, 1), func(tx pgx.Tx, br pgx.BatchResults) error {
		br.Exec()
		_, err := br.Exec()
		return err
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("first batch fails: %v, want the duplicate key", err)
	}
	rows, _ := admin.Query(ctx, `SELECT n FROM scratch ORDER BY n`)
	got, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("rows %v (%v), want only the committed transaction's [1 2]", got, err)
	}
	var open int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&open); err != nil || open != 0 {
		t.Fatalf("%d connections left in a transaction (%v)", open, err)
	}
}
