package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
)

// CloseDraw freezes the entries: it takes the draw's entry lock
// exclusively, which waits for every entry in flight (each holds it
// shared) while new ones queue behind it and then find the draw closed,
// and publishes the count and digest of what was entered with the status.
// Closing a closed or drawn draw changes nothing; a cancelled one is a
// conflict.
func (s *Draws) CloseDraw(ctx context.Context, id int64) (d *care360.Draw, err error) {
	defer wrap(&err, "close draw %d", id)
	now := s.db.now()
	var closed bool
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		closed = false
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, ($2::bigint % 2147483648)::int)`, drawLock, id); err != nil {
			return err
		}
		var status care360.DrawStatus
		if err := tx.QueryRow(ctx, `SELECT status FROM draws WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return notFound(err, "no draw %d", id)
		}
		switch status {
		case care360.DrawCancelled:
			return care360.Errorf(care360.ECONFLICT, "draw %d was cancelled: there is nothing to close", id)
		case care360.DrawClosed, care360.DrawDrawn:
			return nil
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM draw_entries WHERE draw_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		dg := draw.NewDigester(id, n)
		if err := eachEntry(ctx, tx, id, dg.Add); err != nil {
			return err
		}
		digest, err := dg.Sum()
		if err != nil {
			return err
		}
		closed = true
		_, err = tx.Exec(ctx, `UPDATE draws SET status = 'closed', closed_at = $2, entries_count = $3, entries_digest = $4 WHERE id = $1`,
			id, now, n, draw.Hex(digest))
		return err
	})
	if err != nil {
		return nil, err
	}
	if d, err = s.Draw(ctx, id); err == nil && closed {
		s.db.log.Info("draw closed", "draw", id, "entries", d.Entries, "digest", d.EntriesDigest)
	}
	return d, err
}

