package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/care360/care360"
)

// An open dialogue is transient: losing its last screen in a crash costs the
// subscriber a redial, so its writes skip waiting for the WAL flush
// (PERFORMANCE.md allows this for dialogues, never for points). The setting
// is made inside the statement with set_config(..., is_local => true), which
// is SET LOCAL for the statement's own implicit transaction: one round trip
// instead of BEGIN, SET LOCAL, write, COMMIT. The WHERE makes sure it runs.
const asyncCommit = `set_config('synchronous_commit', 'off', true) IS NOT NULL`

// LoadDialogue returns the dialogue under key, or nil when there is none or
// it has been idle for longer than idle (idle <= 0: any age).
func (db *DB) LoadDialogue(ctx context.Context, key string, idle time.Duration) (d *care360.Dialogue, err error) {
	defer wrap(&err, "load dialogue")
	since := db.idleSince(idle)
	err = db.trips.do(ctx, func(b *pgx.Batch) { b.Queue(loadDialogueSQL, key, since) },
		func(br pgx.BatchResults) (err error) {
			d, err = scanLoaded(br.QueryRow())
			return err
		})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// loadDialogueSQL reads the dialogue under $1 updated after $2.
const loadDialogueSQL = `SELECT key, msisdn, state, updated_at, account_on FROM ussd_dialogues WHERE key = $1 AND updated_at > $2`

// idleSince is the oldest update a dialogue idle for at most idle has
// (idle <= 0: any age; the zero time is older than any row).
func (db *DB) idleSince(idle time.Duration) time.Time {
	if idle <= 0 {
		return time.Time{}
	}
	return db.now().Add(-idle)
}

// scanLoaded scans a row of loadDialogueSQL: nil when there is none.
func scanLoaded(row pgx.Row) (*care360.Dialogue, error) {
	d := new(care360.Dialogue)
	err := row.Scan(&d.Key, &d.MSISDN, &d.State, &d.UpdatedAt, &d.AccountOn)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// LoadDialogueFor is LoadDialogue, and also msisdn's account when answer
// is one the dialogue names in AccountOn (care360.DialogueAccountLoader):
// both statements go in one round trip. The account's read is skipped by
// its own condition when the answer is not one of them, at the cost of a
// primary-key probe.
func (db *DB) LoadDialogueFor(ctx context.Context, key string, idle time.Duration, msisdn care360.MSISDN, answer string) (d *care360.Dialogue, a *care360.Account, err error) {
	defer wrap(&err, "load dialogue")
	since := db.idleSince(idle)
	now := db.now()
	err = db.trips.do(ctx, func(b *pgx.Batch) {
		b.Queue(loadDialogueSQL, key, since)
		b.Queue(accountSQL+`
		AND EXISTS (SELECT 1 FROM ussd_dialogues d WHERE d.key = $4 AND d.updated_at > $5 AND $6 = ANY(d.account_on))`,
			msisdn, db.yearAgo(now), now, key, since, answer)
	}, func(br pgx.BatchResults) (err error) {
		d, a = nil, nil
		if d, err = scanLoaded(br.QueryRow()); err != nil || d == nil {
			return err
		}
		a, err = db.scanAccount(br.QueryRow())
		return err
	})
	if err != nil || d == nil {
		return nil, nil, err
	}
	return d, a, nil
}

// Caller ends the caller's dialogues in progress, reads the subscriber and
// the dialogue under q.DroppedKey in one pipelined round trip
// (care360.CallerLoader). The trip is one implicit transaction, so the
// delete's asynchronous commit covers it all, and a failure loses nothing.
func (db *DB) Caller(ctx context.Context, msisdn care360.MSISDN, q care360.CallerQuery) (s *care360.Subscriber, d *care360.Dialogue, replaced []care360.Dialogue, err error) {
	defer wrap(&err, "load caller %s", msisdn.Masked())
	now := db.now()
	var subErr error
	err = db.trips.do(ctx, func(b *pgx.Batch) {
		if q.Replace {
			b.Queue(replaceSQL, msisdn, now.Add(-q.Idle))
		}
		b.Queue(`SELECT `+subscriberColumns+` FROM subscribers WHERE msisdn = $1`, msisdn)
		if q.DroppedKey != "" {
			b.Queue(loadDialogueSQL, q.DroppedKey, db.idleSince(q.DroppedWithin))
		}
	}, func(br pgx.BatchResults) (err error) {
		s, d, replaced, subErr = nil, nil, nil, nil
		if q.Replace {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			if replaced, err = pgx.CollectRows(rows, scanDialogue); err != nil {
				return err
			}
		}
		s, subErr = db.scanSubscriber(br.QueryRow())
		switch {
		case errors.Is(subErr, pgx.ErrNoRows):
			subErr = care360.Errorf(care360.ENOTFOUND, "no subscriber %s", msisdn.Masked())
		case subErr != nil:
			return subErr
		}
		if q.DroppedKey != "" {
			d, err = scanLoaded(br.QueryRow())
		}
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return s, d, replaced, subErr
}

// SaveDialogue creates or replaces the dialogue under d.Key, stamping
// d.UpdatedAt with the store's clock.
func (db *DB) SaveDialogue(ctx context.Context, d *care360.Dialogue) (err error) {
	defer wrap(&err, "save dialogue of %s", d.MSISDN.Masked())
	if d.Key == "" {
		return care360.Errorf(care360.EINVALID, "dialogue key is required")
	}
	state := d.State
	if state == nil {
		state = []byte{}
	}
	now := db.now()
	err = db.trips.do(ctx, func(b *pgx.Batch) {
		b.Queue(`
		INSERT INTO ussd_dialogues (key, msisdn, state, updated_at, account_on)
		SELECT $1, $2, $3, $4, $5 WHERE `+asyncCommit+`
		ON CONFLICT (key) DO UPDATE SET msisdn = excluded.msisdn, state = excluded.state, updated_at = excluded.updated_at,
			account_on = excluded.account_on`,
			d.Key, d.MSISDN, state, now, d.AccountOn)
	}, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
	if err == nil {
		d.UpdatedAt = now
	}
	return err
}

// ReplaceDialogues deletes msisdn's dialogues in progress (updated within
// idle; kept ones for resuming stay) and returns them (care360.
// DialogueReplacer): a new dial replaces them (PRODUCT.md §3.1), and their
// records say so. One statement on the msisdn index, per dial.
func (db *DB) ReplaceDialogues(ctx context.Context, msisdn care360.MSISDN, idle time.Duration) (ds []care360.Dialogue, err error) {
	defer wrap(&err, "replace dialogues of %s", msisdn.Masked())
	rows, err := db.pool.Query(ctx, replaceSQL, msisdn, db.now().Add(-idle))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDialogue)
}

// replaceSQL deletes $1's dialogues updated since $2, except those kept
// for resuming, and returns them.
const replaceSQL = `
	DELETE FROM ussd_dialogues WHERE msisdn = $1 AND updated_at > $2 AND key NOT LIKE 'resume/%' AND ` + asyncCommit + `
	RETURNING key, msisdn, state, updated_at`

func scanDialogue(r pgx.CollectableRow) (care360.Dialogue, error) {
	var d care360.Dialogue
	err := r.Scan(&d.Key, &d.MSISDN, &d.State, &d.UpdatedAt)
	return d, err
}

// DeleteDialogue forgets the dialogue under key, if any.
func (db *DB) DeleteDialogue(ctx context.Context, key string) (err error) {
	defer wrap(&err, "delete dialogue")
	_, err = db.pool.Exec(ctx, `DELETE FROM ussd_dialogues WHERE key = $1 AND `+asyncCommit, key)
	return err
}

// dialogueLock is the namespace of the dialogue locks: (dialogueLock,
// hashtext(key)). Two keys sharing a hash only wait for each other.
const dialogueLock = 0x0D1A

// WithDialogueLock runs fn holding a transaction-scoped advisory lock on
// key (care360.DialogueLocker). The lock lives as long as the transaction,
// so a gateway that dies mid-step frees it with its connection. Lock
// transactions have a pool of their own: were they on the pool fn uses,
// dialogues waiting for their locks could hold every connection while the
// steps holding the locks wait for one.
func (db *DB) WithDialogueLock(ctx context.Context, key string, fn func(ctx context.Context) error) (err error) {
	defer wrap(&err, "dialogue lock")
	pool, err := db.locks.get(ctx, db.pool)
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	// Nothing is written in tx: rolling back is how the lock is released.
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, dialogueLock, key); err != nil {
		return err
	}
	return fn(ctx)
}

// lockPool opens the dialogue locks' connections on first use, with the
// settings of the main pool and at most maxLockConns connections: a lock is
// held for one step of an HTTP session, a few milliseconds, so a few
// connections serve hundreds of steps a second, and the instance's
// connections to Postgres stay few (the USSD and API pools come first).
const maxLockConns = 8

type lockPool struct {
	mu     sync.Mutex
	pool   *pgxpool.Pool
	closed bool
}

func (l *lockPool) get(ctx context.Context, main *pgxpool.Pool) (*pgxpool.Pool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, care360.Errorf(care360.EUNAVAILABLE, "the database is closed")
	}
	if l.pool == nil {
		cfg := main.Config()
		cfg.MaxConns = min(cfg.MaxConns, maxLockConns)
		cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		l.pool = p
	}
	return l.pool, nil
}

func (l *lockPool) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.pool != nil {
		l.pool.Close()
	}
}

var _ care360.DialogueLocker = (*DB)(nil)
