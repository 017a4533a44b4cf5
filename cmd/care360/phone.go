package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/care360/care360/gateway/smsc"
)

// runSMSC runs the simulator alone, for a gateway started separately.
func runSMSC(ctx context.Context) error {
	log := newLogger(false)
	sim, ctl, err := startSimulator(log)
	if err != nil {
		return err
	}
	fmt.Printf("SMSC simulator: SMPP on %s, control API on %s. Ctrl-C stops it.\n", sim.Addr(), envOr("CARE360_SMSC_CONTROL", defaultControlAddr))
	<-ctx.Done()
	ctl.Close()
	return sim.Close()
}

// runDial is a feature phone in the terminal: it dials through the
// simulator's control API (or, with --push, waits for the application to
// push to it), prints each screen and reads the answer.
func runDial(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	if len(args) < 1 || len(args) > 2 {
		return errUsage
	}
	control := "http://" + envOr("CARE360_SMSC_CONTROL", defaultControlAddr)
	if args[0] == "--push" {
		if len(args) != 2 {
			return errUsage
		}
		return receivePush(ctx, control, args[1], in, out)
	}
	code := envOr("CARE360_USSD_CODE", "*090#")
	if len(args) == 2 {
		code = args[1]
	}
	return dial(ctx, control, args[0], code, in, out)
}

// dial is runDial's phone on the simulator's control API at control.
func dial(ctx context.Context, control, msisdn, code string, in io.Reader, out io.Writer) error {
	c := &smsc.ControlClient{BaseURL: control}
	st, err := c.Dial(ctx, smsc.DialRequest{MSISDN: msisdn, Code: code})
	if err != nil {
		return fmt.Errorf("dial %s: %w (is `make run` running?)", code, err)
	}
	return converse(ctx, c, st, in, out)
}

// receivePush is runDial's phone waiting, until ctx ends, for the next push
// to msisdn, which it then shows and answers like a dialled dialogue.
func receivePush(ctx context.Context, control, msisdn string, in io.Reader, out io.Writer) error {
	c := &smsc.ControlClient{BaseURL: control}
	fmt.Fprintf(out, "Waiting for a push to %s...\n", msisdn)
	for {
		st, err := c.WaitPush(ctx, msisdn, 0)
		switch {
		case err == nil:
			return converse(ctx, c, st, in, out)
		case ctx.Err() != nil:
			return nil // the user stopped waiting
		case errors.Is(err, smsc.ErrTimeout):
			continue // each wait is bounded by the simulator; this one is not
		}
		return fmt.Errorf("wait for a push: %w (is `make run` running?)", err)
	}
}

// converse shows st, the dialogue's first screen, and then each next one,
// sending what the user types, until the dialogue ends or the input does.
func converse(ctx context.Context, c *smsc.ControlClient, st smsc.CallState, in io.Reader, out io.Writer) error {
	lines := bufio.NewScanner(in)
	for {
		fmt.Fprintf(out, "\n%s\n%s\n%s\n", strings.Repeat("-", 24), st.Screen, strings.Repeat("-", 24))
		if st.End {
			fmt.Fprintln(out, "(dialogue ended)")
			return nil
		}
		fmt.Fprint(out, "> ")
		if !lines.Scan() {
			// The phone hung up: tell the network, as a real one would.
			_, err := c.Abort(context.WithoutCancel(ctx), st.Call)
			if err != nil && !errors.Is(err, smsc.ErrEnded) {
				slog.Debug("abort", "err", err)
			}
			fmt.Fprintln(out, "\n(hung up)")
			return nil
		}
		var err error
		st, err = c.Reply(ctx, st.Call, strings.TrimSpace(lines.Text()))
		if err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
}
