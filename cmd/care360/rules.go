package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/care360/care360"
)

// programmeFile is the part of CARE360_CONFIG that sets the programme's
// *defaults* (PRODUCT.md §1, §4, §5): every field is optional, and a field
// left out keeps the product's default. Pointers tell "not given" from a
// zero that means something (no grace, no floor).
type programmeFile struct {
	// StepTimeout is a dialogue step's budget from its deliver_sm (2s).
	StepTimeout string `json:"step_timeout,omitempty"`
	// SIMSwapHold is how long a SIM swap holds value in the account (72h).
	SIMSwapHold string `json:"sim_swap_hold,omitempty"`
	// PushAnswerTimeout is how long a pushed screen waits for the
	// member's first answer before it ends as no_answer (60s).
	PushAnswerTimeout string `json:"push_answer_timeout,omitempty"`
	SMS               *struct {
		MarketingWindow   string `json:"marketing_window,omitempty"` // "07:00-22:00"
		MarketingDailyCap *int   `json:"marketing_daily_cap,omitempty"`
		MaxParts          *int   `json:"max_parts,omitempty"`
	} `json:"sms,omitempty"`
	Points *struct {
		VNDPerPoint *int64 `json:"vnd_per_point,omitempty"`
	} `json:"points,omitempty"`
	Tiers *struct {
		Thresholds []int64       `json:"thresholds,omitempty"`
		GraceDays  *int          `json:"grace_days,omitempty"`
		FloorYears *int          `json:"floor_years,omitempty"`
		FloorTier  *care360.Tier `json:"floor_tier,omitempty"`
	} `json:"tiers,omitempty"`
	Transfer *struct {
		MinPoints     *int64        `json:"min_points,omitempty"`
		Step          *int64        `json:"step,omitempty"`
		MonthlyCap    *int64        `json:"monthly_cap,omitempty"`
		MinTier       *care360.Tier `json:"min_tier,omitempty"`
		ConfirmWithin string        `json:"confirm_within,omitempty"`
	} `json:"transfer,omitempty"`
	// VIPQuotas: e-codes per calendar year, per tier and privilege; a tier
	// left out has no privileges. Replaces the whole default table.
	VIPQuotas map[care360.Tier]map[care360.Privilege]int `json:"vip_quotas,omitempty"`
	Resort    *struct {
		Season        string         `json:"season,omitempty"` // "06-08": June to August
		MonthlyNights *int           `json:"monthly_nights,omitempty"`
		Tiers         []care360.Tier `json:"tiers,omitempty"`
	} `json:"resort,omitempty"`
}

// Programme is the effective set of the programme's rules.
type Programme struct {
	SMS         care360.SMSRules
	Usage       care360.UsageRules
	Transfer    care360.TransferRules
	Offers      care360.OfferRules
	Privileges  care360.PrivilegeRules
	SIMSwapHold time.Duration
	// PushAnswerTimeout: a sent push unanswered this long is no_answer.
	PushAnswerTimeout time.Duration
}

// defaultProgramme is the product's defaults.
func defaultProgramme() Programme {
	return Programme{
		SMS:               care360.DefaultSMSRules,
		Usage:             care360.DefaultUsageRules,
		Transfer:          care360.DefaultTransferRules,
		Offers:            care360.DefaultOfferRules,
		Privileges:        care360.DefaultPrivilegeRules,
		SIMSwapHold:       care360.DefaultSIMSwapHold,
		PushAnswerTimeout: care360.DefaultPushAnswerTimeout,
	}
}

