package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/menus"
)

// masked stands for a secret in `care360 config`: whether one is set shows,
// its value never does.
const masked = "********"

func mask(s string) string {
	if s == "" {
		return ""
	}
	return masked
}

// effectiveConfig is what `care360 config` prints: every setting in force,
// defaults filled in, in the spelling of the environment and of
// CARE360_CONFIG, so that an operator can copy a part of it into the file.
type effectiveConfig struct {
	Environment map[string]string `json:"environment"`
	File        effectiveFile     `json:"file"`
}

type effectiveBind struct {
	Addr       string `json:"addr"`
	SystemID   string `json:"system_id"`
	Password   string `json:"password"`
	SystemType string `json:"system_type,omitempty"`
	Profile    string `json:"profile"`
	TPS        int    `json:"tps"`
	Window     int    `json:"window"`
	Role       string `json:"role"`
	BindType   string `json:"bind_type"`
}

type effectiveEndpoint struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Timeout string            `json:"timeout"`
}

type effectiveFile struct {
	Binds       []effectiveBind `json:"binds"`
	DBConns     dbConnsFile     `json:"db_conns"`
	HTTP        httpFile        `json:"http"`
	StepTimeout string          `json:"step_timeout"`
	SIMSwapHold string          `json:"sim_swap_hold"`
	PushAnswer  string          `json:"push_answer_timeout"`
	SMS         struct {
		MarketingWindow   string `json:"marketing_window"`
		MarketingDailyCap int    `json:"marketing_daily_cap"`
		MaxParts          int    `json:"max_parts"`
	} `json:"sms"`
	Points struct {
		VNDPerPoint int64 `json:"vnd_per_point"`
	} `json:"points"`
	Tiers struct {
		Thresholds []int64      `json:"thresholds"`
		GraceDays  int          `json:"grace_days"`
		FloorYears int          `json:"floor_years"`
		FloorTier  care360.Tier `json:"floor_tier"`
	} `json:"tiers"`
	Transfer struct {
		MinPoints     int64        `json:"min_points"`
		Step          int64        `json:"step"`
		MonthlyCap    int64        `json:"monthly_cap"`
		MinTier       care360.Tier `json:"min_tier"`
		ConfirmWithin string       `json:"confirm_within"`
	} `json:"transfer"`
	VIPQuotas map[care360.Tier]map[care360.Privilege]int `json:"vip_quotas"`
	Resort    struct {
		Season        string         `json:"season"`
		MonthlyNights int            `json:"monthly_nights"`
		Tiers         []care360.Tier `json:"tiers"`
	} `json:"resort"`
	RoleLimits struct {
		PointsPerRequest int64 `json:"points_per_request"`
		PointsPerDay     int64 `json:"points_per_day"`
	} `json:"role_limits"`
	Shutdown struct {
		Steps    string `json:"steps"`
		HandBack string `json:"hand_back"`
		Unbind   string `json:"unbind"`
		HTTP     string `json:"http"`
	} `json:"shutdown"`
	Retention struct {
		Dialogues string `json:"dialogues"`
		SMSTexts  string `json:"sms_texts"`
		Inbound   string `json:"inbound_sms"`
		Receipts  string `json:"unmatched_receipts"`
		Audit     string `json:"audit"`
		Records   string `json:"dialogue_records"`
	} `json:"retention"`
	Endpoints  map[string]effectiveEndpoint `json:"endpoints"`
	Services   []menus.Service              `json:"services"`
	CSVMaxRows int                          `json:"csv_max_rows"`
	Profiles   []gateway.Profile            `json:"profiles"`
}

