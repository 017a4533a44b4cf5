package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/keywords"
	"github.com/care360/care360/menus"
	"github.com/care360/care360/partner"
	"github.com/care360/care360/provision"
	"github.com/care360/care360/schedule"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// Main is the whole gateway process, startable on port 0 from tests exactly
// as `care360 serve` starts it (the shape of benbjohnson/wtf's Main).
type Main struct {
	Config Config
	Logger *slog.Logger

	DB      *store.DB
	SMS     *store.SMS // the outbox, campaigns, opt-outs
	Engine  *menus.Engine
	Traffic *store.TrafficCounter // USSD steps per hour, for the reports
	Records *store.DialogueLog    // ended dialogues' records, written in batches
	Ends    *store.DialogueEnds   // ended dialogues' rows, deleted in batches
	Pushes  *store.Pushes         // notifications' endings, written in batches
	Gateway *gateway.Gateway
	Web     *web.Server
	Jobs    *schedule.Scheduler // the ledger's (usage posting, expiry sweep, tier review) and gift announcements

	// The loyalty catalogue (gifts, offers, privileges) and the worker
	// that provisions airtime and data gifts.
	Catalog   *store.Catalog
	Provision *provision.Worker

	// APIDB is the admin API's, the reports' and the jobs' own smaller
	// pool, so that they never take the connections USSD steps and SMPP
	// work (DB) need (PRODUCT.md §9).
	APIDB *store.DB

	ln   net.Listener
	http *http.Server
}

