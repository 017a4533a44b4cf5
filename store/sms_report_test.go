package store_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// Messages count on the local day they were due, by kind and by where they
// got to; days and kinds without messages are zeros.
func TestSMSReport(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	// 25 Nov, 10:00: five transactional messages, each to its own end.
	var ids []int64
	for _, k := range []string{"t1", "t2", "t3", "t4", "t5"} {
		ids = append(ids, b.send(t, m, care360.KindTransactional, "x", k).ID)
	}
	for _, c := range b.claim(t, "a", 10) {
		switch c.ID {
		case ids[0]:
			b.settle(t, "a", submitted(c.ID, "D1"))
		case ids[1]:
			b.settle(t, "a", care360.Outcome{ID: c.ID, Kind: care360.OutcomeFailed, Error: "submit_sm refused"})
		case ids[2]:
			b.settle(t, "a", submitted(c.ID, "U1"))
		case ids[3]:
			b.settle(t, "a", submitted(c.ID, "E1"))
		default:
			b.settle(t, "a", care360.Outcome{ID: c.ID, Kind: care360.OutcomeReleased})
		}
	}
	now := b.clock.Now()
	if _, err := b.sms.Receipts(b.ctx, []care360.Receipt{
		{SMSCID: "D1", State: care360.ReceiptDelivered, At: now},
		{SMSCID: "U1", State: care360.ReceiptUndeliverable, At: now},
		{SMSCID: "E1", State: care360.ReceiptExpired, At: now},
	}); err != nil {
		t.Fatal(err)
	}
	// Marketing due now, and marketing planned at 22:30, held to the next
	// morning: it counts on the day it goes.
	b.campaign(t, care360.NewCampaign{Name: "day", Text: "x", Segment: care360.Segment{MSISDNs: []care360.MSISDN{b.member(t, "A", care360.LangVi, "", "1990-01-01", 0)}}})
	b.clock.Set(at("2026-11-25 22:30"))
	b.campaign(t, care360.NewCampaign{Name: "night", Text: "x", Segment: care360.Segment{MSISDNs: []care360.MSISDN{b.member(t, "B", care360.LangVi, "", "1990-01-01", 0)}}})
	// Local midnight divides the days.
	b.clock.Set(at("2026-11-25 23:59"))
	b.send(t, m, care360.KindTransactional, "x", "t6")
	b.clock.Set(at("2026-11-26 00:00"))
	b.send(t, m, care360.KindTransactional, "x", "t7")

	got, err := b.sms.SMSReport(b.ctx, day("2026-11-24"), day("2026-11-26"))
	if err != nil {
		t.Fatal(err)
	}
	tx, mk := care360.KindTransactional, care360.KindMarketing
	want := []care360.SMSDay{
		{Day: day("2026-11-24"), Kind: tx},
		{Day: day("2026-11-24"), Kind: mk},
		{Day: day("2026-11-25"), Kind: tx, Messages: 6, Sent: 3, Delivered: 1, Failed: 2, Expired: 1},
		{Day: day("2026-11-25"), Kind: mk, Messages: 1},
		{Day: day("2026-11-26"), Kind: tx, Messages: 1},
		{Day: day("2026-11-26"), Kind: mk, Messages: 1},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b care360.Date) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// The report reads only the days asked for, through an index for each
// kind, however long the outbox's history grows.
func TestSMSReportUsesIndexes(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	err := pgx.BeginFunc(b.ctx, b.db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(b.ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		plan := explain(t, tx, store.SMSReportSQL, store.SMSReportArgs(b.db, day("2026-11-01"), day("2026-11-30"))...)
		for _, index := range []string{"sms_messages_transactional", "sms_messages_marketing_by_time"} {
			if !strings.Contains(plan, index) {
				t.Errorf("the plan does not use %s:\n%s", index, plan)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
