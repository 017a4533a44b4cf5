package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/internal/pgtest"
)

// writeConfig writes a CARE360_CONFIG file and returns its path.
func writeConfig(t *testing.T, json string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "care360.json")
	if err := os.WriteFile(path, []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every programme *default* of PRODUCT.md can be set in CARE360_CONFIG.
func TestLoadConfigProgramme(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `{
	  "step_timeout": "3s",
	  "sms": {"marketing_window": "08:30-21:00", "marketing_daily_cap": 2, "max_parts": 4},
	  "points": {"vnd_per_point": 500},
	  "tiers": {"thresholds": [0, 1000, 3000, 8000, 15000], "grace_days": 0, "floor_years": 5, "floor_tier": "vang"},
	  "transfer": {"min_points": 200, "step": 50, "monthly_cap": 5000, "min_tier": "titan", "confirm_within": "2m"},
	  "vip_quotas": {"kim_cuong": {"priority": 24, "lounge": 12}, "titan": {"priority": 1}},
	  "resort": {"season": "05-09", "monthly_nights": 10, "tiers": ["kim_cuong"]}
	}`)
	c, err := LoadConfig(func(k string) string { return map[string]string{"CARE360_CONFIG": file}[k] })
	if err != nil {
		t.Fatal(err)
	}
	p := c.Programme
	if c.StepTimeout != 3*time.Second {
		t.Errorf("step_timeout %s", c.StepTimeout)
	}
	if p.SMS.WindowOpen != 8*time.Hour+30*time.Minute || p.SMS.WindowClose != 21*time.Hour || p.SMS.DailyCap != 2 || p.SMS.MaxParts != 4 {
		t.Errorf("sms %+v", p.SMS)
	}
	if p.Usage.VNDPerPoint != 500 {
		t.Errorf("points %+v", p.Usage)
	}
	if tr := c.TierRules; tr.Thresholds != [5]int64{0, 1000, 3000, 8000, 15000} || tr.GraceDays != 0 || tr.LoyaltyYears != 5 || tr.LoyaltyFloor != care360.TierVang {
		t.Errorf("tiers %+v", tr)
	}
	want := care360.TransferRules{MinPoints: 200, Step: 50, MonthlyCap: 5000, MinTier: care360.TierTitan, ConfirmWithin: 2 * time.Minute}
	if p.Transfer != want {
		t.Errorf("transfer %+v", p.Transfer)
	}
	if q := p.Privileges; q.QuotaFor(care360.TierKimCuong, care360.PrivilegeLounge) != 12 || q.QuotaFor(care360.TierTitan, care360.PrivilegePriority) != 1 || q.QuotaFor(care360.TierVang, care360.PrivilegePriority) != 0 {
		t.Errorf("vip_quotas %+v (the file's table replaces the default one)", q.Quota)
	}
	if o := p.Offers; o.SeasonFrom != time.May || o.SeasonTo != time.September || o.MonthlyNights != 10 || len(o.ResortTiers) != 1 {
		t.Errorf("resort %+v", o)
	}
	// What the file leaves out keeps its default.
	c, err = LoadConfig(func(k string) string {
		return map[string]string{"CARE360_CONFIG": writeConfig(t, `{"transfer": {"monthly_cap": 20000}}`)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Programme.Transfer; got.MonthlyCap != 20000 || got.MinPoints != 100 || got.MinTier != care360.TierBac {
		t.Errorf("transfer with one key: %+v", got)
	}
	if c.Programme.SMS != care360.DefaultSMSRules || c.TierRules != care360.DefaultTierRules {
		t.Errorf("untouched sections changed: %+v %+v", c.Programme.SMS, c.TierRules)
	}
}

// An unknown key or a bad value stops the configuration with a message
// naming it.
func TestLoadConfigProgrammeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, want string }{
		{`{"sms": {"marketing_cap": 2}}`, `unknown field "marketing_cap"`},
		{`{"loyalty": {}}`, `unknown field "loyalty"`},
		{`{"step_timeout": "2"}`, "step_timeout"},
		{`{"sms": {"marketing_window": "22:00-07:00"}}`, "sms.marketing_window"},
		{`{"sms": {"marketing_daily_cap": 4}}`, "sms.marketing_daily_cap: want 1 to 3"},
		{`{"points": {"vnd_per_point": 0}}`, "points.vnd_per_point"},
		{`{"tiers": {"thresholds": [0, 5, 4, 10, 20]}}`, "tiers.thresholds must increase"},
		{`{"tiers": {"thresholds": [1, 5, 6, 10, 20]}}`, "tiers.thresholds: the first (Đồng) must be 0"},
		{`{"tiers": {"floor_tier": "platinum"}}`, `tiers.floor_tier: unknown tier "platinum"`},
		{`{"tiers": {"grace_days": -1}}`, "tiers.grace_days"},
		{`{"transfer": {"min_points": 150}}`, "transfer.min_points: 150 is not a multiple of transfer.step 100"},
		{`{"transfer": {"confirm_within": "10s"}}`, "transfer.confirm_within"},
		{`{"transfer": {"min_tier": "gold"}}`, `transfer.min_tier: unknown tier "gold"`},
		{`{"vip_quotas": {"vang": {"spa": 1}}}`, `vip_quotas.vang: unknown privilege "spa"`},
		{`{"vip_quotas": {}}`, "vip_quotas: empty"},
		{`{"resort": {"season": "9-5"}}`, "resort.season"},
		{`{"resort": {"monthly_nights": 0}}`, "resort.monthly_nights"},
		{`{"resort": {"tiers": []}}`, "resort.tiers: empty"},
	} {
		_, err := LoadConfig(func(k string) string {
			return map[string]string{"CARE360_CONFIG": writeConfig(t, tc.file)}[k]
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.file, err, tc.want)
		}
	}
}

// `care360 config` prints what is in force with every secret masked: the
// admin token, bind passwords, the database password, endpoint headers.
func TestConfigCommandMasksSecrets(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `{
	  "binds": [{"addr": "smsc.operator:2775", "system_id": "c360s", "password": "bind-pass-71"}],
	  "endpoints": {"airtime": {"url": "https://topup.operator/v1", "headers": {"Authorization": "Bearer ep-secret-93"}}},
	  "points": {"vnd_per_point": 2000}
	}`)
	env := map[string]string{
		"CARE360_CONFIG":          file,
		"CARE360_ADMIN_TOKEN":     "admin-secret-0123456789abcdef0123456789",
		"CARE360_SMPP_PASSWORD":   "env-bind-pass-55",
		"CARE360_USSD_HTTP_TOKEN": "http-token-77",
		"CARE360_DATABASE_URL":    "postgres://care360:db-pass-42@db1,db2/care360?target_session_attrs=read-write",
		"CARE360_SMPP_ADDR":       "ussdc.operator:2775",
	}
	var out bytes.Buffer
	if err := runConfig(func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"admin-secret", "bind-pass-71", "ep-secret-93", "env-bind-pass-55", "http-token-77", "db-pass-42"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the output shows %q:\n%s", secret, out.String())
		}
	}
	for _, shown := range []string{`"vnd_per_point": 2000`, `"addr": "smsc.operator:2775"`, `"marketing_window": "07:00-22:00"`,
		`postgres://care360:********@db1,db2/care360`, `"Authorization": "********"`, `"CARE360_ADMIN_TOKEN": "********"`} {
		if !strings.Contains(out.String(), shown) {
			t.Errorf("the output lacks %s:\n%s", shown, out.String())
		}
	}
	// A bad value is refused as serve would refuse it.
	env["CARE360_CONFIG"] = writeConfig(t, `{"points": {"vnd_per_point": -1}}`)
	if err := runConfig(func(k string) string { return env[k] }, &out); err == nil || !strings.Contains(err.Error(), "points.vnd_per_point") {
		t.Errorf("bad value: %v", err)
	}
}

