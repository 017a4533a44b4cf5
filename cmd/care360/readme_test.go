package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
)

// TestReadmeTranscripts keeps README.md, and the pages of docs/ that quote
// the program, honest: it starts the program as `care360 dev` does (the
// simulator with its two accounts, the gateway bound to both, the demo
// members, the token dev-token), then, page by page in order,
//
//   - replays every block marked <!-- transcript: dial MSISDN [CODE] --> through
//     `care360 dial`'s own code on the simulator's control API, and compares
//     the terminal, screen by screen, with the page;
//   - runs every block marked <!-- transcript: curl --> against the admin
//     API, each curl in turn, and checks the status and every field of the
//     `# STATUS {json}` line that follows it.
//
// The one thing allowed to differ is the date points earned today expire,
// which moves with the calendar.
func TestReadmeTranscripts(t *testing.T) {
	t.Parallel()
	pages, _ := filepath.Glob("../../docs/*.md")
	pages = append([]string{"../../README.md"}, pages...)
	var blocks []block
	for _, p := range pages {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, markedBlocks(strings.TrimPrefix(p, "../../"), string(raw))...)
	}
	d := startDev(t)
	var dials, curls int
	for _, b := range blocks {
		switch f := strings.Fields(b.mark); {
		case len(f) >= 2 && f[0] == "dial":
			dials += b.readme()
			checkDial(t, d, b)
		case len(f) == 1 && f[0] == "curl":
			curls += b.readme()
			checkCurls(t, d, b)
		default:
			t.Errorf("%s line %d: unknown transcript %q", b.file, b.line, b.mark)
		}
	}
	if dials == 0 || curls == 0 {
		t.Errorf("README.md marks %d dial and %d curl transcripts; want both", dials, curls)
	}
}

// devProgram is the program as `care360 dev` runs it, on ports of its own.
type devProgram struct {
	m       *Main
	base    string // http://host:port of the admin API, for localhost:8080
	control string // the simulator's control API, for `care360 dial`
}

// startDev is runDev (devConfig, devSimulator, devBinds, the demo
// application, devData) on a database of this test's own, with the
// simulator and the HTTP servers on port 0.
func startDev(t *testing.T) *devProgram {
	t.Helper()
	return startDevWith(t, nil)
}