// applyProgramme sets what the file gives, each value checked; an error
// names the key.
func (c *Config) applyProgramme(f *programmeFile) error {
	if f.StepTimeout != "" {
		d, err := time.ParseDuration(f.StepTimeout)
		if err != nil || d < 100*time.Millisecond || d > 30*time.Second {
			return fmt.Errorf("step_timeout: want a duration from 100ms to 30s such as 2s, got %q", f.StepTimeout)
		}
		c.StepTimeout = d
	}
	p := &c.Programme
	if f.SIMSwapHold != "" {
		d, err := time.ParseDuration(f.SIMSwapHold)
		if err != nil || d < time.Hour || d > 30*24*time.Hour {
			return fmt.Errorf("sim_swap_hold: want a duration from 1h to 720h such as 72h, got %q", f.SIMSwapHold)
		}
		p.SIMSwapHold = d
	}
	if f.PushAnswerTimeout != "" {
		d, err := time.ParseDuration(f.PushAnswerTimeout)
		if err != nil || d < 10*time.Second || d > 10*time.Minute {
			return fmt.Errorf("push_answer_timeout: want a duration from 10s to 10m such as 60s, got %q", f.PushAnswerTimeout)
		}
		p.PushAnswerTimeout = d
	}
	if s := f.SMS; s != nil {
		if s.MarketingWindow != "" {
			open, closeAt, err := parseWindow(s.MarketingWindow)
			if err != nil {
				return fmt.Errorf("sms.marketing_window: %v", err)
			}
			p.SMS.WindowOpen, p.SMS.WindowClose = open, closeAt
		}
		if n := s.MarketingDailyCap; n != nil {
			if *n < 1 || *n > care360.LegalDailyCap {
				return fmt.Errorf("sms.marketing_daily_cap: want 1 to %d (the legal ceiling), got %d", care360.LegalDailyCap, *n)
			}
			p.SMS.DailyCap = *n
		}
		if n := s.MaxParts; n != nil {
			if *n < 1 || *n > 255 {
				return fmt.Errorf("sms.max_parts: want 1 to 255 parts, got %d", *n)
			}
			p.SMS.MaxParts = *n
		}
	}
	if u := f.Points; u != nil && u.VNDPerPoint != nil {
		if *u.VNDPerPoint < 1 {
			return fmt.Errorf("points.vnd_per_point: want a positive amount, got %d", *u.VNDPerPoint)
		}
		p.Usage.VNDPerPoint = *u.VNDPerPoint
	}
	if t := f.Tiers; t != nil {
		if len(t.Thresholds) > 0 {
			if err := c.setThresholds("tiers.thresholds", t.Thresholds); err != nil {
				return err
			}
		}
		if n := t.GraceDays; n != nil {
			if *n < 0 || *n > 31 {
				return fmt.Errorf("tiers.grace_days: want 0 to 31 days, got %d", *n)
			}
			c.TierRules.GraceDays = *n
		}
		if n := t.FloorYears; n != nil {
			if *n < 0 || *n > 100 {
				return fmt.Errorf("tiers.floor_years: want 0 (no floor) to 100 years, got %d", *n)
			}
			c.TierRules.LoyaltyYears = *n
		}
		if ft := t.FloorTier; ft != nil {
			if !ft.Valid() {
				return fmt.Errorf("tiers.floor_tier: unknown tier %q (one of %s)", *ft, tierList())
			}
			c.TierRules.LoyaltyFloor = *ft
		}
	}
	if t := f.Transfer; t != nil {
		for _, v := range []struct {
			name string
			from *int64
			to   *int64
		}{{"min_points", t.MinPoints, &p.Transfer.MinPoints}, {"step", t.Step, &p.Transfer.Step}, {"monthly_cap", t.MonthlyCap, &p.Transfer.MonthlyCap}} {
			if v.from == nil {
				continue
			}
			if *v.from < 1 {
				return fmt.Errorf("transfer.%s: want a positive number of points, got %d", v.name, *v.from)
			}
			*v.to = *v.from
		}
		if p.Transfer.MinPoints%p.Transfer.Step != 0 {
			return fmt.Errorf("transfer.min_points: %d is not a multiple of transfer.step %d", p.Transfer.MinPoints, p.Transfer.Step)
		}
		if mt := t.MinTier; mt != nil {
			if !mt.Valid() {
				return fmt.Errorf("transfer.min_tier: unknown tier %q (one of %s)", *mt, tierList())
			}
			p.Transfer.MinTier = *mt
		}
		if t.ConfirmWithin != "" {
			d, err := time.ParseDuration(t.ConfirmWithin)
			if err != nil || d < 30*time.Second || d > time.Hour {
				return fmt.Errorf("transfer.confirm_within: want a duration from 30s to 1h such as 5m, got %q", t.ConfirmWithin)
			}
			p.Transfer.ConfirmWithin = d
		}
	}
	if f.VIPQuotas != nil {
		q := map[care360.Tier]map[care360.Privilege]int{}
		for tier, per := range f.VIPQuotas {
			if !tier.Valid() {
				return fmt.Errorf("vip_quotas: unknown tier %q (one of %s)", tier, tierList())
			}
			for priv, n := range per {
				if !priv.Valid() {
					return fmt.Errorf("vip_quotas.%s: unknown privilege %q (priority, lounge, booking or baggage)", tier, priv)
				}
				if n < 0 || n > 365 {
					return fmt.Errorf("vip_quotas.%s.%s: want 0 to 365 e-codes a year, got %d", tier, priv, n)
				}
				if q[tier] == nil {
					q[tier] = map[care360.Privilege]int{}
				}
				q[tier][priv] = n
			}
		}
		if len(q) == 0 {
			return fmt.Errorf("vip_quotas: empty; leave the key out to keep the defaults")
		}
		p.Privileges.Quota = q
	}
	if r := f.Resort; r != nil {
		if r.Season != "" {
			from, to, err := parseSeason(r.Season)
			if err != nil {
				return fmt.Errorf("resort.season: %v", err)
			}
			p.Offers.SeasonFrom, p.Offers.SeasonTo = from, to
		}
		if n := r.MonthlyNights; n != nil {
			if *n < 1 || *n > 31 {
				return fmt.Errorf("resort.monthly_nights: want 1 to 31 nights, got %d", *n)
			}
			p.Offers.MonthlyNights = *n
		}
		if r.Tiers != nil {
			if len(r.Tiers) == 0 {
				return fmt.Errorf("resort.tiers: empty; leave the key out to keep the defaults")
			}
			for _, t := range r.Tiers {
				if !t.Valid() {
					return fmt.Errorf("resort.tiers: unknown tier %q (one of %s)", t, tierList())
				}
			}
			p.Offers.ResortTiers = slices.Clone(r.Tiers)
		}
	}
	return nil
}

