package web_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/web"
)

type dashboard struct {
	At   time.Time `json:"at"`
	USSD struct {
		StepsPerSecond   float64 `json:"steps_per_second"`
		OpenDialogues    int64   `json:"open_dialogues"`
		DialsLastHour    int64   `json:"dials_last_hour"`
		StepsLastHour    int64   `json:"steps_last_hour"`
		FailuresLastHour int64   `json:"failures_last_hour"`
	} `json:"ussd"`
	SMS struct {
		Queued, Held, Sending, Submitted, Delivered, Failed int64
		DeliveryRate                                        *float64 `json:"delivery_rate"`
	} `json:"sms"`
	Jobs []struct {
		Job, Instance, Error string
		OK                   bool
	} `json:"jobs"`
	LastHour struct {
		Minutes      []time.Time `json:"minutes"`
		USSDSteps    []int64     `json:"ussd_steps"`
		SMSDelivered []int64     `json:"sms_delivered"`
	} `json:"last_hour"`
}

func getDashboard(t *testing.T, b *bundle) dashboard {
	t.Helper()
	res := b.do(t, http.MethodGet, "/api/v1/dashboard", "")
	if res.status != http.StatusOK {
		t.Fatalf("dashboard: %d %s", res.status, res.body)
	}
	var d dashboard
	if err := json.Unmarshal(res.body, &d); err != nil {
		t.Fatalf("dashboard: %v in %s", err, res.body)
	}
	var raw any
	json.Unmarshal(res.body, &raw)
	describedBy(t, "dashboard", raw, openAPISchema(t, "Dashboard"))
	return d
}

func openAPISchema(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Components.Schemas[name] == nil {
		t.Fatalf("openapi.json has no schema %s (%v)", name, err)
	}
	return doc.Components.Schemas[name]
}

// describedBy fails unless every field of v, at every depth, is in the
// schema's properties, and every required one is present: the published
// description says what the answer holds.
func describedBy(t *testing.T, where string, v any, schema map[string]any) {
	t.Helper()
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		t.Errorf("%s = %v, not one of the OpenAPI schema's %v", where, v, enum)
	}
	switch v := v.(type) {
	case map[string]any:
		props, ok := schema["properties"].(map[string]any)
		if !ok {
			return // a map (additionalProperties): keys are data
		}
		for k, x := range v {
			sub, ok := props[k].(map[string]any)
			if !ok {
				t.Errorf("%s.%s is not in the OpenAPI schema", where, k)
				continue
			}
			describedBy(t, where+"."+k, x, sub)
		}
		req, _ := schema["required"].([]any)
		for _, k := range req {
			if _, ok := v[k.(string)]; !ok {
				t.Errorf("%s lacks required %s", where, k)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for _, x := range v {
				describedBy(t, where+"[]", x, items)
			}
		}
	}
}

// The dashboard adds up what every instance flushed: the last hour a
// minute at a time, the current USSD rate from the complete slots before
// now, the SMS outcomes and their delivery rate, each job's last run. One
// reading serves every caller for a moment, then a new one is made.
func TestDashboardFigures(t *testing.T) {
	t.Parallel()
	b := setupOn(t, pgtest.FreshDB(t), func(c *web.Config) {
		c.Admin.Operations = c.Admin.Staff.(care360.OperationsService)
	})
	now := time.Now()
	slot := func(ago time.Duration) time.Time { return now.Add(-ago).UTC().Truncate(care360.SlotLength) }
	if _, err := b.db.Pool().Exec(t.Context(), `
		INSERT INTO traffic_slots (at, ussd_dials, ussd_steps, ussd_failures, sms_submitted, sms_delivered, sms_failed)
		VALUES ($1, 4, 30, 0, 0, 0, 0), ($2, 1, 30, 1, 10, 9, 1), ($3, 0, 15, 0, 0, 0, 0), ($4, 9, 99, 9, 9, 9, 9)`,
		slot(20*time.Second), slot(40*time.Minute), slot(0), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := b.db.RecordJobRun(t.Context(), care360.JobRun{Job: "points-expiry", Instance: "gw-1",
		StartedAt: now.Add(-time.Minute), FinishedAt: now, OK: false, Error: "timeout"}); err != nil {
		t.Fatal(err)
	}
	d := getDashboard(t, b)
	if d.USSD.StepsLastHour != 75 || d.USSD.DialsLastHour != 5 || d.USSD.FailuresLastHour != 1 {
		t.Errorf("ussd %+v, want 75 steps, 5 dials, 1 failure (the slot of two hours ago left out)", d.USSD)
	}
	// 30 steps in the 30 s window before the last complete slot: 1 a second.
	if d.USSD.StepsPerSecond != 1 {
		t.Errorf("steps/s %v, want 1", d.USSD.StepsPerSecond)
	}
	if d.SMS.Submitted != 10 || d.SMS.Delivered != 9 || d.SMS.Failed != 1 || d.SMS.DeliveryRate == nil || *d.SMS.DeliveryRate != 0.9 {
		t.Errorf("sms %+v, want 10 submitted, 9 delivered, 1 failed, rate 0.9", d.SMS)
	}
	if len(d.LastHour.Minutes) != 60 || len(d.LastHour.USSDSteps) != 60 {
		t.Fatalf("last hour %+v, want 60 minutes", d.LastHour)
	}
	var sum int64
	for _, n := range d.LastHour.USSDSteps {
		sum += n
	}
	if last := d.LastHour.Minutes[59]; sum != 75 || !last.Equal(now.UTC().Truncate(time.Minute)) || d.LastHour.USSDSteps[59] < 15 {
		t.Errorf("per minute %v ending %v, want 75 in all, the current minute last", d.LastHour.USSDSteps, last)
	}
	if len(d.Jobs) != 1 || d.Jobs[0].Job != "points-expiry" || d.Jobs[0].OK || d.Jobs[0].Error != "timeout" {
		t.Errorf("jobs %+v", d.Jobs)
	}

	// Cached: a second reading right away is the same reading.
	if again := getDashboard(t, b); !again.At.Equal(d.At) {
		t.Errorf("second reading at %v, first at %v: not cached", again.At, d.At)
	}
	time.Sleep(2100 * time.Millisecond)
	if later := getDashboard(t, b); !later.At.After(d.At) {
		t.Errorf("reading at %v after 2 s, first at %v: stale", later.At, d.At)
	}
}
