package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// GET /api/v1/subscribers/{msisdn}/export (PRODUCT.md §7 access) gives one
// JSON document with every section, the member's rows in each (points,
// texts of the messages both ways, dialogue records among them), and the
// read is audited; a number that is no member is a 404.
func TestExportEverythingHeld(t *testing.T) {
	t.Parallel()
	// A database of its own: gateways of parallel tests on one database
	// would claim and send each other's SMS, and ids and counts would
	// carry over under -count.
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	ctx := ctxT(t)
	h.member(t, "0903260001", map[string]any{"name": "Đặng Thị Hoa", "birthday": "1990-02-03"}, 5_000, 0)
	if st, err := h.sim.SendMO(ctx, "84903260001", "9237", "DIEM", 0); err != nil || st != 0 {
		t.Fatalf("DIEM: %d %v", st, err)
	}
	waitSMS(t, h, "84903260001", 1)
	call, err := h.sim.Dial(ctx, "0903260001", "*090*1#", smsc.DialOptions{})
	if err != nil || !call.Ended() {
		t.Fatalf("dial: %v", err)
	}
	exports := 0
	get := func(msisdn string) (int, []byte) {
		t.Helper()
		exports++
		req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/subscribers/"+msisdn+"/export", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	var doc struct {
		MSISDN   string                       `json:"msisdn"`
		Sections map[string][]json.RawMessage `json:"sections"`
	}
	// The dialogue's record is written within a second.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, body := get("0903260001")
		if st != http.StatusOK {
			t.Fatalf("export: %d %s", st, body)
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("export is not one JSON document: %v\n%s", err, body)
		}
		if len(doc.Sections["dialogue_records"]) > 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, name := range store.ExportSections() {
		if _, ok := doc.Sections[name]; !ok {
			t.Errorf("section %s missing", name)
		}
	}
	all, _ := json.Marshal(doc.Sections)
	for _, want := range []string{"Đặng Thị Hoa", "1990-02-03", `"DIEM"`, "5.000"} {
		if !strings.Contains(string(all), want) {
			t.Errorf("the export lacks %s", want)
		}
	}
	if strings.Contains(string(all), "usage_salt") {
		t.Errorf("the export gives the usage journal's salt: %s", doc.Sections["profile"])
	}
	if doc.MSISDN != "84903260001" || len(doc.Sections["profile"]) != 1 || len(doc.Sections["ledger"]) != 1 ||
		len(doc.Sections["inbound_sms"]) != 1 || len(doc.Sections["messages"]) != 1 || len(doc.Sections["dialogue_records"]) != 1 {
		t.Errorf("sections: %s", all)
	}
	if n := h.count(t, `SELECT count(*) FROM audit_log WHERE action = 'subscriber.export' AND target = '84903260001'`); n != exports {
		t.Errorf("export audited %d times, read %d times", n, exports)
	}
	if st, body := get("0912000111"); st != http.StatusNotFound {
		t.Errorf("export of a stranger: %d %s", st, body)
	}
}
