package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"path"
	"strings"

	"github.com/care360/care360"
)

var errUnauthorized = care360.Errorf(care360.EUNAUTHORIZED, "missing or invalid bearer token")

func (s *Server) setToken(token string) {
	s.tokenSet = token != ""
	s.tokenHash = sha256.Sum256([]byte(token))
}

// authorized reports whether r carries the admin bearer token. Both sides are
// hashed before the constant-time comparison so that neither the contents nor
// the length of the token leak through timing.
func (s *Server) authorized(r *http.Request) bool {
	if !s.tokenSet {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// requireToken guards every matched route under /api/, including routes that
// cmd/ mounts through Config.Extra.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) && !s.authorized(r) {
			s.unauthorized(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isAPI reports whether r is for the token-protected part of the server. The
// path is cleaned first, although mux redirects unclean paths anyway, so that
// no spelling of an /api/ path slips past the check.
func isAPI(r *http.Request) bool {
	p := path.Clean("/" + r.URL.Path)
	return p == "/api" || strings.HasPrefix(p, "/api/")
}

// unauthorized answers 401 with the challenge RFC 6750 asks for.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="care360"`)
	s.writeError(w, r, errUnauthorized)
}
