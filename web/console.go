package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// The console is plain ES modules, CSS and SVG drawn by its own code, served
// from the binary: no build step, nothing fetched from elsewhere at run time
// (the operator's network may be closed), and what is tested is exactly
// what ships.
//
//go:embed console
var consoleFS embed.FS

// consoleCSP allows the console's own files and calls to this server only:
// a bearer token lives in the page, so no script from anywhere else may run.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// consoleRoutes serves the console: "/" is its page, "/console/" its files.
func (s *Server) consoleRoutes(r *mux.Router) {
	sub, err := fs.Sub(consoleFS, "console")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.StripPrefix("/console/", noListing(http.FileServerFS(sub)))
	r.Handle("/", consoleHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	}))).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/console/").Handler(consoleHeaders(files)).Methods(http.MethodGet, http.MethodHead)
}

// noListing answers 404 for directories: the console's file list is
// nobody's business.
func noListing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func consoleHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Embedded files carry no modification time: revalidate each load
		// so that a new binary's console is never mixed with an old one's.
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}
