package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/care360/care360/draw"
)

// errNotValid makes `care360 draw verify` exit non-zero once it has said
// what differs.
var errNotValid = errors.New("the audit file does not verify")

// runDraw is `care360 draw verify FILE`: it recomputes a draw from its
// published audit file (GET /api/v1/draws/{id}/audit) — the commitment
// against the revealed seed, the entries digest, the draw key and the
// winners — and prints VALID, or every difference. It checks the entries
// as it reads them (draw.VerifyStream), so a file of millions of entries
// verifies in bounded memory.
func runDraw(args []string, out io.Writer) error {
	if len(args) != 2 || args[0] != "verify" {
		return errUsage
	}
	f, err := os.Open(args[1])
	if err != nil {
		return fmt.Errorf("draw verify: %w", err)
	}
	defer f.Close()
	// A field this verifier does not know means a format it cannot vouch
	// for: VerifyStream refuses it.
	a, diffs, err := draw.VerifyStream(f)
	if err != nil {
		return fmt.Errorf("draw verify: %s is not an audit file: %w", args[1], err)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(out, "INVALID: draw %d (%s), %d differences:\n", a.Draw.ID, a.Draw.Code, len(diffs))
		for _, d := range diffs {
			fmt.Fprintln(out, "  -", d)
		}
		return errNotValid
	}
	fmt.Fprintln(out, "VALID")
	fmt.Fprintf(out, "draw %d (%s), algorithm %s: commitment %s matches the seed; %d entries hash to %s; witness %q\n",
		a.Draw.ID, a.Draw.Code, a.Algorithm, a.Commitment, a.EntriesCount, a.EntriesDigest, a.Witness)
	for _, w := range a.Winners {
		fmt.Fprintf(out, "  %d. prize rank %d: entry %d (%s)\n", w.Position, w.PrizeRank, w.EntryID, w.MSISDN)
	}
	return nil
}