// startDevWith is startDev with env's variables besides.
func startDevWith(t *testing.T, env map[string]string) *devProgram {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sim := devSimulator("127.0.0.1:0", nil)
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	ctl := httptest.NewServer(sim.ControlHandler())
	t.Cleanup(ctl.Close)

	// Only what a laptop's dev gets elsewhere: the local Postgres (here a
	// database of the test's own, so the demo members are as a newcomer
	// first sees them) and the ports.
	vars := map[string]string{
		"CARE360_DATABASE_URL": pgtest.FreshDB(t),
		"CARE360_HTTP_ADDR":    "127.0.0.1:0",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := devConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Binds = devBinds(sim.Addr())
	demoBase, app, err := startDemoApp(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	addDemoServices(&cfg, demoBase)
	if err := devData(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	// A transceiver for screens, a transmitter and a receiver for SMS.
	if err := sim.WaitBound(ctx, 3); err != nil {
		t.Fatal(err)
	}
	return &devProgram{m: m, base: "http://" + m.HTTPAddr(), control: ctl.URL}
}

// block is a fenced block of README.md after a <!-- transcript: ... --> mark.
type block struct {
	file, mark string
	line       int // of the mark
	lines      []string
}

func (b block) readme() int {
	if b.file == "README.md" {
		return 1
	}
	return 0
}

var markRE = regexp.MustCompile(`^<!-- transcript: (.+?) -->$`)

func markedBlocks(file, page string) []block {
	var out []block
	lines := strings.Split(page, "\n")
	for i := 0; i < len(lines); i++ {
		m := markRE.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		b := block{file: file, mark: m[1], line: i + 1}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j == len(lines) || !strings.HasPrefix(lines[j], "```") {
			out = append(out, b) // no block: reported by its checker
			continue
		}
		for j++; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			b.lines = append(b.lines, lines[j])
		}
		out = append(out, b)
		i = j
	}
	return out
}

// checkDial replays a dial transcript: its first line is the command, then
// the terminal as a person sees it, answers typed after "> ".
func checkDial(t *testing.T, d *devProgram, b block) {
	t.Helper()
	if len(b.lines) < 2 {
		t.Errorf("%s line %d: the dial transcript has no block", b.file, b.line)
		return
	}
	args := shellWords(strings.TrimPrefix(b.lines[0], "$ "))
	if len(args) < 3 || args[0] != "./bin/care360" || args[1] != "dial" || strings.Join(args[1:], " ") != b.mark {
		t.Errorf("%s line %d: the block starts with %q, want $ ./bin/care360 %s", b.file, b.line, b.lines[0], b.mark)
		return
	}
	code := d.m.Config.USSDCode
	if len(args) == 4 {
		code = args[3]
	}
	var answers []string
	for _, l := range b.lines[1:] {
		if a, ok := strings.CutPrefix(l, "> "); ok {
			answers = append(answers, a)
		}
	}
	var term bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := dial(ctx, d.control, args[2], code, &typist{answers: answers, echo: &term}, &term); err != nil {
		t.Errorf("%s line %d: %s: %v", b.file, b.line, b.lines[0], err)
		return
	}
	expiry := care360.Expiry(time.Now(), d.m.Config.Location).Format("02/01/2006")
	got, want := nonBlank(term.String()), nonBlank(strings.Join(b.lines[1:], "\n"))
	if !sameTerminal(got, want, expiry) {
		t.Errorf("%s line %d: `care360 %s` no longer shows what the page says\n--- program\n%s\n--- %s\n%s",
			b.file, b.line, b.mark, got, b.file, want)
	}
}

// sameTerminal compares line by line, where a line of the program's that
// shows expiry, the date points earned today expire, may show another date
// in the page: the one of the day it was written.
func sameTerminal(got, want, expiry string) bool {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] != w[i] && (!strings.Contains(g[i], expiry) ||
			strings.ReplaceAll(g[i], expiry, "{expiry}") != dateRE.ReplaceAllString(w[i], "{expiry}")) {
			return false
		}
	}
	return true
}

var dateRE = regexp.MustCompile(`\b\d{2}/\d{2}/\d{4}\b`)

// typist is a person at the terminal: one answer per read, echoed where the
// program writes, as a terminal echoes what is typed.
type typist struct {
	answers []string
	echo    io.Writer
}

func (p *typist) Read(b []byte) (int, error) {
	if len(p.answers) == 0 {
		return 0, io.EOF
	}
	line := p.answers[0] + "\n"
	p.answers = p.answers[1:]
	fmt.Fprint(p.echo, line)
	return copy(b, line), nil
}

func nonBlank(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			keep = append(keep, strings.TrimRight(l, " "))
		}
	}
	return strings.Join(keep, "\n")
}

