package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
)

// Draws runs lucky draws (PRODUCT.md §4.4) on the ledger's own rules:
// entry costs are debits of the earliest-expiring points, taken in the
// entry's transaction, which also queues the receipt SMS.
type Draws struct {
	db     *DB
	groups *groups[entryRequest, entryResult] // entries made together (entry_groups.go)
}

var _ care360.DrawService = (*Draws)(nil)

// NewDraws returns the draw service on db.
func NewDraws(db *DB) *Draws {
	s := &Draws{db: db}
	s.groups = newEntryGroups(s)
	return s
}

// drawColumns read a draw from d; the seed only once drawn. entries is
// the live count while open (admin views), else the frozen one.
func drawColumns(withCount bool) string {
	entries := `coalesce(d.entries_count, 0)`
	if withCount {
		entries = `coalesce(d.entries_count, (SELECT count(*) FROM draw_entries e WHERE e.draw_id = d.id))`
	}
	return `d.id, d.code, d.name, d.name_en, d.opens_at, d.closes_at, d.entry_cost, d.tickets, d.status,
		d.commitment, ` + entries + `, coalesce(d.entries_digest, ''), coalesce(d.witness, ''),
		CASE WHEN d.status = 'drawn' THEN encode(d.seed, 'hex') ELSE '' END, d.created_at, d.closed_at, d.drawn_at,
		d.active, d.cancelled_at`
}

func scanDraw(row pgx.Row, extra ...any) (*care360.Draw, error) {
	var d care360.Draw
	var tickets []int32
	dest := append([]any{&d.ID, &d.Code, &d.Name, &d.NameEn, &d.OpensAt, &d.ClosesAt, &d.EntryCost, &tickets, &d.Status,
		&d.Commitment, &d.Entries, &d.EntriesDigest, &d.Witness, &d.Seed, &d.CreatedAt, &d.ClosedAt, &d.DrawnAt,
		&d.Active, &d.CancelledAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.Tickets = map[care360.Tier]int{}
	for i, n := range tickets {
		if n > 0 && i < len(care360.Tiers) {
			d.Tickets[care360.Tiers[i]] = int(n)
		}
	}
	return &d, nil
}

// ticketArray is the tickets column: one number per tier, lowest first.
func ticketArray(t map[care360.Tier]int) []int32 {
	out := make([]int32, len(care360.Tiers))
	for i, tier := range care360.Tiers {
		out[i] = int32(t[tier])
	}
	return out
}

// CreateDraw opens a draw with a fresh secret seed (crypto/rand) and
// publishes its commitment. Prizes are ranked in the order given.
func (s *Draws) CreateDraw(ctx context.Context, d *care360.Draw, key string) (replay bool, err error) {
	defer wrap(&err, "create draw %q", d.Code)
	for i := range d.Prizes {
		d.Prizes[i].Rank = i + 1
	}
	if err := d.Validate(); err != nil {
		return false, err
	}
	seed, err := draw.NewSeed()
	if err != nil {
		return false, err
	}
	receiptKey, err := draw.NewSeed()
	if err != nil {
		return false, err
	}
	var k *string
	if key != "" {
		k = &key
	}
	now := s.db.now()
	var id int64
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO draws (code, name, name_en, opens_at, closes_at, entry_cost, tickets, algorithm, seed, commitment, receipt_key, idempotency_key, request_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
			d.Code, d.Name, d.NameEn, d.OpensAt, d.ClosesAt, d.EntryCost, ticketArray(d.Tickets), draw.Version,
			seed, draw.Commitment(seed), receiptKey, k, d.RequestHash, now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			replay = true
			var stored []byte
			if err := tx.QueryRow(ctx, `SELECT id, request_hash FROM draws WHERE idempotency_key = $1`, key).Scan(&id, &stored); err != nil {
				return err
			}
			return sameRequest(key, stored, d.RequestHash)
		}
		if err != nil {
			return err
		}
		return insertPrizes(ctx, tx, id, d.Prizes)
	})
	if err != nil {
		return false, err
	}
	got, err := s.Draw(ctx, id)
	if err != nil {
		return false, err
	}
	*d = *got
	if !replay {
		s.db.log.Info("draw opened", "draw", d.ID, "code", d.Code, "commitment", d.Commitment)
	}
	return replay, nil
}

