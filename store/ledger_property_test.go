package store_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// TestLedgerProperties plays random sequences of earns, usage charges and
// refunds, spends, transfers, clock moves and expiry sweeps against the
// store and against a model of the rules written from PRODUCT.md §4.1 (each
// debit takes the earliest-expiring points first; a refund takes only
// qualifying points, never below zero; expired points are never spent). After every
// step, each credit's remaining must match the model, so spending order is
// checked credit by credit; the balance must equal the model's and never be
// negative; and the ledger's own invariants must hold (each debit the sum of
// its allocations, the ledger's sum what is left of the credits). Seeds are
// fixed, so a failure replays.
func TestLedgerProperties(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			newLedgerModel(t, seed).run(t, 250)
		})
	}
}

// modelCredit is one credit as the model sees it, in creation order (which
// is id order: the test runs one step at a time).
type modelCredit struct {
	kind              care360.PointsKind
	points, remaining int64
	earned, expires   time.Time
}

type modelRefund struct {
	taken int64
	at    time.Time
}

type ledgerModel struct {
	*ledgerBundle
	rnd     *rand.Rand
	tr      *store.Transfers
	members []care360.MSISDN
	credits map[care360.MSISDN][]*modelCredit
	refunds map[care360.MSISDN][]modelRefund
	step    int
	seq     int      // makes idempotency keys unique
	log     []string // what was done, for a failure's message
}

func newLedgerModel(t *testing.T, seed uint64) *ledgerModel {
	b := setupLedger(t)
	m := &ledgerModel{ledgerBundle: b, rnd: rand.New(rand.NewPCG(seed, seed)), tr: store.NewTransfers(b.db, care360.TransferRules{}),
		credits: map[care360.MSISDN][]*modelCredit{}, refunds: map[care360.MSISDN][]modelRefund{}}
	b.clock.Set(at("2026-01-10 10:00"))
	for range 3 {
		s := b.subscriber(t)
		m.members = append(m.members, s)
		// Bac at least, so that transfers are allowed.
		m.earn(t, s, care360.PointsQualifying, 2000)
	}
	return m
}

func (m *ledgerModel) run(t *testing.T, steps int) {
	for m.step = 0; m.step < steps; m.step++ {
		who := m.members[m.rnd.IntN(len(m.members))]
		switch k := m.rnd.IntN(100); {
		case k < 20:
			m.earn(t, who, []care360.PointsKind{care360.PointsQualifying, care360.PointsBonus}[m.rnd.IntN(2)], 1+m.rnd.Int64N(500))
		case k < 35:
			m.usage(t, who, 1000*(1+m.rnd.Int64N(400))+m.rnd.Int64N(1000))
		case k < 45:
			m.usage(t, who, -1000*(1+m.rnd.Int64N(300))-m.rnd.Int64N(1000))
		case k < 70:
			m.spend(t, who, 1+m.rnd.Int64N(600))
		case k < 80:
			to := m.members[m.rnd.IntN(len(m.members))]
			if to != who {
				m.transfer(t, who, to, 100*(1+m.rnd.Int64N(5)))
			}
		case k < 92:
			m.clock.Add(time.Duration(1+m.rnd.IntN(40*24)) * time.Hour)
			m.logf("clock %s", m.clock.Now().In(hanoi).Format(time.DateTime))
		default:
			m.sweepModel(t)
		}
		m.check(t)
	}
}

func (m *ledgerModel) key(what string) string {
	m.seq++
	return fmt.Sprintf("%s-%d", what, m.seq)
}

func (m *ledgerModel) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf("%d: ", m.step)+fmt.Sprintf(format, args...))
}

func (m *ledgerModel) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("after step %d: %s\nsteps:\n%s", m.step, fmt.Sprintf(format, args...), strings.Join(m.log[max(0, len(m.log)-15):], "\n"))
}

func (m *ledgerModel) addCredit(who care360.MSISDN, kind care360.PointsKind, n int64, earned, expires time.Time) {
	m.credits[who] = append(m.credits[who], &modelCredit{kind: kind, points: n, remaining: n, earned: earned, expires: expires})
}

