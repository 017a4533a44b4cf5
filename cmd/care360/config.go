package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/menus"
	"github.com/care360/care360/web"
)

// Config is everything the gateway reads from its environment (PRODUCT.md §1).
type Config struct {
	// HTTPHeaderTimeout and HTTPIdleTimeout bound reading a request's
	// headers and an idle keep-alive connection (zero: 5 s and 120 s,
	// PRODUCT.md §9). HTTPBounds are the web server's other bounds (failed
	// authentications, concurrent API requests, slow bodies). Not
	// environment variables: tests shorten them.
	HTTPHeaderTimeout time.Duration
	HTTPIdleTimeout   time.Duration
	HTTPBounds        web.Bounds
	// USSDConns and APIConns size the two Postgres pools: one for USSD
	// steps and SMPP work, one for the admin API, reports and jobs, which
	// can therefore never take the first's connections (zero: 24 and 8;
	// CARE360_CONFIG "db_conns").
	USSDConns int32
	APIConns  int32
	// Dev is set by `care360 dev`, whose development admin token Validate
	// accepts.
	Dev bool

	DatabaseURL string
	Binds       []gateway.BindConfig
	USSDCode    string
	ShortCode   string
	HTTPAddr    string
	AdminToken  string
	Location    *time.Location
	IdleTimeout time.Duration
	// StepTimeout bounds one dialogue step (zero: 2 s, PRODUCT.md §3.1).
	// Not an environment variable: tests on a crowded machine raise it
	// because they check what a step answers, not how fast.
	StepTimeout time.Duration
	HTTPAllow   []netip.Prefix
	// HTTPToken must be presented by HTTP USSD callers when set.
	HTTPToken string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (web.ClientAddr).
	TrustedProxies []netip.Prefix
	TierRules      care360.TierRules
	// RoleLimits bound the points adjustments of staff below admin
	// (CARE360_CONFIG "role_limits"; PRODUCT.md §9).
	RoleLimits care360.RoleLimits
	JSONLogs   bool
	// Stop and StopHTTP budget the stages of a graceful stop (PRODUCT.md
	// §1; CARE360_CONFIG "shutdown"): steps 5 s, hand-back 2 s, unbind 2 s,
	// HTTP 5 s.
	Stop     gateway.StopBudgets
	StopHTTP time.Duration
	// Retention is how long data is kept (PRODUCT.md §7; CARE360_CONFIG
	// "retention"); zero fields take the defaults.
	Retention care360.Retention
	// Endpoints are the outbound HTTP services (CARE360_CONFIG
	// "endpoints"): the only places provisioning calls go (PRODUCT.md §9).
	Endpoints care360.Endpoints
	// Services route each service code answered (CARE360_CONFIG
	// "services", PRODUCT.md §3.7) to a screen of the menu or to a partner
	// application, an endpoint by name; without the key, USSDCode alone
	// opens the main menu.
	Services []menus.Service
	// CSVMaxRows bounds the data rows of one CSV upload (CARE360_CONFIG
	// "csv_max_rows"; 0: 10,000,000).
	CSVMaxRows int
	// Programme holds the programme's other *defaults*: the anti-spam
	// rules, points per VND, transfers, VIP quotas, resort offers
	// (CARE360_CONFIG; rules.go).
	Programme Programme
}

// dbConnsFile and httpFile are sections of CARE360_CONFIG that `care360
// config` prints as they are read.
type dbConnsFile struct {
	USSD int32 `json:"ussd"`
	API  int32 `json:"api"`
}

type httpFile struct {
	AuthFailuresPerMinute int `json:"auth_failures_per_minute"`
	MaxAPIRequests        int `json:"max_api_requests"`
}

