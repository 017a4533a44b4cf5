package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// deadlockCounter is a log handler that counts the transactions the store
// ran again because Postgres broke a deadlock (SQLSTATE 40P01).
type deadlockCounter struct{ n atomic.Int64 }

func (c *deadlockCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *deadlockCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *deadlockCounter) WithGroup(string) slog.Handler            { return c }
func (c *deadlockCounter) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" && strings.Contains(a.Value.String(), "40P01") {
			c.n.Add(1)
		}
		return true
	})
	return nil
}

// Claims made alone and claims made in groups never wait for each other
// in a circle: a member's lock is taken first, by a claim alone on its
// own and by a group in the order of the numbers, and a group passes the
// codes and stock others hold (SKIP LOCKED). Each member here claims a
// scarce voucher and a scarce physical gift at once, some twice with the
// same key (a confirmation sent again), so that groups and claims alone
// (those a group left without units, and replays) meet on the same
// members, codes and stock. Postgres would break a deadlock by failing one
// transaction, which the store runs again: the store's log says so.
func TestClaimsAloneAndInGroupsNeverDeadlock(t *testing.T) {
	t.Parallel()
	counter := &deadlockCounter{}
	b := catalogOn(t, pgtest.FreshDB(t), store.Options{Logger: slog.New(counter)})
	const members, units = 96, 40
	m := seedMembers(t, b, "8479", members, 1000)
	voucher := catalogueGift(100, 0)
	voucher.Kind = care360.GiftVoucher
	voucher = b.gift(t, voucher)
	groupCodes(t, b, voucher, units)
	physical := b.gift(t, catalogueGift(100, units))

	type claim struct {
		req care360.ClaimRequest
		err error
	}
	var claims []*claim
	for i, who := range m {
		for _, g := range []*care360.Gift{voucher, physical} {
			req := care360.ClaimRequest{MSISDN: who, GiftID: g.ID, IdempotencyKey: fmt.Sprintf("dl-%d-%d", g.ID, i)}
			claims = append(claims, &claim{req: req})
			if i%4 == 0 {
				claims = append(claims, &claim{req: req})
			}
		}
	}
	var wg sync.WaitGroup
	for _, c := range claims {
		wg.Go(func() { _, _, c.err = b.cat.ClaimGift(b.ctx, c.req) })
	}
	wg.Wait()

	if n := counter.n.Load(); n != 0 {
		t.Errorf("%d claim transactions were run again after a deadlock", n)
	}
	for _, c := range claims {
		if c.err != nil && care360.ErrorCode(c.err) != care360.EREFUSED {
			t.Errorf("claim %s of gift %d: %v", c.req.MSISDN, c.req.GiftID, c.err)
		}
	}
	var made int
	var codesLeft, stockLeft int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM gift_claims),
		(SELECT count(*) FROM gift_codes WHERE NOT taken), (SELECT sum(stock) FROM gift_stock WHERE gift_id = $1)`,
		physical.ID).Scan(&made, &codesLeft, &stockLeft); err != nil {
		t.Fatal(err)
	}
	if made != 2*units || codesLeft != 0 || stockLeft != 0 {
		t.Errorf("%d claims made, %d codes and %d units left; want %d, 0, 0", made, codesLeft, stockLeft, 2*units)
	}
	if b.cat.ClaimsGrouped() == 0 {
		t.Error("no claim was decided by a group")
	}
}
