package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp"
	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/care360/care360/gateway/smsc"
)

// TestDialPush runs `care360 dial --push`'s phone against a simulator and
// an ESME standing in for the gateway, which pushes a menu and closes the
// dialogue with a notification. No database is involved.
func TestDialPush(t *testing.T) {
	t.Parallel()
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 5 * time.Second})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	hs := httptest.NewServer(sim.ControlHandler())
	t.Cleanup(hs.Close)

	// The handler runs on the client's read loop, where Submit would wait
	// for itself: the phone's PDUs are handed over instead.
	fromPhone := make(chan pdu.Body, 4)
	tx := &smpp.Transceiver{Addr: sim.Addr(), User: "care360", Passwd: "secret", Handler: func(p pdu.Body) {
		if p.Header().ID == pdu.DeliverSMID {
			fromPhone <- p
		}
	}}
	status := tx.Bind()
	t.Cleanup(func() { tx.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sim.WaitBound(ctx, 1); err != nil {
		t.Fatal(err, <-status)
	}

	const msisdn = "84903200001"
	push := func(op byte, text string) {
		t.Helper()
		_, err := tx.Submit(&smpp.ShortMessage{Src: "*090#", Dst: msisdn, Text: pdutext.Raw(text),
			TLVFields: pdutlv.Fields{pdutlv.TagUssdServiceOp: []byte{op}, pdutlv.TagUserMessageReference: []byte{0, 77}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	next := func(wantOp byte) string {
		t.Helper()
		select {
		case p := <-fromPhone:
			op := p.TLVFields()[pdutlv.TagUssdServiceOp]
			umr := p.TLVFields()[pdutlv.TagUserMessageReference]
			if op == nil || !bytes.Equal(op.Bytes(), []byte{wantOp}) || umr == nil || !bytes.Equal(umr.Bytes(), []byte{0, 77}) {
				t.Fatalf("deliver_sm op %v umr %v, want op %d umr 77", op, umr, wantOp)
			}
			return string(p.Fields()["short_message"].Bytes())
		case <-ctx.Done():
			t.Fatalf("no deliver_sm with op %d", wantOp)
		}
		return ""
	}

	var term bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- receivePush(ctx, hs.URL, msisdn, &typist{answers: []string{"2"}, echo: &term}, &term)
	}()
	push(2, "Survey\n1. Yes\n2. No")
	if got := next(18); got != "2" {
		t.Errorf("the phone answered %q, want 2", got)
	}
	push(3, "Thank you")
	if got := next(19); got != "" {
		t.Errorf("the acknowledgement carries %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := term.String()
	for _, want := range []string{"Waiting for a push to " + msisdn + "...", "Survey\n1. Yes\n2. No", "> 2\n", "Thank you", "(dialogue ended)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, out)
		}
	}
}
