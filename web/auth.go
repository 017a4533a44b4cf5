package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/care360/care360"
)

var (
	errUnauthorized = care360.Errorf(care360.EUNAUTHORIZED, "missing or invalid bearer token")
	errForbidden    = care360.Errorf(care360.EFORBIDDEN, "your role may not do this")
)

func (s *Server) setToken(token string) {
	s.tokenSet = token != ""
	s.tokenHash = sha256.Sum256([]byte(token))
}

// authenticate says who r comes from: a staff account (a c360s_ token, see
// care360.StaffToken) or the built-in admin. Hashes are compared in
// constant time, so that neither the contents nor the length of a token
// leak through timing. A bad token is errUnauthorized; other errors (the
// database is down) are the store's.
//
// An address that failed too often lately (Bounds.AuthFailures) is refused
// with *errTooManyFailures before anything else, the database included,
// and each errUnauthorized counts against its address.
func (s *Server) authenticate(r *http.Request) (_ care360.Actor, err error) {
	addr := s.clientAddr(r)
	if wait, blocked := s.authLimit.blocked(addr); blocked {
		return care360.Actor{}, &errTooManyFailures{retryAfter: wait}
	}
	defer func() {
		if err == errUnauthorized {
			s.authLimit.fail(addr)
		}
	}()
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return care360.Actor{}, errUnauthorized
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return care360.Actor{}, errUnauthorized
	}
	if id, hash, ok := care360.ParseStaffToken(token); ok && s.admin != nil && s.admin.Staff != nil {
		st, want, err := s.admin.Staff.StaffToken(r.Context(), id)
		switch {
		case care360.ErrorCode(err) == care360.ENOTFOUND:
			return care360.Actor{}, errUnauthorized
		case err != nil:
			return care360.Actor{}, err
		case !care360.SameHash(hash, want) || st.DisabledAt != nil:
			return care360.Actor{}, errUnauthorized
		}
		return st.Actor(), nil
	}
	got := sha256.Sum256([]byte(token))
	if !s.tokenSet || subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) != 1 {
		return care360.Actor{}, errUnauthorized
	}
	return care360.BuiltinAdmin, nil
}

// authorized reports whether r carries a valid token of any role; if not,
// it has answered r.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	_, err := s.authenticate(r)
	if err != nil {
		s.refuse(w, r, err)
	}
	return err == nil
}

// refuse answers a request that authenticate turned down.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var tooMany *errTooManyFailures
	switch {
	case err == errUnauthorized:
		s.unauthorized(w, r)
	case errors.As(err, &tooMany):
		tooManyFailures(w, tooMany)
	default:
		s.writeError(w, r, err)
	}
}

type actorKey struct{}

// actorOf returns who made r; only requests under /api/ have one.
func actorOf(r *http.Request) (care360.Actor, bool) {
	a, ok := r.Context().Value(actorKey{}).(care360.Actor)
	return a, ok
}

// requireToken guards every matched route under /api/, including routes that
// cmd/ mounts through Config.Extra: 401 without a valid token, 429 from an
// address that failed too often lately, 403 when the caller's role may not
// call the route (roles.go), 503 beyond Bounds.APIRequests at once
// (bounds.go). The caller is put in the request's context for handlers and
// the audit log.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isAPI(r) {
			next.ServeHTTP(w, r)
			return
		}
		actor, err := s.authenticate(r)
		switch {
		case err != nil:
			s.refuse(w, r, err)
			return
		case !allowed(actor.Role, r.Method, currentTemplate(r)):
			s.writeError(w, r, errForbidden)
			return
		}
		// A flood of API requests waits for nothing: beyond the bound it is
		// refused at once. Strangers never get this far (the limit on
		// failures stops them), so they cannot crowd staff out.
		if !s.apiSlots.tryAcquire() {
			apiBusy(w)
			return
		}
		defer s.apiSlots.release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
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