// frozenEntries reads a draw's entries in the canonical order, as the
// audit file publishes them (MSISDNs masked).
func frozenEntries(ctx context.Context, tx pgx.Tx, id int64) ([]draw.Entry, error) {
	var es []draw.Entry
	err := eachEntry(ctx, tx, id, func(e *draw.Entry) error {
		es = append(es, *e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return es, draw.CheckEntries(es)
}

// eachEntry streams a draw's entries to emit in the canonical order, as
// the audit file publishes them (MSISDNs masked), in one query: the close,
// the run and the audit file each read them once and hold none. The entry
// emit gets is reused for the next.
//
// The rows come in the order of the index on (draw_id, id): with sorting
// off for this one query, the planner cannot choose a scan of the whole
// table and a sort, which it does when the statistics predate the draw's
// entries (a million rows then sort through 50 MB of temporary files; see
// docs/benchmarks.md).
func eachEntry(ctx context.Context, tx pgx.Tx, id int64, emit func(*draw.Entry) error) error {
	if _, err := tx.Exec(ctx, `SET LOCAL enable_sort = off`); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT id, msisdn, tier, tickets, receipt FROM draw_entries WHERE draw_id = $1 ORDER BY draw_id, id`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	var e draw.Entry
	var m care360.MSISDN
	for rows.Next() {
		if err := rows.Scan(&e.ID, &m, &e.Tier, &e.Tickets, &e.Receipt); err != nil {
			return err
		}
		e.MSISDN = m.Masked()
		if err := emit(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// The rest of the transaction plans as usual.
	_, err = tx.Exec(ctx, `SET LOCAL enable_sort TO DEFAULT`)
	return err
}

// RunDraw reveals the seed and draws: the key comes from the seed, the
// digest published at the close (recomputed here, so an entry changed
// since would stop the run) and the witness value; the winners and their
// SMS commit with the status.
func (s *Draws) RunDraw(ctx context.Context, id int64, witness string) (d *care360.Draw, ws []care360.DrawWinner, replay bool, err error) {
	defer wrap(&err, "run draw %d", id)
	if err := care360.CheckWitness(witness); err != nil {
		return nil, nil, false, err
	}
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		var status care360.DrawStatus
		var seed []byte
		var digest, was string
		var count int
		err := tx.QueryRow(ctx, `SELECT status, seed, coalesce(entries_digest, ''), coalesce(witness, ''), coalesce(entries_count, 0)
			FROM draws WHERE id = $1 FOR UPDATE`, id).Scan(&status, &seed, &digest, &was, &count)
		if err != nil {
			return notFound(err, "no draw %d", id)
		}
		switch {
		case status == care360.DrawOpen:
			return care360.Errorf(care360.ECONFLICT, "draw %d is still open: close it first", id)
		case status == care360.DrawDrawn && was == witness:
			replay = true
			return nil
		case status == care360.DrawDrawn:
			return care360.Errorf(care360.ECONFLICT, "draw %d was drawn already, with another witness value", id)
		case status == care360.DrawCancelled:
			return care360.Errorf(care360.ECONFLICT, "draw %d was cancelled and its entries refunded: it cannot be run", id)
		}
		published, err := hex.DecodeString(digest)
		if err != nil || len(published) != 32 {
			return fmt.Errorf("draw %d: bad digest %q", id, digest)
		}
		cur, err := s.txDraw(ctx, tx, id)
		if err != nil {
			return err
		}
		// One pass: the winners are drawn with the key of the published
		// digest while the entries are digested again; they stand only if
		// the entries still hash to it.
		run, err := draw.NewDrawing(id, count, draw.Key(seed, [32]byte(published), witness), auditPrizes(cur))
		if err != nil {
			return err
		}
		if err := eachEntry(ctx, tx, id, run.Add); err != nil {
			return err
		}
		if sum, err := run.Sum(); err != nil || sum != [32]byte(published) {
			return fmt.Errorf("entries of draw %d no longer match the digest published at the close", id)
		}
		won := run.Winners()
		return s.award(ctx, tx, cur, won, witness)
	})
	if err != nil {
		return nil, nil, false, err
	}
	if d, err = s.Draw(ctx, id); err != nil {
		return nil, nil, false, err
	}
	if ws, err = s.winners(ctx, d); err != nil {
		return nil, nil, false, err
	}
	if !replay {
		s.db.log.Info("draw run", "draw", id, "witness", witness, "winners", len(ws))
	}
	return d, ws, replay, nil
}

func (s *Draws) txDraw(ctx context.Context, tx pgx.Tx, id int64) (*care360.Draw, error) {
	d, err := scanDraw(tx.QueryRow(ctx, `SELECT `+drawColumns(false)+` FROM draws d WHERE d.id = $1`, id))
	if err != nil {
		return nil, err
	}
	return d, s.prizes(ctx, tx, []*care360.Draw{d})
}

// award records the winners, marks the draw drawn and queues each
// winner's SMS in their language.
func (s *Draws) award(ctx context.Context, tx pgx.Tx, d *care360.Draw, won []draw.Winner, witness string) error {
	now := s.db.now()
	pos, ranks, entries := make([]int32, len(won)), make([]int32, len(won)), make([]int64, len(won))
	for i, w := range won {
		pos[i], ranks[i], entries[i] = int32(w.Position), int32(w.PrizeRank), w.EntryID
	}
	if _, err := tx.Exec(ctx, `INSERT INTO draw_winners (draw_id, position, prize_rank, entry_id)
		SELECT $1, * FROM unnest($2::int[], $3::int[], $4::bigint[])`, d.ID, pos, ranks, entries); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE draws SET status = 'drawn', witness = $2, drawn_at = $3 WHERE id = $1`, d.ID, witness, now); err != nil {
		return err
	}
	ws, err := winnersOf(ctx, tx, d)
	if err != nil {
		return err
	}
	msgs := make([]care360.OutgoingSMS, 0, len(ws))
	for i := range ws {
		if ws[i].to == "" {
			continue // the entrant's membership has closed: its number may be someone else's now
		}
		m := care360.DrawWinnerSMS(d, &ws[i].DrawWinner, ws[i].lang)
		m.MSISDN = ws[i].to
		msgs = append(msgs, m)
	}
	return insertTransactional(ctx, tx, now, msgs)
}

// langWinner is a winner with the language their SMS is written in and
// the number it goes to: the entrant member's number now (it may have
// changed since the entry), or none once the membership has closed.
type langWinner struct {
	care360.DrawWinner
	lang care360.Language
	to   care360.MSISDN
}

func winnersOf(ctx context.Context, q rowsQuerier, d *care360.Draw) ([]langWinner, error) {
	rows, err := q.Query(ctx, `
		SELECT w.position, w.prize_rank, coalesce(s.language, 'vi'), coalesce(s.msisdn, ''), `+entryColumns+`
		FROM draw_winners w JOIN draw_entries e ON e.id = w.entry_id
		LEFT JOIN subscribers s ON s.msisdn = member_key_at(e.msisdn, e.created_at) AND s.status <> 'closed'
		WHERE w.draw_id = $1 ORDER BY w.position`, d.ID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (langWinner, error) {
		var w langWinner
		var rank int
		err := r.Scan(append([]any{&w.Position, &rank, &w.lang, &w.to}, entryDest(&w.Entry)...)...)
		if p := d.PrizeOf(rank); p != nil {
			w.Prize = *p
		}
		return w, err
	})
}

func (s *Draws) winners(ctx context.Context, d *care360.Draw) ([]care360.DrawWinner, error) {
	lw, err := winnersOf(ctx, s.db.pool, d)
	ws := make([]care360.DrawWinner, len(lw))
	for i := range lw {
		ws[i] = lw[i].DrawWinner
	}
	return ws, err
}

func auditPrizes(d *care360.Draw) []draw.Prize {
	ps := make([]draw.Prize, len(d.Prizes))
	for i, p := range d.Prizes {
		ps[i] = draw.Prize{Rank: p.Rank, Name: p.Name, Quantity: p.Quantity}
	}
	return ps
}

// DrawAudit returns the audit file as far as the draw has got: the
// commitment from the start, the entries and their digest from the close,
// the seed, witness and winners from the run. WriteDrawAudit streams it.
func (s *Draws) DrawAudit(ctx context.Context, id int64) (a *draw.Audit, err error) {
	defer wrap(&err, "audit of draw %d", id)
	err = s.db.TransactWith(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var frozen bool
		if a, frozen, err = s.auditHead(ctx, tx, id); err != nil || !frozen {
			return err
		}
		a.Entries, err = frozenEntries(ctx, tx, id)
		return err
	})
	return a, err
}

// WriteDrawAudit writes the audit file of DrawAudit to the writer open
// returns, given the file without its entries: the entries are streamed
// from one query as they are read, so a draw of millions is never held.
// It reads in one read-only snapshot, held until the file is written. An
// error after open was called leaves the file cut short.
func (s *Draws) WriteDrawAudit(ctx context.Context, id int64, open func(head *draw.Audit) (io.Writer, error)) (err error) {
	defer wrap(&err, "audit of draw %d", id)
	return s.db.TransactWith(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		a, frozen, err := s.auditHead(ctx, tx, id)
		if err != nil {
			return err
		}
		w, err := open(a)
		if err != nil {
			return err
		}
		var each func(func(*draw.Entry) error) error
		if frozen {
			// Digested on the way, so that a file whose entries no longer
			// match what the close published is cut short, never served
			// whole.
			each = func(emit func(*draw.Entry) error) error {
				dg := draw.NewDigester(id, a.EntriesCount)
				err := eachEntry(ctx, tx, id, func(e *draw.Entry) error {
					if err := dg.Add(e); err != nil {
						return err
					}
					return emit(e)
				})
				if err != nil {
					return err
				}
				if sum, err := dg.Sum(); err != nil || draw.Hex(sum) != a.EntriesDigest {
					return fmt.Errorf("entries of draw %d no longer match the digest published at the close (%v)", id, err)
				}
				return nil
			}
		}
		return draw.WriteAudit(w, a, each)
	})
}

