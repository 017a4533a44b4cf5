package main

import (
	"bufio"
	"encoding/json"
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
// winners — and prints VALID, or every difference.
func runDraw(args []string, out io.Writer) error {
	if len(args) != 2 || args[0] != "verify" {
		return errUsage
	}
	a, err := readAudit(args[1])
	if err != nil {
		return err
	}
	diffs := draw.Verify(a)
	if len(diffs) > 0 {
		fmt.Fprintf(out, "INVALID: draw %d (%s), %d differences:\n", a.Draw.ID, a.Draw.Code, len(diffs))
		for _, d := range diffs {
			fmt.Fprintln(out, "  -", d)
		}
		return errNotValid
	}
	fmt.Fprintln(out, "VALID")
	fmt.Fprintf(out, "draw %d (%s), algorithm %s: commitment %s matches the seed; %d entries hash to %s; witness %q\n",
		a.Draw.ID, a.Draw.Code, a.Algorithm, a.Commitment, len(a.Entries), a.EntriesDigest, a.Witness)
	for _, w := range a.Winners {
		fmt.Fprintf(out, "  %d. prize rank %d: entry %d (%s)\n", w.Position, w.PrizeRank, w.EntryID, w.MSISDN)
	}
	return nil
}

// readAudit decodes an audit file strictly: a field this verifier does not
// know means a format it cannot vouch for.
func readAudit(path string) (*draw.Audit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("draw verify: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	dec.DisallowUnknownFields()
	var a draw.Audit
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("draw verify: %s is not an audit file: %w", path, err)
	}
	return &a, nil
}