// setThresholds sets the tier thresholds: one per tier, increasing, the
// first 0 (everyone is at least Đồng).
func (c *Config) setThresholds(key string, ts []int64) error {
	if len(ts) != len(care360.Tiers) {
		return fmt.Errorf("%s: want %d numbers, one per tier (%s)", key, len(care360.Tiers), tierList())
	}
	if ts[0] != 0 {
		return fmt.Errorf("%s: the first (Đồng) must be 0", key)
	}
	for i := range ts {
		if i > 0 && ts[i] <= ts[i-1] {
			return fmt.Errorf("%s must increase", key)
		}
		c.TierRules.Thresholds[i] = ts[i]
	}
	return nil
}

func tierList() string {
	names := make([]string, len(care360.Tiers))
	for i, t := range care360.Tiers {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// parseWindow reads "HH:MM-HH:MM" (local time; the end after the start).
func parseWindow(s string) (open, closeAt time.Duration, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		open, err = parseClock(a)
		if err == nil {
			closeAt, err = parseClock(b)
		}
	}
	if !ok || err != nil || closeAt <= open {
		return 0, 0, fmt.Errorf("want a local time range such as 07:00-22:00, got %q", s)
	}
	return open, closeAt, nil
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * time.Hour, nil
		}
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func formatClock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}

// parseSeason reads "MM-MM": the months a resort offer without dates is
// valid in, within one calendar year.
func parseSeason(s string) (from, to time.Month, err error) {
	var a, b int
	if n, _ := fmt.Sscanf(s, "%d-%d", &a, &b); n != 2 || a < 1 || b > 12 || a > b || fmt.Sprintf("%02d-%02d", a, b) != s {
		return 0, 0, fmt.Errorf("want two months such as 06-08 (June to August), got %q", s)
	}
	return time.Month(a), time.Month(b), nil
}
