package draw_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360/draw"
)

// golden is an audit file written before the audit file was streamed and
// the draw ran in one pass (testdata/audit-v1.json: 1,500 entries, 36
// prizes): it must verify, both ways, with the same winners, for as long
// as the algorithm is care360-draw-v1.
func golden(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/audit-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenAuditStillVerifies(t *testing.T) {
	t.Parallel()
	raw := golden(t)
	var a draw.Audit
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if d := draw.Verify(&a); len(d) != 0 {
		t.Fatalf("Verify: %q", d)
	}
	head, d, err := draw.VerifyStream(bytes.NewReader(raw))
	if err != nil || len(d) != 0 {
		t.Fatalf("VerifyStream: %q, %v", d, err)
	}
	if head.EntriesCount != 1500 || len(head.Winners) != 36 || head.Entries != nil {
		t.Fatalf("VerifyStream head: %d entries, %d winners, %d entries held", head.EntriesCount, len(head.Winners), len(head.Entries))
	}
	// The one-pass draw picks the same winners from the same entries.
	key := mustKey(t, a.Key)
	run, err := draw.NewDrawing(a.Draw.ID, len(a.Entries), key, a.Prizes)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Entries {
		if err := run.Add(&a.Entries[i]); err != nil {
			t.Fatal(err)
		}
	}
	if sum, err := run.Sum(); err != nil || draw.Hex(sum) != a.EntriesDigest {
		t.Fatalf("one-pass digest %x, %v; want %s", sum, err, a.EntriesDigest)
	}
	if diff := cmp.Diff(a.Winners, run.Winners()); diff != "" {
		t.Fatalf("one-pass winners (-file +recomputed):\n%s", diff)
	}
	// Written again, it is the same file, byte for byte.
	var out bytes.Buffer
	if err := draw.WriteAudit(&out, &a, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), raw) {
		t.Fatal("WriteAudit does not write the file it read")
	}
}

func mustKey(t *testing.T, s string) [32]byte {
	t.Helper()
	var k [32]byte
	if n, err := hexDecode(k[:], s); err != nil || n != 32 {
		t.Fatalf("key %q: %v", s, err)
	}
	return k
}