func (m *ledgerModel) earn(t *testing.T, who care360.MSISDN, kind care360.PointsKind, n int64) {
	t.Helper()
	m.logf("earn %s %d %s", who, n, kind)
	now := m.clock.Now()
	if _, _, err := m.db.ChangePoints(m.ctx, who, care360.PointsChange{Kind: kind, Points: n, Reason: "earn", IdempotencyKey: m.key("earn")}); err != nil {
		m.fail(t, "earn: %v", err)
	}
	m.addCredit(who, kind, n, now, care360.Expiry(now, hanoi))
}

// usage sends one billing event and posts it: a charge is a qualifying
// credit; a refund takes qualifying points only, earliest expiry first,
// never more than is left.
func (m *ledgerModel) usage(t *testing.T, who care360.MSISDN, vnd int64) {
	t.Helper()
	m.logf("usage %s %d VND", who, vnd)
	now := m.clock.Now()
	evAt := now.Add(-time.Duration(m.rnd.IntN(120)) * time.Minute).Truncate(time.Microsecond)
	res := m.ingest(t, usage(m.key("usage"), who, vnd, evAt))
	if res[0].Status != care360.UsageAccepted {
		m.fail(t, "usage: %+v", res[0])
	}
	m.post(t)
	n := vnd / 1000
	if n > 0 {
		m.addCredit(who, care360.PointsQualifying, n, evAt, care360.Expiry(evAt, hanoi))
		return
	}
	taken := m.take(who, -n, now, func(c *modelCredit) bool { return c.kind == care360.PointsQualifying }, true)
	if taken > 0 {
		m.refunds[who] = append(m.refunds[who], modelRefund{taken: taken, at: evAt})
	}
}

// take consumes up to n points (all of n unless partial) from who's open
// credits that match, earliest expiry first, and returns how much.
func (m *ledgerModel) take(who care360.MSISDN, n int64, now time.Time, match func(*modelCredit) bool, partial bool) int64 {
	open := m.open(who, now, match)
	var have int64
	for _, c := range open {
		have += c.remaining
	}
	if have < n && !partial {
		return 0
	}
	var got int64
	for _, c := range open {
		x := min(c.remaining, n-got)
		c.remaining -= x
		got += x
		if got == n {
			break
		}
	}
	return got
}

// open lists who's unexpired credits with points left that match, in
// spending order: expiry, then creation.
func (m *ledgerModel) open(who care360.MSISDN, now time.Time, match func(*modelCredit) bool) []*modelCredit {
	var out []*modelCredit
	for _, c := range m.credits[who] {
		if c.remaining > 0 && c.expires.After(now) && match(c) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b *modelCredit) int { return a.expires.Compare(b.expires) })
	return out
}

func (m *ledgerModel) spendable(who care360.MSISDN, now time.Time) int64 {
	var n int64
	for _, c := range m.open(who, now, anyCredit) {
		n += c.remaining
	}
	return n
}

func anyCredit(*modelCredit) bool { return true }

func (m *ledgerModel) spend(t *testing.T, who care360.MSISDN, n int64) {
	t.Helper()
	m.logf("spend %s %d", who, n)
	now := m.clock.Now()
	want := m.spendable(who, now) >= n
	_, _, err := m.db.ChangePoints(m.ctx, who, care360.PointsChange{Kind: care360.PointsBonus, Points: -n, Reason: "spend", IdempotencyKey: m.key("spend")})
	switch {
	case want && err != nil:
		m.fail(t, "spend %d of %d: %v", n, m.spendable(who, now), err)
	case !want && care360.ErrorReason(err) != care360.ReasonInsufficientPoints:
		m.fail(t, "spend %d of %d: %v, want insufficient_points", n, m.spendable(who, now), err)
	case want:
		m.take(who, n, now, anyCredit, false)
	}
}

