package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pgtest"
)

// TestSMPPReplayedConfirmationActsOnce: an SMPP dialogue's confirming step
// whose action committed but whose dialogue save was lost (a timeout, a
// dropped connection) comes again with the same dialogue state: the gift
// is claimed once, one debit, one SMS, and the step shows the first
// outcome again.
func TestSMPPReplayedConfirmationActsOnce(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	ctx := ctxT(t)
	const gift = `{"name":"Voucher 50.000d","name_en":"Voucher","kind":"partner","cost":1000,"stock":100,"limit":10,` +
		`"valid_from":"2020-01-01T00:00:00Z","valid_until":"2100-01-01T00:00:00Z"}`
	if st := h.api(t, "POST", "/api/v1/gifts", json.RawMessage(gift), nil); st != 201 {
		t.Fatalf("POST gift: %d", st)
	}
	h.member(t, "0903230030", map[string]any{"name": "S"}, 2500, 0)
	call, err := h.sim.Dial(ctx, "0903230030", "*090*2*1#", smsc.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(call.Screen(), "1. Dong y\n0. Quay lai") {
		t.Fatalf("confirmation: %q", call.Screen())
	}
	// The dialogue as the confirming step finds it.
	key := fmt.Sprintf("84903230030/s%d", call.SessionInfo()[0])
	saved, err := h.m.DB.LoadDialogue(ctx, key, 0)
	if err != nil || saved == nil {
		t.Fatalf("dialogue %q: %v", key, err)
	}
	if err := call.Reply(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	first := call.Screen()
	if !call.Ended() || !strings.Contains(first, "Voucher 50.000d") {
		t.Fatalf("claim: %q ended=%v", first, call.Ended())
	}
	// The step again, from the same state, as the gateway hands it over.
	if err := h.m.DB.SaveDialogue(ctx, saved); err != nil {
		t.Fatal(err)
	}
	again, err := h.m.Engine.Step(ctx, care360.USSDRequest{Key: key, MSISDN: "84903230030", Kind: care360.USSDAnswer, Text: "1", LimitGSM: 182, LimitUCS2: 80})
	if err != nil || again.Text != first || !again.End {
		t.Errorf("replayed step: %+v %v; the first showed %q", again, err, first)
	}
	if n := h.count(t, `SELECT count(*) FROM gift_claims WHERE msisdn = '84903230030'`); n != 1 {
		t.Errorf("%d claims; want 1", n)
	}
	if n := h.count(t, `SELECT count(*) FROM points_ledger WHERE msisdn = '84903230030' AND points < 0`); n != 1 {
		t.Errorf("%d debits; want 1", n)
	}
	if n := h.smsCount(t, "0903230030"); n != 1 {
		t.Errorf("%d SMS; want 1", n)
	}
}
