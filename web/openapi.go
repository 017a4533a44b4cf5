package web

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// openapiJSON describes every route of this package's router and of the
// routes cmd/ adds. It is the one file to extend when adding a route:
// TestOpenAPIDescribesEveryRoute fails for a route it does not describe.
//
//go:embed openapi.json
var openapiJSON []byte

// methodKeys are the operations an OpenAPI path item may hold.
var methodKeys = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// getOpenAPI serves the description, trimmed to the operations this server
// routes (so the console can tell which features exist) and with the roles
// that may call each operation taken from roles.go (so the description of
// who may do what cannot drift from what is enforced).
func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := s.openAPI()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) openAPI() (map[string]any, error) {
	var doc map[string]any // a fresh copy per call: it is changed below
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		return nil, err
	}
	routed := s.routedOperations()
	paths, _ := doc["paths"].(map[string]any)
	for path, v := range paths {
		item, _ := v.(map[string]any)
		for _, m := range methodKeys {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			tpl, served := routed[strings.ToUpper(m)+" "+path]
			if !served {
				delete(item, m)
				continue
			}
			if isAPIPath(tpl) {
				roles := rolesFor(strings.ToUpper(m), tpl)
				op["x-roles"] = roles
				op["security"] = []map[string]any{{"bearer": roles}}
			} else {
				op["security"] = []any{} // probes, metrics, HTTP USSD: no token
			}
		}
		if !hasOperation(item) {
			delete(paths, path)
		}
	}
	return doc, nil
}

// routedOperations maps "METHOD /plain/path" of every route to its template.
func (s *Server) routedOperations() map[string]string {
	out := map[string]string{}
	_ = s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			out[m+" "+plainTemplate(tpl)] = tpl
		}
		return nil
	})
	return out
}

func hasOperation(item map[string]any) bool {
	for _, m := range methodKeys {
		if _, ok := item[m]; ok {
			return true
		}
	}
	return false
}

func isAPIPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }
