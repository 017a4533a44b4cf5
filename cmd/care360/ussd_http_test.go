package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestServeUSSDHTTPOff: `serve` without CARE360_USSD_HTTP_ALLOW serves no
// HTTP USSD at all, not even to loopback, and says how to turn it on.
func TestServeUSSDHTTPOff(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_USSD_HTTP_ALLOW": ""})
	h.member(t, "0903230001", map[string]any{"name": "O"}, 100, 0)
	resp, err := http.PostForm(h.base+"/ussd/africastalking", url.Values{
		"sessionId": {"off-1"}, "serviceCode": {"*090#"}, "phoneNumber": {"+84903230001"}, "text": {""}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "CARE360_USSD_HTTP_ALLOW") {
		t.Fatalf("adapter in serve without an allow list: %d %s", resp.StatusCode, body)
	}
}
