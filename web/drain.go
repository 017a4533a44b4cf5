package web

import (
	"net/http"

	"github.com/care360/care360"
)

// Drain makes the server refuse new work, for a graceful stop (PRODUCT.md
// §1): from now on /readyz answers 503 so that load balancers move traffic
// to other instances, and the API and the HTTP USSD adapters answer 503
// while requests already running finish. /healthz and /metrics go on
// answering: the process is still up, and its last figures matter.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) refuseWhileDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			switch r.URL.Path {
			case "/healthz", "/metrics":
			case "/readyz":
				writeJSON(w, http.StatusServiceUnavailable, readyBody{Status: "draining", Checks: map[string]string{}})
				return
			default:
				w.Header().Set("Connection", "close")
				w.Header().Set("Retry-After", "1")
				s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "this instance is shutting down; try another"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
