package draw

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// WriteAudit writes a as its audit file — exactly the JSON encoding/json
// gives it, then a newline — but with the entries that each emits, in
// that order, in place of a.Entries: a file of millions of entries is
// written as they are read and never held. each nil writes a.Entries.
// The fields keep the order of Audit, so the entries come after
// everything needed to check them as they are read (VerifyStream).
func WriteAudit(w io.Writer, a *Audit, each func(emit func(*Entry) error) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if each == nil && a.Entries == nil {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
		return bw.Flush()
	}
	head := *a
	head.Entries = []Entry{}
	b, err := json.Marshal(&head)
	if err != nil {
		return err
	}
	// Inside JSON strings every quote is escaped, so the mark can only be
	// the entries field itself.
	const mark = `,"entries":[]`
	i := bytes.Index(b, []byte(mark))
	if i < 0 {
		return fmt.Errorf("audit of draw %d: no entries field in %.40q", a.Draw.ID, b)
	}
	bw.Write(b[:i+len(mark)-1])
	buf := make([]byte, 0, 256)
	first := true
	emit := func(e *Entry) error {
		buf = buf[:0]
		if !first {
			buf = append(buf, ',')
		}
		first = false
		_, err := bw.Write(appendEntry(buf, e))
		return err
	}
	if each == nil {
		each = func(emit func(*Entry) error) error {
			for i := range a.Entries {
				if err := emit(&a.Entries[i]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := each(emit); err != nil {
		return err
	}
	bw.Write(b[i+len(mark)-1:])
	bw.WriteByte('\n')
	return bw.Flush()
}

// appendEntry appends e as encoding/json writes an Entry.
func appendEntry(buf []byte, e *Entry) []byte {
	buf = append(buf, `{"id":`...)
	buf = strconv.AppendInt(buf, e.ID, 10)
	buf = append(buf, `,"tier":`...)
	buf = appendString(buf, e.Tier)
	buf = append(buf, `,"tickets":`...)
	buf = strconv.AppendInt(buf, int64(e.Tickets), 10)
	buf = append(buf, `,"msisdn":`...)
	buf = appendString(buf, e.MSISDN)
	buf = append(buf, `,"receipt":`...)
	buf = appendString(buf, e.Receipt)
	return append(buf, '}')
}

// appendString appends s as a JSON string as encoding/json writes it: the
// printable ASCII it needs no escape for as is, anything else through
// encoding/json itself.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// VerifyStream reads an audit file from r and verifies it as Verify does,
// in one pass: when the fields the entries are checked against come
// before them (as WriteAudit and encoding/json order them), each entry is
// checked, digested and ranked as it is read and none is held, so a file
// of any size verifies in bounded memory. The draw key then derives from
// the published digest, and the winners count only if the entries hash to
// it again. A file in another field order is held and verified whole.
// It returns the file without its entries (EntriesCount says how many it
// claims), and err only if r is not an audit file at all.
func VerifyStream(r io.Reader) (a *Audit, diffs []string, err error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	dec.DisallowUnknownFields()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("not a JSON object (%v)", err)
	}
	a = &Audit{}
	fields := map[string]any{
		"format": &a.Format, "algorithm": &a.Algorithm, "draw": &a.Draw, "prizes": &a.Prizes, "tickets": &a.Tickets,
		"commitment": &a.Commitment, "entries_count": &a.EntriesCount, "entries_digest": &a.EntriesDigest,
		"witness": &a.Witness, "seed": &a.Seed, "key": &a.Key, "winners": &a.Winners,
	}
	seen := map[string]bool{}
	var sc *streamCheck
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, _ := t.(string)
		if seen[name] {
			return nil, nil, fmt.Errorf("field %q appears twice", name)
		}
		seen[name] = true
		if name != "entries" {
			f, ok := fields[name]
			if !ok {
				return nil, nil, fmt.Errorf("json: unknown field %q", name)
			}
			if err := dec.Decode(f); err != nil {
				return nil, nil, fmt.Errorf("field %q: %w", name, err)
			}
			continue
		}
		if t, err := dec.Token(); err != nil || (t != json.Delim('[') && t != nil) {
			return nil, nil, fmt.Errorf("field \"entries\": not a list (%v)", err)
		} else if t == nil {
			continue
		}
		sc = startStream(a, seen)
		for dec.More() {
			var e Entry
			if err := dec.Decode(&e); err != nil {
				return nil, nil, fmt.Errorf("entry %d: %w", a.EntriesCount, err)
			}
			if sc != nil {
				sc.add(&e)
			} else {
				a.Entries = append(a.Entries, e)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if sc == nil {
		diffs = Verify(a)
		a.Entries = nil
		return a, diffs, nil
	}
	return a, sc.finish(), nil
}

// streamCheck verifies entries as they are read, once the head of the
// file (everything but the entries and winners) has checked out.
type streamCheck struct {
	a       *Audit
	diffs   []string
	key     [32]byte
	claimed [32]byte
	run     *Drawing
	tickets int // entries whose tickets differ from the table
	err     error
}

// startStream checks the head and starts a streamed check, or returns nil
// when the head is missing a field or malformed: the whole file is then
// held and Verify says what is wrong.
func startStream(a *Audit, seen map[string]bool) *streamCheck {
	for _, f := range []string{"format", "algorithm", "draw", "prizes", "tickets", "commitment", "entries_count", "entries_digest", "witness", "seed"} {
		if !seen[f] {
			return nil
		}
	}
	seed, err := hex.DecodeString(a.Seed)
	digest, derr := hex.DecodeString(a.EntriesDigest)
	if a.Algorithm != Version || err != nil || len(seed) != SeedSize || derr != nil || len(digest) != 32 ||
		CheckPrizes(a.Prizes) != nil || a.EntriesCount < 0 {
		return nil
	}
	sc := &streamCheck{a: a, claimed: [32]byte(digest)}
	add := func(format string, args ...any) { sc.diffs = append(sc.diffs, fmt.Sprintf(format, args...)) }
	if a.Format != Format {
		add("format is %q, want %q", a.Format, Format)
	}
	if got := Commitment(seed); got != a.Commitment {
		add("commitment: SHA-256(seed) is %s, but %s was published", got, a.Commitment)
	}
	sc.key = Key(seed, sc.claimed, a.Witness)
	sc.run, _ = NewDrawing(a.Draw.ID, a.EntriesCount, sc.key, a.Prizes)
	return sc
}

func (sc *streamCheck) add(e *Entry) {
	if sc.err != nil {
		return
	}
	if want, ok := sc.a.Tickets[e.Tier]; !ok || want != e.Tickets {
		if sc.tickets++; sc.tickets <= 20 {
			sc.diffs = append(sc.diffs, fmt.Sprintf("entry %d: tier %s has %d tickets in the table, the entry has %d", e.ID, e.Tier, want, e.Tickets))
		}
	}
	sc.err = sc.run.Add(e)
}

func (sc *streamCheck) finish() []string {
	a := sc.a
	add := func(format string, args ...any) { sc.diffs = append(sc.diffs, fmt.Sprintf(format, args...)) }
	n := sc.run.Count()
	if sc.err != nil {
		add("entries: %v", sc.err)
		a.EntriesCount = n
		return sc.diffs
	}
	if sc.tickets > 20 {
		add("... %d entries' tickets differ from the table in all", sc.tickets)
	}
	if n != a.EntriesCount {
		add("entries_count is %d, the file lists %d entries", a.EntriesCount, n)
		add("entries_digest: %d entries cannot hash to %s, the digest published for %d", n, a.EntriesDigest, a.EntriesCount)
		return sc.diffs
	}
	sum, err := sc.run.Sum()
	if err != nil {
		add("entries: %v", err)
		return sc.diffs
	}
	if sum != sc.claimed {
		add("entries_digest: the entries hash to %s, but %s was published", Hex(sum), a.EntriesDigest)
		add("winners not recomputed: the draw key derives from the entries digest")
		return sc.diffs
	}
	if a.Key != "" && a.Key != Hex(sc.key) {
		add("key: recomputed %s, the file says %s", Hex(sc.key), a.Key)
	}
	return append(sc.diffs, compareWinners(sc.run.Winners(), a.Winners)...)
}
