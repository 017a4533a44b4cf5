package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/care360/care360/draw"
)

// writeAudit runs a small draw in memory and writes its audit file.
func writeAudit(t *testing.T, mutate func(*draw.Audit)) string {
	t.Helper()
	seed := bytes.Repeat([]byte{9}, draw.SeedSize)
	es := []draw.Entry{
		{ID: 3, Tier: "vang", Tickets: 4, MSISDN: "********123", Receipt: "a1b2c3d4e5"},
		{ID: 8, Tier: "dong", Tickets: 1, MSISDN: "********456", Receipt: "0f1e2d3c4b"},
		{ID: 9, Tier: "bac", Tickets: 2, MSISDN: "********789", Receipt: "99aa88bb77"},
	}
	prizes := []draw.Prize{{Rank: 1, Name: "Xe máy", Quantity: 1}, {Rank: 2, Name: "Voucher", Quantity: 1}}
	digest := draw.Digest(5, es)
	key := draw.Key(seed, digest, "4 1 6")
	ws, err := draw.Winners(key, es, prizes)
	if err != nil {
		t.Fatal(err)
	}
	a := &draw.Audit{Format: draw.Format, Algorithm: draw.Version, Draw: draw.DrawInfo{ID: 5, Code: "TET27", Status: "drawn"},
		Prizes: prizes, Tickets: draw.TierTable{"dong": 1, "bac": 2, "vang": 4}, Commitment: draw.Commitment(seed),
		EntriesCount: 3, EntriesDigest: draw.Hex(digest), Witness: "4 1 6", Seed: hex.EncodeToString(seed),
		Key: draw.Hex(key), Entries: es, Winners: ws}
	if mutate != nil {
		mutate(a)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDrawVerify(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"draw", "verify", writeAudit(t, nil)}); err != nil {
		t.Fatalf("a good file: %v", err)
	}
	if err := runDraw([]string{"verify", writeAudit(t, nil)}, &out); err != nil || !strings.HasPrefix(out.String(), "VALID\n") {
		t.Fatalf("a good file: %v\n%s", err, out.String())
	}
	for name, c := range map[string]struct {
		mutate func(*draw.Audit)
		want   string
	}{
		"wrong seed":    {func(a *draw.Audit) { a.Seed = strings.Repeat("ab", draw.SeedSize) }, "commitment: SHA-256(seed)"},
		"tickets":       {func(a *draw.Audit) { a.Entries[1].Tickets = 3 }, "entry 8: tier dong has 1 tickets in the table, the entry has 3"},
		"witness":       {func(a *draw.Audit) { a.Witness = "4 1 5" }, "key: recomputed"},
		"winner":        {func(a *draw.Audit) { a.Winners[0].EntryID = 999 }, "winner 1: recomputed entry"},
		"entry removed": {func(a *draw.Audit) { a.Entries = a.Entries[:2] }, "entries_count is 3, the file lists 2 entries"},
	} {
		out.Reset()
		err := runDraw([]string{"verify", writeAudit(t, c.mutate)}, &out)
		if !errors.Is(err, errNotValid) || !strings.HasPrefix(out.String(), "INVALID") || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: %v\n%s", name, err, out.String())
		}
	}
	golden, err := filepath.Abs("../../draw/testdata/audit-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runDraw([]string{"verify", golden}, &out); err != nil || !strings.Contains(out.String(), "1500 entries hash to") {
		t.Errorf("an audit file written before it was streamed: %v\n%s", err, out.String())
	}
	notAudit := filepath.Join(t.TempDir(), "other.json")
	if err := os.WriteFile(notAudit, []byte(`{"format":"care360-draw-audit","colour":"red"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runDraw([]string{"verify", notAudit}, &out); err == nil || errors.Is(err, errNotValid) {
		t.Errorf("a file with an unknown field: %v", err)
	}
	if err := runDraw([]string{"verify", filepath.Join(t.TempDir(), "missing.json")}, &out); err == nil {
		t.Error("a missing file verified")
	}
	if err := runDraw([]string{"check", "x"}, &out); !errors.Is(err, errUsage) {
		t.Errorf("a wrong subcommand: %v", err)
	}
}
