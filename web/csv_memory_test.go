package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// childDB names the database of the server process the memory test
// starts: this test binary again, serving the API until its stdin closes.
const childDB = "CARE360_TEST_CSV_CHILD_DB"

// A do-not-call upload of 5,000,000 rows with a 50 MiB line in the middle
// is read in bounded memory: the serving process's peak resident set stays
// under 200 MB, every row is reported and the long line is one rejected
// row with its line number (PRODUCT.md §9). The rows are 1,000,000 numbers
// five times over, as when this month's national list is imported over
// last month's: the same work in the gateway, half the time in Postgres.
func TestCSVUploadMemoryBounded(t *testing.T) {
	if url := os.Getenv(childDB); url != "" {
		serveChild(t, url)
		return
	}
	if testing.Short() || raceEnabled {
		t.Skip("measures a real process's memory: not in -short, nor under the race detector (which multiplies it)")
	}
	t.Parallel()
	const rows, distinct, longAt, longSize = 5_000_000, 1_000_000, 2_500_000, 50 << 20
	cmd := exec.Command(os.Args[0], "-test.run=^TestCSVUploadMemoryBounded$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDB+"="+pgtest.FreshDB(t))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	var addr string
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		if a, ok := strings.CutPrefix(sc.Text(), "serving on "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatal("the server process did not start")
	}
	go io.Copy(io.Discard, stdout)
	before := peakRSS(t, cmd.Process.Pid)

	body, w := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.WriteString("msisdn\n")
		for i := range rows {
			if i == longAt {
				for range longSize / 4096 {
					bw.WriteString(strings.Repeat("9", 4096))
				}
				bw.WriteString("\n")
			}
			fmt.Fprintf(bw, "09%08d\n", i%distinct)
		}
		bw.Flush()
		w.Close()
	}()
	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/dnc:import", body)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 1<<20)
	head, _ := br.Peek(80)
	m := regexp.MustCompile(`^\{"accepted":(\d+),"duplicate":(\d+),"rejected":(\d+),"rows":\[`).FindSubmatch(head)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("%d %s", resp.StatusCode, head)
	}
	long := fmt.Sprintf(`{"row":%[1]d,"msisdn":"","result":"rejected","reason":"line %[1]d is longer than 64 KiB"}`, longAt+2)
	found, n, err := containsStream(br, []byte(long))
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	peak := peakRSS(t, cmd.Process.Pid)
	t.Logf("%d rows and a %d MiB line in %v; report %d MB; server peak RSS %d MB (%d MB before the upload)",
		rows, longSize>>20, took.Round(time.Second), n>>20, peak>>20, before>>20)
	a, _ := strconv.Atoi(string(m[1]))
	d, _ := strconv.Atoi(string(m[2]))
	if a != distinct || d != rows-distinct || string(m[3]) != "1" || !found {
		t.Fatalf("report %s; long line reported: %v", head, found)
	}
	if peak >= 200<<20 {
		t.Fatalf("peak RSS %d MB, over 200 MB", peak>>20)
	}
}

// serveChild is the server process: the API on the given database on a
// loopback port it prints, until stdin closes.
func serveChild(t *testing.T, url string) {
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sms := store.NewSMS(db, care360.SMSRules{})
	srv := web.NewServer(web.Config{AdminToken: testToken, Subscribers: db, Points: db,
		SMS: &web.SMSConfig{Messages: sms, Campaigns: sms, DNC: sms}, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(ln, srv.Handler())
	fmt.Printf("serving on %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
}

// peakRSS is a process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(ln, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// containsStream reads r to its end and reports whether needle occurs in
// it, holding only a window of it; n is how many bytes were read.
func containsStream(r io.Reader, needle []byte) (found bool, n int64, err error) {
	buf := make([]byte, 0, 1<<20+len(needle))
	chunk := make([]byte, 1<<20)
	for {
		k, err := r.Read(chunk)
		n += int64(k)
		buf = append(buf, chunk[:k]...)
		if !found && bytes.Contains(buf, needle) {
			found = true
		}
		if len(buf) > len(needle) {
			buf = append(buf[:0], buf[len(buf)-len(needle):]...)
		}
		if err == io.EOF {
			return found, n, nil
		}
		if err != nil {
			return found, n, err
		}
	}
}
