package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

// zoneAt returns a CARE360_TIMEZONE whose local hour now is in [from, to),
// so that quiet hours (22:00–07:00) are open or shut whenever the test runs.
func zoneAt(t *testing.T, from, to int) string {
	t.Helper()
	for off := -12; off <= 14; off++ {
		name := fmt.Sprintf("Etc/GMT%+d", -off) // POSIX signs: Etc/GMT-7 is UTC+7
		if off == 0 {
			name = "UTC"
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		if h := time.Now().In(loc).Hour(); h >= from && h < to {
			return name
		}
	}
	t.Fatalf("no zone has an hour in [%d, %d) now", from, to)
	return ""
}

// startSMS runs the real program on a database of its own (every running
// program sends what is due in the outbox it shares, and this test's SMS
// must reach its own simulator), with two members.
func startSMS(t *testing.T, zone string) *harness {
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t), "CARE360_TIMEZONE": zone})
	h.member(t, "0903123456", map[string]any{"name": "Nguyen Van An", "language": "vi"}, 12_000, 0)
	h.member(t, "0904234567", map[string]any{"name": "Tran Thi Binh", "language": "en"}, 0, 0)
	return h
}

type campaignBody struct {
	ID         int64            `json:"id"`
	Status     string           `json:"status"`
	Recipients int64            `json:"recipients"`
	Progress   map[string]int64 `json:"progress"`
}

func (h *harness) campaign(t *testing.T) campaignBody {
	t.Helper()
	var c campaignBody
	st := h.api(t, "POST", "/api/v1/campaigns", map[string]any{
		"name": "Tri an", "text": "Cam on {name}, hang {tier}!", "text_en": "Thank you {name}, {tier} member!",
		"segment": map[string]any{"msisdns": []string{"0903123456", "0904234567"}},
	}, &c)
	if st != 201 || c.Recipients != 2 {
		t.Fatalf("campaign: %d %+v", st, c)
	}
	return c
}

// The real program answers a keyword (MO in over SMPP, reply out of the
// outbox) and sends a campaign posted to the API, with receipts.
func TestSMSEndToEnd(t *testing.T) {
	t.Parallel()
	h := startSMS(t, zoneAt(t, 8, 21))
	if st, err := h.sim.SendMO(ctxT(t), "84903123456", "9237", "diem", 0); err != nil || st != 0 {
		t.Fatalf("MO: %#x, %v", st, err)
	}
	reply := waitSMS(t, h, "84903123456", 1)
	if !strings.HasPrefix(reply[0].Text, "Hang: Vang\nDiem kha dung: 12.000") || reply[0].From != "9237" {
		t.Fatalf("DIEM reply %+v", reply[0])
	}
	c := h.campaign(t)
	if ad := waitSMS(t, h, "84904234567", 1); ad[0].Text != "[QC] Thank you Tran Thi Binh, Bronze member! Tu choi: soan TC gui 9237" {
		t.Errorf("ad %q", ad[0].Text)
	}
	if ad := waitSMS(t, h, "84903123456", 2); ad[1].Text != "[QC] Cam on Nguyen Van An, hang Vang! Tu choi: soan TC gui 9237" {
		t.Errorf("ad %q", ad[1].Text)
	}
	deadline := time.Now().Add(20 * time.Second) // generous: a busy machine is not a failure
	for c.Progress["delivered"] != 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		h.api(t, "GET", "/api/v1/campaigns/"+strconv.FormatInt(c.ID, 10), nil, &c)
	}
	if c.Progress["delivered"] != 2 || c.Progress["sent"] != 2 || c.Status != "done" {
		t.Errorf("campaign %+v", c)
	}
}

// During quiet hours a campaign is held, while keyword replies still go.
func TestSMSQuietHours(t *testing.T) {
	t.Parallel()
	h := startSMS(t, zoneAt(t, 0, 6))
	if c := h.campaign(t); c.Progress["held"] != 2 {
		t.Fatalf("campaign at night: %+v", c)
	}
	if st, err := h.sim.SendMO(ctxT(t), "84904234567", "9237", "QUA", 0); err != nil || st != 0 {
		t.Fatalf("MO: %#x, %v", st, err)
	}
	if got := waitSMS(t, h, "84904234567", 1); !strings.Contains(got[0].Text, "no gifts") {
		t.Fatalf("reply %q", got[0].Text)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(h.sim.Messages("84904234567")); n != 1 {
		t.Fatalf("%d SMS at night, want only the reply", n)
	}
}

// waitSMS waits until the handset holds n SMS and returns them.
func waitSMS(t *testing.T, h *harness, msisdn string, n int) []smsc.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // generous: a busy machine is not a failure
	for {
		if ms := h.sim.Messages(msisdn); len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d SMS, want %d", msisdn, len(h.sim.Messages(msisdn)), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A campaign larger than a part of its recipients (10,000) goes out whole:
// the first part from the request, the rest moved into the outbox by the
// running program as the first is sent, every member exactly once.
func TestCampaignLargerThanAPart(t *testing.T) {
	t.Parallel()
	const members = 10_500
	db := pgtest.FreshDB(t)
	h := start(t, map[string]string{"CARE360_DATABASE_URL": db, "CARE360_TIMEZONE": zoneAt(t, 8, 21),
		"CARE360_SMPP_TPS": "100000"}) // the default 100 a second would take the test two minutes
	conn, err := pgx.Connect(ctxT(t), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctxT(t))
	if _, err := conn.Exec(ctxT(t), `INSERT INTO subscribers (msisdn, name, member_since, marketing_consent)
		SELECT '8490' || lpad(g::text, 7, '0'), 'Khach ' || g, date '2020-01-01', true FROM generate_series(1, $1::int) g`, members); err != nil {
		t.Fatal(err)
	}
	var c campaignBody
	if st := h.api(t, "POST", "/api/v1/campaigns", map[string]any{"name": "Moi nguoi", "text": "Uu dai cho {name}"}, &c); st != 201 || c.Recipients != members {
		t.Fatalf("campaign: %d %+v", st, c)
	}
	deadline := time.Now().Add(60 * time.Second) // generous: a busy machine is not a failure
	for c.Status != "done" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		h.api(t, "GET", "/api/v1/campaigns/"+strconv.FormatInt(c.ID, 10), nil, &c)
	}
	if c.Status != "done" || c.Progress["sent"] != members || c.Progress["failed"] != 0 {
		t.Fatalf("campaign %+v", c)
	}
	for _, i := range []int{1, 5_000, 10_000, 10_001, members} {
		m := fmt.Sprintf("8490%07d", i)
		if got := h.sim.Messages(m); len(got) != 1 || got[0].Text != fmt.Sprintf("[QC] Uu dai cho Khach %d Tu choi: soan TC gui 9237", i) {
			t.Errorf("%s was sent %+v", m, got)
		}
	}
	if n := h.sim.Submits(); n != members {
		t.Errorf("%d submit_sm for %d members", n, members)
	}
}