// fileConfig is CARE360_CONFIG: what environment variables cannot say well.
type fileConfig struct {
	programmeFile
	// The pools' sizes and the HTTP bounds (serve.go, web.Bounds).
	DBConns dbConnsFile `json:"db_conns"`
	HTTP    httpFile    `json:"http"`

	Binds []struct {
		Addr     string `json:"addr"`
		SystemID string `json:"system_id"`
		Password string `json:"password"`
		// PasswordEnv names an environment variable holding the password,
		// so that the file (a ConfigMap) holds no secret.
		PasswordEnv string `json:"password_env"`
		SystemType  string `json:"system_type"`
		Profile     string `json:"profile"`
		TPS         int    `json:"tps"`
		Window      int    `json:"window"`
		Role        string `json:"role"`      // ussd, sms or ussd+sms (default)
		BindType    string `json:"bind_type"` // transceiver (default) or transmitter+receiver
	} `json:"binds"`
	TierThresholds []int64           `json:"tier_thresholds"`
	Profiles       []gateway.Profile `json:"profiles"`
	// RoleLimits: {"points_per_request": 10000, "points_per_day": 50000}.
	RoleLimits *struct {
		PointsPerRequest int64 `json:"points_per_request"`
		PointsPerDay     int64 `json:"points_per_day"`
	} `json:"role_limits"`
	// Shutdown: {"steps": "5s", "hand_back": "2s", "unbind": "2s", "http": "5s"}.
	Shutdown *struct {
		Steps    string `json:"steps"`
		HandBack string `json:"hand_back"`
		Unbind   string `json:"unbind"`
		HTTP     string `json:"http"`
	} `json:"shutdown"`
	// Retention: {"dialogues": "1d", "sms_texts": "90d", "inbound_sms": "90d",
	// "unmatched_receipts": "7d", "audit": "1825d", "dialogue_records": "395d"}.
	Retention *struct {
		Dialogues string `json:"dialogues"`
		SMSTexts  string `json:"sms_texts"`
		Inbound   string `json:"inbound_sms"`
		Receipts  string `json:"unmatched_receipts"`
		Audit     string `json:"audit"`
		Records   string `json:"dialogue_records"`
	} `json:"retention"`
	Endpoints map[string]struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Timeout string            `json:"timeout"` // default 3s
	} `json:"endpoints"`
	Services   []menus.Service `json:"services"`
	CSVMaxRows int             `json:"csv_max_rows"`
}

// Defaults that are not in a rules type of their own.
const (
	defaultUSSDConns  = 24 // Postgres connections for USSD steps and SMPP work
	defaultAPIConns   = 8  // for the admin API, reports and jobs
	defaultStopHTTP   = 5 * time.Second
	defaultCSVMaxRows = web.DefaultMaxCSVRows
)

// envVar is one environment variable the gateway reads (PRODUCT.md §1):
// LoadConfig takes its default from here, and docs/configuration.md is
// written from this table.
type envVar struct {
	Name, Default, Meaning string
	Secret                 bool // masked by `care360 config`
}

var envVars = []envVar{
	{Name: "CARE360_DATABASE_URL", Meaning: "Postgres connection string; may name several hosts (`postgres://h1,h2/db?target_session_attrs=read-write`), each given 3 s unless it sets `connect_timeout`; sessions run without JIT compilation unless it sets `jit`"},
	{Name: "CARE360_SMPP_ADDR", Meaning: "SMSC `host:port`; several binds comma-separated"},
	{Name: "CARE360_SMPP_SYSTEM_ID", Default: "care360", Meaning: "bind system_id"},
	{Name: "CARE360_SMPP_PASSWORD", Default: "secret", Meaning: "bind password", Secret: true},
	{Name: "CARE360_SMPP_PROFILE", Default: "generic", Meaning: "operator profile (PRODUCT.md §3.5); others may be defined in `profiles`"},
	{Name: "CARE360_SMPP_TPS", Default: "100", Meaning: "max submit_sm per second per bind"},
	{Name: "CARE360_SMPP_WINDOW", Default: "10", Meaning: "max outstanding requests per bind"},
	{Name: "CARE360_USSD_CODE", Default: "*090#", Meaning: "the service code this gateway answers, to the main menu (CARE360_CONFIG `services` can route several)"},
	{Name: "CARE360_SMS_SHORTCODE", Default: "9237", Meaning: "short code for SMS keywords and sender of notifications"},
	{Name: "CARE360_HTTP_ADDR", Default: ":8080", Meaning: "admin API, console, HTTP USSD adapters, metrics"},
	{Name: "CARE360_ADMIN_TOKEN", Meaning: "bearer token of the built-in admin account; `serve` requires 32 characters or more", Secret: true},
	{Name: "CARE360_TIMEZONE", Default: "Asia/Ho_Chi_Minh", Meaning: "for quiet hours, birthdays, cycles"},
	{Name: "CARE360_USSD_IDLE_TIMEOUT", Default: "60s", Meaning: "a dialogue with no reply for this long is closed"},
	{Name: "CARE360_USSD_HTTP_ALLOW", Meaning: "CIDRs allowed to call the HTTP USSD adapters; none: adapters off (`dev`: loopback)"},
	{Name: "CARE360_USSD_HTTP_TOKEN", Meaning: "when set, HTTP USSD callers must also present it", Secret: true},
	{Name: "CARE360_TRUSTED_PROXIES", Meaning: "CIDRs of reverse proxies whose `X-Forwarded-For` is believed"},
	{Name: "CARE360_CONFIG", Meaning: "the JSON file of the keys below"},
	{Name: "CARE360_LOG_LEVEL", Default: "info", Meaning: "`debug` for more"},
	{Name: "CARE360_CPUPROFILE", Meaning: "a file to write a CPU profile of the whole run to (`make bench` uses it)"},
	{Name: "GOGC", Default: "400", Meaning: "Go's collector runs when the heap has grown by this many percent since the last (Go's own default is 100); the live heap is small and PDUs allocate, so collecting less often saves about a third of the gateway's CPU under load"},
	{Name: "GOMEMLIMIT", Default: "200MiB", Meaning: "soft limit of the process's memory, past which the collector runs more often; raise it for a gateway expected to hold millions of open dialogues"},
}

