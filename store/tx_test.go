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