// The rules of the file reach the running program: points per VND on the
// billing feed, and the transfer rules on CD.
func TestProgrammeRulesInForce(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `{"points": {"vnd_per_point": 500}, "transfer": {"min_tier": "dong", "min_points": 300, "step": 100}}`)
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t), "CARE360_CONFIG": file})
	h.member(t, "0397100001", map[string]any{"name": "A", "language": "en"}, 0, 0)
	h.member(t, "0397100002", map[string]any{"name": "B", "language": "en"}, 0, 0)
	now := time.Now().UTC().Format(time.RFC3339)
	if st, body := h.post(t, "/api/v1/usage", "application/json", `[{"msisdn":"0397100001","amount_vnd":10000,"at":"`+now+`","id":"rules-1"}]`); st != http.StatusOK {
		t.Fatalf("usage: %d %s", st, body)
	}
	var sub struct{ Points struct{ Spendable int64 } }
	deadline := time.Now().Add(20 * time.Second)
	for h.api(t, "GET", "/api/v1/subscribers/84397100001", nil, &sub); sub.Points.Spendable == 0; h.api(t, "GET", "/api/v1/subscribers/84397100001", nil, &sub) {
		if time.Now().After(deadline) {
			t.Fatal("the usage was not posted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sub.Points.Spendable != 20 {
		t.Errorf("10.000 VND at 500 VND a point gave %d points, want 20", sub.Points.Spendable)
	}
	// A Đồng member may give points here, but not fewer than 300.
	h.member(t, "0397100003", map[string]any{"name": "C", "language": "en"}, 0, 1000)
	if st, err := h.sim.SendMO(ctxT(t), "84397100003", "9237", "CD 0397100002 200", 0); err != nil || st != 0 {
		t.Fatalf("MO: %#x, %v", st, err)
	}
	if got := waitSMS(t, h, "84397100003", 1)[0].Text; got != "Points must be a multiple of 100, at least 300." {
		t.Errorf("CD 200 answered %q", got)
	}
}

// docs/configuration.md is the code's: every key has a meaning, every
// meaning a key, and the page is what configDoc writes
// (CARE360_UPDATE_DOCS=1 rewrites it).
func TestConfigurationDocIsCurrent(t *testing.T) {
	t.Parallel()
	keys, _, err := fileDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if fileKeys[k] == "" {
			t.Errorf("CARE360_CONFIG key %q has no meaning in fileKeys", k)
		}
	}
	for k := range fileKeys {
		if !slices.Contains(keys, k) {
			t.Errorf("fileKeys describes %q, which the configuration does not have", k)
		}
	}
	want, err := configDoc()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "configuration.md")
	if os.Getenv("CARE360_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if string(got) != want {
		t.Errorf("%s is out of date: run CARE360_UPDATE_DOCS=1 go test ./cmd/care360 -run TestConfigurationDocIsCurrent", path)
	}
}

