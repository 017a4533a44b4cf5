package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

// A recycled number inherits nothing (PRODUCT.md §7), over real SMPP:
// member A has points and claims a birthday gift; the CRM reports A's
// churn; the number, dialling *090#, is offered registration like any
// stranger; its new owner texts DK and is a Đồng member with 0 points; A's
// ledger and claim are intact, under A.
func TestRecycledNumberInheritsNothing(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.FreshDB(t)
	h := start(t, map[string]string{"CARE360_DATABASE_URL": dbURL})
	ctx := ctxT(t)
	const number = "0903260001"
	now := time.Now()
	birthday := fmt.Sprintf("1980-%02d-15", now.In(mustZone(t, "Asia/Ho_Chi_Minh")).Month())
	h.member(t, number, map[string]any{"name": "Nguyen Van A", "birthday": birthday, "gender": "m"}, 12_000, 0)
	gift := map[string]any{"name": "Hoa sinh nhật", "name_en": "Birthday flowers", "kind": "physical", "occasion": "birthday", "stock": 10,
		"valid_from": now.Add(-24 * time.Hour).Format(time.RFC3339), "valid_until": now.Add(30 * 24 * time.Hour).Format(time.RFC3339)}
	if st := h.api(t, http.MethodPost, "/api/v1/gifts", gift, nil); st != http.StatusCreated {
		t.Fatalf("gift: %d", st)
	}
	call, err := h.sim.Dial(ctx, number, "*090*2#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, answer := range []string{"1", "1"} {
		if err := call.Reply(ctx, answer); err != nil {
			t.Fatalf("%s: %v (screen %q)", answer, err, call.Screen())
		}
	}
	if !strings.Contains(call.Screen(), "da nhan Hoa sinh nhat") {
		t.Fatalf("A's birthday gift: %q", call.Screen())
	}

	var out struct {
		Applied int
		Results []struct{ Status, Reason string }
	}
	churn := []map[string]any{{"id": "crm-churn-260001", "msisdn": number, "event": "churn", "at": now.Add(-time.Minute).Format(time.RFC3339)}}
	if st := h.api(t, http.MethodPost, "/api/v1/lifecycle", churn, &out); st != http.StatusOK || out.Applied != 1 {
		t.Fatalf("churn: %d %+v", st, out)
	}
	if st := h.api(t, http.MethodGet, "/api/v1/subscribers/"+number, nil, nil); st != http.StatusNotFound {
		t.Errorf("the churned number in the API: %d, want 404", st)
	}

	// The number's next owner dials: a stranger, offered registration.
	call, err = h.sim.Dial(ctx, number, "*090#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(call.Screen(), "chua la hoi vien") || !strings.Contains(call.Screen(), "1. Dang ky (DK)") {
		t.Fatalf("the recycled number dials: %q, want the registration offer", call.Screen())
	}
	call.Abort(ctx)
	if st, err := h.sim.SendMO(ctx, "84903260001", "9237", "DK", 0); err != nil || st != 0 {
		t.Fatalf("DK: %d %v", st, err)
	}
	smsDirective(t, h, number, "*hang Dong*") // the DK reply, after A's gift code if it went out before the churn
	call, err = h.sim.Dial(ctx, number, "*090*1#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := call.Screen(); !strings.Contains(s, "Hang: Dong") || !strings.Contains(s, "Diem kha dung: 0\n") {
		t.Errorf("the new member's points: %q, want Đồng with 0 points", s)
	}
	var profile map[string]any
	if st := h.api(t, http.MethodGet, "/api/v1/subscribers/"+number, nil, &profile); st != http.StatusOK ||
		profile["name"] != "" || profile["birthday"] != nil || profile["tier"] != "dong" {
		t.Errorf("the new member: %d %v; want no name, no birthday, Đồng", st, profile)
	}

	// A, closed, keeps its history under its own key.
	pg, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	var key, status, name string
	var credits, forfeited, claims int
	if err := pg.QueryRow(ctx, `SELECT msisdn, status, name FROM subscribers WHERE closed_msisdn = '84903260001'`).Scan(&key, &status, &name); err != nil {
		t.Fatal(err)
	}
	if err := pg.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM points_ledger WHERE msisdn = $1 AND points > 0),
		(SELECT count(*) FROM points_ledger WHERE msisdn = $1 AND reason = 'forfeited'),
		(SELECT count(*) FROM gift_claims WHERE msisdn = $1)`, key).Scan(&credits, &forfeited, &claims); err != nil {
		t.Fatal(err)
	}
	if status != "closed" || name != "Nguyen Van A" || credits != 1 || forfeited != 1 || claims != 1 {
		t.Errorf("A after the churn: %s %q, %d credits, %d forfeitures, %d claims; want closed, its credit forfeited, its claim kept", status, name, credits, forfeited, claims)
	}
	// The audit log still tells A's story: staff created A, with A's name.
	var audit struct {
		Entries []struct {
			Action string
			After  map[string]any
		}
	}
	if st := h.api(t, http.MethodGet, "/api/v1/audit?target=84903260001&limit=50", nil, &audit); st != http.StatusOK {
		t.Fatalf("audit: %d", st)
	}
	created := false
	for _, e := range audit.Entries {
		created = created || (e.Action == "subscriber.put" && e.After["name"] == "Nguyen Van A")
	}
	if !created {
		t.Errorf("the audit log lost A's creation: %+v", audit.Entries)
	}
}

// Erasure through the API (PRODUCT.md §7): admins only, with a reason; the
// member is gone by number, the audit log records the erasure under the
// member's retired key and nowhere holds the number; erasing again is 404.
func TestEraseThroughTheAPI(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	const number = "0903270001"
	h.member(t, number, map[string]any{"name": "Le Van Erased"}, 5_000, 0)
	var staff struct{ Token string }
	if st := h.api(t, http.MethodPost, "/api/v1/staff", map[string]any{"name": "mkt", "role": "marketer"}, &staff); st != http.StatusCreated {
		t.Fatalf("staff: %d", st)
	}
	req, _ := http.NewRequest(http.MethodPost, h.base+"/api/v1/subscribers/"+number+":erase", strings.NewReader(`{"reason":"DSR-1"}`))
	req.Header.Set("Authorization", "Bearer "+staff.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a marketer erases: %v %v", resp, err)
	}
	if st := h.api(t, http.MethodPost, "/api/v1/subscribers/"+number+":erase", map[string]any{}, nil); st != http.StatusBadRequest {
		t.Errorf("no reason: %d, want 400", st)
	}
	var out struct {
		Erased bool
		Member string
		Rows   int64
	}
	if st := h.api(t, http.MethodPost, "/api/v1/subscribers/"+number+":erase", map[string]any{"reason": "data subject request DSR-1"}, &out); st != http.StatusOK ||
		!out.Erased || !strings.HasPrefix(out.Member, "c") {
		t.Fatalf("erase: %d %+v", st, out)
	}
	if st := h.api(t, http.MethodGet, "/api/v1/subscribers/"+number, nil, nil); st != http.StatusNotFound {
		t.Errorf("the erased member by number: %d, want 404", st)
	}
	if st := h.api(t, http.MethodPost, "/api/v1/subscribers/"+number+":erase", map[string]any{"reason": "again"}, nil); st != http.StatusNotFound {
		t.Errorf("erasing again: %d, want 404", st)
	}
	var audit struct {
		Entries []struct{ Action, Target string }
	}
	if st := h.api(t, http.MethodGet, "/api/v1/audit?limit=200", nil, &audit); st != http.StatusOK {
		t.Fatalf("audit: %d", st)
	}
	erasures := 0
	for _, e := range audit.Entries {
		if strings.Contains(e.Target, "903270001") {
			t.Errorf("the audit log still names the number: %+v", e)
		}
		if e.Action == "subscriber.erase" && e.Target == out.Member {
			erasures++
		}
	}
	if erasures != 1 {
		t.Errorf("%d erasures recorded under %s, want 1: %+v", erasures, out.Member, audit.Entries)
	}
}

// A membership's history (PRODUCT.md §7), through the API as support staff
// read it: joined through the API with both consents, a SIM swap, a number
// change; read at the new number, oldest first, with the hold in force.
func TestMembershipHistory(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	h.member(t, "0903280001", map[string]any{"name": "History"}, 0, 0)
	at := time.Now() // after joining
	events := []map[string]any{
		{"id": "hist-1", "msisdn": "0903280001", "event": "sim_swap", "at": at.Format(time.RFC3339Nano)},
		{"id": "hist-2", "msisdn": "0903280001", "event": "msisdn_change", "new_msisdn": "0903280002", "at": at.Add(time.Millisecond).Format(time.RFC3339Nano)},
	}
	var res struct{ Applied int }
	if st := h.api(t, http.MethodPost, "/api/v1/lifecycle", events, &res); st != http.StatusOK || res.Applied != 2 {
		t.Fatalf("lifecycle: %d %+v", st, res)
	}
	var out struct {
		Events []struct{ What, Detail string }
	}
	if st := h.api(t, http.MethodGet, "/api/v1/subscribers/0903280002/history", nil, &out); st != http.StatusOK {
		t.Fatalf("history: %d", st)
	}
	var got []string
	for _, e := range out.Events {
		got = append(got, e.What+": "+e.Detail)
	}
	want := []string{
		"joined: member since",
		"consent: programme given by api (2026-12)",
		"consent: marketing given by api (2026-12)",
		"lifecycle: sim_swap applied",
		"lifecycle: msisdn_change applied → 84903280002",
		"number_changed: left 84903280001",
		"hold: SIM swap: value held until",
	}
	if len(got) != len(want) {
		t.Fatalf("history:\n%s\nwant %d lines", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d: %q, want %q…", i+1, got[i], want[i])
		}
	}
	if st := h.api(t, http.MethodGet, "/api/v1/subscribers/0903280001/history", nil, nil); st != http.StatusNotFound {
		t.Errorf("history at the old number: %d, want 404", st)
	}
}
