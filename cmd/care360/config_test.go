package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
)

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.USSDCode != "*090#" || c.ShortCode != "9237" || c.HTTPAddr != ":8080" || c.IdleTimeout != time.Minute ||
		c.Location.String() != "Asia/Ho_Chi_Minh" || len(c.Binds) != 0 || len(c.HTTPAllow) != 0 ||
		len(c.TrustedProxies) != 0 || c.HTTPToken != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadConfigBindsAndFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "care360.json")
	os.WriteFile(file, []byte(`{
	  "profiles": [{"name":"acme","service_type":"USSD","limit_gsm":160,"limit_ucs2":70,"op_begin":1,"op_answer":18,
	                "ops_abort":[32],"op_continue":2,"op_end":17,"key":"session","code_in":"short_message"}],
	  "binds": [{"addr":"10.0.0.9:2775","system_id":"ussd1","password":"p","profile":"acme","tps":50}],
	  "tier_thresholds": [0, 1000, 3000, 8000, 15000],
	  "role_limits": {"points_per_request": 2000},
	  "csv_max_rows": 500000,
	  "shutdown": {"steps": "8s", "http": "3s"},
	  "retention": {"sms_texts": "30d", "dialogues": "36h"}
	}`), 0o600)
	env := map[string]string{
		"CARE360_SMPP_ADDR":    "smsc-a:2775, smsc-b:2775",
		"CARE360_SMPP_TPS":     "250",
		"CARE360_SMPP_PROFILE": "msisdn-key",
		"CARE360_CONFIG":       file,
	}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Binds) != 3 {
		t.Fatalf("binds: %+v", c.Binds)
	}
	if b := c.Binds[1]; b.Addr != "smsc-b:2775" || b.TPS != 250 || b.Window != 10 || b.Profile.Name != "msisdn-key" || b.SystemID != "care360" {
		t.Errorf("env bind: %+v", b)
	}
	if b := c.Binds[2]; b.Addr != "10.0.0.9:2775" || b.TPS != 50 || b.Profile.Name != "acme" || b.Profile.LimitGSM != 160 || b.SystemID != "ussd1" {
		t.Errorf("file bind: %+v", b)
	}
	if c.Retention.SMSTexts != 30*24*time.Hour || c.Retention.Dialogues != 36*time.Hour || c.Retention.Audit != 0 {
		t.Errorf("retention: %+v", c.Retention)
	}
	if c.Stop.Steps != 8*time.Second || c.StopHTTP != 3*time.Second || c.Stop.Unbind != 0 {
		t.Errorf("shutdown: %+v, http %s", c.Stop, c.StopHTTP)
	}
	if c.CSVMaxRows != 500000 {
		t.Errorf("csv_max_rows %d", c.CSVMaxRows)
	}
	if c.TierRules.Thresholds[4] != 15000 {
		t.Errorf("thresholds %v", c.TierRules.Thresholds)
	}
	if c.RoleLimits != (care360.RoleLimits{PerRequest: 2000, PerDay: 50_000}) {
		t.Errorf("role limits %+v, want the file's per request and the default per day", c.RoleLimits)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badProfile := filepath.Join(dir, "bad.json")
	os.WriteFile(badProfile, []byte(`{"profiles":[{"name":"x","limit_gsm":160,"limit_ucs2":70,"op_begin":1,"op_answer":1,"key":"session","code_in":"short_message"}]}`), 0o600)
	badLimits := filepath.Join(dir, "limits.json")
	os.WriteFile(badLimits, []byte(`{"role_limits":{"points_per_request":-1}}`), 0o600)
	unknownLimit := filepath.Join(dir, "limit.json")
	os.WriteFile(unknownLimit, []byte(`{"role_limits":{"points_per_week":1}}`), 0o600)
	unknownField := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknownField, []byte(`{"bindz":[]}`), 0o600)
	cases := map[string]map[string]string{
		"CARE360_SMPP_TPS":          {"CARE360_SMPP_TPS": "fast"},
		"CARE360_SMPP_WINDOW":       {"CARE360_SMPP_WINDOW": "0"},
		"CARE360_TIMEZONE":          {"CARE360_TIMEZONE": "Mars/Olympus"},
		"CARE360_USSD_IDLE_TIMEOUT": {"CARE360_USSD_IDLE_TIMEOUT": "soon"},
		"CARE360_USSD_HTTP_ALLOW":   {"CARE360_USSD_HTTP_ALLOW": "10.0.0.0/33"},
		"CARE360_SMPP_PROFILE":      {"CARE360_SMPP_PROFILE": "nokia"},
		"op_begin and op_answer":    {"CARE360_CONFIG": badProfile},
		"unknown field":             {"CARE360_CONFIG": unknownField},
		"role_limits":               {"CARE360_CONFIG": badLimits},
		"points_per_week":           {"CARE360_CONFIG": unknownLimit},
	}
	for want, env := range cases {
		_, err := LoadConfig(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v; want one naming %q", env, err, want)
		}
	}
}