// checkCurls runs a block of curl commands in order. A command may go on over
// lines ending in `\`; the comment line after it, `# STATUS {json}`, says
// what the API answers: the status and some of the fields, which must be
// exactly as shown (objects may have more fields than the page shows;
// arrays have as many elements).
func checkCurls(t *testing.T, d *devProgram, b block) {
	t.Helper()
	var cmds []curlCmd
	for i := 0; i < len(b.lines); i++ {
		l := b.lines[i]
		if !strings.HasPrefix(l, "curl ") {
			if a, ok := strings.CutPrefix(l, "# "); ok && len(cmds) > 0 && cmds[len(cmds)-1].answer == "" {
				cmds[len(cmds)-1].answer = a
			}
			continue
		}
		for strings.HasSuffix(l, `\`) && i+1 < len(b.lines) {
			i++
			l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(b.lines[i])
		}
		cmds = append(cmds, curlCmd{line: l})
	}
	if len(cmds) == 0 {
		t.Errorf("%s line %d: no curl in the block", b.file, b.line)
	}
	for _, c := range cmds {
		c.check(t, d, b)
	}
}

type curlCmd struct{ line, answer string }

func (c curlCmd) check(t *testing.T, d *devProgram, b block) {
	t.Helper()
	req, err := c.request(d.base)
	if err != nil {
		t.Errorf("%s line %d: %s: %v", b.file, b.line, c.line, err)
		return
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("%s line %d: %s: %v", b.file, b.line, c.line, err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	status, fields, _ := strings.Cut(c.answer, " ")
	want, err := strconv.Atoi(status)
	if err != nil {
		t.Errorf("%s line %d: %s\nis not followed by `# STATUS {json}`", b.file, b.line, c.line)
		return
	}
	if resp.StatusCode != want {
		t.Errorf("%s line %d: %s\nanswered %d, the page says %d: %s", b.file, b.line, c.line, resp.StatusCode, want, body)
		return
	}
	if strings.TrimSpace(fields) == "" {
		return
	}
	var shown, got any
	if err := json.Unmarshal([]byte(fields), &shown); err != nil {
		t.Errorf("%s line %d: the answer shown after %s is not JSON: %v", b.file, b.line, c.line, err)
		return
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Errorf("%s line %d: %s\nanswered %s: %v", b.file, b.line, c.line, body, err)
		return
	}
	if path, ok := shows(shown, got, ""); !ok {
		t.Errorf("%s line %d: %s\nanswered %s\nwhich differs from the page at %s", b.file, b.line, c.line, body, path)
	}
}

// shows says whether got has every field of shown, with the same value;
// arrays have the same length, each element shown as above.
func shows(shown, got any, path string) (string, bool) {
	if s, ok := shown.(map[string]any); ok {
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, v := range s {
			gv, ok := g[k]
			if !ok {
				return path + "." + k, false
			}
			if p, ok := shows(v, gv, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	}
	if s, ok := shown.([]any); ok {
		g, ok := got.([]any)
		if !ok || len(g) != len(s) {
			return path, false
		}
		for i := range s {
			if p, ok := shows(s[i], g[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	}
	if reflect.DeepEqual(shown, got) {
		return "", true
	}
	return path, false
}

// request turns a curl command line of a page into a request to base.
func (c curlCmd) request(base string) (*http.Request, error) {
	args := shellWords(c.line)[1:]
	method, url := "", ""
	var body *string
	header := http.Header{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 == len(args) {
				return "", fmt.Errorf("%s wants a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "-s":
		case "-X":
			method, err = next()
		case "-H":
			var h string
			h, err = next()
			k, v, _ := strings.Cut(h, ":")
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d", "--data", "--data-binary":
			var v string
			v, err = next()
			body = &v
		default:
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("the test does not know curl's %s", a)
			}
			url = a
		}
		if err != nil {
			return nil, err
		}
	}
	rest, ok := strings.CutPrefix(url, "localhost:8080")
	if !ok {
		return nil, fmt.Errorf("%q is not the admin API at localhost:8080", url)
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(*body)
		if method == "" {
			method = http.MethodPost
		}
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl -d sends
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, base+rest, rd)
	if err != nil {
		return nil, err
	}
	req.Header = header
	return req, nil
}

// shellWords splits a command line as sh would, for the quoting the pages
// uses: '…' literally, "…" with \" and \\, and bare words.
func shellWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		in    bool
	)
	r := bufio.NewReader(strings.NewReader(s))
	for {
		ch, _, err := r.ReadRune()
		if err != nil {
			break
		}
		switch {
		case ch == '\'':
			in = true
			for {
				c, _, err := r.ReadRune()
				if err != nil || c == '\'' {
					break
				}
				cur.WriteRune(c)
			}
		case ch == '"':
			in = true
			for {
				c, _, err := r.ReadRune()
				if err != nil || c == '"' {
					break
				}
				if c == '\\' {
					if n, _, err := r.ReadRune(); err == nil {
						if n != '"' && n != '\\' {
							cur.WriteRune(c)
						}
						c = n
					}
				}
				cur.WriteRune(c)
			}
		case ch == ' ' || ch == '\t':
			if in || cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			in = true
			cur.WriteRune(ch)
		}
	}
	if in || cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}
