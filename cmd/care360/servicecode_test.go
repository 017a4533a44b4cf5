package main

import (
	"encoding/json"
	"fmt"
	"github.com/care360/care360/internal/pgtest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360/gateway/smsc"
)

// testQuiz is a partner USSD application as an aggregator would call it:
// two questions, the second one longer than a screen, then END. It keeps
// what each call sent, by session.
type testQuiz struct {
	mu    sync.Mutex
	calls []map[string]string
}

func (q *testQuiz) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	call := map[string]string{"auth": r.Header.Get("Authorization")}
	for k := range r.PostForm {
		call[k] = r.PostForm.Get(k)
	}
	q.mu.Lock()
	q.calls = append(q.calls, call)
	q.mu.Unlock()
	switch r.PostForm.Get("text") {
	case "":
		fmt.Fprint(w, "CON Cau 1: Thu do Viet Nam?\n1. Ha Noi\n2. Hue")
	case "1":
		fmt.Fprint(w, "CON Cau 2: "+strings.Repeat("Mot cau hoi rat dai ", 10)+"\n1. Dung\n2. Sai")
	case "1*2":
		fmt.Fprint(w, "END Cam on! Ban dung 1/2 cau.")
	default:
		fmt.Fprint(w, "END Khong hop le")
	}
}

// serviceHarness runs the gateway with several service codes: the main
// menu, the draws menu, the quiz and three broken applications.
func serviceHarness(t *testing.T) (*harness, *testQuiz) {
	t.Helper()
	quiz := &testQuiz{}
	srv := httptest.NewServer(http.NewServeMux())
	mux := srv.Config.Handler.(*http.ServeMux)
	mux.Handle("/quiz", quiz)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "END too late")
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "END oops", 500) })
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>ok</html>") })
	t.Cleanup(srv.Close)
	cfg := fmt.Sprintf(`{
	  "endpoints": {
	    "partner-quiz": {"url": %q, "headers": {"Authorization": "Bearer quiz-key"}},
	    "slow": {"url": %q, "timeout": "300ms"},
	    "broken": {"url": %q},
	    "garbage": {"url": %q}},
	  "services": [
	    {"code": "*090#", "menu": "main"},
	    {"code": "*1090#", "menu": "draws"},
	    {"code": "*5050#", "app": "partner-quiz"},
	    {"code": "*5051#", "app": "slow"},
	    {"code": "*5052#", "app": "broken"},
	    {"code": "*5053#", "app": "garbage"}]}`, srv.URL+"/quiz", srv.URL+"/slow", srv.URL+"/broken", srv.URL+"/garbage")
	path := filepath.Join(t.TempDir(), "care360.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A database of its own: session ids and records stay this run's under -count.
	return start(t, map[string]string{"CARE360_CONFIG": path, "CARE360_DATABASE_URL": pgtest.FreshDB(t)}), quiz
}