// Run migrates the database, binds to every SMSC and serves HTTP. It returns
// once everything is started; Close stops it.
func (m *Main) Run(ctx context.Context) (err error) {
	c := m.Config
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DatabaseURL == "" {
		return errors.New("CARE360_DATABASE_URL is required")
	}
	if c.AdminToken == "" {
		return errors.New("CARE360_ADMIN_TOKEN is required")
	}
	if len(c.Binds) == 0 {
		return errors.New("CARE360_SMPP_ADDR is required (host:port of the SMSC; several comma-separated)")
	}
	defer func() {
		if err != nil {
			m.Close(context.Background())
		}
	}()
	if err := store.Migrate(ctx, c.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	ussdConns, apiConns := orConns(c.USSDConns, defaultUSSDConns), orConns(c.APIConns, defaultAPIConns)
	m.DB, err = store.Open(ctx, c.DatabaseURL, store.Options{
		Location: c.Location, TierRules: c.TierRules, Logger: m.Logger, MaxConns: ussdConns,
	})
	if err != nil {
		return err
	}
	m.APIDB, err = store.Open(ctx, c.DatabaseURL, store.Options{
		Location: c.Location, TierRules: c.TierRules, Logger: m.Logger, MaxConns: apiConns,
	})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	smsRules := c.Programme.SMS
	smsRules.ShortCode = c.ShortCode
	catalogOpts := store.CatalogOptions{USSDCode: c.USSDCode, Offers: c.Programme.Offers, Privileges: c.Programme.Privileges}
	m.SMS = store.NewSMS(m.DB, smsRules)
	// Every USSD channel steps the engine through the counter, and the
	// gateway's outbox counts what the SMSC answered into it (the dashboard).
	m.Traffic = m.DB.NewTrafficCounter(0)
	m.SMS.CountInto(m.Traffic)
	// Records go through the API's pool: their batches never take a
	// connection a step is waiting for.
	m.Records = m.APIDB.NewDialogueLog(0)
	// Ended dialogues' rows go in batches, on the USSD pool like every
	// other write of a dialogue.
	m.Ends = m.DB.NewDialogueEnds(0)
	transfers := store.NewTransfers(m.DB, c.Programme.Transfer)
	m.Catalog = store.NewCatalog(m.DB, m.SMS, catalogOpts)
	ussdDraws, ussdSpins := store.NewDraws(m.DB), store.NewSpins(m.DB)
	// The same services on the API's pool, for the admin API and the jobs.
	apiSMS := store.NewSMS(m.APIDB, smsRules)
	apiCatalog := store.NewCatalog(m.APIDB, apiSMS, catalogOpts)
	ledger := store.NewLedger(m.APIDB, c.Programme.Usage)
	draws, spins := store.NewDraws(m.APIDB), store.NewSpins(m.APIDB)
	jobs := append(schedule.Ledger(ledger), schedule.Gifts(apiCatalog)...)
	jobs = append(jobs, schedule.Retention(m.APIDB, c.Retention, reg)...)
	// Idle dialogues become timeout records; the engine, made below, reads
	// its own state.
	// Pushes (PRODUCT.md §3.6): the admin API queues them, the gateway
	// sends them, the engine and the sweep learn what became of them.
	// The gateway and the engine on the USSD pool (a step's writes, and
	// notifications' endings in batches), the API and the sweep on the API's.
	m.Pushes = store.NewPushes(m.SMS, orDuration(c.IdleTimeout, menus.DefaultIdleTimeout), c.USSDCode)
	pushes, apiPushes := m.Pushes, store.NewPushes(apiSMS, orDuration(c.IdleTimeout, menus.DefaultIdleTimeout), c.USSDCode)
	jobs = append(jobs, schedule.Pushes(apiPushes, c.Programme.PushAnswerTimeout)...)
	jobs = append(jobs, schedule.IdleDialogues(m.APIDB, orDuration(c.IdleTimeout, menus.DefaultIdleTimeout),
		func(d care360.Dialogue) (care360.DialogueRecord, bool) { return m.Engine.TimedOut(d) })...)
	m.Jobs = schedule.New(schedule.Config{Logger: m.Logger, Registry: reg, Runs: m.APIDB, Instance: instanceName()}, jobs...)
	kw := keywords.New(keywords.Config{
		Subscribers: m.DB, Points: m.DB, Transfers: transfers, Prefs: m.SMS, Outbox: m.SMS, Inbox: m.SMS,
		Numbering: care360.VietnamMobile, TierRules: c.TierRules, TransferRules: transfers.Rules(),
		ShortCode: c.ShortCode, USSDCode: c.USSDCode, Logger: m.Logger, Gifts: m.Catalog, Feedback: m.SMS, Leave: m.DB,
		Location: c.Location,
	})
	// Partner applications behind service codes (PRODUCT.md §3.7) are
	// called only at the configured endpoints.
	apps := partner.New(partner.Config{Endpoints: c.Endpoints, Logger: m.Logger, Registry: reg})
	m.Engine, err = menus.New(menus.Config{
		ServiceCode: c.USSDCode, Services: c.Services, Apps: apps,
		Subscribers: m.DB, Points: m.DB, Dialogues: m.DB,
		TierRules: c.TierRules, IdleTimeout: c.IdleTimeout, Location: c.Location,
		Logger: m.Logger, Registry: reg,
		Gifts: m.Catalog, Offers: m.Catalog, Privileges: m.Catalog,
		Transfers: transfers, TransferRules: transfers.Rules(), TransferNotifier: kw.Notify,
		Draws: ussdDraws, Spins: ussdSpins,
		Records: m.Records, Ends: m.Ends, Pushes: m.Pushes,
	})
	if err != nil {
		return err
	}
	ussd := m.Traffic.Wrap(m.Engine)
	m.Gateway = gateway.New(gateway.Config{
		Binds: c.Binds, USSD: ussd, Numbering: care360.VietnamMobile,
		Logger: m.Logger, Registry: reg,
		SMS: kw, Outbox: m.SMS, ShortCode: c.ShortCode,
		StepTimeout: c.StepTimeout,
		Sender:      gateway.SenderConfig{MaxParts: smsRules.MaxParts},
		Push:        gateway.PushConfig{Queue: pushes, Dialogues: m.Engine, Source: c.USSDCode},
	})
	m.Web = web.NewServer(web.Config{
		AdminToken:  c.AdminToken,
		Numbering:   care360.VietnamMobile,
		Subscribers: m.APIDB,
		Points:      m.APIDB,
		Registry:    reg,
		Logger:      m.Logger,
		Bounds:      c.HTTPBounds,
		// Failed authentications are counted per client, seen through the
		// trusted reverse proxies exactly as the USSD adapters see it.
		ClientAddr: func(r *http.Request) netip.Addr { return web.ClientAddr(r, c.TrustedProxies) },
		Admin: &web.AdminConfig{Staff: m.APIDB, Audit: m.APIDB, Reports: m.APIDB, DeadLetters: m.APIDB, Location: c.Location,
			Binds: bindStates(m.Gateway), Operations: m.APIDB, DialogueIdle: c.IdleTimeout, DialogueRecords: m.APIDB, Export: m.APIDB, Eraser: m.APIDB, History: m.APIDB},
		SMS:     &web.SMSConfig{Messages: apiSMS, Campaigns: apiSMS, DNC: apiSMS, Reports: apiSMS, Feedback: apiSMS, Pushes: apiPushes},
		Loyalty: &web.LoyaltyConfig{Gifts: apiCatalog, Offers: apiCatalog, Claims: apiCatalog, Codes: apiCatalog, ProvisionEndpoints: c.Endpoints.Names()},
		Ledger: &web.LedgerConfig{Usage: schedule.AfterIngest(ledger, m.Jobs), Imports: m.APIDB,
			Lifecycle: m.APIDB, SIMSwapHold: c.Programme.SIMSwapHold},
		Draws:      &web.DrawsConfig{Draws: draws, Spins: spins},
		RoleLimits: c.RoleLimits,
		MaxCSVRows: c.CSVMaxRows,
		USSD: &web.USSDConfig{
			Service: ussd, Dialogues: m.DB, Allow: c.HTTPAllow, IdleTimeout: c.IdleTimeout,
			Token: c.HTTPToken, TrustedProxies: c.TrustedProxies,
			LimitGSM: gateway.GenericProfile.LimitGSM, LimitUCS2: gateway.GenericProfile.LimitUCS2,
		},
		Ready: readyChecks(m.DB.Ping, m.Gateway),
	})
	m.ln, err = net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.HTTPAddr, err)
	}
	m.http = newHTTPServer(m.Web.Handler(), c)
	// The server and listener as they are now: Close clears the fields,
	// perhaps before this goroutine first runs.
	srv, ln := m.http, m.ln
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "err", err)
		}
	}()
	m.Gateway.Start()
	m.Traffic.Start()
	m.Records.Start()
	m.Ends.Start()
	m.Pushes.Start()
	m.Provision = provision.New(provision.Config{Queue: apiCatalog, Endpoints: c.Endpoints, Logger: m.Logger})
	m.Provision.Start()
	m.Jobs.Start()
	m.Logger.Info("care360 serving", "http", m.HTTPAddr(), "smsc", len(c.Binds), "ussd_code", c.USSDCode)
	return nil
}

