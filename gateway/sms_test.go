package gateway_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/gateway/smsc"
)

// moRecorder stands in for the keyword handler in protocol tests (keywords
// are tested end to end in keywords/): it records what the gateway decoded,
// can fail like a database that is away, and can be slow.
type moRecorder struct {
	mu    sync.Mutex
	got   []care360.InboundSMS
	fail  bool
	delay time.Duration
}

func (r *moRecorder) Receive(ctx context.Context, m care360.InboundSMS) error {
	r.mu.Lock()
	fail, delay := r.fail, r.delay
	r.mu.Unlock()
	time.Sleep(delay)
	if fail {
		return errors.New("database unavailable")
	}
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	return nil
}

func (r *moRecorder) set(fail bool, delay time.Duration) {
	r.mu.Lock()
	r.fail, r.delay = fail, delay
	r.mu.Unlock()
}

func (r *moRecorder) received() []care360.InboundSMS {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]care360.InboundSMS(nil), r.got...)
}

func setupMO(t *testing.T) (*smsc.Server, *moRecorder) {
	t.Helper()
	rec := &moRecorder{}
	return startBound(t, 3*time.Second, gateway.Config{USSD: &echoUSSD{}, SMS: rec}), rec
}

// startBound starts a simulator (answering within simTimeout) and a gateway
// configured by cfg with one bind to it, and returns the simulator once the
// gateway is bound; both stop when the test ends.
func startBound(t *testing.T, simTimeout time.Duration, cfg gateway.Config) *smsc.Server {
	t.Helper()
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: simTimeout})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	cfg.Binds = []gateway.BindConfig{{Addr: sim.Addr(), SystemID: "care360", Password: "secret"}}
	gw := gateway.New(cfg)
	gw.Start()
	t.Cleanup(func() { gw.Stop(context.Background()) })
	if err := sim.WaitBound(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	return sim
}

// A keyword SMS is acknowledged once handled, and refused with
// ESME_RX_T_APPN when it could not be stored, so that the SMSC resends it.
func TestMOAcknowledgedOnlyWhenStored(t *testing.T) {
	t.Parallel()
	sim, rec := setupMO(t)
	ctx := ctxT(t)
	st, err := sim.SendMO(ctx, "0903123456", "9237", "Điểm", 0x08)
	if err != nil || st != 0 {
		t.Fatalf("SendMO = %#x, %v", st, err)
	}
	got := rec.received()
	if len(got) != 1 || got[0].MSISDN != "84903123456" || got[0].From != "0903123456" || got[0].To != "9237" || got[0].Text != "Điểm" {
		t.Fatalf("decoded %+v", got)
	}
	rec.set(true, 0)
	if st, err := sim.SendMO(ctx, "0903123456", "9237", "DIEM", 0); err != nil || st != 0x64 {
		t.Fatalf("with the database away: %#x, %v; want 0x64", st, err)
	}
	// A number we do not serve is acknowledged and left alone.
	rec.set(false, 0)
	if st, err := sim.SendMO(ctx, "447700900123", "9237", "DIEM", 0); err != nil || st != 0 {
		t.Fatalf("foreign number: %#x, %v", st, err)
	}
	if n := len(rec.received()); n != 1 {
		t.Fatalf("%d MOs handled, want 1", n)
	}
}

// A slow keyword never holds up the link: its read loop goes on answering
// (here an enquire_link, which the read loop answers itself).
func TestMODoesNotBlockTheReadLoop(t *testing.T) {
	t.Parallel()
	sim, rec := setupMO(t)
	ctx := ctxT(t)
	rec.set(false, time.Second)
	done := make(chan uint32, 1)
	go func() {
		st, _ := sim.SendMO(ctx, "0903123456", "9237", "DIEM", 0)
		done <- st
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if resp, err := sim.SendPDU(ctx, pdu.NewEnquireLink()); err != nil || resp.Header().ID != pdu.EnquireLinkRespID {
		t.Fatalf("enquire_link while an MO is handled: %v, %v", resp, err)
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("the link waited %s behind a slow MO", d)
	}
	select {
	case st := <-done:
		t.Fatalf("the slow MO was answered (%#x) before it was handled", st)
	default:
	}
	if st := <-done; st != 0 {
		t.Errorf("slow MO answered %#x", st)
	}
}
