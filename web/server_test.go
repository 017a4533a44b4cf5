package web_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/care360/care360/web"
)

// apiRoute is one method on one /api/ route template, with its variables
// filled in.
type apiRoute struct{ method, path string }

var routeVar = regexp.MustCompile(`\{[^}]*\}`)

// apiRoutes walks the router so that every route added later is covered by
// the token tests without anyone remembering to list it.
func apiRoutes(t *testing.T, r *mux.Router) []apiRoute {
	t.Helper()
	var out []apiRoute
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tpl, "/api/") {
			return nil
		}
		path := routeVar.ReplaceAllString(tpl, "0903123456")
		methods, err := route.GetMethods()
		if err != nil {
			methods = []string{http.MethodGet}
		}
		for _, m := range methods {
			out = append(out, apiRoute{m, path})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAPIRequiresToken(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		// Every route with every bad token: far more failures than the
		// limit on them allows (bounds_test.go).
		c.Bounds.AuthFailures = 1 << 20
		c.Extra = func(r *mux.Router) {
			// Routes that cmd/ mounts under /api/ are guarded too.
			r.HandleFunc("/api/v1/extra/{id}", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusTeapot)
			}).Methods(http.MethodPost)
		}
	})
	routes := apiRoutes(t, b.srv.Router())
	if len(routes) < 5 {
		t.Fatalf("walked only %d /api/ routes: %v", len(routes), routes)
	}
	// Unknown paths and wrong methods under /api/ also want the token first,
	// so that a stranger cannot map the API.
	routes = append(routes,
		apiRoute{http.MethodGet, "/api/v1/no-such-thing"},
		apiRoute{http.MethodDelete, "/api/v1/subscribers/0903123456"},
		apiRoute{http.MethodGet, "/api"},
	)
	bad := map[string]string{
		"no header":        "",
		"wrong token":      "Bearer wrong-token",
		"token prefix":     "Bearer " + testToken[:len(testToken)-1],
		"token suffix":     "Bearer " + testToken + "x",
		"wrong scheme":     "Basic " + testToken,
		"scheme only":      "Bearer",
		"scheme and space": "Bearer ",
	}
	for _, rt := range routes {
		for name, auth := range bad {
			res := b.send(t, rt.method, rt.path, "", auth)
			if res.status != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: status %d, want 401", rt.method, rt.path, name, res.status)
				continue
			}
			res.errorOf(t, http.StatusUnauthorized, "unauthorized")
			if res.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", rt.method, rt.path)
			}
		}
		// The right token gets past the check (whatever the handler says next).
		if res := b.do(t, rt.method, rt.path, ""); res.status == http.StatusUnauthorized {
			t.Errorf("%s %s with the token: 401: %s", rt.method, rt.path, res.body)
		}
	}
	if res := b.send(t, http.MethodGet, "/api/v1/subscribers/0903123456", "", "bearer "+testToken); res.status == http.StatusUnauthorized {
		t.Errorf("scheme is case-insensitive (RFC 7235), got 401")
	}
}

func TestEmptyAdminTokenLocksAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.AdminToken = "" })
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		res := b.send(t, http.MethodGet, "/api/v1/subscribers/0903123456", "", auth)
		res.errorOf(t, http.StatusUnauthorized, "unauthorized")
	}
	if res := b.send(t, http.MethodGet, "/healthz", "", ""); res.status != http.StatusOK {
		t.Errorf("healthz: %d", res.status)
	}
}

