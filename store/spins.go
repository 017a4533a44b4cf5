package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

// Spins runs the lucky spins (PRODUCT.md §4.5). A spin is one transaction:
// free spin or points, the prize taken from stock, the record and the SMS.
type Spins struct {
	db     *DB
	groups *groups[spinRequest, *care360.SpinResult] // spins made together (spin_groups.go)

	// wheels are the tables spun here, by id (a *wheel each), as last
	// read: a spin is drawn on the one kept, and its transaction makes it
	// only if the table's version is still that one (migration 00047).
	wheels sync.Map
}

// wheel is a spin table as read at one version; t is never changed once
// kept, so spins share it. Its prizes' Remaining is the stock when it was
// read: a spin never looks at it (its transaction takes the stock).
type wheel struct {
	t       *care360.SpinTable
	version int64
}

// errWheelChanged refuses, inside its transaction, a spin drawn on a table
// that has changed since it was read: the spin is not made, and Spin draws
// it again on the table as it is now.
var errWheelChanged = errors.New("the spin table changed after it was read")

// spinAttempts bounds how many times Spin draws again on a table that
// keeps changing under it.
const spinAttempts = 3

var _ care360.SpinService = (*Spins)(nil)

// NewSpins returns the spin service on db.
func NewSpins(db *DB) *Spins {
	s := &Spins{db: db}
	s.groups = newSpinGroups(s)
	return s
}

const spinTableColumns = `t.id, t.code, t.name, t.name_en, t.cost_points, t.daily_cap, t.no_prize_weight, t.starts_at, t.ends_at, t.active, t.created_at`

func spinTableDest(t *care360.SpinTable) []any {
	return []any{&t.ID, &t.Code, &t.Name, &t.NameEn, &t.CostPoints, &t.DailyCap, &t.NoPrizeWeight, &t.StartsAt, &t.EndsAt, &t.Active, &t.CreatedAt}
}

// spinPrizeColumns read a prize from p, its stock summed over its stripes.
const spinPrizeColumns = `p.id, p.slot, p.name, p.name_en, p.weight, p.inventory,
	(SELECT coalesce(sum(remaining), 0)::bigint FROM spin_stock k WHERE k.prize_id = p.id), p.collect, p.collect_en`

// spinStripes is how many rows a new prize's stock is spread over: about
// the number of spins that may be in flight at once, as for gifts. A
// prize keeps the stripes it was made with (nothing spreads its stock
// again), so prizes made with 16 need no change.
const spinStripes = 64

func spinPrizeDest(p *care360.SpinPrize) []any {
	return []any{&p.ID, &p.Slot, &p.Name, &p.NameEn, &p.Weight, &p.Inventory, &p.Remaining, &p.Collect, &p.CollectEn}
}

// CreateSpinTable stocks a table: each prize's inventory is spread over
// its stripes. Prizes take slots 1.. in the order given.
func (s *Spins) CreateSpinTable(ctx context.Context, t *care360.SpinTable, key string) (replay bool, err error) {
	defer wrap(&err, "create spin table %q", t.Code)
	if err := t.Validate(); err != nil {
		return false, err
	}
	var k *string
	if key != "" {
		k = &key
	}
	var id int64
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO spin_tables (code, name, name_en, cost_points, daily_cap, no_prize_weight, starts_at, ends_at, idempotency_key, request_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
			t.Code, t.Name, t.NameEn, t.CostPoints, t.DailyCap, t.NoPrizeWeight, t.StartsAt, t.EndsAt, k, t.RequestHash, s.db.now()).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			replay = true
			var stored []byte
			if err := tx.QueryRow(ctx, `SELECT id, request_hash FROM spin_tables WHERE idempotency_key = $1`, key).Scan(&id, &stored); err != nil {
				return err
			}
			return sameRequest(key, stored, t.RequestHash)
		}
		if err != nil {
			return err
		}
		var names, namesEn, collect, collectEn []string
		var weights, inventory []int64
		for _, p := range t.Prizes {
			names, namesEn = append(names, p.Name), append(namesEn, p.NameEn)
			weights, inventory = append(weights, p.Weight), append(inventory, p.Inventory)
			collect, collectEn = append(collect, p.Collect), append(collectEn, p.CollectEn)
		}
		_, err = tx.Exec(ctx, `
			WITH p AS (
				INSERT INTO spin_prizes (table_id, slot, name, name_en, weight, inventory, collect, collect_en)
				SELECT $1, row_number() OVER (), n, ne, w, i, c, ce
				FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[]) AS u (n, ne, w, i, c, ce)
				RETURNING id, inventory
			)
			INSERT INTO spin_stock (prize_id, stripe, remaining)
			SELECT p.id, k, p.inventory / $8 + (k < p.inventory % $8)::int FROM p, generate_series(0, $8 - 1) k`,
			id, names, namesEn, weights, inventory, collect, collectEn, spinStripes)
		return err
	})
	if err != nil {
		return false, err
	}
	got, err := s.table(ctx, s.db.pool, id)
	if err != nil {
		return false, err
	}
	*t = *got
	return replay, nil
}

