package store_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
	"github.com/care360/care360/store"
)

// The close and the run read the entries once each, as a stream; the
// winners are those the whole list in memory gives (draw.Winners, the
// rule the audit file is verified by), and the streamed audit file is the
// one DrawAudit returns, byte for byte, and verifies as it is read.
func TestDrawStreamedRunAndAudit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ds := store.NewDraws(b.db)
	d := newDraw(t, b, func(d *care360.Draw) {
		d.EntryCost = 0
		d.Prizes = []care360.DrawPrize{{Name: "Xe máy", Quantity: 1}, {Name: "Voucher <500k> & \"quà\"", Quantity: 7}}
	})
	var ms []care360.MSISDN
	for i, tier := range []care360.Tier{care360.TierDong, care360.TierBac, care360.TierVang, care360.TierKimCuong} {
		ms = append(ms, members(t, b, "849730"+string(rune('0'+i)), 15, tier, 0)...)
	}
	for _, m := range ms {
		if _, err := ds.EnterDraw(b.ctx, d.ID, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	open := writeAudit(t, ds, d.ID)
	if !strings.Contains(open, `"status":"open"`) || !strings.Contains(open, `"entries":[]`) {
		t.Fatalf("audit of an open draw: %.300s", open)
	}
	if _, err := ds.CloseDraw(b.ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	_, ws, _, err := ds.RunDraw(b.ctx, d.ID, "2 2 5")
	if err != nil || len(ws) != 8 {
		t.Fatalf("RunDraw: %d winners, %v", len(ws), err)
	}
	a, err := ds.DrawAudit(b.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Entries) != len(ms) || a.EntriesCount != len(ms) {
		t.Fatalf("%d entries, %d counted; want %d", len(a.Entries), a.EntriesCount, len(ms))
	}
	key := draw.Key(mustHex(t, a.Seed), draw.Digest(a.Draw.ID, a.Entries), a.Witness)
	want, err := draw.Winners(key, a.Entries, a.Prizes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, a.Winners); diff != "" {
		t.Fatalf("winners (-in memory +stored):\n%s", diff)
	}
	whole, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	streamed := writeAudit(t, ds, d.ID)
	if streamed != string(whole)+"\n" {
		t.Fatalf("streamed audit differs from DrawAudit:\n%.400s\n%.400s", streamed, whole)
	}
	if _, diffs, err := draw.VerifyStream(strings.NewReader(streamed)); err != nil || len(diffs) != 0 {
		t.Fatalf("VerifyStream: %q, %v", diffs, err)
	}
}

// writeAudit streams a draw's audit file into a string.
func writeAudit(t *testing.T, ds *store.Draws, id int64) string {
	t.Helper()
	var buf bytes.Buffer
	err := ds.WriteDrawAudit(t.Context(), id, func(head *draw.Audit) (io.Writer, error) {
		if head.Draw.ID != id || head.Entries == nil || len(head.Entries) != 0 {
			t.Errorf("head %+v", head.Draw)
		}
		return &buf, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// An entry changed after the close (here behind the trigger's back, as
// only someone with the database's keys could) stops the run and cuts
// the audit file short: the close commits to the exact entry set.
func TestDrawRefusesEntriesChangedSinceClose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ds := store.NewDraws(b.db)
	d := newDraw(t, b, func(d *care360.Draw) { d.EntryCost = 0 })
	for _, m := range members(t, b, "8497310", 5, care360.TierBac, 0) {
		if _, err := ds.EnterDraw(b.ctx, d.ID, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ds.CloseDraw(b.ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]string{
		"tickets": `UPDATE draw_entries SET tickets = tickets + 1 WHERE id = (SELECT max(id) FROM draw_entries WHERE draw_id = $1)`,
		"removed": `DELETE FROM draw_entries WHERE id = (SELECT min(id) FROM draw_entries WHERE draw_id = $1)`,
	} {
		err := pgx.BeginFunc(b.ctx, b.db.Pool(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(b.ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				return err
			}
			_, err := tx.Exec(b.ctx, change, d.ID)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, _, err := ds.RunDraw(b.ctx, d.ID, "1"); err == nil || !strings.Contains(err.Error(), "no longer match") {
			t.Fatalf("%s: RunDraw: %v", name, err)
		}
		var buf bytes.Buffer
		err = ds.WriteDrawAudit(b.ctx, d.ID, func(*draw.Audit) (io.Writer, error) { return &buf, nil })
		if err == nil || json.Valid(buf.Bytes()) {
			t.Fatalf("%s: audit served whole (%d bytes), %v", name, buf.Len(), err)
		}
	}
	if got, err := ds.Draw(b.ctx, d.ID); err != nil || got.Status != care360.DrawClosed {
		t.Fatalf("after refused runs: %+v, %v", got, err)
	}
}
