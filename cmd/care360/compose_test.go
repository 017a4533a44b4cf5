package main

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestComposePublishesOnlyTheGateway: docker-compose.yml will not start
// without an admin token and publishes no port but the gateway's; the
// simulator's control API (which dials and texts as any subscriber) is
// never published and listens on loopback unless told otherwise.
func TestComposePublishesOnlyTheGateway(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	compose := string(raw)
	if !regexp.MustCompile(`CARE360_ADMIN_TOKEN: \$\{CARE360_ADMIN_TOKEN:\?[^}]+\}`).MatchString(compose) {
		t.Error("CARE360_ADMIN_TOKEN has a default: compose must refuse to start without one (${CARE360_ADMIN_TOKEN:?...})")
	}
	ports := regexp.MustCompile(`(?m)^\s*ports:.*$|^\s*-\s*"?\d+:\d+"?\s*$`).FindAllString(compose, -1)
	if len(ports) != 1 || !strings.Contains(ports[0], `"8080:8080"`) {
		t.Errorf("published ports %q, want only the gateway's 8080", ports)
	}
	if strings.Contains(compose, "CARE360_SMSC_CONTROL") {
		t.Error("compose moves the simulator's control API off loopback")
	}
	host, _, _ := net.SplitHostPort(defaultControlAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("the control API's default address %s is not loopback", defaultControlAddr)
	}
}
