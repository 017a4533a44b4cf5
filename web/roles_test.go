package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/mux"

	"github.com/care360/care360/web"
)

var staffSeq atomic.Int64

// staffToken creates a staff account with the role through the API and
// returns its bearer token.
func (b *bundle) staffToken(t *testing.T, role string) string {
	t.Helper()
	name := fmt.Sprintf("%s %d", role, staffSeq.Add(1))
	req := map[string]string{"name": name, "role": role}
	if role == "partner" {
		req["partner"] = "Partner of " + name
	}
	res := b.do(t, http.MethodPost, "/api/v1/staff", mustJSON(t, req))
	var out struct{ Token string }
	res.json(t, &out)
	if res.status != http.StatusCreated || !strings.HasPrefix(out.Token, "c360s_") {
		t.Fatalf("create %s: %d %s", role, res.status, res.body)
	}
	return out.Token
}

// policy is the product's statement of who may do what (issue 8), written
// apart from web/roles.go so that the two check each other. Admin may do
// everything; a route of a marketer's resource that roles.go does not
// grant fails here, as it should: the grants table wants an entry.
func policy(role, method, tpl string) bool {
	if role == "admin" {
		return true
	}
	switch method + " " + tpl {
	case "GET /api/v1/me", "POST /api/v1/codes:check":
		return true // a partner checks its own codes, the operator's staff any
	case "GET /api/v1/openapi.json", "GET /api/v1/dashboard":
		return role != "partner"
	case "POST /api/v1/codes:redeem":
		return role == "partner"
	}
	switch role {
	case "marketer":
		for _, p := range []string{"/api/v1/gifts", "/api/v1/offers", "/api/v1/campaigns", "/api/v1/draws",
			"/api/v1/spins", "/api/v1/reports/", "/api/v1/dnc:import", "/api/v1/ussd/pushes"} {
			if strings.HasPrefix(tpl, p) {
				return true
			}
		}
	case "support":
		switch method + " " + routeVar.ReplaceAllString(tpl, "{}") {
		case "GET /api/v1/subscribers/{}", "GET /api/v1/subscribers/{}/ledger", "GET /api/v1/subscribers/{}/history", "POST /api/v1/subscribers/{}/points",
			"GET /api/v1/messages", "POST /api/v1/emulator/ussd", "GET /api/v1/feedback", "POST /api/v1/feedback/{}:reply":
			return true
		}
	}
	return false
}

// TestRolesOnEveryRoute walks the router (so routes added later are covered
// without anyone listing them) and calls every /api/ route with a token of
// every role: 403 in the JSON error shape where the policy says no, never
// 401 or 403 where it says yes. A route mounted through Extra that the
// grants table does not know is for admins only.
func TestRolesOnEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8"), func(c *web.Config) {
		c.Extra = func(r *mux.Router) {
			r.HandleFunc("/api/v1/unlisted/{id}", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusTeapot)
			}).Methods(http.MethodPost)
		}
	})
	b.errorsExpected = true // some routes lack their services here and say so
	tokens := map[string]string{
		"admin":    b.staffToken(t, "admin"),
		"marketer": b.staffToken(t, "marketer"),
		"support":  b.staffToken(t, "support"),
		"partner":  b.staffToken(t, "partner"),
	}
	routes := apiRoutesWithTemplates(t, b.srv.Router())
	if len(routes) < 20 {
		t.Fatalf("walked only %d routes", len(routes))
	}
	for _, rt := range routes {
		for role, token := range tokens {
			res := b.send(t, rt.method, rt.path, "", "Bearer "+token)
			want := policy(role, rt.method, rt.tpl)
			if rt.tpl == "/api/v1/unlisted/{id}" {
				want = role == "admin"
			}
			switch {
			case want && (res.status == http.StatusUnauthorized || res.status == http.StatusForbidden):
				t.Errorf("%s %s as %s: %d, want allowed: %s", rt.method, rt.tpl, role, res.status, res.body)
			case !want && res.status != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403: %s", rt.method, rt.tpl, role, res.status, res.body)
			case !want:
				res.errorOf(t, http.StatusForbidden, "forbidden")
			}
		}
		// The built-in admin token is an admin.
		if res := b.do(t, rt.method, rt.path, ""); res.status == http.StatusUnauthorized || res.status == http.StatusForbidden {
			t.Errorf("%s %s with the admin token: %d", rt.method, rt.tpl, res.status)
		}
	}
}

func TestStaffTokensRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.staffToken(t, "support")
	id := strings.Split(token, "_")[1]
	const path = "/api/v1/subscribers/0903123456"
	for name, auth := range map[string]string{
		"wrong secret":       "Bearer c360s_" + id + "_" + strings.Repeat("A", 43),
		"secret cut short":   "Bearer " + token[:len(token)-1],
		"unknown account":    "Bearer c360s_999999999_" + strings.Split(token, "_")[2],
		"no secret":          "Bearer c360s_" + id + "_",
		"not a number":       "Bearer c360s_x_" + strings.Split(token, "_")[2],
		"as the admin token": "Bearer " + strings.TrimPrefix(token, "c360s_"),
	} {
		res := b.send(t, http.MethodGet, path, "", auth)
		if res.status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, res.status)
		}
	}
	if res := b.send(t, http.MethodGet, path, "", "Bearer "+token); res.status != http.StatusNotFound {
		t.Fatalf("the token itself: %d %s", res.status, res.body)
	}
	b.do(t, http.MethodPost, "/api/v1/staff/"+id+":disable", "")
	b.send(t, http.MethodGet, path, "", "Bearer "+token).errorOf(t, http.StatusUnauthorized, "unauthorized")
}

// TestForbiddenBeforeNotFound: a role that may not use a resource learns
// nothing about whether a given object exists.
func TestForbiddenBeforeNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	marketer := b.staffToken(t, "marketer")
	b.send(t, http.MethodGet, "/api/v1/subscribers/"+newMSISDN(), "", "Bearer "+marketer).errorOf(t, http.StatusForbidden, "forbidden")
	b.send(t, http.MethodGet, "/api/v1/subscribers/not-a-number", "", "Bearer "+marketer).errorOf(t, http.StatusForbidden, "forbidden")
	// Unknown paths are still 404 for any signed-in role.
	b.send(t, http.MethodGet, "/api/v1/nope", "", "Bearer "+marketer).errorOf(t, http.StatusNotFound, "not_found")
}

type routeWithTemplate struct{ method, path, tpl string }

// apiRoutesWithTemplates is apiRoutes with each route's plain template
// (variable patterns dropped), as the grants table and OpenAPI write them.
func apiRoutesWithTemplates(t *testing.T, r *mux.Router) []routeWithTemplate {
	t.Helper()
	var out []routeWithTemplate
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tpl, "/api/") {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			methods = []string{http.MethodGet}
		}
		for _, m := range methods {
			out = append(out, routeWithTemplate{m, routeVar.ReplaceAllStringFunc(tpl, sample), plain(tpl)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sample fills a path variable: numbers where the pattern wants digits,
// one that names nothing, so that no call changes a real object (POST
// /api/v1/staff/1:disable could disable the very token being tested).
func sample(v string) string {
	if strings.Contains(v, "[0-9]") || strings.Contains(v, `\d`) {
		return "999999999"
	}
	return "0903123456"
}

// plain drops variable patterns: "{id:[0-9]+}" is "{id}".
func plain(tpl string) string {
	return routeVar.ReplaceAllStringFunc(tpl, func(v string) string {
		name, _, _ := strings.Cut(strings.Trim(v, "{}"), ":")
		return "{" + name + "}"
	})
}