// SpinTables lists tables newest first (at most 200) with their stock.
func (s *Spins) SpinTables(ctx context.Context, activeOnly bool) (ts []care360.SpinTable, err error) {
	defer wrap(&err, "list spin tables")
	rows, err := s.db.pool.Query(ctx, `SELECT `+spinTableColumns+` FROM spin_tables t
		WHERE NOT $1 OR (t.active AND t.starts_at <= $2 AND t.ends_at > $2) ORDER BY t.id DESC LIMIT 200`, activeOnly, s.db.now())
	if err != nil {
		return nil, err
	}
	ts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.SpinTable, error) {
		var t care360.SpinTable
		return t, r.Scan(spinTableDest(&t)...)
	})
	if err != nil || len(ts) == 0 {
		return ts, err
	}
	byID := make(map[int64]*care360.SpinTable, len(ts))
	ids := make([]int64, len(ts))
	for i := range ts {
		byID[ts[i].ID], ids[i] = &ts[i], ts[i].ID
	}
	rows, err = s.db.pool.Query(ctx, `SELECT p.table_id, `+spinPrizeColumns+` FROM spin_prizes p WHERE p.table_id = ANY($1) ORDER BY p.table_id, p.slot`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p care360.SpinPrize
		if err := rows.Scan(append([]any{&id}, spinPrizeDest(&p)...)...); err != nil {
			return nil, err
		}
		byID[id].Prizes = append(byID[id].Prizes, p)
	}
	return ts, rows.Err()
}

