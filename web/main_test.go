package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testToken = "test-admin-token"

// bundle is one server on its own migrated database, with what tests need to
// talk to it and to read its logs.
type bundle struct {
	srv   *web.Server
	url   string
	token string
	db    *store.DB
	logs  *syncBuffer

	errorsExpected bool // the test provokes internal errors on purpose
}

// setup starts a server backed by the real store on a fresh database. Each
// option may change the config before the server is built.
func setup(t *testing.T, opts ...func(*web.Config)) *bundle {
	t.Helper()
	return setupOn(t, pgtest.DB(t), opts...)
}

// setupOn is setup on the database at url, for tests whose queues must be
// their own (pgtest.FreshDB).
func setupOn(t *testing.T, url string, opts ...func(*web.Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(db.Close)

	logs := &syncBuffer{}
	cfg := web.Config{
		AdminToken:  testToken,
		Subscribers: db,
		Points:      db,
		Ready:       []web.ReadyCheck{{Name: "postgres", Check: db.Ping}},
		Admin:       &web.AdminConfig{Staff: db, Audit: db, Reports: db, DeadLetters: db},
		Logger:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := web.NewServer(cfg)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	b := &bundle{srv: srv, url: ts.URL, token: cfg.AdminToken, db: db, logs: logs}
	// An internal error that a test did not provoke is a bug even when the
	// test's own checks pass.
	t.Cleanup(func() {
		if !b.errorsExpected && strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("unexpected errors logged:\n%s", logs.String())
		}
	})
	return b
}

// response is what a test reads back: status, headers, raw body.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test if it is not JSON.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON (%v): %s", r.status, err, r.body)
	}
}

// apiError is the JSON error shape of PRODUCT.md §6.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	} `json:"error"`
}

// errorOf decodes the error shape and checks the status and code.
func (r response) errorOf(t *testing.T, status int, code string) apiError {
	t.Helper()
	var e apiError
	r.json(t, &e)
	if r.status != status || e.Error.Code != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.status, e.Error.Code, status, code, r.body)
	}
	if e.Error.Message == "" {
		t.Errorf("error without a message: %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
	return e
}

// do sends a request with the admin token.
func (b *bundle) do(t *testing.T, method, path, body string) response {
	t.Helper()
	return b.send(t, method, path, body, "Bearer "+b.token)
}

// send sends a request with the given Authorization header ("" for none).
func (b *bundle) send(t *testing.T, method, path, body, auth string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// newMSISDN returns a random national-format Vietnamese mobile number, so
// that tests never collide even on a shared database.
func newMSISDN() string {
	return fmt.Sprintf("090%07d", rand.IntN(10_000_000))
}

// canonical is the stored form of a national-format number.
func canonical(national string) string { return "84" + strings.TrimPrefix(national, "0") }

// mustJSON marshals v for a request body.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
