package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/care360/care360/internal/pgtest"
)

// consoleDir holds the browser tests (console-test/), relative to this
// package's directory.
const consoleDir = "../../console-test"

// needBrowser finds node, playwright-core and Debian's chromium, or skips
// (fails in CI, where .ci/run installs them).
func needBrowser(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(what string) {
		msg := "browser tests unavailable: " + what + "; install chromium (apt) and run `npm ci --prefix console-test` (see .ci/run)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " — CI is set, so this is a failure, not a skip")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no `node` on PATH")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no browser at " + chromium)
	}
	if _, err := os.Stat(filepath.Join(consoleDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing("console-test/node_modules/playwright-core is not installed")
	}
	return node, chromium
}

// TestConsoleBrowser starts the real program (as `care360 serve` runs, on
// port 0, with the simulator and a Postgres of its own) and drives its
// console in headless chromium: sign-in and roles, a subscriber's points,
// the phone emulator, gifts and codes, a campaign's progress and the
// campaign list another browser reads from the server, a feedback texted
// by SMS and answered from the inbox, a draw, the reports'
// charts (SMS delivery among them), the audit log, both languages
// (console-test/).
// CARE360_CONSOLE_SHOTS keeps the screenshots (the README's come from here).
func TestConsoleBrowser(t *testing.T) {
	t.Parallel()
	node, chromium := needBrowser(t)
	// Quiet hours (22:00–07:00) would hold the campaign: pick a zone where
	// it is day now.
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t), "CARE360_TIMEZONE": zoneAt(t, 8, 20)})
	h.member(t, "0903123456", map[string]any{"name": "Nguyễn Văn An", "language": "vi", "birthday": "1988-11-20", "gender": "m"}, 12_000, 800)
	h.member(t, "0904234567", map[string]any{"name": "Trần Thị Bích", "language": "vi-unicode", "gender": "f"}, 22_000, 0)
	seedHistory(t, h)

	// The phone's side of SMS: the browser tests text the short code and
	// read what the handset received through the simulator's control API.
	sim := httptest.NewServer(h.sim.ControlHandler())
	defer sim.Close()

	shots := os.Getenv("CARE360_CONSOLE_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	shots, _ = filepath.Abs(shots)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "console.test.js")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(),
		"CONSOLE_URL="+h.base, "CONSOLE_TOKEN="+testToken, "CONSOLE_MSISDN=0903123456",
		"CONSOLE_SHOTS="+shots, "CHROMIUM="+chromium, "CONSOLE_SIM="+sim.URL)
	out, err := cmd.CombinedOutput()
	t.Logf("console-test:\n%s", out)
	if err != nil {
		t.Fatalf("console-test failed: %v", err)
	}
}

// seedHistory books two weeks of points for the demo members, on the days
// they would have been booked (only the database sets created_at, so this
// writes the ledger directly), so that the reports have something to draw.
func seedHistory(t *testing.T, h *harness) {
	t.Helper()
	_, err := h.m.DB.Pool().Exec(context.Background(), `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
		SELECT m, k, p, p, 'billing', 'hist-' || m || '-' || d || '-' || k, t, t + interval '1 year', t
		FROM unnest(ARRAY['84903123456', '84904234567']) AS m,
		     generate_series(1, 13) AS d,
		     LATERAL (VALUES ('qualifying', 4000 + (d * 1237) % 5000), ('bonus', 500 + (d * 353) % 1500)) AS x(k, p),
		     LATERAL (SELECT now() - d * interval '1 day' AS t) AS w`)
	if err != nil {
		t.Fatal(err)
	}
	// Every other day, half a credit is spent the hour after, allocated as
	// the ledger's rules want.
	_, err = h.m.DB.Pool().Exec(context.Background(), `
		WITH c AS (
			SELECT id, msisdn, points, created_at FROM points_ledger
			WHERE idempotency_key LIKE 'hist-%-qualifying' AND extract(doy FROM created_at)::int % 2 = 0
		), d AS (
			INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
			SELECT msisdn, 'qualifying', -(points / 2), 'gift claim', 'spend-' || id, created_at + interval '1 hour', created_at + interval '1 hour'
			FROM c RETURNING id, idempotency_key, points
		)
		INSERT INTO points_allocations (debit_id, credit_id, points)
		SELECT id, substr(idempotency_key, 7)::bigint, -points FROM d`)
	if err != nil {
		t.Fatal(err)
	}
}
