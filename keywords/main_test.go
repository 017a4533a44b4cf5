package keywords_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/keywords"
	"github.com/care360/care360/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var hanoi, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

// bundle is the whole SMS path for real: the simulator's handsets, the
// gateway bound to it over TCP, the keyword handler, and Postgres behind
// them on a database of the test's own (the outbox is one queue).
type bundle struct {
	sim   *smsc.Server
	db    *store.DB
	sms   *store.SMS
	clock *clock
	ctx   context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 10 * time.Second})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, hanoi)}
	db, err := store.Open(t.Context(), pgtest.FreshDB(t), store.Options{Now: c.Now, Location: hanoi})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	sms := store.NewSMS(db, care360.SMSRules{})
	tr := store.NewTransfers(db, care360.TransferRules{})
	kw := keywords.New(keywords.Config{
		Subscribers: db, Points: db, Transfers: tr, Prefs: sms, Outbox: sms, Inbox: sms, Feedback: sms, Leave: db,
		TransferRules: tr.Rules(), ShortCode: "9237", USSDCode: "*090#",
	})
	gw := gateway.New(gateway.Config{
		SMS: kw, Outbox: sms, ShortCode: "9237",
		Binds:  []gateway.BindConfig{{Addr: sim.Addr(), SystemID: "care360", Password: "secret"}},
		Sender: gateway.SenderConfig{Poll: 10 * time.Millisecond},
	})
	gw.Start()
	t.Cleanup(func() { gw.Stop(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if err := sim.WaitBound(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return &bundle{sim: sim, db: db, sms: sms, clock: c, ctx: ctx}
}

var numbers atomic.Int64

// member creates a subscriber with qualifying (tier) and bonus points and
// returns its canonical number.
func (b *bundle) member(t *testing.T, lang care360.Language, qualifying, bonus int64) string {
	t.Helper()
	m := care360.MSISDN(fmt.Sprintf("8490%07d", numbers.Add(1)))
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: m, Name: "Test", Language: lang}); err != nil {
		t.Fatal(err)
	}
	for kind, n := range map[care360.PointsKind]int64{care360.PointsQualifying: qualifying, care360.PointsBonus: bonus} {
		if n == 0 {
			continue
		}
		if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: kind, Points: n, Reason: "test", IdempotencyKey: "seed-" + string(kind)}); err != nil {
			t.Fatal(err)
		}
	}
	return string(m)
}

func (b *bundle) stranger() string { return fmt.Sprintf("8490%07d", numbers.Add(1)) }

// text sends an MO from a handset and returns the next SMS it receives.
func (b *bundle) text(t *testing.T, from, body string) string {
	t.Helper()
	before := len(b.sim.Messages(from))
	b.mo(t, from, body)
	return b.next(t, from, before)
}

// mo sends an MO and checks that the gateway acknowledged it.
func (b *bundle) mo(t *testing.T, from, body string) {
	t.Helper()
	coding := byte(0)
	if !care360.FitsGSM7(body) {
		coding = 0x08
	}
	st, err := b.sim.SendMO(b.ctx, from, "9237", body, coding)
	if err != nil || st != 0 {
		t.Fatalf("MO %q from %s: status %#x, %v", body, from, st, err)
	}
}

// next waits for the SMS after the first `after` the handset holds, joining
// concatenated parts.
func (b *bundle) next(t *testing.T, to string, after int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // generous: a busy machine is not a failure
	for {
		ms := b.sim.Messages(to)
		if len(ms) > after {
			m := ms[after]
			if len(m.UDH) != 6 {
				return m.Text
			}
			if total := int(m.UDH[4]); len(ms) >= after+total {
				var sb strings.Builder
				for _, p := range ms[after : after+total] {
					sb.WriteString(p.Text)
				}
				return sb.String()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SMS for %s after the %d it had", to, after)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quiet checks that the handset gets nothing more for a while.
func (b *bundle) quiet(t *testing.T, to string, have int) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if ms := b.sim.Messages(to); len(ms) != have {
		t.Fatalf("%s got %d SMS, want %d: %+v", to, len(ms), have, ms[have:])
	}
}

// settled waits until the outbox has nothing left to send or record.
func (b *bundle) settled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // generous: a busy machine is not a failure
	for {
		var n int
		if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM sms_queue`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still in the outbox", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *bundle) spendable(t *testing.T, m string) int64 {
	t.Helper()
	bal, err := b.db.Balance(b.ctx, care360.MSISDN(m))
	if err != nil {
		t.Fatal(err)
	}
	return bal.Spendable
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
