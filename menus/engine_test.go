package menus

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// phone drives an engine directly, one dialogue key at a time.
type phone struct {
	t      *testing.T
	e      *Engine
	msisdn care360.MSISDN
	key    string
	n      int
	// console: steps come from the console's emulator
	console bool
	// ref: the user_message_reference the phone echoes (pushed dialogues)
	ref int
}

func (p *phone) send(kind care360.USSDKind, text string) care360.USSDReply {
	p.t.Helper()
	if kind == care360.USSDBegin {
		p.n++
		p.key = fmt.Sprintf("%s/s%d", p.msisdn, p.n)
	}
	r, err := p.e.Step(context.Background(), care360.USSDRequest{Key: p.key, MSISDN: p.msisdn, Kind: kind, Text: text, LimitGSM: 182, LimitUCS2: 80, Console: p.console, Ref: p.ref})
	if err != nil {
		p.t.Fatal(err)
	}
	return r
}

func (p *phone) expect(kind care360.USSDKind, in, want string, end bool) {
	p.t.Helper()
	r := p.send(kind, in)
	if r.Text != want || r.End != end {
		p.t.Fatalf("after %q:\n--- got (end=%v)\n%s\n--- want (end=%v)\n%s", in, r.End, r.Text, end, want)
	}
}

type bundle struct {
	db *store.DB
	e  *Engine
}

// setup gives each test a database of its own (a copy of the migrated
// template): the transcripts dial fixed numbers, whose state must not carry
// over to the next run of the test (-count) or to another test.
func setup(t *testing.T, tree map[string]*Screen, mutate func(*Config)) *bundle {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	cfg := Config{Subscribers: db, Points: db, Dialogues: db, Tree: tree}
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{db: db, e: e}
}

func (b *bundle) member(t *testing.T, msisdn string) *phone {
	t.Helper()
	m, err := care360.ParseMSISDN(msisdn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.PutSubscriber(context.Background(), &care360.Subscriber{MSISDN: m, Name: "T"}); err != nil {
		t.Fatal(err)
	}
	return &phone{t: t, e: b.e, msisdn: m}
}

// kindsTree exercises every kind of screen with real domain calls: a
// computed list, a confirmation that acts, and a validated input.
func kindsTree() map[string]*Screen {
	return index(
		&Screen{ID: "main", Title: "title", Items: []Item{
			{Num: 1, Label: "item.language", To: "pick"},
			{Num: 2, Label: "item.giftpoints", To: "who"},
		}},
		&Screen{ID: "register", Title: "register.offer", Items: []Item{{Num: 1, Label: "register.item", Do: register}}},
		&Screen{ID: "pick", Title: "item.language", Next: "sure", Options: func(c *call) ([]Option, error) {
			return []Option{{"English", "en"}, {"Tieng Viet", "vi"}}, nil
		}},
		&Screen{ID: "sure", Confirm: &Confirm{
			Prompt: func(c *call) ([]string, error) { return []string{"Use " + c.value("pick") + "?"}, nil },
			Do: func(c *call) (string, error) {
				l := care360.Language(c.value("pick"))
				return "ok " + string(l), c.e.cfg.Subscribers.SetLanguage(c.ctx, c.req.MSISDN, l)
			},
		}},
		&Screen{ID: "who", Input: &Input{Prompt: "item.giftpoints", Parse: parseMSISDN}, Next: "typed"},
		&Screen{ID: "typed", Info: func(c *call) ([]string, error) { return []string{"To " + c.value("who")}, nil }},
	)
}

func TestScreenKinds(t *testing.T) {
	t.Parallel()
	b := setup(t, kindsTree(), nil)
	p := b.member(t, "0903555001")
	main := "MobiFone Care360\n1. Ngon ngu/Language\n2. Tang diem"
	p.expect(care360.USSDBegin, "*090#", main, false)
	p.expect(care360.USSDAnswer, "1", "Ngon ngu/Language\n1. English\n2. Tieng Viet\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "3", "Khong hop le\nNgon ngu/Language\n1. English\n2. Tieng Viet\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "1", "Use en?\n1. Dong y\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "0", "Ngon ngu/Language\n1. English\n2. Tieng Viet\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "1", "Use en?\n1. Dong y\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "1", "ok en", true)
	if s, _ := b.db.Subscriber(context.Background(), p.msisdn); s.Language != care360.LangEn {
		t.Fatalf("language %s after confirming", s.Language)
	}

	// A shortcut stops at the first confirmation: nothing is done for the
	// subscriber without their "1".
	p.expect(care360.USSDBegin, "*090*1*2*1#", "Use vi?\n1. Agree\n0. Back", false)
	p.send(care360.USSDAbort, "")
	if s, _ := b.db.Subscriber(context.Background(), p.msisdn); s.Language != care360.LangEn {
		t.Fatalf("a shortcut confirmed: language %s", s.Language)
	}

	// Input: a bad number is asked again; a good one is kept canonical.
	p.expect(care360.USSDBegin, "*090*2#", "Gift points\n0. Back", false)
	p.expect(care360.USSDAnswer, "12345", "Invalid choice\nGift points\n0. Back", false)
	p.expect(care360.USSDAnswer, "0912 345 678", "To 84912345678", true)
}

func TestResumeAfterDrop(t *testing.T) {
	t.Parallel()
	now := time.Now()
	b := setup(t, nil, func(c *Config) { c.Now = func() time.Time { return now } })
	p := b.member(t, "0903555002")
	p.expect(care360.USSDBegin, "*090#", mainVi, false)
	lang := "Ngon ngu/Language\n1. Tieng Viet\n2. Tieng Viet co dau\n3. English\n0. Quay lai"
	p.expect(care360.USSDAnswer, "8", lang, false)
	p.send(care360.USSDAbort, "")
	offer := "Quy khach muon tiep tuc phien truoc?\n1. Tiep tuc\n2. Bat dau lai"
	p.expect(care360.USSDBegin, "*090#", offer, false)
	p.expect(care360.USSDAnswer, "1", lang, false)
	p.expect(care360.USSDAnswer, "0", mainVi, false)

	// Start over instead; and the offer is made only once.
	p.expect(care360.USSDAnswer, "8", lang, false)
	p.send(care360.USSDAbort, "")
	p.expect(care360.USSDBegin, "*090#", offer, false)
	p.expect(care360.USSDAnswer, "2", mainVi, false)
	p.send(care360.USSDAbort, "")
	p.expect(care360.USSDBegin, "*090#", mainVi, false)

	// A shortcut never offers it, and a drop on the main menu keeps nothing.
	p.expect(care360.USSDAnswer, "8", lang, false)
	p.send(care360.USSDAbort, "")
	p.expect(care360.USSDBegin, "*090*8#", lang, false)
}

// TestConsoleNeverResumes: the console's emulator is not the member's
// phone: its drops are not kept for resuming, and the member's own dropped
// dialogue is neither shown to it nor used up by it.
func TestConsoleNeverResumes(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, nil)
	p := b.member(t, "0903555007")
	emu := &phone{t: t, e: b.e, msisdn: p.msisdn, console: true}
	lang := "Ngon ngu/Language\n1. Tieng Viet\n2. Tieng Viet co dau\n3. English\n0. Quay lai"
	offer := "Quy khach muon tiep tuc phien truoc?\n1. Tiep tuc\n2. Bat dau lai"

	emu.expect(care360.USSDBegin, "*090#", mainVi, false)
	emu.expect(care360.USSDAnswer, "8", lang, false)
	emu.send(care360.USSDAbort, "")
	p.expect(care360.USSDBegin, "*090#", mainVi, false)

	p.expect(care360.USSDAnswer, "8", lang, false)
	p.send(care360.USSDAbort, "")
	emu.expect(care360.USSDBegin, "*090#", mainVi, false)
	p.expect(care360.USSDBegin, "*090#", offer, false)
}

func TestResumeWindowCloses(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, func(c *Config) { c.ResumeWindow = 200 * time.Millisecond })
	p := b.member(t, "0903555003")
	p.send(care360.USSDBegin, "*090#")
	p.send(care360.USSDAnswer, "8")
	p.send(care360.USSDAbort, "")
	time.Sleep(300 * time.Millisecond)
	p.expect(care360.USSDBegin, "*090#", mainVi, false)
}

