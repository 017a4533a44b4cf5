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
	"path/filepath"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pglocal"
	"github.com/care360/care360/store"
)

// Simulator defaults, shared by `dev`, `smsc` and `dial`.
const (
	defaultSMSCAddr    = "127.0.0.1:2775"
	defaultControlAddr = "127.0.0.1:2776"
)

// runDev is the laptop default: a Postgres from the system binaries in
// ./.data/pg, the built-in simulator, demo subscribers, and serve.
func runDev(ctx context.Context) error {
	log := newLogger(false)
	dataDir := envOr("CARE360_DEV_DATA", filepath.Join(".data", "pg"))
	cfg, err := devConfig(os.Getenv)
	if err != nil {
		return err
	}

	if cfg.DatabaseURL == "" {
		log.Info("starting local Postgres", "data", dataDir)
		pg, err := pglocal.Start(ctx, pglocal.Options{DataDir: dataDir, Logger: log})
		if err != nil {
			return err
		}
		defer func() {
			log.Info("stopping local Postgres")
			if err := pg.Stop(); err != nil {
				log.Error("stop Postgres", "err", err)
			}
		}()
		if err := pg.CreateDatabase(ctx, "care360"); err != nil {
			return err
		}
		cfg.DatabaseURL = pg.URL("care360")
	}

	if len(cfg.Binds) == 0 {
		sim, ctl, err := startSimulator(log)
		if err != nil {
			return err
		}
		defer sim.Close()
		defer ctl.Close()
		cfg.Binds = append(cfg.Binds, devBinds(sim.Addr())...)
	}

	// A partner application of its own behind a second code, and a
	// provisioning interface for the airtime and data gifts, called over
	// real HTTP like the operator's and the partners'.
	demoBase, app, err := startDemoApp(log)
	if err != nil {
		return err
	}
	defer app.Close()
	addDemoServices(&cfg, demoBase)

	if err := devData(ctx, cfg); err != nil {
		return err
	}
	m := &Main{Config: cfg, Logger: log}
	if err := m.Run(ctx); err != nil {
		return err
	}
	fmt.Printf(`
Care360 Gateway is running.
  admin API   http://%s  (Authorization: Bearer %s)
  USSD codes  %s through the simulator at %s

Dial from another terminal:
  ./bin/care360 dial 0903123456          (Kim cuong member)
  ./bin/care360 dial 0906456789 '*090*1#' (shortcut to points, English)
  ./bin/care360 dial 0912000111          (not a member yet: offered registration)
  ./bin/care360 dial 0903123456 '*1090#' (a second code: straight to draws & spins)
  ./bin/care360 dial 0903123456 '*5050#' (a partner's quiz, served over HTTP)
  ./bin/care360 dial 0908678901 '*090*7#' (SIM just swapped: giving points is held)

Text a keyword to %s (DIEM, DK, CD 0904234567 500 then Y, QUA, TC, HD):
  curl -s %s/v1/mo -d '{"from":"0903123456","text":"DIEM"}'
  curl -s '%s/v1/messages?msisdn=84903123456'
Press Ctrl-C to stop.
`, displayAddr(m.HTTPAddr()), cfg.AdminToken, serviceCodes(cfg.Services), defaultControlAddr,
		cfg.ShortCode, "http://"+defaultControlAddr, "http://"+defaultControlAddr)
	<-ctx.Done()
	log.Info("shutting down")
	return m.Close(context.Background())
}

// devConfig is the configuration `dev` runs with: getenv's, with the
// development admin token and loopback for the HTTP USSD adapters where
// getenv has none.
func devConfig(getenv func(string) string) (Config, error) {
	cfg, err := LoadConfig(func(k string) string {
		switch v := getenv(k); {
		case v != "":
			return v
		case k == "CARE360_ADMIN_TOKEN":
			return "dev-token"
		case k == "CARE360_USSD_HTTP_ALLOW":
			return "127.0.0.0/8,::1/128"
		}
		return ""
	})
	if err != nil {
		return Config{}, err
	}
	cfg.Dev = true // its well-known token is fine on a laptop, never in serve
	return cfg, cfg.Validate()
}

// devData migrates the dev database and seeds the demo members.
func devData(ctx context.Context, cfg Config) error {
	if err := store.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := seedDemo(ctx, cfg); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	return nil
}

// startSimulator starts the SMSC simulator and its control API on their
// default addresses (overridable by CARE360_SMSC_ADDR / CARE360_SMSC_CONTROL).
func startSimulator(log *slog.Logger) (*smsc.Server, *http.Server, error) {
	sim := devSimulator(envOr("CARE360_SMSC_ADDR", defaultSMSCAddr), log)
	if err := sim.Start(); err != nil {
		return nil, nil, fmt.Errorf("start SMSC simulator: %w", err)
	}
	ctlAddr := envOr("CARE360_SMSC_CONTROL", defaultControlAddr)
	ln, err := net.Listen("tcp", ctlAddr)
	if err != nil {
		sim.Close()
		return nil, nil, fmt.Errorf("simulator control API on %s: %w", ctlAddr, err)
	}
	srv := newHTTPServer(sim.ControlHandler(), Config{})
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("simulator control API stopped", "err", err)
		}
	}()
	log.Info("SMSC simulator listening", "smpp", sim.Addr(), "control", ln.Addr().String())
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
		log.Warn("the simulator's control API is reachable from other hosts: anyone who reaches it dials and texts as any subscriber",
			"control", ln.Addr().String())
	}
	return sim, srv, nil
}