// envDefault is name's default; every variable LoadConfig reads is in envVars.
func envDefault(name string) string {
	for _, v := range envVars {
		if v.Name == name {
			return v.Default
		}
	}
	panic("care360: environment variable not in envVars: " + name)
}

// LoadConfig reads the environment through getenv. Unset variables take the
// defaults of PRODUCT.md §1; malformed ones are errors, never silently ignored.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := func(k string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return envDefault(k)
	}
	c := Config{
		DatabaseURL: env("CARE360_DATABASE_URL"),
		USSDCode:    env("CARE360_USSD_CODE"),
		ShortCode:   env("CARE360_SMS_SHORTCODE"),
		HTTPAddr:    env("CARE360_HTTP_ADDR"),
		AdminToken:  env("CARE360_ADMIN_TOKEN"),
		TierRules:   care360.DefaultTierRules,
		RoleLimits:  care360.DefaultRoleLimits,
		Programme:   defaultProgramme(),
		StepTimeout: 2 * time.Second,
	}
	var err error
	if c.Location, err = time.LoadLocation(env("CARE360_TIMEZONE")); err != nil {
		return c, fmt.Errorf("CARE360_TIMEZONE: %w", err)
	}
	if c.IdleTimeout, err = time.ParseDuration(env("CARE360_USSD_IDLE_TIMEOUT")); err != nil || c.IdleTimeout <= 0 {
		return c, fmt.Errorf("CARE360_USSD_IDLE_TIMEOUT: want a positive duration such as 60s")
	}
	// No allow list turns the HTTP USSD adapters off (dev allows loopback).
	if c.HTTPAllow, err = prefixList(getenv, "CARE360_USSD_HTTP_ALLOW"); err != nil {
		return c, err
	}
	if c.TrustedProxies, err = prefixList(getenv, "CARE360_TRUSTED_PROXIES"); err != nil {
		return c, err
	}
	c.HTTPToken = env("CARE360_USSD_HTTP_TOKEN")
	tps, err := positiveInt(env("CARE360_SMPP_TPS"), "CARE360_SMPP_TPS")
	if err != nil {
		return c, err
	}
	window, err := positiveInt(env("CARE360_SMPP_WINDOW"), "CARE360_SMPP_WINDOW")
	if err != nil {
		return c, err
	}
	var file *fileConfig
	profiles := maps.Clone(gateway.Profiles)
	if path := getenv("CARE360_CONFIG"); path != "" {
		if file, err = readFile(path, profiles); err != nil {
			return c, fmt.Errorf("CARE360_CONFIG %s: %w", path, err)
		}
	}
	profile, ok := profiles[env("CARE360_SMPP_PROFILE")]
	if !ok {
		return c, fmt.Errorf("CARE360_SMPP_PROFILE: unknown profile %q", getenv("CARE360_SMPP_PROFILE"))
	}
	systemID, password := env("CARE360_SMPP_SYSTEM_ID"), env("CARE360_SMPP_PASSWORD")
	for _, addr := range strings.Split(getenv("CARE360_SMPP_ADDR"), ",") {
		if addr = strings.TrimSpace(addr); addr == "" {
			continue
		}
		c.Binds = append(c.Binds, gateway.BindConfig{
			Addr: addr, SystemID: systemID, Password: password,
			Profile: profile, TPS: tps, Window: window,
		})
	}
	if file != nil {
		if err := c.apply(file, getenv, profiles, profile, tps, window); err != nil {
			return c, fmt.Errorf("CARE360_CONFIG %s: %w", getenv("CARE360_CONFIG"), err)
		}
	}
	if err := c.applyServices(file, strings.TrimSpace(getenv("CARE360_USSD_CODE")) != ""); err != nil {
		return c, fmt.Errorf("CARE360_CONFIG %s: %w", getenv("CARE360_CONFIG"), err)
	}
	return c, nil
}

