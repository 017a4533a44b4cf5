package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testToken = "test-token"

// harness is the real program (Main, as `care360 serve` runs it) bound over
// TCP to a simulator, with Postgres behind it.
type harness struct {
	sim  *smsc.Server
	m    *Main
	base string // http://host:port of the admin API
}

// start runs Main on port 0 against a fresh simulator; env overrides the
// test defaults.
func start(t *testing.T, env map[string]string) *harness {
	t.Helper()
	return startWith(t, env, nil)
}

// startWith is start with edit changing the configuration last.
func startWith(t *testing.T, env map[string]string, edit func(*Config)) *harness {
	t.Helper()
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 15 * time.Second})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	vars := map[string]string{
		"CARE360_DATABASE_URL": pgtest.DB(t),
		"CARE360_SMPP_ADDR":    sim.Addr(),
		"CARE360_HTTP_ADDR":    "127.0.0.1:0",
		"CARE360_ADMIN_TOKEN":  testToken,
		// The HTTP USSD transcripts call from loopback.
		"CARE360_USSD_HTTP_ALLOW": "127.0.0.0/8,::1/128",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Tests check what a step answers, not how fast: on a crowded machine
	// the 2 s product budget would turn a slow pass into a failure.
	cfg.StepTimeout = 15 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	m := &Main{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	if err := sim.WaitBound(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return &harness{sim: sim, m: m, base: "http://" + m.HTTPAddr()}
}

// api calls the admin API and decodes the JSON answer into out (if not nil).
func (h *harness) api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// member creates a subscriber through the admin API and credits points.
func (h *harness) member(t *testing.T, msisdn string, profile map[string]any, qualifying, bonus int64) {
	t.Helper()
	if profile == nil {
		profile = map[string]any{}
	}
	if _, set := profile["marketing_consent"]; !set {
		profile["marketing_consent"] = true // the members of these tests agree to marketing
	}
	if st := h.api(t, "PUT", "/api/v1/subscribers/"+msisdn, profile, nil); st != 201 && st != 200 {
		t.Fatalf("PUT subscriber %s: %d", msisdn, st)
	}
	for kind, pts := range map[string]int64{"qualifying": qualifying, "bonus": bonus} {
		if pts == 0 {
			continue
		}
		body := map[string]any{"kind": kind, "points": pts, "reason": "test", "idempotency_key": fmt.Sprintf("seed-%s-%s", msisdn, kind)}
		if st := h.api(t, "POST", "/api/v1/subscribers/"+msisdn+"/points", body, nil); st != 201 && st != 200 {
			t.Fatalf("POST points %s: %d", msisdn, st)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