// UpdateSpinTable applies u under the table's row lock and checks the
// result as a whole. The prizes and their stock are not touched.
func (s *Spins) UpdateSpinTable(ctx context.Context, id int64, u care360.SpinTableUpdate) (t *care360.SpinTable, err error) {
	defer wrap(&err, "update spin table %d", id)
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM spin_tables WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		if t, err = s.table(ctx, tx, id); err != nil {
			return err
		}
		u.Apply(t)
		if err := t.Validate(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE spin_tables SET name = $2, name_en = $3, cost_points = $4, daily_cap = $5, no_prize_weight = $6,
				starts_at = $7, ends_at = $8, active = $9
			WHERE id = $1`, id, t.Name, t.NameEn, t.CostPoints, t.DailyCap, t.NoPrizeWeight, t.StartsAt, t.EndsAt, t.Active); err != nil {
			return err
		}
		t, err = s.table(ctx, tx, id)
		return err
	})
	if err == nil {
		s.wheels.Delete(id) // spins here read it again at once; elsewhere, their transaction finds the new version
	}
	return t, err
}

// table reads one table with its prizes.
func (s *Spins) table(ctx context.Context, q rowsQuerier, id int64) (*care360.SpinTable, error) {
	w, err := s.readWheel(ctx, q, id)
	if err != nil {
		return nil, err
	}
	return w.t, nil
}

// readWheel reads one table with its prizes and its version.
func (s *Spins) readWheel(ctx context.Context, q rowsQuerier, id int64) (*wheel, error) {
	rows, err := q.Query(ctx, `SELECT t.version, `+spinTableColumns+`, `+spinPrizeColumns+`
		FROM spin_tables t JOIN spin_prizes p ON p.table_id = t.id WHERE t.id = $1 ORDER BY p.slot`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	w := &wheel{t: &care360.SpinTable{}}
	for rows.Next() {
		var p care360.SpinPrize
		if err := rows.Scan(append(append([]any{&w.version}, spinTableDest(w.t)...), spinPrizeDest(&p)...)...); err != nil {
			return nil, err
		}
		w.t.Prizes = append(w.t.Prizes, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if w.t.ID == 0 {
		return nil, care360.Errorf(care360.ENOTFOUND, "no spin table %d", id)
	}
	return w, nil
}

// GrantSpins gives free spins, set-based; numbers that are not members are
// rejected, keys already used are duplicates. A grant without an expiry
// lasts as long as the table.
func (s *Spins) GrantSpins(ctx context.Context, tableID int64, grants []care360.SpinGrant) (res []care360.GrantResult, err error) {
	defer wrap(&err, "grant spins on table %d", tableID)
	t, err := s.table(ctx, s.db.pool, tableID)
	if err != nil {
		return nil, err
	}
	var msisdns, reasons, keys []string
	var spins []int32
	var expires []time.Time
	for _, g := range grants {
		if err := g.Validate(); err != nil {
			return nil, err
		}
		if g.ExpiresAt.IsZero() {
			g.ExpiresAt = t.EndsAt
		}
		msisdns, reasons, keys = append(msisdns, string(g.MSISDN)), append(reasons, g.Reason), append(keys, g.IdempotencyKey)
		spins, expires = append(spins, int32(g.Spins)), append(expires, g.ExpiresAt)
	}
	rows, err := s.db.pool.Query(ctx, `
		WITH u AS (
			SELECT *, row_number() OVER (PARTITION BY m, k ORDER BY i) AS nth
			FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::timestamptz[]) WITH ORDINALITY AS u (m, n, r, k, x, i)
		),
		ins AS (
			INSERT INTO spin_grants (table_id, msisdn, spins, remaining, reason, idempotency_key, expires_at, created_at)
			SELECT $1, u.m, u.n, u.n, u.r, u.k, u.x, $7 FROM u JOIN subscribers s ON s.msisdn = u.m WHERE u.nth = 1
			ON CONFLICT (msisdn, idempotency_key) DO NOTHING
			RETURNING msisdn, idempotency_key
		)
		SELECT CASE WHEN ins.msisdn IS NOT NULL AND u.nth = 1 THEN 'accepted'
		            WHEN EXISTS (SELECT 1 FROM subscribers s WHERE s.msisdn = u.m) THEN 'duplicate'
		            ELSE 'rejected' END
		FROM u LEFT JOIN ins ON ins.msisdn = u.m AND ins.idempotency_key = u.k ORDER BY u.i`,
		tableID, msisdns, spins, reasons, keys, expires, s.db.now())
	if err != nil {
		return nil, err
	}
	if res, err = pgx.CollectRows(rows, pgx.RowTo[care360.GrantResult]); err != nil {
		return nil, err
	}
	return res, s.sameGrants(ctx, res, tableID, msisdns, keys, spins, reasons, expires)
}

// sameGrants turns the duplicates of res whose key made another grant
// (another table, number of spins, reason or expiry) into conflicts. A
// statement of its own, so that it sees the grant a concurrent batch
// committed while the insert waited for it; grants are never deleted and
// these fields never change.
func (s *Spins) sameGrants(ctx context.Context, res []care360.GrantResult, tableID int64, msisdns, keys []string, spins []int32, reasons []string, expires []time.Time) error {
	var at []int
	var dm, dk []string
	for i, r := range res {
		if r == care360.GrantDuplicate {
			at, dm, dk = append(at, i), append(dm, msisdns[i]), append(dk, keys[i])
		}
	}
	if len(at) == 0 {
		return nil
	}
	rows, err := s.db.pool.Query(ctx, `
		SELECT g.table_id, g.spins, g.reason, g.expires_at
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u (m, k, i)
		LEFT JOIN spin_grants g ON g.msisdn = u.m AND g.idempotency_key = u.k ORDER BY u.i`, dm, dk)
	if err != nil {
		return err
	}
	defer rows.Close()
	for j := 0; rows.Next(); j++ {
		var table *int64
		var n *int32
		var reason *string
		var until *time.Time
		if err := rows.Scan(&table, &n, &reason, &until); err != nil {
			return err
		}
		i := at[j]
		if table != nil && (*table != tableID || *n != spins[i] || *reason != reasons[i] || !until.Equal(expires[i].Truncate(time.Microsecond))) {
			res[i] = care360.GrantConflict
		}
	}
	return rows.Err()
}

// SpinOffer is what msisdn's next spin on the table would cost.
func (s *Spins) SpinOffer(ctx context.Context, tableID int64, msisdn care360.MSISDN) (o *care360.SpinOffer, err error) {
	defer wrap(&err, "spin offer of table %d for %s", tableID, msisdn.Masked())
	now := s.db.now()
	t, err := s.activeTable(ctx, tableID, now)
	if err != nil {
		return nil, err
	}
	sub, bal, err := s.db.Account(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	if sub.Status == care360.StatusSuspended {
		return nil, care360.Refused(care360.ReasonSuspended, "%s is suspended", msisdn.Masked())
	}
	o = &care360.SpinOffer{Table: *t, Spendable: bal.Spendable, CostPoints: t.CostPoints}
	err = s.db.pool.QueryRow(ctx, `
		SELECT `+spinsToday("$1", "$2", "$3")+`,
			(SELECT coalesce(sum(remaining), 0) FROM spin_grants WHERE msisdn = $1 AND table_id = $2 AND remaining > 0 AND expires_at > $4)`,
		msisdn, tableID, s.dayStart(now), now).Scan(&o.SpunToday, &o.FreeSpins)
	if o.FreeSpins > 0 {
		o.CostPoints = 0
	}
	return o, err
}

// activeTable reads a table that takes spins at now, or refuses (window).
func (s *Spins) activeTable(ctx context.Context, id int64, now time.Time) (*care360.SpinTable, error) {
	w, err := s.activeWheel(ctx, id, now, false)
	if err != nil {
		return nil, err
	}
	return w.t, nil
}

// activeWheel is a table that takes spins at now, or a refusal (window):
// the one kept when kept is true and it takes spins, else the table read
// now (and kept). A refusal is never made on a kept table: one reopened
// elsewhere would stay refused.
func (s *Spins) activeWheel(ctx context.Context, id int64, now time.Time, kept bool) (*wheel, error) {
	if kept {
		if w, ok := s.wheels.Load(id); ok && w.(*wheel).t.ActiveAt(now) {
			return w.(*wheel), nil
		}
	}
	w, err := s.readWheel(ctx, s.db.pool, id)
	if err != nil {
		return nil, err
	}
	s.wheels.Store(id, w)
	if !w.t.ActiveAt(now) {
		return nil, care360.Refused(care360.ReasonWindow, "spin table %s is not open", w.t.Code)
	}
	return w, nil
}

// spinsToday counts member's spins on table since day (SQL expressions).
// The bound is a row comparison, which only an index led by (msisdn,
// table_id) can use: on a young table's statistics every index matching
// the count costs the same, and the planner took the smallest, spins_spun,
// reading every spin of the day for each count.
func spinsToday(member, table, day string) string {
	return `(SELECT count(*) FROM spins WHERE msisdn = ` + member + ` AND table_id = ` + table +
		` AND (msisdn, table_id, spun_at) >= (` + member + `, ` + table + `, ` + day + `))`
}

// dayStart is local midnight of now's day: daily caps reset then.
func (s *Spins) dayStart(now time.Time) time.Time {
	l := now.In(s.db.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, s.db.loc)
}

// Spin spins once. The number comes from crypto/rand before the
// transaction, so a retried transaction cannot draw again. Inside it: the
// subscriber's row lock serialises their spins (the daily cap counts
// under it), a free spin or the cost is taken, and one unit is taken from
// a stock stripe of the prize landed on (takeOne: SKIP LOCKED first, so
// winning spins pass each other, waiting only when every stripe with stock
// is busy) — a prize out of stock is never awarded and the spin wins
// nothing, as published. The stripe is the last thing locked. A key
// already used by msisdn returns that spin's outcome again, spinning
// nothing. A spin that finds no other in flight goes alone (spinAlone);
// spins that arrive while others are in flight go together (groups.go,
// spin_groups.go).
func (s *Spins) Spin(ctx context.Context, tableID int64, msisdn care360.MSISDN, key string) (res *care360.SpinResult, err error) {
	defer wrap(&err, "spin table %d for %s", tableID, msisdn.Masked())
	if len(key) > 200 {
		return nil, care360.Errorf(care360.EINVALID, "idempotency key is longer than 200 bytes")
	}
	now := s.db.now()
	for attempt := 1; ; attempt++ {
		// The first attempt spins the table kept from an earlier spin; one
		// that found it changed reads it again.
		w, err := s.activeWheel(ctx, tableID, now, attempt == 1)
		if err != nil {
			return nil, err
		}
		t := w.t
		if res, err := s.spinByKey(ctx, t, msisdn, key); res != nil || err != nil {
			return res, err
		}
		r, err := rand.Int(rand.Reader, big.NewInt(t.TotalWeight()))
		if err != nil {
			return nil, fmt.Errorf("random number: %w", err)
		}
		res, err = s.groups.do(ctx, spinRequest{table: t, version: w.version, msisdn: msisdn, key: key, landed: t.Slot(r.Int64())})
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && pe.ConstraintName == "spins_key":
			// The same key at the same moment: the other one spun.
			return s.spinByKey(ctx, t, msisdn, key)
		case errors.Is(err, errWheelChanged) && attempt < spinAttempts:
			continue // nothing was made: draw again on the table as it is
		case err != nil:
			return nil, err
		}
		break
	}
	s.db.log.Info("spun", "table", tableID, "spin", res.ID, "msisdn", msisdn.Masked(), "prize", res.Prize != nil, "out_of_stock", res.OutOfStock)
	return res, nil
}

// spinRequest is a spin to make: its table and the version it was read
// at, its member, its key (optional), and the prize its number landed on
// (nil: none), drawn before, so that no retry of the transaction draws
// again.
type spinRequest struct {
	table   *care360.SpinTable
	version int64
	msisdn  care360.MSISDN
	key     string
	landed  *care360.SpinPrize
}

// spinAlone makes one spin in a transaction of its own: the begin with the
// member's lock, the cap and a free spin in one pipeline; the debit and the
// prize's stock in another; the spin and its SMS in a third; the commit.
func (s *Spins) spinAlone(ctx context.Context, sr spinRequest) (res *care360.SpinResult, err error) {
	t, msisdn, key, landed, tableID := sr.table, sr.msisdn, sr.key, sr.landed, sr.table.ID
	now := s.db.now()
	err = s.db.transactFrom(ctx, func(b *pgx.Batch) { s.queueStart(b, t, msisdn, now) }, func(tx pgx.Tx, br pgx.BatchResults) error {
		res = &care360.SpinResult{Table: *t, SpunAt: now}
		res.Table.Prizes = nil
		sub, grantID, err := s.readStart(br, sr, res)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		pay := grantID == nil && t.CostPoints > 0
		if pay {
			if err := sub.CheckHold(); err != nil {
				return err
			}
		}
		// The debit and a unit of the prize's stock in one pipeline, the
		// spin and its SMS (which says what the stock allowed) in another.
		b := &pgx.Batch{}
		var debit *pipelinedDebit
		if pay {
			debit = queueDebit(b, msisdn, care360.PointsChange{
				Kind: care360.PointsBonus, Points: -t.CostPoints, Reason: "spin " + t.Code, IdempotencyKey: fmt.Sprintf("spin:%d", res.ID),
			}, now)
		}
		if landed != nil {
			b.Queue(fmt.Sprintf(takeSpinStockSQL, "SKIP LOCKED"), landed.ID)
		}
		paid := tx.SendBatch(ctx, b)
		debit.read(paid)
		var stripe int
		stockErr := pgx.ErrNoRows
		if landed != nil {
			stockErr = paid.QueryRow().Scan(&stripe)
		}
		_ = paid.Close() // each statement's error is in its result
		debitID, err := debit.settle(ctx, s.db, tx)
		if err != nil {
			return err
		}
		if debitID != nil {
			res.Points = t.CostPoints
		}
		var landedID, prizeID *int64
		if landed != nil {
			landedID = &landed.ID
			won := stockErr == nil
			if errors.Is(stockErr, pgx.ErrNoRows) {
				won, stockErr = takeOne(ctx, tx, takeSpinStockSQL, takeSpinStockLeftSQL, landed.ID, &stripe)
			}
			switch {
			case stockErr != nil:
				return stockErr
			case won:
				prizeID = landedID
				p := *landed
				res.Prize = &p
			default:
				res.OutOfStock = true
			}
		}
		b = &pgx.Batch{}
		b.Queue(`
			INSERT INTO spins (id, table_id, msisdn, landed_id, prize_id, grant_id, points, debit_id, spun_at, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, ''))`,
			res.ID, tableID, msisdn, landedID, prizeID, grantID, res.Points, debitID, now, key)
		if err := queueTransactional(b, now, care360.SpinResultSMS(res, msisdn, sub.Language)); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// A unit of a prize's stock, for takeOne: a stripe with some left, at
// random, so that spins landing on the prize spread over them.
const (
	takeSpinStockSQL = `UPDATE spin_stock SET remaining = remaining - 1 WHERE prize_id = $1 AND stripe = (
		SELECT stripe FROM spin_stock WHERE prize_id = $1 AND remaining > 0 ORDER BY random() LIMIT 1 FOR UPDATE %s)
		RETURNING stripe`
	takeSpinStockLeftSQL = `SELECT EXISTS (SELECT 1 FROM spin_stock WHERE prize_id = $1 AND remaining > 0)`
)

// queueStart queues, after the spin's BEGIN and in the same round trip,
// the statements that lock the subscriber's row, count today's spins
// against the cap, number the spin, read the table's version and take the
// earliest-expiring free spin if there is one; the caller pays with points
// when there is not.
func (s *Spins) queueStart(b *pgx.Batch, t *care360.SpinTable, msisdn care360.MSISDN, now time.Time) {
	b.Queue(memberLockSQL, msisdn)
	b.Queue(`SELECT `+spinsToday("$1", "$2", "$3")+`, nextval('spins_id_seq'), `+spinTableVersion("$2"),
		msisdn, t.ID, s.dayStart(now))
	b.Queue(`
		UPDATE spin_grants SET remaining = remaining - 1 WHERE id = (
			SELECT id FROM spin_grants WHERE msisdn = $1 AND table_id = $2 AND remaining > 0 AND expires_at > $3
			ORDER BY expires_at, id LIMIT 1)
		RETURNING id`, msisdn, t.ID, now)
}

// spinTableVersion is the version of the table whose id is table (an SQL
// expression).
func spinTableVersion(table string) string {
	return `(SELECT version FROM spin_tables WHERE id = ` + table + `)`
}

// readStart reads queueStart's results, in order.
func (s *Spins) readStart(br pgx.BatchResults, sr spinRequest, res *care360.SpinResult) (sub *care360.Subscriber, grantID *int64, err error) {
	t := sr.table
	if sub, err = s.db.member(br.QueryRow(), sr.msisdn); err != nil {
		return nil, nil, err
	}
	var spun int
	var version int64
	if err := br.QueryRow().Scan(&spun, &res.ID, &version); err != nil {
		return nil, nil, err
	}
	if version != sr.version {
		return nil, nil, errWheelChanged
	}
	if spun >= t.DailyCap {
		return nil, nil, care360.Refused(care360.ReasonLimitReached, "%d of %d spins used today", spun, t.DailyCap)
	}
	switch err := br.QueryRow().Scan(&grantID); {
	case err == nil:
		res.Free = true
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, nil, err
	}
	return sub, grantID, nil
}

// spinByKey returns the outcome of msisdn's spin of t made with key, or
// nil when there is none (or no key).
func (s *Spins) spinByKey(ctx context.Context, t *care360.SpinTable, msisdn care360.MSISDN, key string) (*care360.SpinResult, error) {
	if key == "" {
		return nil, nil
	}
	res := &care360.SpinResult{Table: *t}
	res.Table.Prizes = nil
	var landed, prize *int64
	err := s.db.pool.QueryRow(ctx, `
		SELECT id, landed_id, prize_id, grant_id IS NOT NULL, points, spun_at FROM spins
		WHERE msisdn = $1 AND idempotency_key = $2 AND table_id = $3`, msisdn, key, t.ID).
		Scan(&res.ID, &landed, &prize, &res.Free, &res.Points, &res.SpunAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range t.Prizes {
		if prize != nil && t.Prizes[i].ID == *prize {
			p := t.Prizes[i]
			res.Prize = &p
		}
	}
	res.OutOfStock = landed != nil && prize == nil
	return res, nil
}