// insertPrizes stores a draw's prizes in one statement.
func insertPrizes(ctx context.Context, tx pgx.Tx, id int64, prizes []care360.DrawPrize) error {
	var ranks, qty []int32
	var names, namesEn, collect, collectEn []string
	for _, p := range prizes {
		ranks, qty = append(ranks, int32(p.Rank)), append(qty, int32(p.Quantity))
		names, namesEn = append(names, p.Name), append(namesEn, p.NameEn)
		collect, collectEn = append(collect, p.Collect), append(collectEn, p.CollectEn)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO draw_prizes (draw_id, rank, name, name_en, quantity, collect, collect_en)
		SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[])`,
		id, ranks, names, namesEn, qty, collect, collectEn)
	return err
}

// Draw returns one draw with its prizes.
func (s *Draws) Draw(ctx context.Context, id int64) (d *care360.Draw, err error) {
	defer wrap(&err, "draw %d", id)
	d, err = scanDraw(s.db.pool.QueryRow(ctx, `SELECT `+drawColumns(true)+` FROM draws d WHERE d.id = $1`, id))
	if err != nil {
		return nil, notFound(err, "no draw %d", id)
	}
	return d, s.prizes(ctx, s.db.pool, []*care360.Draw{d})
}

// Draws lists draws newest first (at most 200); status "" lists all.
func (s *Draws) Draws(ctx context.Context, status care360.DrawStatus) (ds []care360.Draw, err error) {
	defer wrap(&err, "list draws")
	rows, err := s.db.pool.Query(ctx, `SELECT `+drawColumns(true)+` FROM draws d
		WHERE $1 = '' OR d.status = $1 ORDER BY d.id DESC LIMIT 200`, status)
	if err != nil {
		return nil, err
	}
	ds, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.Draw, error) {
		d, err := scanDraw(r)
		if err != nil {
			return care360.Draw{}, err
		}
		return *d, nil
	})
	if err != nil {
		return nil, err
	}
	ptrs := make([]*care360.Draw, len(ds))
	for i := range ds {
		ptrs[i] = &ds[i]
	}
	return ds, s.prizes(ctx, s.db.pool, ptrs)
}

// rowsQuerier is what a pool and a transaction share for reading rows.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// prizes fills in the prizes of ds in one query.
func (s *Draws) prizes(ctx context.Context, q rowsQuerier, ds []*care360.Draw) error {
	if len(ds) == 0 {
		return nil
	}
	byID := make(map[int64]*care360.Draw, len(ds))
	ids := make([]int64, 0, len(ds))
	for _, d := range ds {
		byID[d.ID], ids = d, append(ids, d.ID)
	}
	rows, err := q.Query(ctx, `SELECT draw_id, rank, name, name_en, quantity, collect, collect_en
		FROM draw_prizes WHERE draw_id = ANY($1) ORDER BY draw_id, rank`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p care360.DrawPrize
		if err := rows.Scan(&id, &p.Rank, &p.Name, &p.NameEn, &p.Quantity, &p.Collect, &p.CollectEn); err != nil {
			return err
		}
		byID[id].Prizes = append(byID[id].Prizes, p)
	}
	return rows.Err()
}

const entryColumns = `e.id, e.draw_id, e.msisdn, e.tier, e.tickets, e.cost, e.receipt, e.created_at`

func entryDest(e *care360.DrawEntry) []any {
	return []any{&e.ID, &e.DrawID, &e.MSISDN, &e.Tier, &e.Tickets, &e.Cost, &e.Receipt, &e.CreatedAt}
}

// OpenDraws lists the draws taking entries now, closing soonest first,
// each with msisdn's entry if any.
func (s *Draws) OpenDraws(ctx context.Context, msisdn care360.MSISDN) (out []care360.DrawOffer, err error) {
	defer wrap(&err, "open draws for %s", msisdn.Masked())
	rows, err := s.db.pool.Query(ctx, `
		SELECT `+drawColumns(false)+`, e.id FROM draws d
		LEFT JOIN draw_entries e ON e.draw_id = d.id AND e.msisdn = $1
		WHERE d.status = 'open' AND d.active AND d.opens_at <= $2 AND d.closes_at > $2
		ORDER BY d.closes_at, d.id LIMIT 50`, msisdn, s.db.now())
	if err != nil {
		return nil, err
	}
	var entered []*int64
	out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.DrawOffer, error) {
		var e *int64
		d, err := scanDraw(r, &e)
		if err != nil {
			return care360.DrawOffer{}, err
		}
		entered = append(entered, e)
		return care360.DrawOffer{Draw: *d}, nil
	})
	if err != nil {
		return nil, err
	}
	ptrs := make([]*care360.Draw, len(out))
	for i := range out {
		ptrs[i] = &out[i].Draw
		if entered[i] != nil {
			out[i].Entry = &care360.DrawEntry{ID: *entered[i], DrawID: out[i].Draw.ID, MSISDN: msisdn}
		}
	}
	return out, s.prizes(ctx, s.db.pool, ptrs)
}

// EnterDraw enters msisdn once. It holds the draw's entry lock shared, so
// a close (which takes it exclusively) waits for entries in flight and no
// entry lands after it; the subscriber's row lock (the one every points
// change takes) serialises this subscriber's entries and debits across
// gateway instances; UNIQUE (draw_id, msisdn) is the last word on "once".
// An entry that finds no other in flight goes alone (enterAlone); entries
// that arrive while others are in flight go together (groups.go,
// entry_groups.go).
//
// An entry made with key (optional) is returned again, entering nothing,
// when key comes again.
func (s *Draws) EnterDraw(ctx context.Context, id int64, msisdn care360.MSISDN, key string) (e *care360.DrawEntry, err error) {
	defer wrap(&err, "enter draw %d for %s", id, msisdn.Masked())
	if len(key) > 200 {
		return nil, care360.Errorf(care360.EINVALID, "idempotency key is longer than 200 bytes")
	}
	res, err := s.groups.do(ctx, entryRequest{draw: id, msisdn: msisdn, key: key})
	if err != nil {
		return nil, err
	}
	if !res.replay {
		s.db.log.Info("draw entered", "draw", id, "entry", res.e.ID, "msisdn", msisdn.Masked(), "tickets", res.e.Tickets)
	}
	return res.e, nil
}

// entryRequest is a request to enter a draw, with its key (optional).
type entryRequest struct {
	draw   int64
	msisdn care360.MSISDN
	key    string
}

// entryResult is an entry made, or found again under its key (replay).
type entryResult struct {
	e      *care360.DrawEntry
	replay bool
}

// enterAlone makes one entry in a transaction of its own, in three round
// trips: the begin with the checks in one pipeline, the debit, the entry
// and its receipt SMS in another, the commit.
func (s *Draws) enterAlone(ctx context.Context, r entryRequest) (entryResult, error) {
	id, msisdn, key := r.draw, r.msisdn, r.key
	var e *care360.DrawEntry
	now := s.db.now()
	replay := false
	err := s.db.transactFrom(ctx, func(b *pgx.Batch) { queueAdmit(b, id, msisdn) }, func(tx pgx.Tx, br pgx.BatchResults) error {
		d, sub, entered, next, err := s.readAdmit(br, id, msisdn)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if entered && key != "" {
			e = &care360.DrawEntry{DrawID: id, MSISDN: msisdn}
			err := tx.QueryRow(ctx, `SELECT id, tier, tickets, cost, receipt, created_at FROM draw_entries
				WHERE draw_id = $1 AND msisdn = $2 AND idempotency_key = $3`, id, msisdn, key).
				Scan(&e.ID, &e.Tier, &e.Tickets, &e.Cost, &e.Receipt, &e.CreatedAt)
			if err == nil {
				replay = true
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		tickets := d.TicketsFor(sub.Tier)
		switch {
		case d.Status == care360.DrawCancelled:
			return care360.Refused(care360.ReasonCancelled, "draw %s was cancelled: it takes no entries", d.Code)
		case !d.OpenAt(now):
			return care360.Refused(care360.ReasonWindow, "draw %s is not taking entries", d.Code)
		case tickets == 0:
			return care360.Refused(care360.ReasonTier, "draw %s is not open to tier %s", d.Code, sub.Tier)
		case entered:
			return care360.Refused(care360.ReasonLimitReached, "%s has entered draw %s already", msisdn.Masked(), d.Code)
		}
		if d.EntryCost > 0 {
			if err := sub.CheckHold(); err != nil {
				return err
			}
		}
		e = &care360.DrawEntry{ID: next.id, DrawID: id, MSISDN: msisdn, Tier: sub.Tier, Tickets: tickets, Cost: d.EntryCost,
			Receipt: next.receipt, CreatedAt: now}
		return s.insertEntry(ctx, tx, d, e, key, care360.DrawReceiptSMS(d, e, sub.Language, s.db.loc), now)
	})
	if err != nil {
		return entryResult{}, err
	}
	return entryResult{e, replay}, nil
}

// insertEntry debits the entry's cost, inserts e (numbered and its receipt
// made by queueAdmit) and queues its receipt SMS, in one pipeline: the entry
// finds its debit by the debit's key, since the statements run in order
// and each sees what those before it wrote. A debit the points do not cover
// is refused (the entry's statement, finding no debit, inserted nothing;
// the refusal rolls the SMS back).
func (s *Draws) insertEntry(ctx context.Context, tx pgx.Tx, d *care360.Draw, e *care360.DrawEntry, key string, sms care360.OutgoingSMS, now time.Time) error {
	b := &pgx.Batch{}
	debit := queueDebit(b, e.MSISDN, care360.PointsChange{
		Kind: care360.PointsBonus, Points: -d.EntryCost, Reason: "draw " + d.Code + " entry", IdempotencyKey: fmt.Sprintf("draw:%d", d.ID),
	}, now)
	var debitKey *string
	if debit != nil {
		debitKey = &debit.change.IdempotencyKey
	}
	b.Queue(`
		INSERT INTO draw_entries (id, draw_id, msisdn, tier, tickets, cost, debit_id, receipt, created_at, idempotency_key)
		SELECT $9, $1, $2, $3, $4, $5, l.id, $10, $7, NULLIF($8, '')
		FROM (SELECT (SELECT id FROM points_ledger WHERE msisdn = $2 AND idempotency_key = $6) AS id) l
		WHERE (l.id IS NULL) = ($6::text IS NULL)
		ON CONFLICT (draw_id, msisdn) DO NOTHING
		RETURNING id`, d.ID, e.MSISDN, e.Tier, e.Tickets, e.Cost, debitKey, now, key, e.ID, e.Receipt)
	if err := queueTransactional(b, now, sms); err != nil {
		return err
	}
	br := tx.SendBatch(ctx, b)
	debit.read(br)
	entryErr := br.QueryRow().Scan(&e.ID)
	if entryErr == nil {
		_, entryErr = br.Exec() // the SMS
	}
	_ = br.Close() // each statement's error is in its result
	if _, err := debit.settle(ctx, s.db, tx); err != nil {
		return err
	}
	if errors.Is(entryErr, pgx.ErrNoRows) {
		return care360.Refused(care360.ReasonLimitReached, "%s has entered draw %s already", e.MSISDN.Masked(), d.Code)
	}
	return entryErr
}

// drawLock is the namespace of the draws' entry locks, (drawLock, draw id
// mod 2^31) in Postgres' two-key advisory lock space: two draws that share
// a lock only wait for each other a little. A heavyweight lock rather than
// the draw row FOR SHARE: row share lockers may keep joining while a close
// waits, and starve it for as long as entries keep coming, whereas the
// lock manager queues new shared requests behind a waiting exclusive one.
const drawLock = 0x0D4A

// queueAdmit queues the statements of an entry's first round trip, after
// its BEGIN: the draw's entry lock (shared) and the subscriber's row lock,
// the draw, whether msisdn has entered it, and the number and receipt of
// the entry this request would make. The statements run in order, so the
// draw is read after the lock: a close that committed before is seen.
//
// The receipt is a keyed hash of the entry: the key never leaves the
// database, so a receipt published beside a masked number cannot be used
// to find the number by trying them all.
func queueAdmit(b *pgx.Batch, id int64, msisdn care360.MSISDN) {
	b.Queue(`SELECT pg_advisory_xact_lock_shared($1, ($2::bigint % 2147483648)::int)`, drawLock, id)
	b.Queue(`SELECT `+drawColumns(false)+` FROM draws d WHERE d.id = $1`, id)
	b.Queue(memberLockSQL, msisdn)
	b.Queue(`SELECT EXISTS (SELECT 1 FROM draw_entries WHERE draw_id = $1 AND msisdn = $2)`, id, msisdn)
	b.Queue(`SELECT n.id, substr(encode(sha256(d.receipt_key || int8send(n.id) || convert_to($2, 'UTF8')), 'hex'), 1, 10)
		FROM draws d, (SELECT nextval('draw_entries_id_seq') AS id) n WHERE d.id = $1`, id, msisdn)
}

// readAdmit reads queueAdmit's results, in order.
func (s *Draws) readAdmit(br pgx.BatchResults, id int64, msisdn care360.MSISDN) (d *care360.Draw, sub *care360.Subscriber, entered bool, next entryTicket, err error) {
	if _, err = br.Exec(); err != nil {
		return
	}
	if d, err = scanDraw(br.QueryRow()); err != nil {
		err = notFound(err, "no draw %d", id)
		return
	}
	if sub, err = s.db.member(br.QueryRow(), msisdn); err != nil {
		return
	}
	if err = br.QueryRow().Scan(&entered); err != nil {
		return
	}
	err = br.QueryRow().Scan(&next.id, &next.receipt)
	return
}

// entryTicket is what queueAdmit prepares for an entry: its id and receipt.
type entryTicket struct {
	id      int64
	receipt string
}

// memberLockSQL locks a subscriber's row for the rest of the transaction:
// the lock every points change takes, so that one subscriber's debits,
// entries and spins run one at a time across gateway instances.
const memberLockSQL = `SELECT ` + subscriberColumns + ` FROM subscribers WHERE msisdn = $1 FOR UPDATE`

// member reads the row memberLockSQL locked and refuses a suspended member.
func (db *DB) member(row pgx.Row, msisdn care360.MSISDN) (*care360.Subscriber, error) {
	sub, err := db.scanSubscriber(row)
	if err != nil {
		return nil, notFound(err, "no subscriber %s", msisdn.Masked())
	}
	if sub.Status == care360.StatusSuspended {
		return nil, care360.Refused(care360.ReasonSuspended, "%s is suspended", msisdn.Masked())
	}
	return sub, nil
}

// DrawResults lists msisdn's entries newest first (limit 1 to 50,
// default 5), with the prize each won once drawn.
func (s *Draws) DrawResults(ctx context.Context, msisdn care360.MSISDN, limit int) (out []care360.DrawResult, err error) {
	defer wrap(&err, "draw results of %s", msisdn.Masked())
	if limit <= 0 {
		limit = 5
	}
	rows, err := s.db.pool.Query(ctx, `
		SELECT `+drawColumns(false)+`, `+entryColumns+`, w.prize_rank
		FROM draw_entries e JOIN draws d ON d.id = e.draw_id
		LEFT JOIN draw_winners w ON w.entry_id = e.id
		WHERE e.msisdn = $1 ORDER BY e.id DESC LIMIT $2`, msisdn, min(limit, 50))
	if err != nil {
		return nil, err
	}
	var ranks []*int
	out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.DrawResult, error) {
		var res care360.DrawResult
		var rank *int
		d, err := scanDraw(r, append(entryDest(&res.Entry), &rank)...)
		if err != nil {
			return res, err
		}
		res.Draw = *d
		ranks = append(ranks, rank)
		return res, nil
	})
	if err != nil {
		return nil, err
	}
	ptrs := make([]*care360.Draw, len(out))
	for i := range out {
		ptrs[i] = &out[i].Draw
	}
	if err := s.prizes(ctx, s.db.pool, ptrs); err != nil {
		return nil, err
	}
	for i := range out {
		if ranks[i] != nil {
			out[i].Prize = out[i].Draw.PrizeOf(*ranks[i])
		}
	}
	return out, nil
}
