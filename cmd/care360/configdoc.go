package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// fileKeys says what each CARE360_CONFIG key means. Its defaults are not
// written here: configDoc reads them from the configuration an empty
// environment gives, so the page cannot disagree with the code, and a test
// fails when a key has no meaning here or a meaning has no key.
var fileKeys = map[string]string{
	"binds":                          "SMPP binds besides those of `CARE360_SMPP_ADDR`: each `{\"addr\", \"system_id\", \"password\", \"system_type\", \"profile\", \"tps\", \"window\", \"role\", \"bind_type\"}`, or `\"password_env\"` naming an environment variable that holds the password (so the file holds no secret); a key left out takes the environment's value; `role` is `ussd`, `sms` or `ussd+sms` (the default): screens go only over `ussd` binds, SMS only over `sms` binds, and when an SMS bind is down the others take its traffic; `bind_type` is `transceiver` (the default) or `transmitter+receiver` (two links: submits on the transmitter, deliveries on the receiver)",
	"profiles":                       "operator profiles besides the built-in ones (PRODUCT.md §3.5): `{\"name\", \"service_type\", \"limit_gsm\", \"limit_ucs2\", \"op_begin\", \"op_answer\", \"ops_abort\", \"op_continue\", \"op_end\", \"key\", \"code_in\"}`",
	"db_conns.ussd":                  "Postgres connections for USSD steps and SMPP work, which the API can never take",
	"db_conns.api":                   "Postgres connections for the admin API, reports and jobs",
	"http.auth_failures_per_minute":  "failed authentications per client address a minute, then 429",
	"http.max_api_requests":          "concurrent `/api/` requests, then 503",
	"sim_swap_hold":                  "after a SIM swap, how long the member cannot give points, claim vouchers or airtime, or pay points for draws and spins (1h to 720h)",
	"push_answer_timeout":            "how long a pushed USSD screen waits for the member's first answer before it ends as no_answer and falls back to SMS if asked (10s to 10m)",
	"step_timeout":                   "a dialogue step's budget, counted from its `deliver_sm`'s arrival (100ms to 30s)",
	"sms.marketing_window":           "local hours in which marketing SMS may go; outside them they wait",
	"sms.marketing_daily_cap":        "marketing SMS per subscriber per 24 h (1 to 3, the legal ceiling)",
	"sms.max_parts":                  "concatenated parts a long SMS may take; longer texts are cut",
	"points.vnd_per_point":           "VND of usage that earn one qualifying point",
	"tiers.thresholds":               "qualifying points (last 12 months) for Đồng, Bạc, Titan, Vàng, Kim cương; the first 0 (`tier_thresholds` is an older spelling)",
	"tiers.grace_days":               "days a member keeps a tier the monthly review found short of points (0 to 31)",
	"tiers.floor_years":              "years of membership that give the floor tier (0: no floor)",
	"tiers.floor_tier":               "the tier long-standing members never drop below",
	"transfer.min_points":            "fewest points one `CD` or menu 7 gift may move",
	"transfer.step":                  "gifts of points are multiples of this",
	"transfer.monthly_cap":           "points a member may give per calendar month",
	"transfer.min_tier":              "the giver's tier at least",
	"transfer.confirm_within":        "how long the `Y` confirming a `CD` may take (30s to 1h)",
	"vip_quotas":                     "VIP e-codes per calendar year, per tier and privilege (`priority` check-in, `lounge`, `booking` priority booking, `baggage` extra allowance); a tier left out has none; the file's table replaces the default one",
	"resort.season":                  "months (`MM-MM`) a summer-resort offer without dates is valid in",
	"resort.monthly_nights":          "resort (and hotel) nights per member per month",
	"resort.tiers":                   "tiers that may book resorts",
	"role_limits.points_per_request": "points a `support` account may move in one request",
	"role_limits.points_per_day":     "points a `support` account may move in a day",
	"shutdown.steps":                 "on SIGTERM: in-flight steps answered and their responses awaited",
	"shutdown.hand_back":             "on SIGTERM: unsent outbox claims handed back",
	"shutdown.unbind":                "on SIGTERM: every bind unbinds",
	"shutdown.http":                  "on SIGTERM: running HTTP requests finish",
	"retention.dialogues":            "ended dialogue state is deleted after (at least 1h)",
	"retention.sms_texts":            "outgoing SMS texts are redacted after (the status stays)",
	"retention.inbound_sms":          "inbound SMS, GY feedback among them, are deleted after",
	"retention.unmatched_receipts":   "delivery receipts that matched no message are deleted after",
	"retention.audit":                "the audit log is deleted after (at least 366d)",
	"retention.dialogue_records":     "records of ended dialogues are deleted after (at least 1d)",
	"endpoints":                      "outbound HTTP services, the only places provisioning and partner USSD applications' calls go: `{\"name\": {\"url\", \"headers\", \"timeout\"}}` (timeout 3s); gifts name one with `provision_endpoint`",
	"services":                       "the service codes answered, longest first (PRODUCT.md §3.7): each `{\"code\", \"menu\"}` opening a screen of the menu (`main`, `draws`, `gifts`…; shortcuts work below it) or `{\"code\", \"app\"}` handing the dialogue to a partner application, an `endpoints` name called as Africa's Talking calls us; without the key, `CARE360_USSD_CODE` alone opens the main menu; with it, the first `main` code is the one screens and SMS name unless `CARE360_USSD_CODE` is set",
	"csv_max_rows":                   "data rows one CSV upload may have",
}

