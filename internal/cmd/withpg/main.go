// Command withpg runs a command with CARE360_TEST_DATABASE_URL pointing at a
// throwaway PostgreSQL cluster, which it starts from the system binaries and
// removes afterwards. `make test` and `make bench` use it so that every test
// package shares one server (each package still gets its own database).
// When CARE360_TEST_DATABASE_URL is already set it just runs the command.
//
//	go run ./internal/cmd/withpg [-durable] [-set name=value]... -- go test ./...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/care360/care360/internal/pglocal"
)

func main() {
	durable := flag.Bool("durable", false, "keep fsync and synchronous_commit on (benchmarks)")
	settings := map[string]string{"max_connections": "300"}
	flag.Func("set", "a server setting `name=value` (repeatable), after the mode's own", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want name=value, got %q", s)
		}
		settings[k] = v
		return nil
	})
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: withpg [-durable] [-set name=value]... -- command [args...]")
		os.Exit(2)
	}
	os.Exit(run(args, *durable, settings))
}

func run(args []string, durable bool, settings map[string]string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("CARE360_TEST_DATABASE_URL") == "" {
		dir, err := os.MkdirTemp("", "care360-pg-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "withpg:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		pg, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Fast: !durable, Logger: log, Settings: settings})
		if err != nil {
			fmt.Fprintln(os.Stderr, "withpg:", err)
			return 1
		}
		defer pg.Stop()
		os.Setenv("CARE360_TEST_DATABASE_URL", pg.URL("postgres"))
		fmt.Fprintf(os.Stderr, "withpg: PostgreSQL on port %d (%s)\n", pg.Port(), map[bool]string{true: "durable", false: "fast"}[durable])
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "withpg:", err)
		return 1
	}
	return 0
}
