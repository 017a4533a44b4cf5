package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/care360/care360"
)

// unmatched labels requests that matched no route. Raw paths are never used as
// labels: they carry MSISDNs and would let any client grow the series without
// bound.
const unmatched = "unmatched"

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	labels := []string{"method", "route", "status"}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "care360_http_requests_total",
			Help: "HTTP requests served, by method, route template and status.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "care360_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method, route template and status.",
			Buckets: prometheus.DefBuckets,
		}, labels),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	register(reg, collectors.NewGoCollector())
	register(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// register adds c to reg, or returns the collector already registered under
// the same name: cmd/ may have added the Go collector itself, and several
// servers may share one registry.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if errors.As(err, &dup) {
			if existing, ok := dup.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("web: register metrics: " + err.Error())
	}
	return c
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		Registry:          s.registry, // counts scrape errors
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// requestState travels in the context from instrument, which logs and
// counts, to recordRoute, which alone knows the matched route.
type requestState struct {
	route  string
	msisdn string // masked
}

type stateKey struct{}

// instrument counts, times and logs every request, whether or not a route
// matched.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{route: unmatched}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))

		elapsed := time.Since(start)
		method := metricMethod(r.Method)
		status := strconv.Itoa(sw.status)
		s.metrics.requests.WithLabelValues(method, st.route, status).Inc()
		s.metrics.duration.WithLabelValues(method, st.route, status).Observe(elapsed.Seconds())

		attrs := []slog.Attr{
			slog.String("method", method),
			slog.String("route", st.route),
			slog.Int("status", sw.status),
			slog.Duration("duration", elapsed),
			slog.Int64("bytes", sw.bytes),
		}
		if st.msisdn != "" {
			attrs = append(attrs, slog.String("msisdn", st.msisdn))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	})
}

// recordRoute notes the matched route template and the masked MSISDN for
// instrument; a raw MSISDN never reaches a log line.
func (s *Server) recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
			if route := mux.CurrentRoute(r); route != nil {
				if tpl, err := route.GetPathTemplate(); err == nil {
					st.route = tpl
				}
			}
			if m, ok := mux.Vars(r)["msisdn"]; ok {
				st.msisdn = care360.MaskMSISDN(m)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// routeOf returns the matched route template of r, for log lines.
func routeOf(r *http.Request) string {
	if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		return st.route
	}
	return unmatched
}

// metricMethod keeps the method label bounded: clients may send any token.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flush,
// deadlines) through this wrapper.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes through for handlers that stream.
func (w *statusWriter) Flush() {
	w.wroteHeader = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