// Effective returns the configuration in force, secrets masked. getenv is
// what LoadConfig read, for the environment part.
func (c Config) Effective(getenv func(string) string) effectiveConfig {
	e := effectiveConfig{Environment: map[string]string{}}
	for _, v := range envVars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			val = v.Default
		}
		if v.Secret {
			val = mask(val)
		}
		if v.Name == "CARE360_DATABASE_URL" {
			val = maskURL(val)
		}
		e.Environment[v.Name] = val
	}
	f := &e.File
	f.Binds = []effectiveBind{}
	var profiles []string
	for _, b := range c.Binds {
		f.Binds = append(f.Binds, effectiveBind{Addr: b.Addr, SystemID: b.SystemID, Password: mask(b.Password),
			SystemType: b.SystemType, Profile: b.Profile.Name, TPS: b.TPS, Window: b.Window,
			Role: b.Role.String(), BindType: b.Type.String()})
		if _, builtin := gateway.Profiles[b.Profile.Name]; !builtin && !slices.Contains(profiles, b.Profile.Name) {
			profiles = append(profiles, b.Profile.Name)
			f.Profiles = append(f.Profiles, b.Profile)
		}
	}
	if f.Profiles == nil {
		f.Profiles = []gateway.Profile{}
	}
	f.DBConns.USSD, f.DBConns.API = orConns(c.USSDConns, defaultUSSDConns), orConns(c.APIConns, defaultAPIConns)
	bounds := c.HTTPBounds.WithDefaults()
	f.HTTP.AuthFailuresPerMinute, f.HTTP.MaxAPIRequests = bounds.AuthFailures, bounds.APIRequests
	f.StepTimeout = c.StepTimeout.String()
	p := c.Programme
	f.SIMSwapHold = p.SIMSwapHold.String()
	f.PushAnswer = p.PushAnswerTimeout.String()
	f.SMS.MarketingWindow = formatClock(p.SMS.WindowOpen) + "-" + formatClock(p.SMS.WindowClose)
	f.SMS.MarketingDailyCap, f.SMS.MaxParts = p.SMS.DailyCap, p.SMS.MaxParts
	f.Points.VNDPerPoint = p.Usage.VNDPerPoint
	f.Tiers.Thresholds = c.TierRules.Thresholds[:]
	f.Tiers.GraceDays, f.Tiers.FloorYears, f.Tiers.FloorTier = c.TierRules.GraceDays, c.TierRules.LoyaltyYears, c.TierRules.LoyaltyFloor
	t := p.Transfer
	f.Transfer.MinPoints, f.Transfer.Step, f.Transfer.MonthlyCap, f.Transfer.MinTier = t.MinPoints, t.Step, t.MonthlyCap, t.MinTier
	f.Transfer.ConfirmWithin = t.ConfirmWithin.String()
	f.VIPQuotas = p.Privileges.Quota
	f.Resort.Season = fmt.Sprintf("%02d-%02d", int(p.Offers.SeasonFrom), int(p.Offers.SeasonTo))
	f.Resort.MonthlyNights, f.Resort.Tiers = p.Offers.MonthlyNights, p.Offers.ResortTiers
	f.RoleLimits.PointsPerRequest, f.RoleLimits.PointsPerDay = c.RoleLimits.PerRequest, c.RoleLimits.PerDay
	stop := c.Stop.WithDefaults()
	f.Shutdown.Steps, f.Shutdown.HandBack, f.Shutdown.Unbind = stop.Steps.String(), stop.HandBack.String(), stop.Unbind.String()
	f.Shutdown.HTTP = orDuration(c.StopHTTP, defaultStopHTTP).String()
	r := c.Retention.WithDefaults()
	f.Retention.Dialogues, f.Retention.SMSTexts, f.Retention.Inbound = days(r.Dialogues), days(r.SMSTexts), days(r.Inbound)
	f.Retention.Receipts, f.Retention.Audit, f.Retention.Records = days(r.Receipts), days(r.Audit), days(r.Records)
	f.Endpoints = map[string]effectiveEndpoint{}
	for name, ep := range c.Endpoints {
		h := map[string]string{}
		for k, v := range ep.Headers {
			h[k] = mask(v) // credentials live in headers
		}
		f.Endpoints[name] = effectiveEndpoint{URL: maskURL(ep.URL), Headers: h, Timeout: ep.Timeout.String()}
	}
	f.Services = c.Services
	f.CSVMaxRows = c.CSVMaxRows
	if f.CSVMaxRows == 0 {
		f.CSVMaxRows = defaultCSVMaxRows
	}
	return e
}

// days writes a period as whole days when it is one ("90d"), else as a
// duration ("36h0m0s").
func days(d time.Duration) string {
	if d%care360.Day == 0 {
		return fmt.Sprintf("%dd", d/care360.Day)
	}
	return d.String()
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// maskURL hides a URL's password (and leaves a key=value string alone
// but for its password).
func maskURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), masked)
			return strings.Replace(u.String(), url.QueryEscape(masked), masked, 1)
		}
		return s
	}
	var out []string
	for _, kv := range strings.Fields(s) {
		if k, _, ok := strings.Cut(kv, "="); ok && k == "password" {
			kv = k + "=" + masked
		}
		out = append(out, kv)
	}
	return strings.Join(out, " ")
}

// runConfig is `care360 config`: the effective configuration as JSON,
// after the same checks serve makes.
func runConfig(getenv func(string) string, w io.Writer) error {
	c, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c.Effective(getenv))
}
