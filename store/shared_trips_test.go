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
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

var tripKeys atomic.Int64

// tripKey is a dialogue key no other test of the package uses.
func tripKey() string { return fmt.Sprintf("trip-test/%d", tripKeys.Add(1)) }

// saveTrip saves state under key as SaveDialogue does, asynchronously
// committed.
func saveTrip(ctx context.Context, key, state string) *store.Trip {
	return store.NewTrip(ctx, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO ussd_dialogues (key, msisdn, state, updated_at)
			SELECT $1, '84900000000', $2, now() WHERE `+store.AsyncCommit+`
			ON CONFLICT (key) DO UPDATE SET state = excluded.state`, key, []byte(state))
	}, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
}

// loadTrip reads the state under key into got, and queues a second
// statement it reads only when asked: a trip may leave results unread.
func loadTrip(ctx context.Context, key string, got *string, readSecond bool) *store.Trip {
	return store.NewTrip(ctx, func(b *pgx.Batch) {
		b.Queue(`SELECT state FROM ussd_dialogues WHERE key = $1`, key)
		b.Queue(`SELECT 'second of ' || $1::text`, key)
	}, func(br pgx.BatchResults) error {
		var b []byte
		if err := br.QueryRow().Scan(&b); err != nil {
			return err
		}
		*got = string(b)
		if !readSecond {
			return nil
		}
		var second string
		if err := br.QueryRow().Scan(&second); err != nil {
			return err
		}
		if second != "second of "+key {
			return fmt.Errorf("second result %q is another trip's", second)
		}
		return nil
	})
}

func stateOf(t *testing.T, pool *pgxpool.Pool, key string) string {
	t.Helper()
	var b []byte
	if err := pool.QueryRow(t.Context(), `SELECT state FROM ussd_dialogues WHERE key = $1`, key).Scan(&b); err != nil {
		t.Fatalf("dialogue %s: %v", key, err)
	}
	return string(b)
}

// A shared batch gives each trip its own results, in its own order, also
// after a trip that left some of its results unread.
func TestSharedBatchGivesEachTripItsOwnResults(t *testing.T) {
	t.Parallel()
	ctx, pool := t.Context(), setup(t).db.Pool()
	s := store.NewSharedTrips(pool)
	keys := []string{tripKey(), tripKey(), tripKey(), tripKey()}
	var saves []*store.Trip
	for i, k := range keys {
		saves = append(saves, saveTrip(ctx, k, fmt.Sprintf("state %d", i)))
	}
	s.Run(saves)
	got := make([]string, len(keys))
	var loads []*store.Trip
	for i, k := range keys {
		loads = append(loads, loadTrip(ctx, k, &got[i], i%2 == 0))
	}
	s.Run(loads)
	for i, tr := range append(saves, loads...) {
		if tr.Err() != nil {
			t.Errorf("trip %d: %v", i, tr.Err())
		}
	}
	for i := range keys {
		if want := fmt.Sprintf("state %d", i); got[i] != want {
			t.Errorf("load of %s = %q, want %q", keys[i], got[i], want)
		}
	}
	if b, n, again := s.Sent(); b != 2 || n != 8 || again != 0 {
		t.Errorf("sent %d trips in %d batches, %d of them again alone; want 8 in 2, none again", n, b, again)
	}
}

// When one trip of a shared batch fails, the batch rolled back as a whole:
// every other trip is sent again alone and does what it asked, and only
// the failing trip sees the error.
func TestSharedBatchFailureFailsOnlyItsTrip(t *testing.T) {
	t.Parallel()
	ctx, pool := t.Context(), setup(t).db.Pool()
	s := store.NewSharedTrips(pool)
	before, after, kept := tripKey(), tripKey(), tripKey()
	s.Run([]*store.Trip{saveTrip(ctx, kept, "kept")})
	var loaded string
	bad := store.NewTrip(ctx, func(b *pgx.Batch) { b.Queue(`SELECT 1 / 0`) }, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
	ts := []*store.Trip{saveTrip(ctx, before, "before"), bad, saveTrip(ctx, after, "after"), loadTrip(ctx, kept, &loaded, true)}
	s.Run(ts)
	var pe *pgconn.PgError
	if !errors.As(bad.Err(), &pe) || pe.Code != "22012" {
		t.Errorf("failing trip's error = %v, want division by zero", bad.Err())
	}
	for i, tr := range ts {
		if tr != bad && tr.Err() != nil {
			t.Errorf("trip %d failed with another's error: %v", i, tr.Err())
		}
	}
	if got := stateOf(t, pool, before); got != "before" {
		t.Errorf("trip before the failure saved %q", got)
	}
	if got := stateOf(t, pool, after); got != "after" {
		t.Errorf("trip after the failure saved %q", got)
	}
	if loaded != "kept" {
		t.Errorf("load after the failure = %q, want kept", loaded)
	}
	if _, _, again := s.Sent(); again != int64(len(ts)) {
		t.Errorf("%d trips sent again alone, want all %d", again, len(ts))
	}
}

// A trip whose caller gave up is sent with the others, but its read never
// runs: the caller's variables are its own again.
func TestGoneTripIsReadAndDropped(t *testing.T) {
	t.Parallel()
	ctx, pool := t.Context(), setup(t).db.Pool()
	s := store.NewSharedTrips(pool)
	a, b := tripKey(), tripKey()
	s.Run([]*store.Trip{saveTrip(ctx, a, "a"), saveTrip(ctx, b, "b")})
	var gotA, gotB string
	gone := loadTrip(ctx, a, &gotA, true)
	gone.GiveUp()
	kept := loadTrip(ctx, b, &gotB, true)
	s.Run([]*store.Trip{gone, kept})
	if gotA != "" {
		t.Errorf("the gone trip's read ran: %q", gotA)
	}
	if gotB != "b" || kept.Err() != nil {
		t.Errorf("the trip after a gone one read %q, %v; want b", gotB, kept.Err())
	}
}

// Concurrent dialogue steps through the store's API share round trips,
// and each still gets its own dialogue back.
func TestDialogueStepsShareRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := setupURL(t, pgtest.DB(t), store.Options{MaxConns: 8}).db
	const callers, rounds = 64, 10
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			for r := range rounds {
				d := &care360.Dialogue{Key: tripKey(), MSISDN: "84900000000", State: fmt.Appendf(nil, "%d/%d", c, r)}
				if err := db.SaveDialogue(ctx, d); err != nil {
					errs <- err
					return
				}
				got, err := db.LoadDialogue(ctx, d.Key, 0)
				if err != nil || got == nil || string(got.State) != string(d.State) {
					errs <- fmt.Errorf("load of %s = %v, %v; want state %s", d.Key, got, err, d.State)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b, n, _ := db.SharedTrips().Sent()
	if n != 2*callers*rounds {
		t.Errorf("%d trips sent, want %d", n, 2*callers*rounds)
	}
	if b >= n {
		t.Errorf("%d trips in %d round trips: none shared", n, b)
	}
	t.Logf("%d trips in %d round trips", n, b)
}

// A caller whose context ends while its trip waits gets the context's
// error.
func TestTripCallerGivesUp(t *testing.T) {
	t.Parallel()
	db := setup(t).db
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := db.LoadDialogue(ctx, tripKey(), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadDialogue with an ended context = %v, want context.Canceled", err)
	}
}

// A shared batch ends once every caller in it has given up: a database
// gone silent holds no sender for longer.
func TestSharedBatchEndsWhenEveryCallerGaveUp(t *testing.T) {
	t.Parallel()
	pool := setup(t).db.Pool()
	s := store.NewSharedTrips(pool)
	sleep := func(ctx context.Context) *store.Trip {
		return store.NewTrip(ctx, func(b *pgx.Batch) { b.Queue(`SELECT pg_sleep(30)`) }, func(br pgx.BatchResults) error {
			_, err := br.Exec()
			return err
		})
	}
	// Callers that give up without a deadline: a hang-up, a shutdown.
	one, cancel1 := context.WithCancel(t.Context())
	two, cancel2 := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel1)
	time.AfterFunc(200*time.Millisecond, cancel2)
	ts := []*store.Trip{sleep(one), sleep(two)}
	start := time.Now()
	s.Run(ts)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the batch ran %s after its callers gave up", took)
	}
	for i, tr := range ts {
		if tr.Err() == nil {
			t.Errorf("trip %d of a batch cut short has no error", i)
		}
	}
}
