package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
)

// TestResponseMatchingIgnoresRequestsWithSameSequence is go-smpp issue #87:
// the SMSC numbers its PDUs independently, so a deliver_sm may carry the very
// sequence number of our pending submit_sm. It must reach the handler, and
// the submit must still get its own response.
func TestResponseMatchingIgnoresRequestsWithSameSequence(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer peer.Close()
	l := newLink(ours, 4, time.Second, 2*time.Second, slog.New(slog.DiscardHandler))
	got := make(chan pdu.Body, 1)
	l.handle = func(_ *link, p pdu.Body) { got <- p }
	go l.readLoop()
	defer l.close(nil)

	result := make(chan pdu.Body, 1)
	go func() {
		p := pdu.NewSubmitSM(nil)
		p.Fields().Set(pdufield.DestinationAddr, "84903123456")
		r, err := l.request(context.Background(), p)
		if err != nil {
			t.Error(err)
		}
		result <- r
	}()
	// The peer reads our submit_sm, then sends a deliver_sm with the same
	// sequence number before answering.
	sub, err := pdu.Decode(peer)
	if err != nil {
		t.Fatal(err)
	}
	seq := sub.Header().Seq
	dsm := pdu.NewDeliverSM()
	dsm.Header().Seq = seq
	dsm.Fields().Set(pdufield.SourceAddr, "84903123456")
	dsm.Fields().Set(pdufield.ShortMessage, "*090#")
	writePDU(t, peer, dsm)
	select {
	case p := <-got:
		if p.Header().ID != pdu.DeliverSMID || p.Header().Seq != seq {
			t.Fatalf("handler got %s seq %d", p.Header().ID, p.Header().Seq)
		}
	case r := <-result:
		t.Fatalf("the deliver_sm was taken as the submit's response: %v", r.Header())
	case <-time.After(2 * time.Second):
		t.Fatal("deliver_sm never reached the handler")
	}
	resp := pdu.NewSubmitSMResp()
	resp.Header().Seq = seq
	resp.Fields().Set(pdufield.MessageID, "m1")
	writePDU(t, peer, resp)
	r := <-result
	if r == nil || r.Header().ID != pdu.SubmitSMRespID || r.Fields()[pdufield.MessageID].String() != "m1" {
		t.Fatalf("submit got %v", r)
	}
}

// TestWindowBlocksInsteadOfFailing checks back-pressure: with a window of one,
// a second request waits for the first's response rather than failing.
func TestWindowBlocksInsteadOfFailing(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer peer.Close()
	l := newLink(ours, 1, time.Second, 5*time.Second, slog.New(slog.DiscardHandler))
	go l.readLoop()
	defer l.close(nil)

	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := l.request(context.Background(), pdu.NewEnquireLink())
			done <- err
		}()
	}
	first, err := pdu.Decode(peer)
	if err != nil {
		t.Fatal(err)
	}
	// The second request must not be on the wire yet.
	peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := pdu.Decode(peer); err == nil {
		t.Fatal("second request sent while the window was full")
	}
	peer.SetReadDeadline(time.Time{})
	writeResp(t, peer, first)
	second, err := pdu.Decode(peer)
	if err != nil {
		t.Fatal(err)
	}
	writeResp(t, peer, second)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A request whose caller stops waiting is still outstanding: its PDU is on