// readFile parses the configuration file and adds its profiles to profiles.
func readFile(path string, profiles map[string]gateway.Profile) (*fileConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f fileConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	for _, p := range f.Profiles {
		if err := p.Validate(); err != nil {
			return nil, err
		}
		profiles[p.Name] = p
	}
	return &f, nil
}

// apply adds the binds, endpoints and tier thresholds of the configuration file.
func (c *Config) apply(f *fileConfig, getenv func(string) string, profiles map[string]gateway.Profile, profile gateway.Profile, tps, window int) error {
	if f.DBConns.USSD < 0 || f.DBConns.API < 0 {
		return fmt.Errorf("db_conns: want positive numbers of connections")
	}
	if f.HTTP.AuthFailuresPerMinute < 0 || f.HTTP.MaxAPIRequests < 0 {
		return fmt.Errorf("http: want positive numbers")
	}
	c.USSDConns, c.APIConns = f.DBConns.USSD, f.DBConns.API
	c.HTTPBounds.AuthFailures, c.HTTPBounds.APIRequests = f.HTTP.AuthFailuresPerMinute, f.HTTP.MaxAPIRequests
	for i, b := range f.Binds {
		bc := gateway.BindConfig{Addr: b.Addr, SystemID: b.SystemID, Password: b.Password,
			SystemType: b.SystemType, Profile: profile, TPS: tps, Window: window}
		if b.Addr == "" {
			return fmt.Errorf("binds[%d]: addr is required", i)
		}
		if b.PasswordEnv != "" {
			if b.Password != "" {
				return fmt.Errorf("binds[%d]: password and password_env: give one", i)
			}
			if bc.Password = getenv(b.PasswordEnv); bc.Password == "" {
				return fmt.Errorf("binds[%d].password_env: %s is not set", i, b.PasswordEnv)
			}
		}
		if b.Profile != "" {
			p, ok := profiles[b.Profile]
			if !ok {
				return fmt.Errorf("binds[%d]: unknown profile %q", i, b.Profile)
			}
			bc.Profile = p
		}
		if b.TPS > 0 {
			bc.TPS = b.TPS
		}
		if b.Window > 0 {
			bc.Window = b.Window
		}
		var err error
		if bc.Role, err = gateway.ParseRole(b.Role); err != nil {
			return fmt.Errorf("binds[%d].role: %v", i, err)
		}
		if bc.Type, err = gateway.ParseBindType(b.BindType); err != nil {
			return fmt.Errorf("binds[%d].bind_type: %v", i, err)
		}
		c.Binds = append(c.Binds, bc)
	}
	for name, e := range f.Endpoints {
		ep := care360.Endpoint{Name: name, URL: e.URL, Headers: e.Headers, Timeout: care360.DefaultEndpointTimeout}
		if e.Timeout != "" {
			d, err := time.ParseDuration(e.Timeout)
			if err != nil {
				return fmt.Errorf("endpoints.%s.timeout: want a duration such as 3s, got %q", name, e.Timeout)
			}
			ep.Timeout = d
		}
		if err := ep.Validate(); err != nil {
			return fmt.Errorf("endpoints.%s: %w", name, err)
		}
		if c.Endpoints == nil {
			c.Endpoints = care360.Endpoints{}
		}
		c.Endpoints[name] = ep
	}
	if f.CSVMaxRows < 0 {
		return fmt.Errorf("csv_max_rows: want a positive number of rows")
	}
	c.CSVMaxRows = f.CSVMaxRows
	if len(f.TierThresholds) > 0 {
		// The older spelling of tiers.thresholds.
		if err := c.setThresholds("tier_thresholds", f.TierThresholds); err != nil {
			return err
		}
	}
	if err := c.applyProgramme(&f.programmeFile); err != nil {
		return err
	}
	if l := f.RoleLimits; l != nil {
		rl := care360.RoleLimits{PerRequest: l.PointsPerRequest, PerDay: l.PointsPerDay}
		if err := rl.Validate(); err != nil {
			return fmt.Errorf("role_limits: %s", care360.ErrorMessage(err))
		}
		c.RoleLimits = rl.WithDefaults()
	}
	if rt := f.Retention; rt != nil {
		for _, d := range []struct {
			name string
			text string
			to   *time.Duration
			min  time.Duration
		}{{"dialogues", rt.Dialogues, &c.Retention.Dialogues, time.Hour}, {"sms_texts", rt.SMSTexts, &c.Retention.SMSTexts, care360.Day},
			{"inbound_sms", rt.Inbound, &c.Retention.Inbound, care360.Day}, {"unmatched_receipts", rt.Receipts, &c.Retention.Receipts, time.Hour},
			{"audit", rt.Audit, &c.Retention.Audit, 366 * care360.Day},
			{"dialogue_records", rt.Records, &c.Retention.Records, care360.Day}} {
			if d.text == "" {
				continue
			}
			v, err := parseDays(d.text)
			if err != nil || v < d.min {
				return fmt.Errorf("retention.%s: want a period of at least %s such as 90d or 36h, got %q", d.name, d.min, d.text)
			}
			*d.to = v
		}
	}
	if sd := f.Shutdown; sd != nil {
		for _, d := range []struct {
			name string
			text string
			to   *time.Duration
		}{{"steps", sd.Steps, &c.Stop.Steps}, {"hand_back", sd.HandBack, &c.Stop.HandBack},
			{"unbind", sd.Unbind, &c.Stop.Unbind}, {"http", sd.HTTP, &c.StopHTTP}} {
			if d.text == "" {
				continue
			}
			v, err := time.ParseDuration(d.text)
			if err != nil || v <= 0 {
				return fmt.Errorf("shutdown.%s: want a positive duration such as 5s, got %q", d.name, d.text)
			}
			*d.to = v
		}
	}
	return nil
}

