package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Role says what a bind carries (PRODUCT.md §1): operators usually give one
// account for the USSD centre and another for the SMSC. USSD screens go only
// over binds with the USSD role, SMS only over binds with the SMS role.
type Role uint8

const (
	RoleUSSD Role = 1 << iota
	RoleSMS
	RoleBoth = RoleUSSD | RoleSMS // the default
)

// Has reports whether r carries every role of o.
func (r Role) Has(o Role) bool { return r.orBoth()&o == o }

// orBoth is r, or both roles for the zero value.
func (r Role) orBoth() Role {
	if r == 0 {
		return RoleBoth
	}
	return r
}

func (r Role) String() string {
	switch r.orBoth() {
	case RoleUSSD:
		return "ussd"
	case RoleSMS:
		return "sms"
	}
	return "ussd+sms"
}

// ParseRole reads "ussd", "sms" or "ussd+sms" ("" is "ussd+sms").
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "ussd+sms", "sms+ussd":
		return RoleBoth, nil
	case "ussd":
		return RoleUSSD, nil
	case "sms":
		return RoleSMS, nil
	}
	return 0, fmt.Errorf("unknown role %q: want ussd, sms or ussd+sms", s)
}

// BindType is how a bind connects: one transceiver link, or a transmitter
// link for submits and a receiver link for deliveries to the same address.
type BindType uint8

const (
	BindTransceiver BindType = iota // the default
	BindTransmitterReceiver
)

func (t BindType) String() string {
	if t == BindTransmitterReceiver {
		return "transmitter+receiver"
	}
	return "transceiver"
}

// ParseBindType reads "transceiver" or "transmitter+receiver" ("" is
// "transceiver").
func ParseBindType(s string) (BindType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "transceiver":
		return BindTransceiver, nil
	case "transmitter+receiver", "receiver+transmitter":
		return BindTransmitterReceiver, nil
	}
	return 0, fmt.Errorf("unknown bind_type %q: want transceiver or transmitter+receiver", s)
}

// RolesServed says, for each role some bind has, how many of its binds are
// up: a gateway is ready when every role it has is served by at least one.
func (g *Gateway) RolesServed() map[Role][2]int {
	out := map[Role][2]int{}
	for _, b := range g.binds {
		for _, r := range []Role{RoleUSSD, RoleSMS} {
			if !b.cfg.Role.Has(r) {
				continue
			}
			n := out[r]
			n[1]++
			if b.up() {
				n[0]++
			}
			out[r] = n
		}
	}
	return out
}

// ReadyFor returns a readiness check for role r: nil while at least one bind
// with that role is up.
func (g *Gateway) ReadyFor(r Role) func(context.Context) error {
	return func(context.Context) error {
		n, ok := g.RolesServed()[r]
		if !ok {
			return fmt.Errorf("no %s bind configured", r)
		}
		if n[0] == 0 {
			return fmt.Errorf("none of the %d %s binds is up", n[1], r)
		}
		return nil
	}
}

// Roles lists the roles the configured binds carry, USSD first.
func (g *Gateway) Roles() []Role {
	var rs []Role
	served := g.RolesServed()
	for _, r := range []Role{RoleUSSD, RoleSMS} {
		if _, ok := served[r]; ok {
			rs = append(rs, r)
		}
	}
	return rs
}

// BindState is one bind as an operations screen shows it.
type BindState struct {
	Addr     string    `json:"addr"`
	SystemID string    `json:"system_id"`
	Role     string    `json:"role"`
	Type     string    `json:"bind_type"`
	Up       bool      `json:"up"`
	Since    time.Time `json:"since"` // when Up last changed; the gateway's start while never bound
}

// BindStates lists every bind in configuration order with how long it has
// been up or down, so a wall screen can tell a flapping link from a dead one.
func (g *Gateway) BindStates() []BindState {
	out := make([]BindState, 0, len(g.binds))
	for _, b := range g.binds {
		b.mu.Lock()
		out = append(out, BindState{
			Addr: b.cfg.Addr, SystemID: b.cfg.SystemID,
			Role: b.cfg.Role.String(), Type: b.cfg.Type.String(),
			Up: b.upLocked(), Since: b.since,
		})
		b.mu.Unlock()
	}
	return out
}