// the wire until the peer answers it, its response timeout passes or the
// link goes, and it keeps its window slot that long. Callers with a short
// deadline (a push waits a dialogue step's 2 s) freed their slots as they
// gave up, so a peer that had stopped answering (a frozen SMSC) was sent a
// window more every 2 s, all of it shown on the phones when the SMSC woke:
// 29 pushes shown twice in a 10 s freeze, against one window per link
// (PRODUCT.md §8).
func TestAbandonedRequestsKeepTheirWindowSlots(t *testing.T) {
	t.Parallel()
	const window = 3
	// The peer takes every PDU and answers none, until told to.
	l, peer, got := linkToSilentPeer(t, window, 5*time.Second)
	// Screens and bulk SMS whose callers give up after 30 ms, for half a
	// second: well within the response timeout.
	stopAt := time.Now().Add(500 * time.Millisecond)
	for i := 0; time.Now().Before(stopAt); i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		if i%2 == 0 {
			l.request(ctx, pdu.NewSubmitSM(nil))
		} else {
			l.requestBefore(ctx, pdu.NewSubmitSM(nil), time.Time{}, nil)
		}
		cancel()
	}
	if n := len(got); n > window {
		t.Fatalf("%d requests went to a peer that answered none, with a window of %d", n, window)
	}
	// The peer answers what it holds: the slots come back, and the next
	// request goes out and is answered.
	for range len(got) {
		writeResp(t, peer, <-got)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := l.request(ctx, pdu.NewEnquireLink())
		done <- err
	}()
	select {
	case p := <-got:
		writeResp(t, peer, p)
	case <-time.After(2 * time.Second):
		t.Fatal("no request went out once the peer had answered the ones it held")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Once a request has timed out with nothing heard from the peer, the link
// is suspect and probed (TestSilentPeerDropsLink); until the probe is
// answered or the link given up, nothing new goes on that wire. Slots freed
// by the timeouts let a second window go to a peer that had stopped
// answering, which a freeze longer than the response timeout acted on when
// it woke.
func TestNothingNewGoesToAPeerBeingProbed(t *testing.T) {
	t.Parallel()
	const window = 2
	l, _, got := linkToSilentPeer(t, window, 300*time.Millisecond)
	// Callers that wait for as long as it takes, one after another, until
	// the link is given up (after about two response timeouts).
	for range 4 {
		go func() {
			for {
				select {
				case <-l.done:
					return
				default:
				}
				l.request(context.Background(), pdu.NewSubmitSM(nil))
			}
		}()
	}
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the link to a silent peer was not given up")
	}
	submits := 0
	for p := range got { // until the peer sees the link closed
		if p.Header().ID == pdu.SubmitSMID {
			submits++
		}
	}
	if submits > window {
		t.Fatalf("%d submit_sm went to a peer that answered none, with a window of %d", submits, window)
	}
}

// linkToSilentPeer is a link with window over a pipe whose peer reads every
// PDU, hands it to got (closed when the pipe is) and answers none: the
// test answers what it wants to.
func linkToSilentPeer(t *testing.T, window int, respTimeout time.Duration) (*link, net.Conn, <-chan pdu.Body) {
	t.Helper()
	ours, peer := net.Pipe()
	t.Cleanup(func() { peer.Close() })
	l := newLink(ours, window, time.Second, respTimeout, slog.New(slog.DiscardHandler))
	go l.readLoop()
	t.Cleanup(func() { l.close(nil) })
	got := make(chan pdu.Body, 1000)
	go func() {
		defer close(got)
		for {
			p, err := pdu.Decode(peer)
			if err != nil {
				return
			}
			got <- p
		}
	}()
	return l, peer, got
}

func writeResp(t *testing.T, w net.Conn, req pdu.Body) {
	t.Helper()
	r := pdu.NewEnquireLinkResp()
	r.Header().Seq = req.Header().Seq
	writePDU(t, w, r)
}

