package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// Transfers moves points between subscribers (CD, menu 7) with
// confirmation, on the ledger's own rules: the sender's earliest-expiring
// points are debited with allocations, and the recipient is credited bonus
// points that keep each allocated credit's expiry date.
type Transfers struct {
	db    *DB
	rules care360.TransferRules
}

var _ care360.TransferService = (*Transfers)(nil)

// NewTransfers returns the transfer service on db; zero rules are the
// product's defaults.
func NewTransfers(db *DB, rules care360.TransferRules) *Transfers {
	return &Transfers{db: db, rules: rules.WithDefaults()}
}

// Rules are the transfer rules in force.
func (t *Transfers) Rules() care360.TransferRules { return t.rules }

const transferColumns = `id, sender, recipient, points, status, created_at, expires_at, confirmed_at`

// RequestTransfer checks every rule and records a pending transfer that
// replaces any earlier one of the sender.
func (t *Transfers) RequestTransfer(ctx context.Context, from, to care360.MSISDN, points int64) (tr *care360.Transfer, err error) {
	defer wrap(&err, "request transfer from %s", from.Masked())
	if err := t.rules.Check(from, to, points); err != nil {
		return nil, err
	}
	now := t.db.now()
	err = t.db.Transact(ctx, func(tx pgx.Tx) error {
		if err := t.check(ctx, tx, from, to, points, 0, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE points_transfers SET status = 'cancelled' WHERE sender = $1 AND status = 'pending'`, from); err != nil {
			return err
		}
		tr, err = scanTransfer(tx.QueryRow(ctx, `
			INSERT INTO points_transfers (sender, recipient, points, status, created_at, expires_at)
			VALUES ($1, $2, $3, 'pending', $4, $5) RETURNING `+transferColumns,
			from, to, points, now, now.Add(t.rules.ConfirmWithin)))
		return err
	})
	return tr, err
}

// check applies the rules that need data, with the sender's row locked so
// that the balance and the month's transfers cannot change meanwhile.
// Transfer self (being confirmed) is not counted against the monthly cap.
func (t *Transfers) check(ctx context.Context, tx pgx.Tx, from, to care360.MSISDN, points, self int64, now time.Time) error {
	sender, err := t.db.scanSubscriber(tx.QueryRow(ctx, `SELECT `+subscriberColumns+` FROM subscribers WHERE msisdn = $1 FOR UPDATE`, from))
	if err != nil {
		return notFound(err, "no subscriber %s", from.Masked())
	}
	if err := sender.CheckHold(); err != nil {
		return err
	}
	if sender.Tier.Rank() < t.rules.MinTier.Rank() {
		return care360.Refused(care360.ReasonTier, "only members of tier %s and above may give points", t.rules.MinTier)
	}
	var exists bool
	var spendable, sent int64
	err = tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = $2),
			(SELECT coalesce(sum(remaining), 0) FROM points_ledger WHERE msisdn = $1 AND remaining > 0 AND expires_at > $3),
			(SELECT coalesce(sum(points), 0) FROM points_transfers WHERE sender = $1 AND status = 'confirmed' AND confirmed_at >= $4 AND id <> $5)`,
		from, to, now, t.monthStart(now), self).Scan(&exists, &spendable, &sent)
	switch {
	case err != nil:
		return err
	case !exists:
		return care360.Errorf(care360.ENOTFOUND, "no subscriber %s", to.Masked())
	case spendable < points:
		return care360.Refused(care360.ReasonInsufficientPoints, "not enough points: %d spendable, %d asked", spendable, points)
	case sent+points > t.rules.MonthlyCap:
		return care360.Refused(care360.ReasonLimitReached, "monthly limit: %d of %d points already given", sent, t.rules.MonthlyCap)
	}
	return nil
}

// monthStart is the first instant of now's calendar month, local time.
func (t *Transfers) monthStart(now time.Time) time.Time {
	l := now.In(t.db.loc)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, t.db.loc)
}

// ConfirmTransfer moves the points of from's pending transfer, exactly once:
// flipping it from pending to confirmed is the first thing the transaction
// does, under the row lock, so a second Y finds nothing. Debit, credits and
// both notifications commit together. A confirmation with a key that
// confirmed a transfer already returns that transfer again, moving
// nothing (a retried dialogue step).
func (t *Transfers) ConfirmTransfer(ctx context.Context, from care360.MSISDN, key string, notify care360.TransferNotifier) (tr *care360.Transfer, err error) {
	defer wrap(&err, "confirm transfer from %s", from.Masked())
	if len(key) > 200 {
		return nil, care360.Errorf(care360.EINVALID, "idempotency key is longer than 200 bytes")
	}
	now := t.db.now()
	replay := false
	err = t.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		if key != "" {
			tr, err = scanTransfer(tx.QueryRow(ctx, `SELECT `+transferColumns+` FROM points_transfers WHERE sender = $1 AND confirm_key = $2`, from, key))
			if err == nil {
				replay = true
				return t.balances(ctx, tx, tr, now)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		tr, err = scanTransfer(tx.QueryRow(ctx, `
			UPDATE points_transfers SET status = CASE WHEN expires_at > $2 THEN 'confirmed' ELSE 'expired' END,
				confirmed_at = CASE WHEN expires_at > $2 THEN $2::timestamptz END,
				confirm_key = CASE WHEN expires_at > $2 THEN NULLIF($3, '') END
			WHERE sender = $1 AND status = 'pending' RETURNING `+transferColumns, from, now, key))
		if err != nil {
			return notFound(err, "no transfer of %s is waiting for confirmation", from.Masked())
		}
		if tr.Status == care360.TransferExpired {
			return nil // commit the mark; the caller hears "lapsed" below
		}
		// Both rows in a fixed order, so two transfers between the same
		// pair in opposite directions cannot deadlock.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM subscribers WHERE msisdn IN ($1, $2) ORDER BY msisdn FOR UPDATE`, tr.From, tr.To); err != nil {
			return err
		}
		if err := t.check(ctx, tx, tr.From, tr.To, tr.Points, tr.ID, now); err != nil {
			return err
		}
		if err := t.move(ctx, tx, tr, now); err != nil {
			return err
		}
		if notify != nil {
			return insertTransactional(ctx, tx, now, notify(tr))
		}
		return nil
	})
	if err == nil && tr.Status == care360.TransferExpired {
		return nil, care360.Refused(care360.ReasonWindow, "the transfer was not confirmed within %s", t.rules.ConfirmWithin)
	}
	if err != nil || replay {
		return tr, err
	}
	t.db.log.Info("points transferred", "from", tr.From.Masked(), "to", tr.To.Masked(), "points", tr.Points, "transfer", tr.ID)
	return tr, nil
}

