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
// simulator's control API, prints each screen and reads the answer.
func runDial(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	if len(args) < 1 || len(args) > 2 {
		return errUsage
	}
	code := envOr("CARE360_USSD_CODE", "*090#")
	if len(args) == 2 {
		code = args[1]
	}
	return dial(ctx, "http://"+envOr("CARE360_SMSC_CONTROL", defaultControlAddr), args[0], code, in, out)
}

// dial is runDial's phone on the simulator's control API at control.
func dial(ctx context.Context, control, msisdn, code string, in io.Reader, out io.Writer) error {
	c := &smsc.ControlClient{BaseURL: control}
	st, err := c.Dial(ctx, smsc.DialRequest{MSISDN: msisdn, Code: code})
	if err != nil {
		return fmt.Errorf("dial %s: %w (is `make run` running?)", code, err)
	}
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
		st, err = c.Reply(ctx, st.Call, strings.TrimSpace(lines.Text()))
		if err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
}