// leafObjects are the keys whose value is one object, not a section.
var leafObjects = []string{"vip_quotas", "endpoints"}

// fileDefaults flattens the effective configuration of an empty
// environment into key → default, in the file's order.
func fileDefaults() ([]string, map[string]string, error) {
	c, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(c.Effective(func(string) string { return "" }).File)
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	vals := map[string]string{}
	var walk func(prefix string, raw json.RawMessage) error
	walk = func(prefix string, raw json.RawMessage) error {
		if raw[0] != '{' || slices.Contains(leafObjects, prefix) {
			keys = append(keys, prefix)
			vals[prefix] = string(raw)
			return nil
		}
		// Keep the order of the JSON, which is the order of the struct.
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.Token() // {
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			key := tok.(string)
			if prefix != "" {
				key = prefix + "." + key
			}
			if err := walk(key, v); err != nil {
				return err
			}
		}
		return nil
	}
	return keys, vals, walk("", raw)
}

// configDoc is docs/configuration.md.
func configDoc() (string, error) {
	keys, vals, err := fileDefaults()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`# Configuration

This page is written from the code (` + "`cmd/care360/config.go`, `configdoc.go`" + `); a test
fails when it no longer matches. ` + "`care360 config`" + ` prints the configuration in force,
defaults filled in and secrets masked, after the same checks as ` + "`serve`" + `: an unknown
key or a bad value stops both with a message naming it.

## Environment

| variable | default | meaning |
|---|---|---|
`)
	for _, v := range envVars {
		def := "(none)"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, v.Meaning)
	}
	b.WriteString(`
` + "`care360 dev`" + ` sets its own database, simulator, admin token (` + "`dev-token`" + `) and
loopback for the HTTP USSD adapters.

## ` + "`CARE360_CONFIG`" + `

A JSON file; every key is optional and one left out keeps its default. Sections
may be given in part: ` + "`{\"transfer\": {\"monthly_cap\": 20000}}`" + ` changes that rule alone.

| key | default | meaning |
|---|---|---|
`)
	for _, k := range keys {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", k, vals[k], fileKeys[k])
	}
	b.WriteString(`
Periods take Go durations (` + "`90s`, `5m`, `36h`" + `) or whole days (` + "`90d`" + `) where
the default is written in days.
`)
	return b.String(), nil
}
