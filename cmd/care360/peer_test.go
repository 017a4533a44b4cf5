package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
)

// peerDir is the independent USSD centre (node-smpp), relative to this
// package's directory.
const peerDir = "../../peer"

// peerEvent is one JSON line of peer/ussdc.js.
type peerEvent struct {
	Event       string  `json:"event"`
	Error       string  `json:"error"`
	Port        int     `json:"port"`
	Step        int     `json:"step"`
	Dialogue    string  `json:"dialogue"`
	MSISDN      string  `json:"msisdn"`
	Op          int     `json:"op"`
	SessionInfo *string `json:"session_info"`
	UMR         *int    `json:"umr"`
	DataCoding  int     `json:"data_coding"`
	Text        string  `json:"text"`
	Seq         uint32  `json:"seq"`
	Status      int     `json:"status"`
	Screens     int     `json:"screens"`
	EnquireLink int     `json:"enquire_links"`
	Unbound     bool    `json:"unbound"`

	line string
}

// peerScreen is what the subscriber of one dialogue sees, as the peer decoded
// it, plus the session fields of the submit_sm that carried it.
type peerScreen struct {
	Dialogue    string
	MSISDN      string // destination_addr of our submit_sm
	Op          int    // 2 continue, 17 end
	SessionInfo string // its_session_info in hex, "" if absent
	UMR         int    // user_message_reference, -1 if absent
	DataCoding  int
	Text        string
}

func (s peerScreen) String() string {
	return fmt.Sprintf("%s to %s op %d its %q umr %d dc 0x%02x\n%s", s.Dialogue, s.MSISDN, s.Op, s.SessionInfo, s.UMR, s.DataCoding, s.Text)
}

// lockedBuffer collects the peer's stderr (its PDU trace) from the exec
// goroutine while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// peerProcess is a running peer/ussdc.js.
type peerProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	events chan peerEvent // closed at EOF of its stdout
	exited chan struct{}
	err    error // of Wait, after exited
}

// needPeer finds node and the peer's node_modules, or skips (fails in CI).
func needPeer(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		msg := "independent SMPP peer unavailable: " + what + "; run `npm ci --prefix peer` (Node.js and npm needed, see .ci/run)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " — CI is set, so this is a failure, not a skip")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no `node` on PATH")
	}
	if _, err := os.Stat(filepath.Join(peerDir, "node_modules", "smpp", "package.json")); err != nil {
		missing("peer/node_modules/smpp is not installed")
	}
	return node
}

// startPeer runs the peer on a scenario and waits until it listens.
func startPeer(t *testing.T, node string, scenario any) (*peerProcess, string) {
	t.Helper()
	raw, err := json.MarshalIndent(scenario, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scenario.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	p := &peerProcess{stderr: &lockedBuffer{}, events: make(chan peerEvent, 256), exited: make(chan struct{})}
	p.cmd = exec.Command(node, filepath.Join(peerDir, "ussdc.js"), "--scenario", path, "--port", "0", "--wait-stdin", "--trace")
	p.cmd.Stderr = p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev peerEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = peerEvent{Event: "garbage", Error: err.Error()}
			}
			ev.line = sc.Text()
			p.events <- ev
		}
		close(p.events)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("peer stderr (PDU trace: < from the gateway, > to the gateway):\n%s", p.stderr.String())
		}
	})
	ev := p.next(t, 10*time.Second)
	if ev.Event != "listening" || ev.Port == 0 {
		t.Fatalf("peer: want a listening line, got %s", ev.line)
	}
	return p, fmt.Sprintf("127.0.0.1:%d", ev.Port)
}