// TestServiceCodes: each code opens what the configuration says, over
// real SMPP through the simulator.
func TestServiceCodes(t *testing.T) {
	t.Parallel()
	h, quiz := serviceHarness(t)
	dial := func(t *testing.T, msisdn, code string) *smsc.Call {
		t.Helper()
		call, err := h.sim.Dial(ctxT(t), msisdn, code, smsc.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return call
	}
	reply := func(t *testing.T, call *smsc.Call, text string) {
		t.Helper()
		if err := call.Reply(ctxT(t), text); err != nil {
			t.Fatal(err)
		}
	}
	const unavailable = "Dich vu tam thoi gian doan. Vui long thu lai sau."

	t.Run("menu", func(t *testing.T) {
		t.Parallel()
		h.member(t, "0903330001", map[string]any{"name": "A"}, 100, 0)
		// *1090# opens what *090*3# does, and its shortcuts what *090*3*…# do.
		for code, same := range map[string]string{"*1090#": "*090*3#", "*1090*3#": "*090*3*3#"} {
			got, want := dial(t, "0903330001", code), dial(t, "0903330001", same)
			if got.Screen() != want.Screen() || got.Ended() != want.Ended() {
				t.Errorf("%s shows %q (ended %v); want what %s shows, %q", code, got.Screen(), got.Ended(), same, want.Screen())
			}
		}
		call := dial(t, "0903330001", "*1090#")
		if !strings.Contains(call.Screen(), "1. Boc tham") || call.Ended() {
			t.Fatalf("*1090#: %q", call.Screen())
		}
		// 0 leads to the main menu.
		reply(t, call, "0")
		if !strings.HasPrefix(call.Screen(), "MobiFone Care360\n1. ") {
			t.Errorf("0 from *1090#: %q", call.Screen())
		}
	})

	t.Run("app", func(t *testing.T) {
		t.Parallel()
		call := dial(t, "0903330002", "*5050#")
		if call.Screen() != "Cau 1: Thu do Viet Nam?\n1. Ha Noi\n2. Hue" || call.Ended() {
			t.Fatalf("first screen: %q (ended %v)", call.Screen(), call.Ended())
		}
		reply(t, call, "1")
		page1 := call.Screen()
		if !strings.HasPrefix(page1, "Cau 2: Mot cau") || !strings.HasSuffix(page1, "\n99. Xem them") || len(page1) > 182 || call.Ended() {
			t.Fatalf("long screen, page 1: %q", page1)
		}
		reply(t, call, "99")
		if s := call.Screen(); !strings.Contains(s, "1. Dung\n2. Sai") || !strings.HasSuffix(s, "0. Quay lai") || call.Ended() {
			t.Fatalf("long screen, page 2: %q", s)
		}
		reply(t, call, "0")
		if call.Screen() != page1 {
			t.Fatalf("0 on page 2: %q", call.Screen())
		}
		reply(t, call, "2")
		if call.Screen() != "Cam on! Ban dung 1/2 cau." || !call.Ended() {
			t.Fatalf("last screen: %q (ended %v)", call.Screen(), call.Ended())
		}
		quiz.mu.Lock()
		defer quiz.mu.Unlock()
		var texts []string
		var session string
		for _, c := range quiz.calls {
			if c["phoneNumber"] != "+84903330002" {
				continue
			}
			if session == "" {
				session = c["sessionId"]
			}
			if c["sessionId"] != session || c["serviceCode"] != "*5050#" || c["auth"] != "Bearer quiz-key" {
				t.Errorf("call %v", c)
			}
			texts = append(texts, c["text"])
		}
		if session == "" || strings.Join(texts, "|") != "|1|1*2" {
			t.Errorf("texts sent: %q (session %q)", texts, session)
		}
		// The dialogue's record carries the code and the application.
		r := record(t, h, "0903330002")
		if r.Code != "*5050#" || r.Outcome != "completed" || r.Steps != 5 || strings.Join(r.Path, ",") != "app:partner-quiz,app:partner-quiz,app:partner-quiz" {
			t.Errorf("record %+v", r)
		}
	})

	t.Run("app shortcut", func(t *testing.T) {
		t.Parallel()
		call := dial(t, "0903330003", "*5050*1#")
		if !strings.HasPrefix(call.Screen(), "Cau 2:") || call.Ended() {
			t.Fatalf("*5050*1#: %q", call.Screen())
		}
	})

	for i, app := range []struct{ code, name, reason string }{
		{"*5051#", "slow", "timeout"}, {"*5052#", "broken", "status"}, {"*5053#", "garbage", "unparseable"},
	} {
		t.Run(app.name, func(t *testing.T) {
			t.Parallel()
			call := dial(t, fmt.Sprintf("090333010%d", i), app.code)
			if call.Screen() != unavailable || !call.Ended() {
				t.Fatalf("%s: %q (ended %v)", app.code, call.Screen(), call.Ended())
			}
			if r := record(t, h, fmt.Sprintf("090333010%d", i)); r.Code != app.code || r.Outcome != "error" {
				t.Errorf("record %+v", r)
			}
			metric := fmt.Sprintf(`care360_ussd_app_errors_total{app=%q,reason=%q} 1`, app.name, app.reason)
			if m := metrics(t, h); !strings.Contains(m, metric) {
				t.Errorf("metrics lack %s", metric)
			}
		})
	}

	t.Run("not ours", func(t *testing.T) {
		t.Parallel()
		call := dial(t, "0903330004", "*999#")
		if call.Screen() != "Ma dich vu khong dung. Vui long bam *090#." || !call.Ended() {
			t.Fatalf("*999#: %q (ended %v)", call.Screen(), call.Ended())
		}
	})
}

// TestServiceCodeAppOverHTTP: a partner application's dialogue goes the
// same over the HTTP USSD adapter.
func TestServiceCodeAppOverHTTP(t *testing.T) {
	t.Parallel()
	h, quiz := serviceHarness(t)
	ctx := ctxT(t)
	p := &httpPhone{h: h}
	if err := p.dial(ctx, "0803330005", "*5050#"); err != nil {
		t.Fatal(err)
	}
	if s, end := p.screen(); s != "Cau 1: Thu do Viet Nam?\n1. Ha Noi\n2. Hue" || end {
		t.Fatalf("first screen: %q", s)
	}
	for _, in := range []string{"1", "2"} {
		if err := p.reply(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if s, end := p.screen(); s != "Cam on! Ban dung 1/2 cau." || !end {
		t.Fatalf("last screen: %q (ended %v)", s, end)
	}
	quiz.mu.Lock()
	defer quiz.mu.Unlock()
	if c := quiz.calls[len(quiz.calls)-1]; c["networkCode"] != "45201" || c["phoneNumber"] != "+84803330005" || c["text"] != "1*2" {
		t.Errorf("last call: %v", c)
	}
}

// metrics is what /metrics serves.
func metrics(t *testing.T, h *harness) string {
	t.Helper()
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestServiceCodeConfig: the services list is checked when the
// configuration is read, each mistake named.
func TestServiceCodeConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	load := func(body, code string) (Config, error) {
		p := filepath.Join(dir, fmt.Sprintf("c%d.json", time.Now().UnixNano()))
		os.WriteFile(p, []byte(body), 0o600)
		return LoadConfig(func(k string) string {
			return map[string]string{"CARE360_CONFIG": p, "CARE360_USSD_CODE": code}[k]
		})
	}
	const ep = `"endpoints": {"quiz": {"url": "https://quiz.partner/ussd"}}`
	c, err := load(`{`+ep+`, "services": [{"code":"*1090#","menu":"draws"},{"code":"*5050#","app":"quiz"},{"code":"*091#","menu":"main"}]}`, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Services) != 3 || c.USSDCode != "*091#" {
		t.Errorf("services %v, code %s; want 3 and *091#, the main menu's", c.Services, c.USSDCode)
	}
	// `care360 config` shows them as read.
	if b, _ := json.Marshal(c.Effective(func(string) string { return "" }).File.Services); !strings.Contains(string(b), `{"code":"*5050#","app":"quiz"}`) {
		t.Errorf("care360 config shows services %s", b)
	}
	if c, err := load(`{}`, "*123#"); err != nil || len(c.Services) != 1 || c.Services[0].Code != "*123#" || c.Services[0].Menu != "main" {
		t.Errorf("CARE360_USSD_CODE alone: %v, %v", c.Services, err)
	}
	for want, body := range map[string]string{
		`unknown menu "lottery"`:              `{"services": [{"code":"*090#","menu":"lottery"}]}`,
		`app "quiz" is not one of the config`: `{"services": [{"code":"*5050#","app":"quiz"}]}`,
		"menu and app: give one":              `{` + ep + `, "services": [{"code":"*5050#","app":"quiz","menu":"main"}]}`,
		"*090# is listed twice":               `{"services": [{"code":"*090#","menu":"main"},{"code":"*090#","menu":"draws"}]}`,
		"services: empty":                     `{"services": []}`,
		`code "5050" must look like`:          `{"services": [{"code":"5050","menu":"main"}]}`,
		`unknown field "url"`:                 `{"services": [{"code":"*090#","url":"https://x/"}]}`,
	} {
		if _, err := load(body, ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v; want one naming %q", body, err, want)
		}
	}
}

// TestServiceCodeDevQuiz: the partner application `dev` serves itself
// answers *5050# over real HTTP, through its endpoint like any partner's.
func TestServiceCodeDevQuiz(t *testing.T) {
	t.Parallel()
	url, app, err := startDemoApp(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	h := startWith(t, nil, func(c *Config) { addDemoServices(c, url) })
	ctx := ctxT(t)
	call, err := h.sim.Dial(ctx, "0903330006", "*5050#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ answer, want string }{
		{"1", "Quiz doi tac (2/3)"}, {"7", "Chon 1 hoac 2.\nQuiz doi tac (2/3)"}, {"1", "Quiz doi tac (3/3)"},
		{"1", "Ban tra loi dung 2/3 cau. Cam on ban da tham gia!"},
	} {
		if !strings.Contains(call.Screen(), "Quiz doi tac") || call.Ended() {
			t.Fatalf("before %s: %q", step.answer, call.Screen())
		}
		if err := call.Reply(ctx, step.answer); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(call.Screen(), step.want) {
			t.Fatalf("after %s: %q; want %q", step.answer, call.Screen(), step.want)
		}
	}
	if !call.Ended() {
		t.Error("the quiz's last screen did not end the dialogue")
	}
	// The second demo code opens draws & spins.
	h.member(t, "0903330007", map[string]any{"name": "G"}, 100, 0)
	call, err = h.sim.Dial(ctx, "0903330007", "*1090#", smsc.DialOptions{})
	if err != nil || !strings.Contains(call.Screen(), "1. Boc tham") {
		t.Fatalf("*1090#: %q, %v", call.Screen(), err)
	}
}

// serviceRecord is what the tests read of a dialogue's record.
type serviceRecord struct {
	Code, Outcome string
	Steps         int
	Path          []string
}

// record waits for the one dialogue record of msisdn (they are written in
// batches) and returns it.
func record(t *testing.T, h *harness, msisdn string) serviceRecord {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var r serviceRecord
		req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/dialogues?msisdn="+msisdn, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n"); line != "" {
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("record %q: %v", line, err)
			}
			return r
		}
	}
	t.Fatalf("no dialogue record for %s", msisdn)
	return serviceRecord{}
}