// devSimulator is the simulator `dev` and `smsc` run on addr, not started.
func devSimulator(addr string, log *slog.Logger) *smsc.Server {
	pass := envOr("CARE360_SMPP_PASSWORD", "secret")
	return smsc.New(smsc.Config{
		Addr: addr,
		// As an operator would: one account for the USSD centre, one for
		// the SMSC, each carrying only its own traffic.
		Accounts: []smsc.Account{
			{SystemID: devUSSDAccount, Password: pass, Carries: smsc.CarriesUSSD},
			{SystemID: devSMSAccount, Password: pass, Carries: smsc.CarriesSMS},
			// `care360 smsc` users and older scripts bind with this one.
			{SystemID: envOr("CARE360_SMPP_SYSTEM_ID", "care360"), Password: pass},
		},
		Logger: log,
	})
}

// The simulator's accounts in dev.
const (
	devUSSDAccount = "c360ussd"
	devSMSAccount  = "c360sms"
)

// devBinds are the gateway's binds to the simulator, as an operator would
// issue them: a transceiver on the USSD centre's account for screens, and a
// transmitter+receiver pair on the SMSC's account for SMS; the
// environment's password, profile, TPS and window.
func devBinds(addr string) []gateway.BindConfig {
	b := gateway.BindConfig{Addr: addr, Password: envOr("CARE360_SMPP_PASSWORD", "secret")}
	b.Profile = gateway.Profiles[envOr("CARE360_SMPP_PROFILE", "generic")]
	b.TPS, _ = positiveInt(envOr("CARE360_SMPP_TPS", "100"), "")
	b.Window, _ = positiveInt(envOr("CARE360_SMPP_WINDOW", "10"), "")
	ussd, sms := b, b
	ussd.SystemID, ussd.Role = devUSSDAccount, gateway.RoleUSSD
	sms.SystemID, sms.Role, sms.Type = devSMSAccount, gateway.RoleSMS, gateway.BindTransmitterReceiver
	return []gateway.BindConfig{ussd, sms}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// demo is a handful of members in different tiers, with their story.
var demo = []struct {
	msisdn, name, gender, birthday, since string
	lang                                  care360.Language
	qualifying, bonus                     int64
}{
	{"0903123456", "Nguyen Van An", "m", "1980-03-12", "2005-06-01", care360.LangVi, 25_000, 1_200},
	{"0904234567", "Tran Thi Binh", "f", "1988-11-20", "2014-02-15", care360.LangViUnicode, 12_500, 0},
	{"0905345678", "Le Van Cuong", "m", "1992-07-07", "2019-09-09", care360.LangVi, 6_000, 500},
	{"0906456789", "Pham Thi Dung", "f", "1995-01-30", "2021-01-01", care360.LangEn, 2_500, 0},
	{"0907567890", "Hoang Van Em", "m", "1975-05-05", "2008-04-30", care360.LangVi, 300, 0},
	// Reported by the CRM as having just swapped SIMs (demo.go): menu 7,
	// CD and voucher claims are held, menu 1 answers.
	{demoSwapped, "Vu Thi Giang", "f", "1985-09-02", "2012-12-12", care360.LangVi, 15_000, 2_000},
}

// seedDemo creates the demo members and the programme they find in the
// menus (demo.go); idempotency keys make it safe to run on every start.
func seedDemo(ctx context.Context, cfg Config) error {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Location: cfg.Location, TierRules: cfg.TierRules})
	if err != nil {
		return err
	}
	defer db.Close()
	for _, d := range demo {
		msisdn, err := care360.ParseMSISDN(d.msisdn)
		if err != nil {
			return err
		}
		if _, err := db.Subscriber(ctx, msisdn); err == nil {
			continue // keep what the developer changed since
		}
		bday, _ := care360.ParseDate(d.birthday)
		since, _ := care360.ParseDate(d.since)
		// The demo members joined through the API and agreed to
		// marketing, so that the demo campaign reaches them.
		yes := true
		s := &care360.Subscriber{MSISDN: msisdn, Name: d.name, Gender: care360.Gender(d.gender),
			Birthday: bday, MemberSince: since, Language: d.lang, Status: care360.StatusActive, SetMarketing: &yes}
		if _, err := db.PutSubscriber(ctx, s); err != nil {
			return err
		}
		for kind, pts := range map[care360.PointsKind]int64{care360.PointsQualifying: d.qualifying, care360.PointsBonus: d.bonus} {
			if pts == 0 {
				continue
			}
			_, _, err := db.ChangePoints(ctx, msisdn, care360.PointsChange{
				Kind: kind, Points: pts, Reason: "demo data", IdempotencyKey: "demo-seed-" + string(kind),
			})
			if err != nil {
				return err
			}
		}
	}
	return seedProgramme(ctx, cfg, db)
}

// displayAddr turns a wildcard listen address into one a person can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
