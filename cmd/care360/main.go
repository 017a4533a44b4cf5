// Command care360 is the Care360 Gateway: a USSD/SMS loyalty gateway between
// an operator's SMSC / USSD centre (SMPP 3.4) and Postgres.
//
//	care360 serve     the production process
//	care360 migrate   apply the schema migrations and exit
//	care360 config    print the effective configuration, secrets masked
//	care360 dev       local Postgres + SMSC simulator + demo data + serve
//	care360 smsc      the SMSC / USSD-centre simulator alone
//	care360 dial N    a phone in the terminal, through the simulator
//	care360 dial --push N   that phone, waiting for a USSD push
//	care360 draw verify FILE   recompute a draw from its audit file
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata" // Asia/Ho_Chi_Minh works in a minimal image
)

const usage = `usage: care360 <command> [arguments]

commands:
  serve                 run the gateway (SMPP binds, HTTP API, schedulers)
  migrate               apply the embedded schema migrations and exit
  config                print the effective configuration (secrets masked) after serve's checks
  dev                   local Postgres in ./.data/pg + SMSC simulator + demo data + serve
  smsc                  run the SMSC / USSD-centre simulator alone
  dial MSISDN [CODE]    dial a USSD code through the simulator and walk the menus
  dial --push MSISDN    wait for the next USSD push to MSISDN through the simulator and answer it
  draw verify FILE      recompute a lucky draw from its audit file: VALID, or what differs

Configuration is by environment variable and CARE360_CONFIG; see docs/configuration.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// CARE360_CPUPROFILE=file profiles the whole run (make bench uses it to
	// show where a step's time goes).
	if path := os.Getenv("CARE360_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := collectorDefaults(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "care360:", err)
		os.Exit(1)
	}
	err := run(ctx, os.Args[1:])
	pprof.StopCPUProfile()
	if err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "care360:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, os.Getenv)
	case "migrate":
		return runMigrate(ctx)
	case "config":
		return runConfig(os.Getenv, os.Stdout)
	case "dev":
		return runDev(ctx)
	case "smsc":
		return runSMSC(ctx)
	case "dial":
		return runDial(ctx, args[1:], os.Stdin, os.Stdout)
	case "draw":
		return runDraw(args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	return errUsage
}

// newLogger writes JSON in production and text for a person at a terminal.
func newLogger(json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if os.Getenv("CARE360_LOG_LEVEL") == "debug" {
		opts.Level = slog.LevelDebug
	}
	if json {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
