package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/store"
)

// rolesGateway starts a gateway on b's database with binds, an echo USSD
// service and the outbox.
func (b *smsBundle) rolesGateway(t *testing.T, binds ...gateway.BindConfig) *gateway.Gateway {
	t.Helper()
	db, err := store.Open(t.Context(), b.url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	for i := range binds {
		binds[i].TPS, binds[i].Window = 100000, 10
		binds[i].RespTimeout, binds[i].MinBackoff, binds[i].MaxBackoff = 2*time.Second, 20*time.Millisecond, 200*time.Millisecond
	}
	gw := gateway.New(gateway.Config{Binds: binds, USSD: &echoUSSD{}, Outbox: store.NewSMS(db, care360.SMSRules{}), ShortCode: "9237",
		Sender: gateway.SenderConfig{Poll: 10 * time.Millisecond, MaintainEvery: 50 * time.Millisecond, NoReceipts: true}})
	gw.Start()
	t.Cleanup(func() { gw.Stop(context.Background()) })
	return gw
}

// An operator's two accounts: the USSD centre's takes screens only, the
// SMSC's SMS only (and binds as a transmitter and a receiver). Every screen
// goes over the first, every SMS over the second, and the simulator, which
// refuses a submit_sm of the wrong kind on an account, refuses none.
func TestBindRolesCarryTheirOwnTraffic(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", ResponseTimeout: 3 * time.Second, Accounts: []smsc.Account{
		{SystemID: "c360u", Password: "u", Carries: smsc.CarriesUSSD},
		{SystemID: "c360s", Password: "s", Carries: smsc.CarriesSMS},
	}})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	b.sim = sim
	b.burst(t, 200, "roles")
	gw := b.rolesGateway(t,
		gateway.BindConfig{Addr: sim.Addr(), SystemID: "c360u", Password: "u", Role: gateway.RoleUSSD},
		gateway.BindConfig{Addr: sim.Addr(), SystemID: "c360s", Password: "s", Role: gateway.RoleSMS, Type: gateway.BindTransmitterReceiver})
	eventually(t, func() bool { return gw.Ready(t.Context()) == nil })
	for i := range 10 {
		c, err := sim.Dial(t.Context(), fmt.Sprintf("8491%07d", i), "*090#", smsc.DialOptions{})
		if err != nil || c.Screen() != "You said *090#" {
			t.Fatalf("dial %d: %v", i, err)
		}
	}
	eventually(t, func() bool { return sim.Submits() >= 200 })
	got := 0
	for i := range 97 {
		for _, n := range b.received(fmt.Sprintf("8490%07d", i)) {
			got += n
		}
	}
	if got != 200 {
		t.Errorf("%d SMS arrived, want 200", got)
	}
	if n := sim.WrongAccount(); n != 0 {
		t.Errorf("%d submit_sm went to an account that does not carry them", n)
	}
	served := gw.RolesServed()
	if served[gateway.RoleUSSD] != [2]int{1, 1} || served[gateway.RoleSMS] != [2]int{1, 1} {
		t.Errorf("roles served: %v", served)
	}
}

// When one SMS bind goes down the other SMS binds take its traffic: nothing
// is lost, and what was in flight on the lost link is the only repeat.
func TestSMSFailsOverToTheOtherSMSBind(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	other := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 3 * time.Second})
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	// Both SMSCs answer slowly enough for the burst to be under way on each.
	slow := func(uint64, smsc.Message) smsc.SubmitAction { return smsc.SubmitAction{Delay: 5 * time.Millisecond} }
	b.sim.SetSubmitPolicy(slow)
	other.SetSubmitPolicy(slow)
	const n = 600
	b.burst(t, n, "failover")
	gw := b.rolesGateway(t,
		gateway.BindConfig{Addr: b.sim.Addr(), SystemID: "care360", Password: "secret", Role: gateway.RoleSMS},
		gateway.BindConfig{Addr: other.Addr(), SystemID: "care360", Password: "secret", Role: gateway.RoleSMS})
	eventually(t, func() bool { return b.sim.Submits() >= 50 && other.Submits() >= 50 })
	b.sim.Close() // the first SMSC goes away for good
	eventually(t, func() bool { return gw.Ready(t.Context()) == nil && gw.Bound() == 1 })
	eventually(t, func() bool {
		var queued int
		b.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM sms_queue`).Scan(&queued)
		return queued == 0
	})
	seen := map[string]int{}
	for _, s := range []*smsc.Server{b.sim, other} {
		for i := range 97 {
			for _, m := range s.Messages(fmt.Sprintf("8490%07d", i)) {
				seen[m.Text]++
			}
		}
	}
	dups := 0
	for i := 1; i <= n; i++ {
		switch c := seen[fmt.Sprintf("failover %d", i)]; {
		case c == 0:
			t.Errorf("message %d never reached an SMSC", i)
		case c > 1:
			dups += c - 1
		}
	}
	if dups > 10 {
		t.Errorf("%d repeats; at most one window (10) of the lost link may repeat", dups)
	}
	if err := gw.ReadyFor(gateway.RoleSMS)(t.Context()); err != nil {
		t.Errorf("SMS served by the other bind, yet not ready: %v", err)
	}
}

// A USSD deliver_sm on a bind without the ussd role is refused: its screens
// could not go back over that bind.
func TestUSSDRefusedOnSMSBind(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	gw := b.rolesGateway(t, gateway.BindConfig{Addr: b.sim.Addr(), SystemID: "care360", Password: "secret", Role: gateway.RoleSMS})
	eventually(t, func() bool { return gw.Bound() == 1 })
	c, err := b.sim.Dial(t.Context(), "84911000001", "*090#", smsc.DialOptions{})
	if !errors.Is(err, smsc.ErrRejected) {
		t.Fatalf("dial on an SMS bind: %v (%v)", err, c)
	}
	if err := gw.ReadyFor(gateway.RoleUSSD)(t.Context()); err == nil {
		t.Error("ready for USSD without a USSD bind")
	}
}

// BindStates says per bind whether it is up and since when: the time moves
// when the link comes up and again when the SMSC goes away.
func TestBindStatesSinceWhen(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", ResponseTimeout: 3 * time.Second, Accounts: []smsc.Account{
		{SystemID: "c360s", Password: "s", Carries: smsc.CarriesSMS},
	}})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	built := time.Now()
	gw := b.rolesGateway(t, gateway.BindConfig{Addr: sim.Addr(), SystemID: "c360s", Password: "s", Role: gateway.RoleSMS, Type: gateway.BindTransmitterReceiver})
	eventually(t, func() bool { return gw.BindStates()[0].Up })
	up := gw.BindStates()[0]
	if up.Addr != sim.Addr() || up.SystemID != "c360s" || up.Role != "sms" || up.Type != "transmitter+receiver" || up.Since.Before(built) {
		t.Fatalf("up: %+v", up)
	}
	sim.Close()
	eventually(t, func() bool { return !gw.BindStates()[0].Up })
	if down := gw.BindStates()[0]; down.Since.Before(up.Since) {
		t.Fatalf("down %+v before up %+v", down, up)
	}
}