// WriteAudit with entries streamed writes what encoding/json writes, also
// for text that JSON escapes.
func TestWriteAuditIsEncodingJSON(t *testing.T) {
	t.Parallel()
	a := audit(t, 300, "3 5 6")
	a.Entries[5].Receipt = `a"b\c<d>&e`
	a.Entries[6].Tier = "bạc"
	a.Draw.Name = `Tết "2027" ,"entries":[]`
	want, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	var got bytes.Buffer
	err = draw.WriteAudit(&got, a, func(emit func(*draw.Entry) error) error {
		for i := range a.Entries {
			if err := emit(&a.Entries[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("streamed:\n%.600s\nencoding/json:\n%.600s", got.String(), want)
	}
	for _, a := range []*draw.Audit{{Entries: nil}, {Entries: []draw.Entry{}}} {
		want, _ := json.Marshal(a)
		var got bytes.Buffer
		if err := draw.WriteAudit(&got, a, nil); err != nil || got.String() != string(want)+"\n" {
			t.Errorf("WriteAudit %q, %v; want %s", got.String(), err, want)
		}
	}
}

// VerifyStream catches every change Verify catches, and finds a good file
// good, whatever the order of its fields.
func TestVerifyStreamCatchesWhatVerifyCatches(t *testing.T) {
	t.Parallel()
	for name, mutate := range mutations() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := roundTrip(t, audit(t, 500, "3 5 6 1 2"))
			mutate(a)
			raw, _ := json.Marshal(a)
			_, d, err := draw.VerifyStream(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if len(d) == 0 {
				t.Fatal("the change went unnoticed")
			}
		})
	}
	t.Run("entries first", func(t *testing.T) {
		t.Parallel()
		a := audit(t, 200, "1")
		es, _ := json.Marshal(a.Entries)
		rest, _ := json.Marshal(a)
		raw := `{"entries":` + string(es) + "," + strings.Replace(string(rest[1:]), `"entries":`+string(es)+",", "", 1)
		head, d, err := draw.VerifyStream(strings.NewReader(raw))
		if err != nil || len(d) != 0 || head.EntriesCount != 200 {
			t.Fatalf("%q, %v", d, err)
		}
		a.Entries[3].Tickets++
		es, _ = json.Marshal(a.Entries)
		rest, _ = json.Marshal(a)
		raw = `{"entries":` + string(es) + "," + strings.Replace(string(rest[1:]), `"entries":`+string(es)+",", "", 1)
		if _, d, err := draw.VerifyStream(strings.NewReader(raw)); err != nil || len(d) == 0 {
			t.Fatalf("a changed entry, entries first: %q, %v", d, err)
		}
	})
	t.Run("not an audit file", func(t *testing.T) {
		t.Parallel()
		for _, raw := range []string{`[]`, `{"format":"x","extra":1}`, `{"entries":[{"id":1,"colour":"red"}]}`, `{"format":`, `{"entries":[],"entries":[]}`} {
			if _, _, err := draw.VerifyStream(strings.NewReader(raw)); err == nil {
				t.Errorf("%s: accepted", raw)
			}
		}
	})
}

func hexDecode(dst []byte, s string) (int, error) { return hex.Decode(dst, []byte(s)) }

// A large draw is checked on every CPU: an entry out of order or with
// tickets that differ from the table is found wherever it falls,
// including the first entry of the second share.
func TestLargeAuditChecksEveryEntry(t *testing.T) {
	t.Parallel()
	a := audit(t, 70_000, "9")
	if d := draw.Verify(a); len(d) != 0 {
		t.Fatalf("a good large file: %q", d)
	}
	for _, i := range []int{0, 34_999, 35_000, 69_999} {
		b := *a
		b.Entries = append([]draw.Entry(nil), a.Entries...)
		b.Entries[i].Tickets = 7
		d := draw.Verify(&b)
		if len(d) == 0 || !strings.Contains(d[0], "entry "+strconv.FormatInt(b.Entries[i].ID, 10)+": tier") {
			t.Errorf("tickets of entry %d: %q", i, d)
		}
		if i > 0 {
			b.Entries[i].Tickets, b.Entries[i].ID = a.Entries[i].Tickets, b.Entries[i-1].ID
			if d := draw.Verify(&b); len(d) == 0 || !strings.Contains(d[len(d)-1], "strictly increasing") {
				t.Errorf("id of entry %d: %q", i, d)
			}
		}
	}
}

// An audit file far larger than the memory the verifier uses is written
// and verified as a stream, neither side holding its entries: the heap
// in use stays a fraction of the file's size throughout.
// (Not parallel: the heap is the whole process's.)
func TestStreamedAuditInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and verifies a 34 MB file")
	}
	const n = 400_000
	gen := func(emit func(*draw.Entry) error) error {
		var e draw.Entry
		for i := range n {
			e = draw.Entry{ID: int64(5 + 2*i), Tier: tiers[i%len(tiers)], Tickets: table[tiers[i%len(tiers)]],
				MSISDN: "********" + strconv.Itoa(100+i%900), Receipt: strconv.FormatInt(int64(1e9+i*7919), 16)[:8]}
			if err := emit(&e); err != nil {
				return err
			}
		}
		return nil
	}
	seed := bytes.Repeat([]byte{3}, draw.SeedSize)
	prizes := []draw.Prize{{Rank: 1, Name: "Xe may", Quantity: 3}, {Rank: 2, Name: "Voucher", Quantity: 50}}
	dg := draw.NewDigester(8, n)
	if err := gen(dg.Add); err != nil {
		t.Fatal(err)
	}
	digest, err := dg.Sum()
	if err != nil {
		t.Fatal(err)
	}
	key := draw.Key(seed, digest, "1 2")
	run, err := draw.NewDrawing(8, n, key, prizes)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen(run.Add); err != nil {
		t.Fatal(err)
	}
	a := &draw.Audit{Format: draw.Format, Algorithm: draw.Version, Draw: draw.DrawInfo{ID: 8, Status: "drawn"}, Prizes: prizes,
		Tickets: table, Commitment: draw.Commitment(seed), EntriesCount: n, EntriesDigest: draw.Hex(digest),
		Witness: "1 2", Seed: hex.EncodeToString(seed), Key: draw.Hex(key), Winners: run.Winners()}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	pr, pw := io.Pipe()
	written := make(chan int64, 1)
	go func() {
		cw := &counter{w: pw}
		pw.CloseWithError(draw.WriteAudit(cw, a, gen))
		written <- cw.n
	}()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	head, diffs, err := draw.VerifyStream(pr)
	close(stop)
	<-sampled
	size := <-written
	if err != nil || len(diffs) != 0 || head.EntriesCount != n {
		t.Fatalf("VerifyStream: %q, %v", diffs, err)
	}
	if grew := int64(peak.Load()) - int64(base.HeapInuse); grew > size/4 {
		t.Fatalf("the heap grew by %d bytes for a file of %d", grew, size)
	} else {
		t.Logf("file %d bytes, heap grew by at most %d", size, grew)
	}
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
