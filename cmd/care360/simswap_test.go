package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

// The fraud story of PRODUCT.md §7 over real SMPP: the CRM reports a SIM
// swap; the member's menu 7 and CD are refused, saying until when (local
// time), while DIEM and menu 1 still answer; the same event sent again
// changes nothing; a number change to a number another member holds is
// refused, a stranger's swap as unknown.
func TestSIMSwapHoldOverSMPP(t *testing.T) {
	t.Parallel()
	// A database of its own: gateways of parallel tests on one database
	// would claim and send each other's SMS, and ids and counts would
	// carry over under -count.
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	ctx := ctxT(t)
	h.member(t, "0903250001", map[string]any{"name": "A", "language": "vi"}, 12_000, 0)
	h.member(t, "0903250002", map[string]any{"name": "B"}, 0, 0)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	var out struct {
		Applied, Duplicate, Rejected int
		Results                      []struct {
			ID, Status, Reason string
			HoldUntil          time.Time `json:"hold_until"`
		}
	}
	events := []map[string]any{
		{"id": "crm-77", "msisdn": "0903250001", "event": "sim_swap", "at": at.Format(time.RFC3339)},
		{"id": "crm-78", "msisdn": "0903250001", "event": "msisdn_change", "new_msisdn": "0903250002", "at": at.Format(time.RFC3339)},
		{"id": "crm-79", "msisdn": "0912000111", "event": "sim_swap", "at": at.Format(time.RFC3339)},
		{"id": "crm-80", "msisdn": "not a number", "event": "sim_swap", "at": at.Format(time.RFC3339)},
	}
	if st := h.api(t, http.MethodPost, "/api/v1/lifecycle", events, &out); st != http.StatusOK {
		t.Fatalf("lifecycle: %d", st)
	}
	until := at.Add(72 * time.Hour)
	if out.Applied != 1 || out.Rejected != 3 || out.Results[0].Status != "applied" || !out.Results[0].HoldUntil.Equal(until) ||
		out.Results[1].Reason != "msisdn_in_use" || out.Results[2].Reason != "unknown_subscriber" || out.Results[3].Reason != "invalid" {
		t.Fatalf("results %+v", out)
	}
	if st := h.api(t, http.MethodPost, "/api/v1/lifecycle", events[:1], &out); st != http.StatusOK || out.Duplicate != 1 {
		t.Fatalf("sent again: %d %+v", st, out)
	}
	local := until.In(mustZone(t, "Asia/Ho_Chi_Minh")).Format("15:04 02/01/2006")

	call, err := h.sim.Dial(ctx, "0903250001", "*090*7#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The check comes as soon as the amount is known (RequestTransfer).
	for _, answer := range []string{"0903250002", "1000"} {
		if err := call.Reply(ctx, answer); err != nil {
			t.Fatalf("%s: %v (screen %q)", answer, err, call.Screen())
		}
	}
	if want := "Quy khach vua doi SIM: de bao ve tai khoan, giao dich nay tam khoa den " + local + ". Xem diem van duoc."; !call.Ended() || call.Screen() != want {
		t.Fatalf("menu 7 under the hold: %q\nwant %q", call.Screen(), want)
	}
	if st, err := h.sim.SendMO(ctx, "84903250001", "9237", "CD 0903250002 1000", 0); err != nil || st != 0 {
		t.Fatalf("CD: %d %v", st, err)
	}
	ms := waitSMS(t, h, "84903250001", 1)
	if !strings.Contains(ms[0].Text, "tam khoa den "+local) {
		t.Fatalf("CD reply %q", ms[0].Text)
	}
	call, err = h.sim.Dial(ctx, "0903250001", "*090*1#", smsc.DialOptions{})
	if err != nil || !strings.Contains(call.Screen(), "12.000") {
		t.Fatalf("points under the hold: %q %v", call.Screen(), err)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