func writePDU(t *testing.T, w net.Conn, p pdu.Body) {
	t.Helper()
	var b bytes.Buffer
	if err := p.SerializeTo(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// A peer that takes our PDUs but never answers anything (an SMSC frozen, a
// half-open TCP connection) is given up as soon as a request times out with
// nothing heard from it meanwhile, not at the next enquire_link: the bind
// then rebinds and no more messages are put on a dead wire.
func TestSilentPeerDropsLink(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer peer.Close()
	go io.Copy(io.Discard, peer)
	l := newLink(ours, 4, time.Second, 200*time.Millisecond, slog.New(slog.DiscardHandler))
	go l.readLoop()
	defer l.close(nil)
	if _, err := l.request(context.Background(), pdu.NewEnquireLink()); err == nil {
		t.Fatal("a request to a silent peer was answered")
	}
	// Its probe (an enquire_link) goes unanswered too: the link goes.
	select {
	case <-l.done:
	case <-time.After(2 * time.Second):
		t.Fatal("the link stays up although the peer has said nothing for two response timeouts")
	}
}

// A peer that is slow to answer one request but still talks (it answers
// others) keeps the link: only silence drops it.
func TestSlowAnswerKeepsTalkingLink(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer peer.Close()
	l := newLink(ours, 4, time.Second, 300*time.Millisecond, slog.New(slog.DiscardHandler))
	go l.readLoop()
	defer l.close(nil)
	// The peer answers every enquire_link at once and nothing else.
	go func() {
		for {
			p, err := pdu.Decode(peer)
			if err != nil {
				return
			}
			if p.Header().ID == pdu.EnquireLinkID {
				r := pdu.NewEnquireLinkResp()
				r.Header().Seq = p.Header().Seq
				var b bytes.Buffer
				r.SerializeTo(&b)
				if _, err := peer.Write(b.Bytes()); err != nil {
					return
				}
			}
		}
	}()
	go func() {
		for range 6 {
			l.request(context.Background(), pdu.NewEnquireLink())
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if _, err := l.request(context.Background(), pdu.NewSubmitSM(nil)); err == nil {
		t.Fatal("the unanswered submit_sm got an answer")
	}
	select {
	case <-l.done:
		t.Fatalf("a peer that answers was dropped: %v", l.err)
	default:
	}
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// Requests that arrive together are answered together: the answers to
// PDUs the read loop already holds share one write, as each write costs
// the gateway and the SMSC a system call and a wake-up. A PDU whose rest
// has not arrived holds nothing back.
func TestAnswersToRequestsInHandShareAWrite(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer peer.Close()
	counted := &countingConn{Conn: ours}
	l := newLink(counted, 4, time.Second, 2*time.Second, slog.New(slog.DiscardHandler))
	go l.readLoop()
	defer l.close(nil)

	var burst bytes.Buffer
	for i := range 5 {
		p := pdu.NewEnquireLink()
		p.Header().Seq = uint32(100 + i)
		if err := p.SerializeTo(&burst); err != nil {
			t.Fatal(err)
		}
	}
	next := pdu.NewEnquireLink()
	next.Header().Seq = 200
	var rest bytes.Buffer
	if err := next.SerializeTo(&rest); err != nil {
		t.Fatal(err)
	}
	// Five whole enquire_links and the first half of a sixth, in one write.
	if _, err := peer.Write(append(burst.Bytes(), rest.Bytes()[:8]...)); err != nil {
		t.Fatal(err)
	}
	readAnswers(t, peer, pdu.EnquireLinkRespID, 100, 5)
	if n := counted.writes.Load(); n != 1 {
		t.Errorf("five answers took %d writes, want 1", n)
	}
	if _, err := peer.Write(rest.Bytes()[8:]); err != nil {
		t.Fatal(err)
	}
	if r, err := pdu.Decode(peer); err != nil || r.Header().Seq != 200 {
		t.Fatalf("answer to the PDU that came in two parts: %v, %v", r, err)
	}
}

// readAnswers reads n answers of kind id from peer, numbered from seq on.
func readAnswers(t *testing.T, peer net.Conn, id pdu.ID, seq uint32, n int) {
	t.Helper()
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i := range n {
		r, err := pdu.Decode(peer)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		if r.Header().ID != id || r.Header().Seq != seq+uint32(i) {
			t.Fatalf("answer %d: %s seq %d", i+1, r.Header().ID, r.Header().Seq)
		}
	}
}

// Answers written while the link is held share one write when it is
// released: the receipts' writer answers a whole stored batch of
// deliver_sm that way, instead of a system call for each.
func TestAnswersWrittenWhileHeldShareAWrite(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer peer.Close()
	counted := &countingConn{Conn: ours}
	l := newLink(counted, 4, time.Second, 2*time.Second, slog.New(slog.DiscardHandler))
	defer l.close(nil)

	answered := make(chan error, 1)
	go func() {
		l.hold()
		for i := range 5 {
			if err := l.respond(uint32(100+i), pdu.NewDeliverSMResp(), StatusOK); err != nil {
				answered <- err
				return
			}
		}
		answered <- l.release()
	}()
	readAnswers(t, peer, pdu.DeliverSMRespID, 100, 5)
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if n := counted.writes.Load(); n != 1 {
		t.Errorf("five answers took %d writes, want 1", n)
	}
}