// parseDays reads a Go duration, or a whole number of days such as "90d".
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(days) * care360.Day, nil
	}
	return time.ParseDuration(s)
}

// prefixList reads a comma-separated list of CIDRs; unset is none.
func prefixList(getenv func(string) string, name string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, s := range strings.Split(getenv(name), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

func positiveInt(s, name string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: want a positive whole number, got %q", name, s)
	}
	return n, nil
}

// applyServices sets the service codes: the file's list, checked against
// the menu and the endpoints, else CARE360_USSD_CODE to the main menu.
// With a list, the first code to the main menu is the one screens and
// SMS name, unless CARE360_USSD_CODE says otherwise (codeSet).
func (c *Config) applyServices(f *fileConfig, codeSet bool) error {
	if f == nil || f.Services == nil {
		c.Services = []menus.Service{{Code: c.USSDCode, Menu: "main"}}
		return menus.CheckServices(c.Services, nil)
	}
	if len(f.Services) == 0 {
		return fmt.Errorf("services: empty; leave the key out to answer CARE360_USSD_CODE alone")
	}
	isApp := func(name string) bool { _, ok := c.Endpoints[name]; return ok }
	if err := menus.CheckServices(f.Services, isApp); err != nil {
		return err
	}
	c.Services = f.Services
	if !codeSet {
		for _, s := range f.Services {
			if s.Menu == "main" {
				c.USSDCode = s.Code
				break
			}
		}
	}
	return nil
}
