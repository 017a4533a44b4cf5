package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadBodies sends broken and oversized JSON to every route that takes
// a JSON body: each is a 400 in the error shape, never a 5xx.
func TestBadBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8"))
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	routes := []struct{ method, path string }{
		{http.MethodPut, "/api/v1/subscribers/" + n},
		{http.MethodPost, "/api/v1/subscribers/" + n + "/points"},
		{http.MethodPost, "/api/v1/staff"},
		{http.MethodPost, "/api/v1/emulator/ussd"},
	}
	bodies := map[string]string{
		"truncated":     `{"name":`,
		"not an object": `[1,2]`,
		"null":          `null`,
		"empty":         ``,
		"two objects":   `{} {}`,
		"unknown field": `{"nonsense":1}`,
		"wrong type":    `{"name":42,"kind":7,"points":"many","msisdn":1,"role":[]}`,
		"oversized":     `{"name":"` + strings.Repeat("a", 100<<10) + `"}`,
	}
	for _, rt := range routes {
		for name, body := range bodies {
			res := b.do(t, rt.method, rt.path, body)
			if res.status != http.StatusBadRequest {
				t.Errorf("%s %s with %s body: %d %.200s", rt.method, rt.path, name, res.status, res.body)
				continue
			}
			res.errorOf(t, http.StatusBadRequest, "invalid")
		}
	}
	// Every other mutating route: broken JSON is never a server error.
	for _, rt := range apiRoutesWithTemplates(t, b.srv.Router()) {
		if rt.method == http.MethodGet {
			continue
		}
		for name, body := range bodies {
			if res := b.do(t, rt.method, rt.path, body); res.status >= 500 && res.status != http.StatusServiceUnavailable {
				t.Errorf("%s %s with %s body: %d %.200s", rt.method, rt.tpl, name, res.status, res.body)
			}
		}
	}
}