// Every environment variable the code reads is in envVars (envDefault
// panics otherwise): loading with all of them set must not panic.
func TestEveryEnvVarDocumented(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"config.go", "main.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(CARE360_[A-Z_]+)"`).FindAllStringSubmatch(string(src), -1) {
			if !slices.ContainsFunc(envVars, func(v envVar) bool { return v.Name == m[1] }) {
				t.Errorf("%s reads %s, which envVars (and so docs/configuration.md) does not list", file, m[1])
			}
		}
	}
}

// A bind in the file may take its password from the environment (a
// Secret), with its role and type, so that the file holds no secret.
func TestBindFromFileWithRoleAndPasswordEnv(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `{"binds": [
	  {"addr": "ussdc:2775", "system_id": "c360u", "password_env": "USSD_PASS", "role": "ussd"},
	  {"addr": "smsc:2775", "system_id": "c360s", "password_env": "SMS_PASS", "role": "sms", "bind_type": "transmitter+receiver"}]}`)
	env := map[string]string{"CARE360_CONFIG": file, "USSD_PASS": "u-secret", "SMS_PASS": "s-secret"}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Binds) != 2 {
		t.Fatalf("binds %+v", c.Binds)
	}
	if b := c.Binds[0]; b.Password != "u-secret" || b.Role != gateway.RoleUSSD || b.Type != gateway.BindTransceiver {
		t.Errorf("ussd bind %+v", b)
	}
	if b := c.Binds[1]; b.Password != "s-secret" || b.Role != gateway.RoleSMS || b.Type != gateway.BindTransmitterReceiver {
		t.Errorf("sms bind %+v", b)
	}
	for _, tc := range []struct{ file, want string }{
		{`{"binds": [{"addr": "a:1", "password_env": "NOPE"}]}`, "binds[0].password_env: NOPE is not set"},
		{`{"binds": [{"addr": "a:1", "password": "x", "password_env": "USSD_PASS"}]}`, "binds[0]: password and password_env"},
		{`{"binds": [{"addr": "a:1", "role": "voice"}]}`, `binds[0].role: unknown role "voice"`},
		{`{"binds": [{"addr": "a:1", "bind_type": "receiver"}]}`, `binds[0].bind_type: unknown bind_type "receiver"`},
	} {
		env["CARE360_CONFIG"] = writeConfig(t, tc.file)
		if _, err := LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.file, err, tc.want)
		}
	}
}