// auditHead reads the audit file but its entries, and whether the draw
// has frozen entries to list.
func (s *Draws) auditHead(ctx context.Context, tx pgx.Tx, id int64) (a *draw.Audit, frozen bool, err error) {
	d, err := s.txDraw(ctx, tx, id)
	if err != nil {
		return nil, false, notFound(err, "no draw %d", id)
	}
	a = &draw.Audit{
		Format: draw.Format, Algorithm: draw.Version,
		Draw: draw.DrawInfo{ID: d.ID, Code: d.Code, Name: d.Name, Status: string(d.Status),
			OpensAt: d.OpensAt, ClosesAt: d.ClosesAt, ClosedAt: d.ClosedAt, DrawnAt: d.DrawnAt},
		Prizes: auditPrizes(d), Tickets: draw.TierTable{},
		Commitment: d.Commitment, EntriesCount: int(d.Entries), EntriesDigest: d.EntriesDigest,
		Witness: d.Witness, Seed: d.Seed, Entries: []draw.Entry{}, Winners: []draw.Winner{},
	}
	for t, n := range d.Tickets {
		a.Tickets[string(t)] = n
	}
	// A cancelled draw's entries were frozen with a digest, as at a
	// close, so that the refunds can be checked against them.
	if d.Status == care360.DrawOpen {
		return a, false, nil
	}
	if d.Status != care360.DrawDrawn {
		return a, true, nil
	}
	seed, err := hex.DecodeString(d.Seed)
	if err != nil {
		return nil, false, err
	}
	digest, err := hex.DecodeString(d.EntriesDigest)
	if err != nil || len(digest) != 32 {
		return nil, false, fmt.Errorf("draw %d: bad digest %q", id, d.EntriesDigest)
	}
	a.Key = draw.Hex(draw.Key(seed, [32]byte(digest), d.Witness))
	ws, err := winnersOf(ctx, tx, d)
	if err != nil {
		return nil, false, err
	}
	for _, w := range ws {
		a.Winners = append(a.Winners, draw.Winner{Position: w.Position, PrizeRank: w.Prize.Rank, EntryID: w.Entry.ID, MSISDN: w.Entry.MSISDN.Masked()})
	}
	return a, true, nil
}
