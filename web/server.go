// Package web is the HTTP side of the gateway: the admin API (PRODUCT.md §6),
// health and readiness probes, and Prometheus metrics, on one gorilla/mux
// router that cmd/ may extend with more routes (the HTTP USSD adapters).
// Handlers reach data only through the domain services.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
)

// Config is what a Server needs. Subscribers and Points are required.
type Config struct {
	// AdminToken is the bearer token of the built-in admin account. Empty
	// locks the API: every /api/ request is answered 401.
	AdminToken string
	// Numbering parses MSISDNs in paths; the zero value means
	// care360.VietnamMobile.
	Numbering   care360.Numbering
	Subscribers care360.SubscriberService
	Points      care360.PointsService
	// Ready lists what /readyz checks (Postgres, SMPP binds, ...).
	Ready []ReadyCheck
	// Registry receives the server's HTTP metrics plus the Go and process
	// collectors, and is what /metrics serves; other packages register theirs
	// in the same one. Nil means a new registry.
	Registry *prometheus.Registry
	// Logger gets one line per request and the details of internal errors.
	// Nil means slog.Default().
	Logger *slog.Logger
	// USSD, if set, serves the HTTP USSD adapters under /ussd/.
	USSD *USSDConfig
	// SMS serves messages, campaigns and the do-not-call list (messages.go).
	SMS *SMSConfig
	// Admin serves staff accounts, the audit log and reports (staff.go).
	Admin *AdminConfig
	// Loyalty serves the gift catalogue and offers (gifts.go, offers.go).
	Loyalty *LoyaltyConfig
	// Draws serves lucky draws, spins and their reports (draws.go, spins.go).
	Draws *DrawsConfig
	// Ledger serves the billing feed and subscriber imports (usage.go, import.go).
	Ledger *LedgerConfig
	// RoleLimits bound the points adjustments of staff below admin
	// (PRODUCT.md §9); zero fields take care360.DefaultRoleLimits.
	RoleLimits care360.RoleLimits
	// MaxCSVRows bounds the data rows of one CSV upload (0: 10,000,000).
	MaxCSVRows int
	// Extra, if set, mounts more routes on the same router after the built-in
	// ones. They share the metrics, logging and panic recovery, and any of
	// them under /api/ the bearer-token check. A catch-all route would hide
	// the JSON 404 and 405 answers.
	Extra func(r *mux.Router)
	// Bounds limit failed authentications, concurrent API requests and
	// slow bodies; the zero value is the product's defaults.
	Bounds Bounds
	// ClientAddr says which address a request comes from, for the limit on
	// failed authentications; nil means the TCP peer (PeerAddr).
	ClientAddr func(*http.Request) netip.Addr
}

// Server serves the admin API, probes and metrics. Build one with NewServer.
type Server struct {
	router      *mux.Router
	handler     http.Handler
	numbering   care360.Numbering
	subscribers care360.SubscriberService
	points      care360.PointsService
	ready       []ReadyCheck
	log         *slog.Logger
	registry    *prometheus.Registry
	metrics     *httpMetrics
	ussd        *USSDConfig
	sms         *SMSConfig
	admin       *AdminConfig
	loyalty     *LoyaltyConfig
	draws       *DrawsConfig
	ledger      *LedgerConfig
	roleLimits  care360.RoleLimits
	maxCSVRows  int
	tokenHash   [32]byte // SHA-256 of the admin token; see authorized
	tokenSet    bool
	bounds      Bounds
	authLimit   *authLimiter
	apiSlots    apiSlots
	clientAddr  func(*http.Request) netip.Addr
	draining    atomic.Bool // see Drain
	dashboard   dashboardCache
}

// NewServer builds the router and registers the server's metrics in
// cfg.Registry. It panics if a metric of the same name but another shape is
// already registered there, which is a wiring bug.
func NewServer(cfg Config) *Server {
	s := &Server{
		numbering:   cfg.Numbering,
		subscribers: cfg.Subscribers,
		points:      cfg.Points,
		ready:       cfg.Ready,
		log:         cfg.Logger,
		registry:    cfg.Registry,
		ussd:        cfg.USSD,
		sms:         cfg.SMS,
		admin:       cfg.Admin,
		loyalty:     cfg.Loyalty,
		draws:       cfg.Draws,
		ledger:      cfg.Ledger,
		roleLimits:  cfg.RoleLimits.WithDefaults(),
		maxCSVRows:  cfg.MaxCSVRows,
	}
	s.bounds, s.clientAddr = cfg.Bounds.WithDefaults(), cfg.ClientAddr
	if s.clientAddr == nil {
		s.clientAddr = PeerAddr
	}
	s.authLimit = newAuthLimiter(s.bounds)
	s.apiSlots = make(apiSlots, s.bounds.APIRequests)
	if s.numbering.CountryCode == "" {
		s.numbering = care360.VietnamMobile
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.setToken(cfg.AdminToken)
	s.metrics = newHTTPMetrics(s.registry)
	if s.admin != nil && s.admin.DeadLetters != nil {
		s.registry.MustRegister(deadLetterCollector{s.admin.DeadLetters})
	}

	r := mux.NewRouter()
	r.Use(s.recordRoute, s.requireToken, s.auditChanges)
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)

	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", s.metricsHandler()).Methods(http.MethodGet)

	r.HandleFunc("/api/v1/subscribers/{msisdn}", s.putSubscriber).Methods(http.MethodPut)
	r.HandleFunc("/api/v1/subscribers/{msisdn}", s.getSubscriber).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/subscribers/{msisdn}/points", s.postPoints).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/subscribers/{msisdn}/ledger", s.getLedger).Methods(http.MethodGet)

	s.smsRoutes(r)
	s.adminRoutes(r)
	s.consoleRoutes(r)
	s.loyaltyRoutes(r)
	s.codeRoutes(r)
	s.drawRoutes(r)
	s.ledgerRoutes(r)
	if s.ussd != nil {
		if _, ok := s.ussd.Dialogues.(care360.DialogueLocker); !ok {
			panic("web: USSDConfig.Dialogues must also be a care360.DialogueLocker")
		}
		r.HandleFunc("/ussd/africastalking", s.africasTalking).Methods(http.MethodPost)
	}
	if cfg.Extra != nil {
		cfg.Extra(r)
	}
	s.router = r
	s.handler = s.refuseWhileDraining(s.boundBodies(s.instrument(s.recoverPanics(r))))
	return s
}

// Handler returns the server's whole HTTP handler: routes wrapped in metrics,
// request logging and panic recovery.
func (s *Server) Handler() http.Handler { return s.handler }

// Router returns the underlying router, so that tests can walk every route.
// Routes added to it after NewServer are served too.
func (s *Server) Router() *mux.Router { return s.router }

// healthz says only that the process is up and serving.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// notFound answers unknown paths. Under /api/ the token is checked first, so
// that a caller without one learns nothing about which endpoints exist.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) && !s.authorized(w, r) {
		return
	}
	s.writeError(w, r, care360.Errorf(care360.ENOTFOUND, "no such endpoint"))
}

// methodNotAllowed answers a known path with a method it does not serve.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) && !s.authorized(w, r) {
		return
	}
	writeMethodNotAllowed(w)
}

// recoverPanics turns a handler panic into a logged 500 so that one bad
// request cannot take the process down or leave the client hanging.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // net/http's way of aborting a response on purpose
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "handler panic",
				slog.String("route", routeOf(r)), slog.Any("panic", v))
			if sw, ok := w.(*statusWriter); !ok || !sw.wroteHeader {
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{
					Code: care360.EINTERNAL, Message: "internal error",
				}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
