package store_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
)

// The last two parts' receipts of a message, recorded by two transactions
// at once (two senders' receipt writers, or one's writer and the upkeep
// applying a receipt that overtook its part): each counted its own part
// delivered and not the other's, which had not committed, and the message
// stayed "submitted" for ever with every part delivered. A third
// transaction holds the message's row, so that both reach the count before
// either commits, as they can on a busy machine.
func TestReceiptsOfOneMessageAtOnceDeliverIt(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	msg := b.send(t, m, care360.KindTransactional, "two parts", "two")
	b.claim(t, "a", 10)
	b.settle(t, "a", submitted(msg.ID, "P1", "P2"))

	hold, err := b.db.Pool().Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(b.ctx)
	if _, err := hold.Exec(b.ctx, `SELECT 1 FROM sms_messages WHERE id = $1 FOR UPDATE`, msg.ID); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, id := range []string{"P1", "P2"} {
		go func() {
			_, err := b.sms.Receipts(b.ctx, []care360.Receipt{{SMSCID: id, State: care360.ReceiptDelivered, At: b.clock.Now()}})
			errs <- err
		}()
	}
	// Both wait for the held row, each with its own part recorded: the
	// first for the holder's transaction, the second for the row's lock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := hold.QueryRow(b.ctx, `SELECT count(DISTINCT pid) FROM pg_locks
			WHERE NOT granted AND (transactionid = pg_current_xact_id()::xid
				OR locktype = 'tuple' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d receipt transactions wait for the message, want 2", waiting)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := hold.Commit(b.ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := b.status(t, m, msg.ID); got.Status != care360.MessageDelivered {
		t.Fatalf("both parts delivered, the message %s", got.Status)
	}
}