// transfer moves points as bonus credits that keep the sender's expiry
// dates (one credit per date).
func (m *ledgerModel) transfer(t *testing.T, from, to care360.MSISDN, n int64) {
	t.Helper()
	m.logf("transfer %s -> %s %d", from, to, n)
	now := m.clock.Now()
	if _, err := m.tr.RequestTransfer(m.ctx, from, to, n); err != nil {
		if r := care360.ErrorReason(err); r == care360.ReasonLimitReached || r == care360.ReasonInsufficientPoints && m.spendable(from, now) < n {
			return
		}
		m.fail(t, "request transfer %d of %d: %v", n, m.spendable(from, now), err)
	}
	if _, err := m.tr.ConfirmTransfer(m.ctx, from, "", nil); err != nil {
		m.fail(t, "confirm transfer: %v", err)
	}
	open := m.open(from, now, anyCredit)
	before := map[*modelCredit]int64{}
	for _, c := range open {
		before[c] = c.remaining
	}
	m.take(from, n, now, anyCredit, false)
	byExpiry := map[time.Time]int64{}
	var dates []time.Time
	for _, c := range open {
		if d := before[c] - c.remaining; d > 0 {
			if byExpiry[c.expires] == 0 {
				dates = append(dates, c.expires)
			}
			byExpiry[c.expires] += d
		}
	}
	slices.SortFunc(dates, func(a, b time.Time) int { return a.Compare(b) })
	for _, d := range dates {
		m.addCredit(to, care360.PointsBonus, byExpiry[d], now, d)
	}
}

func (m *ledgerModel) sweepModel(t *testing.T) {
	t.Helper()
	now := m.clock.Now()
	s := m.sweep(t)
	var credits, points int64
	for _, cs := range m.credits {
		for _, c := range cs {
			if c.remaining > 0 && !c.expires.After(now) {
				credits, points = credits+1, points+c.remaining
				c.remaining = 0
			}
		}
	}
	m.logf("sweep: %d credits, %d points", s.Credits, s.Points)
	if s.Credits != credits || s.Points != points {
		m.fail(t, "sweep %+v, model expired %d credits, %d points", s, credits, points)
	}
	for _, who := range m.members {
		if got, want := m.ledgerSum(t, who), m.spendable(who, now); got != want {
			m.fail(t, "%s: ledger sum %d after a sweep, balance %d", who, got, want)
		}
	}
}

// check compares every credit and balance with the model.
func (m *ledgerModel) check(t *testing.T) {
	t.Helper()
	now := m.clock.Now()
	for _, who := range m.members {
		rows, err := m.db.Pool().Query(m.ctx, `
			SELECT kind, points, remaining, expires_at FROM points_ledger WHERE msisdn = $1 AND points > 0 ORDER BY id`, who)
		if err != nil {
			t.Fatal(err)
		}
		var got []modelCredit
		for rows.Next() {
			var c modelCredit
			if err := rows.Scan(&c.kind, &c.points, &c.remaining, &c.expires); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		if len(got) != len(m.credits[who]) {
			m.fail(t, "%s has %d credits, the model %d", who, len(got), len(m.credits[who]))
		}
		for i, c := range m.credits[who] {
			g := got[i]
			if g.kind != c.kind || g.points != c.points || g.remaining != c.remaining || !g.expires.Equal(c.expires) {
				m.fail(t, "%s credit %d: store %+v, model %+v", who, i, g, *c)
			}
		}
		bal := balance(t, m.bundle, who)
		if bal.Spendable < 0 || bal.Spendable != m.spendable(who, now) {
			m.fail(t, "%s: spendable %d, model %d", who, bal.Spendable, m.spendable(who, now))
		}
		if want := m.qualifying(who, now); bal.Qualifying != want {
			m.fail(t, "%s: qualifying %d, model %d", who, bal.Qualifying, want)
		}
	}
	m.checkLedger(t)
}

// qualifying is the tier total: qualifying credits earned in the last 12
// months less what refunds made in them took, never below zero.
func (m *ledgerModel) qualifying(who care360.MSISDN, now time.Time) int64 {
	since := now.In(hanoi).AddDate(0, -12, 0)
	var q int64
	for _, c := range m.credits[who] {
		if c.kind == care360.PointsQualifying && c.earned.After(since) {
			q += c.points
		}
	}
	for _, r := range m.refunds[who] {
		if r.at.After(since) {
			q -= r.taken
		}
	}
	return max(q, 0)
}