// newHTTPServer bounds every phase of a connection (PRODUCT.md §9):
// headers, idle keep-alive, header size; bodies are bounded per request by
// the web server (web.Bounds), because a whole-request ReadTimeout would
// cut CSV uploads and WriteTimeout streamed answers (audit files,
// exports). No write timeout: a slow reader holds only its own request,
// and API requests are bounded in number.
func newHTTPServer(h http.Handler, c Config) *http.Server {
	header, idle := c.HTTPHeaderTimeout, c.HTTPIdleTimeout
	if header <= 0 {
		header = 5 * time.Second
	}
	if idle <= 0 {
		idle = 120 * time.Second
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: header, IdleTimeout: idle, MaxHeaderBytes: 32 << 10}
}

// orConns is n, or def when n is not set.
func orConns(n, def int32) int32 {
	if n > 0 {
		return n
	}
	return def
}

// HTTPAddr is where the HTTP server listens (useful with port 0).
func (m *Main) HTTPAddr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Close stops the gateway in the order of PRODUCT.md §1, each stage within
// its own budget (Config.Stop, Config.StopHTTP): HTTP refuses new work and
// /readyz answers 503 at once; in-flight steps are answered and their
// responses awaited; unsent outbox claims are handed back; every bind
// unbinds; then running HTTP requests finish and the jobs stop. A stage
// that overruns is cut short, reported in the error, and the next one runs.
// Safe to call twice.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.Web != nil {
		m.Web.Drain()
	}
	if m.Gateway != nil {
		errs = append(errs, m.Gateway.StopWithin(m.Config.Stop))
	}
	budget := orDuration(m.Config.StopHTTP, defaultStopHTTP)
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if m.http != nil {
		errs = append(errs, m.http.Shutdown(ctx))
		m.http = nil
	}
	if m.Provision != nil {
		errs = append(errs, m.Provision.Stop(ctx))
	}
	if m.Traffic != nil {
		errs = append(errs, m.Traffic.Stop(ctx))
		m.Traffic = nil
	}
	if m.Pushes != nil {
		errs = append(errs, m.Pushes.Stop(ctx))
		m.Pushes = nil
	}
	if m.Records != nil {
		errs = append(errs, m.Records.Stop(ctx))
		m.Records = nil
	}
	if m.Ends != nil {
		errs = append(errs, m.Ends.Stop(ctx))
		m.Ends = nil
	}
	if m.Jobs != nil {
		errs = append(errs, m.Jobs.Stop(ctx))
	}
	if m.DB != nil {
		m.DB.Close()
		m.DB = nil
	}
	if m.APIDB != nil {
		m.APIDB.Close()
		m.APIDB = nil
	}
	return errors.Join(errs...)
}

