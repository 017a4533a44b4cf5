package menus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// testSeed is the random tests' seed: CARE360_TEST_SEED to replay a
// failure, else the clock (logged).
func testSeed(t *testing.T) uint64 {
	if s, err := strconv.ParseUint(os.Getenv("CARE360_TEST_SEED"), 10, 64); err == nil {
		return s
	}
	s := uint64(time.Now().UnixNano())
	t.Logf("seed %d (CARE360_TEST_SEED=%[1]d replays it)", s)
	return s
}

// staffRunes are the kinds of character staff paste into names: plain and
// Vietnamese letters, word-processor punctuation, GSM-7 escape characters,
// combining marks, astral characters, CJK, odd spaces and controls.
var staffRunes = [][]rune{
	[]rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     .,:;!?-'\"%&()/+=@#$*_"),
	[]rune("àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĐƯƠ"),
	[]rune("₫–—‘’“”…\u00a0\u202f\u200b\ufeff•·×©®™°«»`´"),
	[]rune("{}[]~^|€\\\f"),
	[]rune("\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"),
	[]rune("😀🎁🧧🏆𝐀𝔸\U0001F1FB\U0001F1F3"),
	[]rune("优惠券礼品新年快乐가나다ไทยالعربية"),
	[]rune("\t\r\n\x1b\u2028"), // NUL: Postgres refuses it in text, so no name holds one
}

// staffText is a random name of up to maxBytes bytes.
func staffText(rng *rand.Rand, maxBytes int) string {
	var b strings.Builder
	n := 1 + rng.IntN(90)
	for i := 0; i < n; i++ {
		var r rune
		if rng.IntN(20) == 0 { // anything at all
			for r = rune(rng.IntN(0x10FFFF)); !utf8.ValidRune(r) || r == 0; r = rune(rng.IntN(0x10FFFF)) {
			}
		} else {
			set := staffRunes[rng.IntN(len(staffRunes))]
			r = set[rng.IntN(len(set))]
		}
		if b.Len()+utf8.RuneLen(r) > maxBytes {
			break
		}
		b.WriteRune(r)
	}
	if strings.TrimSpace(b.String()) == "" {
		return "x" + b.String()
	}
	return b.String()
}

