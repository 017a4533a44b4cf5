package web_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

type openAPIDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]openAPIOp      `json:"paths"`
	Components map[string]map[string]map[string]any `json:"components"`
}

type openAPIOp struct {
	Summary   string                    `json:"summary"`
	Tags      []string                  `json:"tags"`
	Responses map[string]map[string]any `json:"responses"`
	Roles     []string                  `json:"x-roles"`
	Security  []map[string][]string     `json:"security"`
}

// TestOpenAPIDescribesEveryRoute walks the router and fails for any route,
// whoever added it, that web/openapi.json does not describe. The console's
// own files are not API.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8"))
	res := b.do(t, http.MethodGet, "/api/v1/openapi.json", "")
	var doc openAPIDoc
	res.json(t, &doc)
	if res.status != http.StatusOK || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json: %d %.300s", res.status, res.body)
	}
	err := b.srv.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || tpl == "/" || strings.HasPrefix(tpl, "/console/") {
			return nil
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			if m == http.MethodHead && slices.Contains(methods, http.MethodGet) {
				continue // HEAD is GET without the body
			}
			op, ok := doc.Paths[plain(tpl)][strings.ToLower(m)]
			if !ok {
				t.Errorf("%s %s is not described in web/openapi.json (add it there; see README, Console)", m, plain(tpl))
				continue
			}
			if strings.HasPrefix(tpl, "/api/") {
				if !slices.Contains(op.Roles, "admin") || len(op.Security) != 1 || !slices.Equal(op.Security[0]["bearer"], op.Roles) {
					t.Errorf("%s %s: roles %v, security %v", m, tpl, op.Roles, op.Security)
				}
			} else if op.Security == nil || len(op.Security) != 0 {
				t.Errorf("%s %s needs no token, but security is %v", m, tpl, op.Security)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenAPIServesOnlyWhatExists: the console reads the served description
// to learn which features this server has, so operations without a route
// are left out, and each says who may call it.
func TestOpenAPIServesOnlyWhatExists(t *testing.T) {
	t.Parallel()
	b := setup(t) // no HTTP USSD adapter
	var doc openAPIDoc
	b.send(t, http.MethodGet, "/api/v1/openapi.json", "", "Bearer "+b.staffToken(t, "support")).json(t, &doc)
	if _, ok := doc.Paths["/ussd/africastalking"]; ok {
		t.Error("the USSD adapter is described but not served")
	}
	if roles := doc.Paths["/api/v1/subscribers/{msisdn}/points"]["post"].Roles; !slices.Equal(roles, []string{"admin", "support"}) {
		t.Errorf("points roles %v", roles)
	}
	if roles := doc.Paths["/api/v1/staff"]["post"].Roles; !slices.Equal(roles, []string{"admin"}) {
		t.Errorf("staff roles %v", roles)
	}
}

// TestOpenAPIFile checks the embedded file itself: every operation has a
// summary, a tag and responses, and every $ref points at something.
func TestOpenAPIFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("web/openapi.json is not valid JSON: %v", err)
	}
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q", path)
		}
		for method, op := range item {
			if op.Summary == "" || len(op.Tags) == 0 || len(op.Responses) == 0 {
				t.Errorf("%s %s needs a summary, a tag and responses", method, path)
			}
		}
	}
	var all any
	json.Unmarshal(raw, &all)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				if len(parts) != 3 || parts[0] != "components" || doc.Components[parts[1]][parts[2]] == nil {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)
}