// serveUntil runs m until ctx ends (the first SIGTERM), then stops it
// gracefully and returns nil: a stage cut short by its budget is logged,
// not an exit status, since everything it held is safe in Postgres (claims
// lapse, dialogues resume). A second signal exits at once.
func serveUntil(ctx context.Context, m *Main) error {
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(again)
	go func() {
		if _, ok := <-again; ok {
			m.Logger.Warn("second signal: exiting now")
			os.Exit(1)
		}
	}()
	if err := m.Close(context.Background()); err != nil {
		m.Logger.Warn("stopped; some stages were cut short by their budgets", "err", err)
	}
	m.Logger.Info("stopped")
	return nil
}

func runServe(ctx context.Context, getenv func(string) string) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	return serveUntil(ctx, &Main{Config: cfg, Logger: newLogger(true)})
}

func runMigrate(ctx context.Context) error {
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("CARE360_DATABASE_URL is required")
	}
	return store.Migrate(ctx, cfg.DatabaseURL)
}

// readyChecks are /readyz's: Postgres, and one per role the binds carry
// (smpp_ussd, smpp_sms), ready while at least one bind of that role is up,
// so that the probe says which roles this instance serves.
func readyChecks(ping func(context.Context) error, g *gateway.Gateway) []web.ReadyCheck {
	checks := []web.ReadyCheck{{Name: "postgres", Check: ping}}
	for _, r := range g.Roles() {
		checks = append(checks, web.ReadyCheck{Name: "smpp_" + r.String(), Check: g.ReadyFor(r)})
	}
	return checks
}

// bindStates hands the dashboard the gateway's binds in the web package's
// own shape, so that web does not depend on gateway.
// instanceName names this instance in the jobs' records: the host (a pod's
// name under Kubernetes), which stays the same across restarts.
func instanceName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "care360"
	}
	return host
}

func bindStates(gw *gateway.Gateway) func() []web.DashboardBind {
	return func() []web.DashboardBind {
		states := gw.BindStates()
		out := make([]web.DashboardBind, len(states))
		for i, b := range states {
			out[i] = web.DashboardBind{Addr: b.Addr, SystemID: b.SystemID, Role: b.Role, Type: b.Type, Up: b.Up, Since: b.Since}
		}
		return out
	}
}