// limitPairs are the distinct screen limits of the built-in profiles.
func limitPairs() [][2]int {
	var out [][2]int
	for _, p := range gateway.Profiles {
		if l := [2]int{p.LimitGSM, p.LimitUCS2}; !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// checkPage fails the test when a screen does not fit the limit of the
// coding it goes out in, or a vi-unicode screen exceeds the UCS-2 limit.
func checkPage(t *testing.T, lang care360.Language, lim [2]int, where, s string) {
	t.Helper()
	n, ucs2 := airLength(s)
	switch {
	case ucs2 && n > lim[1], !ucs2 && n > lim[0]:
		t.Fatalf("%s, %s, limits %v: %d %s (UCS-2 %v):\n%q", where, lang, lim, n, "over the limit", ucs2, s)
	case lang == care360.LangViUnicode && len([]rune(s)) > lim[1] && !ucs2 && n > lim[1]:
		t.Fatalf("%s, vi-unicode, limits %v: %d septets, over the UCS-2 limit:\n%q", where, lim, n, s)
	}
}

// Every page of any screen, whatever staff text it holds, fits the limit of
// the coding it goes out in: the renderer on its own, many times over.
func TestPagesFitTheirCodingProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	e := &Engine{}
	screens := []*Screen{
		{ID: "info", Info: func(*call) ([]string, error) { return nil, nil }},
		{ID: "list", Options: func(*call) ([]Option, error) { return nil, nil }},
		{ID: "confirm", Confirm: &Confirm{}},
	}
	langs := []care360.Language{care360.LangVi, care360.LangViUnicode, care360.LangEn}
	for i := 0; i < 1500; i++ {
		var lines []string
		for range 1 + rng.IntN(12) {
			switch rng.IntN(3) {
			case 0:
				lines = append(lines, staffText(rng, 200))
			case 1:
				lines = append(lines, fmt.Sprintf("%d. %s: %s diem", 1+rng.IntN(20), staffText(rng, 200), care360.Number(rng.Int64N(1e6), care360.LangVi)))
			default:
				lines = append(lines, "Doi 2.000 diem lay "+staffText(rng, 200)+"?")
			}
		}
		lang := langs[rng.IntN(len(langs))]
		pairs := limitPairs()
		lim := pairs[rng.IntN(len(pairs))]
		st := &state{Lang: lang, Lines: lines, Invalid: rng.IntN(2)}
		if rng.IntN(2) == 0 {
			st.Back = []string{"main"}
		}
		c := &call{e: e, st: st, req: care360.USSDRequest{LimitGSM: lim[0], LimitUCS2: lim[1]}}
		sc := screens[rng.IntN(len(screens))]
		for p, page := range e.paginate(c, sc) {
			checkPage(t, lang, lim, fmt.Sprintf("case %d page %d", i, p+1), page)
		}
		checkPage(t, lang, lim, fmt.Sprintf("case %d final screen", i), c.fit("Quy khach da nhan "+strings.Join(lines, " ")+". Ma qua da duoc gui qua SMS."))
	}
}

// Every screen of the product tree, reached by a subscriber in every
// language under every profile's limits, with random staff text as the
// names of gifts, offers, draws and spin prizes, fits the limit of the
// coding it goes out in: a crawl through real dialogues on a real store.
func TestEveryScreenFitsItsCoding(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(testSeed(t), 2))
	db, err := store.Open(context.Background(), pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	sms := store.NewSMS(db, care360.SMSRules{})
	cat := store.NewCatalog(db, sms, store.CatalogOptions{})
	draws, spins := store.NewDraws(db), store.NewSpins(db)
	e, err := New(Config{
		Subscribers: db, Points: db, Dialogues: db, Gifts: cat, Offers: cat, Privileges: cat,
		Transfers: store.NewTransfers(db, care360.TransferRules{}), TransferNotifier: notifyTransfer,
		Draws: draws, Spins: spins, DialRate: 1e6, DialBurst: 1e6,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	from, until := now.Add(-time.Hour), now.Add(30*24*time.Hour)
	for i := range 4 {
		if _, _, err := cat.CreateGift(ctx, &care360.Gift{Name: staffText(rng, 200), NameEn: staffText(rng, 200), Kind: care360.GiftPartner,
			Cost: 100 + int64(i), Stock: 100, Limit: 100, Active: true, ValidFrom: from, ValidUntil: until}, ""); err != nil {
			t.Fatal(err)
		}
	}
	offers := []*care360.Offer{
		{Kind: care360.OfferMConnect, Category: care360.CategoryFood, Code: "CODE1234"},
		{Kind: care360.OfferMConnect, Category: care360.CategoryHotel, Price: 900_000},
		{Kind: care360.OfferResort, Price: 1_000_000, CardPrice: 500_000},
	}
	for _, o := range offers {
		o.Partner, o.Title, o.TitleEn, o.Active, o.ValidFrom, o.ValidUntil = staffText(rng, 200), staffText(rng, 200), staffText(rng, 200), true, from, until
		if o.CardPrice > 0 {
			o.CardName = staffText(rng, 100)
		}
		if _, _, err := cat.CreateOffer(ctx, o, ""); err != nil {
			t.Fatal(err)
		}
	}
	d := &care360.Draw{Code: "PROP1", Name: staffText(rng, 100), NameEn: staffText(rng, 100), OpensAt: from,
		ClosesAt: time.Date(2099, 12, 31, 12, 0, 0, 0, time.UTC), EntryCost: 10, Tickets: map[care360.Tier]int{care360.TierKimCuong: 2, care360.TierDong: 1},
		Prizes: []care360.DrawPrize{{Name: staffText(rng, 100), NameEn: staffText(rng, 100), Quantity: 1}}}
	if _, err := draws.CreateDraw(ctx, d, ""); err != nil {
		t.Fatalf("draw %q: %v", d.Name, err)
	}
	tb := &care360.SpinTable{Code: "PROPW", Name: staffText(rng, 100), NameEn: staffText(rng, 100), CostPoints: 10, DailyCap: 1000,
		StartsAt: from, EndsAt: until, Prizes: []care360.SpinPrize{{Name: staffText(rng, 100), NameEn: staffText(rng, 100), Weight: 1, Inventory: 1000}}}
	if _, err := spins.CreateSpinTable(ctx, tb, ""); err != nil {
		t.Fatalf("spin table %q: %v", tb.Name, err)
	}

	n := 0
	for _, lang := range []care360.Language{care360.LangVi, care360.LangViUnicode, care360.LangEn} {
		for _, lim := range limitPairs() {
			n++
			m := care360.MSISDN(fmt.Sprintf("849035560%02d", n))
			if _, err := db.PutSubscriber(ctx, &care360.Subscriber{MSISDN: m, Name: "T", Language: lang}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.ChangePoints(ctx, m, care360.PointsChange{Kind: care360.PointsQualifying, Points: 60_000, Reason: "t", IdempotencyKey: "t"}); err != nil {
				t.Fatal(err)
			}
			cr := &crawler{t: t, e: e, msisdn: m, lang: lang, lim: lim, seen: map[string]bool{},
				reset: func() error { return db.SetLanguage(ctx, m, lang) }}
			cr.visit(nil)
			if cr.screens < 30 {
				t.Fatalf("%s %v: the crawl reached only %d screens", lang, lim, cr.screens)
			}
		}
	}
}

// crawler walks every screen reachable from the main menu, replaying the
// path to each from a fresh dial, and checks every reply on the way.
type crawler struct {
	t       *testing.T
	e       *Engine
	msisdn  care360.MSISDN
	lang    care360.Language
	lim     [2]int
	seen    map[string]bool
	reset   func() error // the crawl goes through menu 8 too: back to lang
	dials   int
	screens int
}

var choiceRE = regexp.MustCompile(`(?m)^([1-9][0-9]*)\. `)

func (cr *crawler) step(kind care360.USSDKind, key, in string) care360.USSDReply {
	r, err := cr.e.Step(context.Background(), care360.USSDRequest{Key: key, MSISDN: cr.msisdn, Kind: kind, Text: in,
		LimitGSM: cr.lim[0], LimitUCS2: cr.lim[1]})
	if err != nil {
		cr.t.Fatal(err)
	}
	return r
}

// visit replays path and explores the screen it leads to.
func (cr *crawler) visit(path []string) {
	cr.dials++
	if err := cr.reset(); err != nil {
		cr.t.Fatal(err)
	}
	key := fmt.Sprintf("%s/c%d", cr.msisdn, cr.dials)
	r := cr.step(care360.USSDBegin, key, "*090#")
	for i, in := range path {
		checkPage(cr.t, cr.lang, cr.lim, fmt.Sprint("after ", path[:i]), r.Text)
		if r.End {
			return // an earlier action changed what this path leads to
		}
		r = cr.step(care360.USSDAnswer, key, in)
	}
	checkPage(cr.t, cr.lang, cr.lim, fmt.Sprint("after ", path), r.Text)
	if r.End || len(path) >= 6 || cr.seen[r.Text] {
		return
	}
	cr.seen[r.Text] = true
	cr.screens++
	// An invalid answer re-shows the screen with the notice.
	checkPage(cr.t, cr.lang, cr.lim, fmt.Sprint("invalid after ", path), cr.step(care360.USSDAnswer, key, "x").Text)
	var answers []string
	for _, m := range choiceRE.FindAllStringSubmatch(r.Text, -1) {
		answers = append(answers, m[1])
	}
	if len(answers) == 0 || answers[0] == "99" { // an input screen
		answers = append(answers, "2", "0903556099", time.Now().AddDate(0, 0, 3).Format("0201")+" VN123")
	}
	for _, a := range answers {
		cr.visit(append(slices.Clip(path), a))
	}
}