// move debits the sender (earliest-expiring first, recorded as allocations)
// and credits the recipient one bonus credit per expiry date it took, then
// fills in what the notifications say.
func (t *Transfers) move(ctx context.Context, tx pgx.Tx, tr *care360.Transfer, now time.Time) error {
	key := fmt.Sprintf("transfer:%d", tr.ID)
	debit, _, err := t.db.debit(ctx, tx, tr.From, care360.PointsChange{
		Kind: care360.PointsBonus, Points: -tr.Points, Reason: fmt.Sprintf("transfer #%d to %s", tr.ID, tr.To), IdempotencyKey: key,
	}, now, now)
	if err != nil {
		return err
	}
	if err := creditBack(ctx, tx, debit.ID, tr.To, fmt.Sprintf("transfer #%d from %s", tr.ID, tr.From), key, now); err != nil {
		return err
	}
	return t.balances(ctx, tx, tr, now)
}

// balances fills in what the notifications and screens say: both sides'
// languages and spendable points now.
func (t *Transfers) balances(ctx context.Context, tx pgx.Tx, tr *care360.Transfer, now time.Time) error {
	return tx.QueryRow(ctx, `
		SELECT f.language, r.language,
			(SELECT coalesce(sum(remaining), 0) FROM points_ledger WHERE msisdn = $1 AND remaining > 0 AND expires_at > $3),
			(SELECT coalesce(sum(remaining), 0) FROM points_ledger WHERE msisdn = $2 AND remaining > 0 AND expires_at > $3)
		FROM subscribers f, subscribers r WHERE f.msisdn = $1 AND r.msisdn = $2`,
		tr.From, tr.To, now).Scan(&tr.FromLang, &tr.ToLang, &tr.FromSpendable, &tr.ToSpendable)
}

// CancelTransfer drops from's pending transfer; one that had already lapsed
// is marked expired and does not count as cancelled.
func (t *Transfers) CancelTransfer(ctx context.Context, from care360.MSISDN) (cancelled bool, err error) {
	defer wrap(&err, "cancel transfer of %s", from.Masked())
	var status care360.TransferStatus
	err = t.db.pool.QueryRow(ctx, `
		UPDATE points_transfers SET status = CASE WHEN expires_at > $2 THEN 'cancelled' ELSE 'expired' END
		WHERE sender = $1 AND status = 'pending' RETURNING status`, from, t.db.now()).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return status == care360.TransferCancelled, err
}

func scanTransfer(row pgx.Row) (*care360.Transfer, error) {
	var t care360.Transfer
	if err := row.Scan(&t.ID, &t.From, &t.To, &t.Points, &t.Status, &t.CreatedAt, &t.ExpiresAt, &t.ConfirmedAt); err != nil {
		return nil, err
	}
	return &t, nil
}