// next returns the peer's next line; a fail line, EOF or the timeout fail
// the test.
func (p *peerProcess) next(t *testing.T, timeout time.Duration) peerEvent {
	t.Helper()
	select {
	case ev, ok := <-p.events:
		if !ok {
			<-p.exited
			t.Fatalf("peer exited early (%v): %s", p.err, p.stderr.String())
		}
		if ev.Event == "fail" || ev.Event == "garbage" {
			t.Fatalf("peer: %s %s", ev.Event, ev.Error)
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("peer: no line within %s", timeout)
	}
	panic("unreachable")
}

// startOnPeer runs Main (as `care360 serve` runs it) against the SMSC at
// addr, with a fast enquire_link so the peer sees the keep-alive too.
func startOnPeer(t *testing.T, addr string) *harness {
	t.Helper()
	vars := map[string]string{
		"CARE360_DATABASE_URL": pgtest.DB(t),
		"CARE360_SMPP_ADDR":    addr,
		"CARE360_HTTP_ADDR":    "127.0.0.1:0",
		"CARE360_ADMIN_TOKEN":  testToken,
	}
	cfg, err := LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Binds {
		cfg.Binds[i].EnquireLink = 150 * time.Millisecond
	}
	m := &Main{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return &harness{m: m, base: "http://" + m.HTTPAddr()}
}

// TestPeerUSSDC drives real USSD dialogues against the gateway from a USSD
// centre written with another SMPP implementation (node-smpp, peer/ussdc.js),
// so that a mistake our own simulator shares with the gateway cannot hide.
// The peer checks every PDU against PRODUCT.md §3.1 and fails on any
// surprise; this test checks what the subscriber sees.
func TestPeerUSSDC(t *testing.T) {
	t.Parallel()
	node := needPeer(t)

	scenario := map[string]any{
		"expect_enquire_link": 1,
		"expect_unbind":       true,
		"enquire_link_ms":     200,
		"silence_ms":          600,
		"dialogues": map[string]any{
			// its_session_info, GSM-7: the main menu, then the points screen, which ends.
			"points": map[string]any{"msisdn": "84903444001", "its_session": 7},
			// vi-unicode: UCS-2 screens, an answer typed in UCS-2, pagination.
			"unicode": map[string]any{"msisdn": "84903444002", "its_session": 9},
			// user_message_reference only, a national-format source_addr
			// (TON 2): the reply goes to it exactly as received.
			"umr": map[string]any{"msisdn": "0903444003", "ton": 2, "npi": 1, "umr": 0x0A0B},
			// op 32 network abort: no reply, and the dialogue is gone.
			"abort": map[string]any{"msisdn": "84903444004", "its_session": 3},
			// its_session_info end bit on an op 18: an abort too.
			"endbit": map[string]any{"msisdn": "84903444005", "its_session": 4},
			// sequence-number collision: the peer's deliver_sm reuses the
			// sequence number of the gateway's submit_sm still unanswered.
			"held":    map[string]any{"msisdn": "84903444006", "its_session": 200},
			"collide": map[string]any{"msisdn": "84903444007", "its_session": 201},
			// PDUs the gateway must refuse, or acknowledge and ignore,
			// without losing the dialogue.
			"bad": map[string]any{"msisdn": "84903444008", "its_session": 12},
		},
		"steps": []map[string]any{
			{"d": "points", "dial": "*090#"},
			// the SMSC is busy twice: the gateway must send the same screen again
			{"d": "points", "answer": "1", "refuse": []int{0x58, 0x14}},

			{"d": "unicode", "dial": "*090#"},
			{"d": "unicode", "answer": "1", "data_coding": 8},
			{"d": "unicode", "answer": "99", "data_coding": 0},
			{"d": "unicode", "answer": "99", "data_coding": 1},

			{"d": "umr", "dial": "*090#"},
			{"d": "umr", "answer": "1"},

			{"d": "abort", "dial": "*090#"},
			{"d": "abort", "abort": true, "op": 32},
			{"d": "abort", "answer": "1"},

			{"d": "endbit", "dial": "*090#"},
			{"d": "endbit", "abort": true, "op": 18, "end_bit": true, "text": "1"},

			{"d": "held", "dial": "*090#", "hold": true},
			{"d": "collide", "dial": "*090#", "seq": "held"},
			{"d": "held", "answer": "1"},
			{"d": "collide", "answer": "1"},

			// its_session_info of 1 octet: ESME_RINVOPTPARSTREAM, no screen
			{"d": "bad", "dial": "*090#", "its_session_info": "0c", "expect_status": 0xC0, "silence_ms": 400},
			// an unknown TLV is no reason to refuse
			{"d": "bad", "dial": "*090#", "tlvs": map[string]string{"0x1501": "0102"}},
			// UCS-2 of odd length: ESME_RINVMSGLEN, no screen
			{"d": "bad", "answer": "1", "data_coding": 8, "short_message_hex": "0031ff", "expect_status": 0x01, "silence_ms": 400},
			// op 19 is acknowledged and ignored
			{"d": "bad", "abort": true, "op": 19, "text": "x", "silence_ms": 400},
			// and the dialogue is still there
			{"d": "bad", "answer": "1"},
		},
	}
	peer, addr := startPeer(t, node, scenario)
	h := startOnPeer(t, addr)
	if ev := peer.next(t, 15*time.Second); ev.Event != "bound" {
		t.Fatalf("peer: want bound, got %s", ev.line)
	}
	h.member(t, "0903444001", map[string]any{"name": "Peer Points"}, 12345, 500)
	h.member(t, "0903444002", map[string]any{"name": "Peer Unicode", "language": "vi-unicode"}, 5000, 0)
	h.member(t, "0903444003", map[string]any{"name": "Peer UMR"}, 2500, 0)
	for _, n := range []string{"0903444004", "0903444005", "0903444006", "0903444007", "0903444008"} {
		h.member(t, n, map[string]any{"name": "Peer"}, 100, 0)
	}
	if _, err := io.WriteString(peer.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}

	var got []peerScreen
	silent := map[int]int{} // step → deliver_sm_resp status of a step that must get no screen
	refused := 0
	collided := false
	for done := false; !done; {
		ev := peer.next(t, 30*time.Second)
		switch ev.Event {
		case "screen":
			s := peerScreen{Dialogue: ev.Dialogue, MSISDN: ev.MSISDN, Op: ev.Op, UMR: -1, DataCoding: ev.DataCoding, Text: ev.Text}
			if ev.SessionInfo != nil {
				s.SessionInfo = *ev.SessionInfo
			}
			if ev.UMR != nil {
				s.UMR = *ev.UMR
			}
			got = append(got, s)
		case "silence":
			silent[ev.Step] = ev.Status
		case "refused":
			refused++
		case "collision":
			collided = true
		case "steps_done":
			done = true
		default:
			t.Fatalf("peer: unexpected line %s", ev.line)
		}
	}
	// The gateway leaves politely: the peer wants an unbind before it exits 0.
	if err := h.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ev := peer.next(t, 15*time.Second); ev.Event != "done" || !ev.Unbound || ev.EnquireLink < 1 {
		t.Fatalf("peer: want done after an unbind and enquire_links, got %s", ev.line)
	}
	select {
	case <-peer.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("peer did not exit")
	}
	if peer.err != nil {
		t.Fatalf("peer exited with %v", peer.err)
	}

	expiry := care360.Expiry(time.Now(), h.m.Config.Location).Format("02/01/2006")
	const menu = "MobiFone Care360\n1. Diem & hang hoi vien\n2. Qua tang\n3. Boc tham & Quay so\n4. Uu dai mConnect\n5. Dac quyen VIP\n6. Nghi duong he\n7. Tang diem\n8. Ngon ngu/Language"
	const ended = "Phien da ket thuc. Vui long bam lai *090#."
	dong := "Hang: Dong\nDiem kha dung: 100\nDiem xet hang: 100\nSap het han: 100 diem ngay " + expiry + "\nCan 1.900 diem de len Bac"
	gsm, ucs2 := 0x00, 0x08
	want := []peerScreen{
		{"points", "84903444001", 2, "0700", -1, gsm, menu},
		{"points", "84903444001", 17, "0703", -1, gsm, "Hang: Vang\nDiem kha dung: 12.845\nDiem xet hang: 12.345\nSap het han: 12.845 diem ngay " + expiry + "\nCan 7.655 diem de len Kim cuong"},

		{"unicode", "84903444002", 2, "0900", -1, ucs2, "MobiFone Care360\n1. Điểm & hạng hội viên\n2. Quà tặng\n99. Xem thêm"},
		{"unicode", "84903444002", 2, "0902", -1, ucs2, "Hạng: Titan\nĐiểm khả dụng: 5.000\nĐiểm xét hạng: 5.000\n99. Xem thêm\n0. Quay lại"},
		{"unicode", "84903444002", 2, "0904", -1, ucs2, "Sắp hết hạn: 5.000 điểm ngày " + expiry + "\n99. Xem thêm\n0. Quay lại"},
		{"unicode", "84903444002", 17, "0907", -1, ucs2, "Cần 5.000 điểm để lên Vàng"},

		{"umr", "0903444003", 2, "", 0x0A0B, gsm, menu},
		{"umr", "0903444003", 17, "", 0x0A0B, gsm, "Hang: Bac\nDiem kha dung: 2.500\nDiem xet hang: 2.500\nSap het han: 2.500 diem ngay " + expiry + "\nCan 2.500 diem de len Titan"},

		{"abort", "84903444004", 2, "0300", -1, gsm, menu},
		// after the op 32 abort (its 0302), an answer finds no dialogue
		{"abort", "84903444004", 17, "0305", -1, gsm, ended},

		{"endbit", "84903444005", 2, "0400", -1, gsm, menu},

		{"held", "84903444006", 2, "c800", -1, gsm, menu},
		{"collide", "84903444007", 2, "c900", -1, gsm, menu},
		{"held", "84903444006", 17, "c803", -1, gsm, dong},
		{"collide", "84903444007", 17, "c903", -1, gsm, dong},

		{"bad", "84903444008", 2, "0c02", -1, gsm, menu},
		{"bad", "84903444008", 17, "0c09", -1, gsm, dong},
	}
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			t.Errorf("screen %d missing; want\n%s", i, want[i])
		case i >= len(want):
			t.Errorf("screen %d unexpected:\n%s", i, got[i])
		case got[i] != want[i]:
			t.Errorf("screen %d:\n--- got\n%s\n--- want\n%s", i, got[i], want[i])
		}
	}
	// steps (by index in the scenario) that must get no screen, with the
	// deliver_sm_resp status each must get
	wantSilent := map[int]int{9: 0, 12: 0, 17: 0xC0, 19: 0x01, 20: 0}
	if fmt.Sprint(silent) != fmt.Sprint(wantSilent) {
		t.Errorf("steps without a screen (step:status) %v, want %v", silent, wantSilent)
	}
	if refused != 2 {
		t.Errorf("the peer refused %d screens, want 2", refused)
	}
	if !collided {
		t.Error("the peer reported no sequence-number collision")
	}
}