// TestLoadConfigUSSDHTTP: the HTTP USSD adapters' allow list, token and
// trusted proxies; a malformed CIDR stops the gateway naming the variable.
func TestLoadConfigUSSDHTTP(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"CARE360_USSD_HTTP_ALLOW": "203.0.113.0/24, 2001:db8::/32",
		"CARE360_USSD_HTTP_TOKEN": "s3cret-at-token",
		"CARE360_TRUSTED_PROXIES": "10.0.0.0/8",
	}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.HTTPAllow) != "[203.0.113.0/24 2001:db8::/32]" || c.HTTPToken != "s3cret-at-token" || fmt.Sprint(c.TrustedProxies) != "[10.0.0.0/8]" {
		t.Fatalf("got allow %v token %q proxies %v", c.HTTPAllow, c.HTTPToken, c.TrustedProxies)
	}
	for _, name := range []string{"CARE360_USSD_HTTP_ALLOW", "CARE360_TRUSTED_PROXIES"} {
		_, err := LoadConfig(func(k string) string {
			if k == name {
				return "10.0.0.0/8,not-a-cidr"
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s malformed: %v", name, err)
		}
	}
}

func TestLoadConfigEndpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	good := write("good.json", `{"endpoints": {
	  "airtime": {"url": "https://prov.operator/topup", "headers": {"Authorization": "Bearer k"}, "timeout": "5s"},
	  "data": {"url": "http://10.0.0.7:8080/data"}}}`)
	c, err := LoadConfig(func(k string) string { return map[string]string{"CARE360_CONFIG": good}[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, d := c.Endpoints["airtime"], c.Endpoints["data"]
	if a.URL != "https://prov.operator/topup" || a.Timeout != 5*time.Second || a.Headers["Authorization"] != "Bearer k" ||
		d.Timeout != 3*time.Second || d.Name != "data" || strings.Join(c.Endpoints.Names(), ",") != "airtime,data" {
		t.Fatalf("endpoints: %+v", c.Endpoints)
	}
	for want, body := range map[string]string{
		"endpoints.a: endpoint a: url must be an absolute":  `{"endpoints":{"a":{"url":"/relative"}}}`,
		"endpoints.b: endpoint b: url must be":              `{"endpoints":{"b":{"url":"ftp://x/y"}}}`,
		"endpoints.c.timeout":                               `{"endpoints":{"c":{"url":"https://x/","timeout":"soon"}}}`,
		"endpoints.d: endpoint d: timeout must be positive": `{"endpoints":{"d":{"url":"https://x/","timeout":"-1s"}}}`,
		"must not carry credentials":                        `{"endpoints":{"e":{"url":"https://u:p@x/"}}}`,
		`unknown field "token"`:                             `{"endpoints":{"f":{"url":"https://x/","token":"t"}}}`,
	} {
		p := write("bad.json", body)
		_, err := LoadConfig(func(k string) string { return map[string]string{"CARE360_CONFIG": p}[k] })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v; want one naming %q", body, err, want)
		}
	}
}