func TestProbesNeedNoToken(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res := b.send(t, http.MethodGet, "/healthz", "", "")
	var health map[string]string
	res.json(t, &health)
	if res.status != http.StatusOK || health["status"] != "ok" {
		t.Errorf("healthz: %d %s", res.status, res.body)
	}

	res = b.send(t, http.MethodGet, "/readyz", "", "")
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	res.json(t, &ready)
	if res.status != http.StatusOK || ready.Status != "ready" || ready.Checks["postgres"] != "ok" {
		t.Errorf("readyz: %d %s", res.status, res.body)
	}

	// One API request first, so that its series is in the scrape.
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+newMSISDN(), "")
	b.do(t, http.MethodGet, "/api/v1/nothing-here", "")
	res = b.send(t, http.MethodGet, "/metrics", "", "")
	if res.status != http.StatusOK {
		t.Fatalf("metrics: %d %s", res.status, res.body)
	}
	for _, want := range []string{
		`care360_http_requests_total{method="GET",route="/api/v1/subscribers/{msisdn}",status="404"} 1`,
		`care360_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`care360_http_request_duration_seconds_bucket{method="GET",route="/readyz",status="200",le=`,
		"go_goroutines",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestReadyzFailing(t *testing.T) {
	t.Parallel()
	const secret = "password=hunter2 host=10.9.8.7"
	b := setup(t, func(c *web.Config) {
		c.Ready = append(c.Ready,
			web.ReadyCheck{Name: "smpp", Check: func(context.Context) error { return errors.New("bind: " + secret) }},
			web.ReadyCheck{Name: "panicky", Check: func(context.Context) error { panic("boom") }},
		)
	})
	res := b.send(t, http.MethodGet, "/readyz", "", "")
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
		Error  struct{ Code, Message string }
	}
	res.json(t, &ready)
	if res.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", res.status, res.body)
	}
	if ready.Checks["postgres"] != "ok" || ready.Checks["smpp"] != "failed" || ready.Checks["panicky"] != "failed" {
		t.Errorf("checks = %v", ready.Checks)
	}
	if ready.Error.Code != "unavailable" || !strings.Contains(ready.Error.Message, "smpp") {
		t.Errorf("error = %+v", ready.Error)
	}
	if strings.Contains(string(res.body), "hunter2") {
		t.Errorf("readyz leaks the check's error: %s", res.body)
	}
	if !strings.Contains(b.logs.String(), "hunter2") {
		t.Errorf("the real error should be logged")
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.do(t, http.MethodGet, "/api/v1/nope", "").errorOf(t, http.StatusNotFound, "not_found")
	b.do(t, http.MethodGet, "/api/v2/subscribers/0903123456", "").errorOf(t, http.StatusNotFound, "not_found")
	b.do(t, http.MethodDelete, "/api/v1/subscribers/0903123456", "").errorOf(t, http.StatusMethodNotAllowed, "method_not_allowed")
	b.do(t, http.MethodGet, "/api/v1/subscribers/0903123456/points", "").errorOf(t, http.StatusMethodNotAllowed, "method_not_allowed")
	b.send(t, http.MethodPost, "/healthz", "", "").errorOf(t, http.StatusMethodNotAllowed, "method_not_allowed")
	b.send(t, http.MethodGet, "/nope", "", "").errorOf(t, http.StatusNotFound, "not_found")
}

func TestPanicIsA500(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		c.Extra = func(r *mux.Router) {
			r.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("secret detail") })
		}
	})
	b.errorsExpected = true
	res := b.send(t, http.MethodGet, "/boom", "", "")
	e := res.errorOf(t, http.StatusInternalServerError, "internal")
	if strings.Contains(e.Error.Message, "secret") {
		t.Errorf("panic value leaked: %s", res.body)
	}
	if !strings.Contains(b.logs.String(), `"route":"/boom"`) {
		t.Errorf("Extra routes should be logged by template: %s", b.logs.String())
	}
}

// TestStoreFailureIsHidden closes the real store under the server: whatever
// the store says then, the client sees a code and a safe message, and the
// log gets the details.
func TestStoreFailureIsHidden(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.errorsExpected = true
	b.db.Close()
	res := b.do(t, http.MethodGet, "/api/v1/subscribers/"+newMSISDN(), "")
	var e apiError
	res.json(t, &e)
	switch {
	case res.status == http.StatusInternalServerError && e.Error.Code == "internal":
		if e.Error.Message != "internal error" {
			t.Errorf("internal error message %q", e.Error.Message)
		}
	case res.status == http.StatusServiceUnavailable && e.Error.Code == "unavailable":
	default:
		t.Fatalf("closed store: %d %s", res.status, res.body)
	}
	for _, leak := range []string{"pool", "pgx", "sql", "closed"} {
		if strings.Contains(strings.ToLower(e.Error.Message), leak) {
			t.Errorf("message leaks %q: %s", leak, res.body)
		}
	}
	if !strings.Contains(b.logs.String(), `"error"`) {
		t.Errorf("the failure was not logged: %s", b.logs.String())
	}
	if res := b.send(t, http.MethodGet, "/readyz", "", ""); res.status != http.StatusServiceUnavailable {
		t.Errorf("readyz with a closed store: %d", res.status)
	}
}

func TestLogsMaskMSISDN(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+n, `{"name":"An"}`)
	b.do(t, http.MethodGet, "/api/v1/subscribers/+"+canonical(n), "")
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+n+"/ledger", "")
	logs := b.logs.String()
	for _, raw := range []string{n, canonical(n), n[1:]} {
		if strings.Contains(logs, raw) {
			t.Errorf("logs hold the raw MSISDN %s:\n%s", raw, logs)
		}
	}
	for _, want := range []string{
		`"route":"/api/v1/subscribers/{msisdn}"`,
		`"route":"/api/v1/subscribers/{msisdn}/ledger"`,
		`"msisdn":"*******` + n[len(n)-3:] + `"`,
		`"status":201`,
		`"method":"PUT"`,
		`"duration":`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}