func TestDialFloodIsLimited(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, func(c *Config) { c.DialRate, c.DialBurst = 0.001, 3 })
	p := b.member(t, "0903555004")
	for range 3 {
		if r := p.send(care360.USSDBegin, "*090#"); r.End {
			t.Fatalf("dial refused too early: %q", r.Text)
		}
	}
	p.expect(care360.USSDBegin, "*090#", "Quy khach da bam qua nhieu lan. Vui long thu lai sau it phut.", true)
	other := b.member(t, "0903555005")
	if r := other.send(care360.USSDBegin, "*090#"); r.End {
		t.Fatal("another subscriber was limited too")
	}
}

func TestMalformedAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, nil)
	p := b.member(t, "0903555006")
	p.send(care360.USSDBegin, "*090#")
	invalid := "Khong hop le\n" + mainVi
	p.expect(care360.USSDAnswer, strings.Repeat("1", 161), invalid, false)
	p.expect(care360.USSDAnswer, "1\x1b", invalid, false)
	p.expect(care360.USSDAnswer, "\ufffd", "Lua chon khong hop le. Hen gap lai quy khach!", true)
}

func TestParsers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	c := &call{e: &Engine{cfg: Config{Location: time.UTC, Now: func() time.Time { return now }}}}
	flights := map[string]string{
		"2611 VN123":  "2026-11-26 VN123",
		"0112 vn7":    "2026-12-01 VN7",
		"2411 VN1":    "2027-11-24 VN1", // passed this year: next year's
		"0103 VN0042": "2027-03-01 VN42",
		"2902 VN1":    "2028-02-29 VN1",
	}
	for in, want := range flights {
		if got, err := parseFlight(c, in); err != nil || got != want {
			t.Errorf("parseFlight(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Today is too late for a lounge code, and is not read as next year.
	for _, in := range []string{"2511 VN1", "3102 VN1", "3204 VN1", "2611 VJ123", "2611 VN12345", "26/11 VN1", "2611", ""} {
		if got, err := parseFlight(c, in); err == nil {
			t.Errorf("parseFlight(%q) = %q; want an error", in, got)
		}
	}
	for in, want := range map[string]string{"100": "100", "1.000": "1000", "2,500": "2500"} {
		if got, err := parsePositive(c, in); err != nil || got != want {
			t.Errorf("parsePositive(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"0", "-5", "abc", "007", "1e3", "999999999999"} {
		if _, err := parsePositive(c, in); err == nil {
			t.Errorf("parsePositive(%q) accepted", in)
		}
	}
}
