package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesWeakAdminToken: `serve` will not start with an admin
// token an attacker would try first, and says why; `dev` keeps its own.
func TestServeRefusesWeakAdminToken(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"dev-token":                         "known development value",
		"ChangeMe":                          "known development value",
		"admin":                             "known development value",
		"0123456789abcdefghij":              "20 characters long; it must have at least 32",
		"changeme-changeme-changeme-change": "placeholder",
		strings.Repeat("ab", 20):            "placeholder",
	}
	for tok, want := range cases {
		env := map[string]string{
			"CARE360_ADMIN_TOKEN":  tok,
			"CARE360_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
			"CARE360_SMPP_ADDR":    "127.0.0.1:1",
		}
		err := runServe(t.Context(), func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "CARE360_ADMIN_TOKEN") {
			t.Errorf("serve with admin token %q: %v; want an error naming CARE360_ADMIN_TOKEN and %q", tok, err, want)
		}
	}
	good := loadConfig(t, map[string]string{"CARE360_ADMIN_TOKEN": "kq3V9xZ2pL7mN4tR8wY1bC6dF0gH5jS2"})
	if err := good.Validate(); err != nil {
		t.Errorf("a random 32-character token: %v", err)
	}
	dev := loadConfig(t, map[string]string{"CARE360_ADMIN_TOKEN": "dev-token"})
	dev.Dev = true
	if err := dev.Validate(); err != nil {
		t.Errorf("dev with its token: %v", err)
	}
}

// TestConfigFileBounds: CARE360_CONFIG sizes the two Postgres pools and
// sets the HTTP bounds; negative numbers stop serve with the key's name.
func TestConfigFileBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"db_conns": {"ussd": 40, "api": 6}, "http": {"auth_failures_per_minute": 10, "max_api_requests": 16}}`), 0o600)
	os.WriteFile(bad, []byte(`{"db_conns": {"api": -1}}`), 0o600)
	c := loadConfig(t, map[string]string{"CARE360_CONFIG": good})
	if c.USSDConns != 40 || c.APIConns != 6 || c.HTTPBounds.AuthFailures != 10 || c.HTTPBounds.APIRequests != 16 {
		t.Errorf("pools %d/%d, HTTP bounds %+v", c.USSDConns, c.APIConns, c.HTTPBounds)
	}
	if _, err := LoadConfig(func(k string) string { return map[string]string{"CARE360_CONFIG": bad}[k] }); err == nil || !strings.Contains(err.Error(), "db_conns") {
		t.Errorf("negative pool: %v", err)
	}
}

func loadConfig(t *testing.T, env map[string]string) Config {
	t.Helper()
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}
