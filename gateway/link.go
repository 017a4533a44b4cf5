package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
)

// SMPP command statuses the gateway sends or reacts to.
const (
	StatusOK          pdu.Status = 0x00
	StatusInvMsgLen   pdu.Status = 0x01 // ESME_RINVMSGLEN
	StatusInvCmdLen   pdu.Status = 0x02 // ESME_RINVCMDLEN
	StatusInvCmdID    pdu.Status = 0x03 // ESME_RINVCMDID
	StatusSysErr      pdu.Status = 0x08 // ESME_RSYSERR
	StatusMsgQFull    pdu.Status = 0x14 // ESME_RMSGQFUL
	StatusThrottled   pdu.Status = 0x58 // ESME_RTHROTTLED
	StatusTempAppErr  pdu.Status = 0x64 // ESME_RX_T_APPN: the SMSC retries
	StatusPermAppErr  pdu.Status = 0x65 // ESME_RX_P_APPN
	StatusOptParamErr pdu.Status = 0xC0 // ESME_RINVOPTPARSTREAM
)

// respBit marks a response command id. SMPP peers number their requests
// independently, so a response is matched by sequence number only when this
// bit says it is one: an incoming deliver_sm that happens to carry the sequence
// number of our pending submit_sm is a request, never that submit's answer
// (the defect of the pinned go-smpp client, upstream issue #87).
const respBit = 0x80000000

// maxPDULen bounds what we read: go-smpp's decoder refuses more anyway.
const maxPDULen = pdu.MaxSize

// ErrLinkClosed is returned for requests on a link that has gone down. What
// was in flight may or may not have reached the SMSC.
var ErrLinkClosed = errors.New("smpp: link closed")

// requestHandler receives every request PDU the peer sends that the link does
// not answer itself (deliver_sm and the like). It runs on the read loop, so it
// must only classify, answer and enqueue: never block on a database or Submit.
type requestHandler func(l *link, p pdu.Body)

// link is one TCP connection to an SMSC after a successful bind: it owns a
// single reader goroutine, serialises writes with deadlines, numbers our
// requests and matches their responses, and bounds how many are outstanding.
type link struct {
	conn         net.Conn
	log          *slog.Logger
	writeTimeout time.Duration
	respTimeout  time.Duration
	handle       requestHandler

	wmu     sync.Mutex // serialises whole-PDU writes
	bw      *bufio.Writer
	writers atomic.Int32 // writers in or waiting for wmu; the last one flushes
	// reading is set while the read loop has another whole PDU in hand:
	// what is written meanwhile waits for the loop to flush it before it
	// next waits for input (see write).
	reading atomic.Bool

	seq    atomic.Uint32
	window chan struct{} // one token per outstanding request
	// The bulk lane: bulk SMS hold at most cap(bulk) of the window, so
	// that USSD screens always find a slot (PRODUCT.md §8, "USSD first"),
	// and take none while a screen is waiting for one.
	bulk        chan struct{}
	ussdWaiting atomic.Int32

	mu      sync.Mutex
	pending map[uint32]chan pdu.Body
	// lastHeard is when the peer last sent anything (unix nanoseconds): a
	// request that times out with the peer silent all that while means the
	// peer is gone, whatever TCP says.
	lastHeard atomic.Int64
	probing   atomic.Bool // an enquire_link is out to see whether the peer lives

	closeOnce sync.Once
	done      chan struct{}
	err       error // why the link closed; read after done
}

func newLink(conn net.Conn, window int, writeTimeout, respTimeout time.Duration, log *slog.Logger) *link {
	if window < 1 {
		window = 1
	}
	l := &link{
		conn:         conn,
		log:          log,
		writeTimeout: writeTimeout,
		respTimeout:  respTimeout,
		bw:           bufio.NewWriterSize(conn, 8192),
		window:       make(chan struct{}, window),
		bulk:         make(chan struct{}, bulkShare(window)),
		pending:      make(map[uint32]chan pdu.Body),
		done:         make(chan struct{}),
	}
	l.lastHeard.Store(time.Now().UnixNano())
	return l
}

// bulkShare is how much of a window bulk SMS may hold: all but a fifth
// (at least one slot) kept for USSD screens; a window of one is shared, and
// then screens go first only by the bulk lane's yielding.
func bulkShare(window int) int {
	if window < 2 {
		return 1
	}
	return window - max(1, window/5)
}

// nextSeq returns the next sequence number in 1..0x7FFFFFFF, as SMPP 3.4 allows.
func (l *link) nextSeq() uint32 {
	for {
		s := l.seq.Add(1) & 0x7FFFFFFF
		if s != 0 {
			return s
		}
	}
}

// close ends the link once, failing every waiting request.
func (l *link) close(err error) {
	l.closeOnce.Do(func() {
		l.err = err
		close(l.done)
		l.conn.Close()
	})
}

// write sends one PDU as a whole, under a deadline. Writers that arrive
// while another is writing leave their PDU in the buffer for the last of them
// to flush, and while the read loop has more requests in hand their answers
// (and whatever else is written meanwhile) wait for the loop to flush them
// before it next waits for input: under load many PDUs share one system
// call, and alone a PDU is flushed at once. On a loopback or a LAN, a write
// costs more than the PDU it carries.
func (l *link) write(p pdu.Body) error {
	var buf bytes.Buffer
	if err := p.SerializeTo(&buf); err != nil {
		return fmt.Errorf("encode %s: %w", p.Header().ID, err)
	}
	l.writers.Add(1)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	last := l.writers.Add(-1) == 0
	select {
	case <-l.done:
		return ErrLinkClosed
	default:
	}
	if l.writeTimeout > 0 {
		l.conn.SetWriteDeadline(time.Now().Add(l.writeTimeout))
	}
	if _, err := l.bw.Write(buf.Bytes()); err != nil {
		l.close(err)
		return fmt.Errorf("write %s: %w", p.Header().ID, err)
	}
	if !last || l.reading.Load() {
		return nil
	}
	if err := l.flushLocked(); err != nil {
		return fmt.Errorf("write %s: %w", p.Header().ID, err)
	}
	return nil
}

// flush writes out what write left in the buffer.
func (l *link) flush() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.bw.Buffered() == 0 {
		return nil
	}
	if l.writeTimeout > 0 {
		l.conn.SetWriteDeadline(time.Now().Add(l.writeTimeout))
	}
	if err := l.flushLocked(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// flushLocked writes the buffer out under wmu and the deadline its caller
// set; a failed write leaves the stream unusable, so the link closes.
func (l *link) flushLocked() error {
	err := l.bw.Flush()
	if err != nil {
		l.close(err)
	}
	return err
}

// wholePDUBuffered reports whether r holds at least one whole PDU, which
// the read loop can then take without waiting. Part of one does not count:
// waiting for its rest must not hold back what was answered.
func wholePDUBuffered(r *bufio.Reader) bool {
	if r.Buffered() < pdu.HeaderLen {
		return false
	}
	b, err := r.Peek(4)
	return err == nil && int(binary.BigEndian.Uint32(b)) <= r.Buffered()
}

// respond answers a request with the given response PDU, status and the
// request's sequence number.
func (l *link) respond(req uint32, resp pdu.Body, status pdu.Status) error {
	h := resp.Header()
	h.Seq = req
	h.Status = status
	return l.write(resp)
}

// nack answers an undecodable or unknown request.
func (l *link) nack(seq uint32, status pdu.Status) error {
	return l.respond(seq, pdu.NewGenericNACK(), status)
}

// request sends p and waits for its response. It takes a window slot first
// (back-pressure: callers wait instead of failing when the window is full);
// the slot comes back when the request is no longer outstanding (see
// exchange), which may be after request has returned.
func (l *link) request(ctx context.Context, p pdu.Body) (pdu.Body, error) {
	l.ussdWaiting.Add(1)
	select {
	case l.window <- struct{}{}:
		l.ussdWaiting.Add(-1)
	case <-ctx.Done():
		l.ussdWaiting.Add(-1)
		return nil, ctx.Err()
	case <-l.done:
		l.ussdWaiting.Add(-1)
		return nil, ErrLinkClosed
	}
	release := func() { <-l.window }
	if err := l.unlessProbed(ctx); err != nil {
		release()
		return nil, err
	}
	return l.exchange(ctx, p, release)
}

// unlessProbed waits while the peer is being probed for having said
// nothing for a whole response timeout (see probe): until it speaks or the
// link is given up, whatever is written to it is in doubt, and the slots
// freed by the timeouts would let a second window go to a peer that had
// stopped answering.
func (l *link) unlessProbed(ctx context.Context) error {
	for l.probing.Load() {
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return ErrLinkClosed
		}
	}
	return nil
}

// requestBefore is request in the bulk lane (the outbox's SMS): it takes a
// bulk slot, lets every waiting screen go first, then a window slot; it
// gives up with errLate, before anything is written, when it has no window
// slot by startBy (zero: no such limit).
func (l *link) requestBefore(ctx context.Context, p pdu.Body, startBy time.Time, errLate error) (pdu.Body, error) {
	var late <-chan time.Time
	if !startBy.IsZero() {
		t := time.NewTimer(time.Until(startBy))
		defer t.Stop()
		late = t.C
	}
	wait := func(ch chan struct{}) error {
		select {
		case ch <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return ErrLinkClosed
		case <-late:
			return errLate
		}
	}
	if err := wait(l.bulk); err != nil {
		return nil, err
	}
	for l.ussdWaiting.Load() > 0 {
		var err error
		select {
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
			err = ctx.Err()
		case <-l.done:
			err = ErrLinkClosed
		case <-late:
			err = errLate
		}
		if err != nil {
			<-l.bulk
			return nil, err
		}
	}
	if err := wait(l.window); err != nil {
		<-l.bulk
		return nil, err
	}
	release := func() { <-l.window; <-l.bulk }
	if err := l.unlessProbed(ctx); err != nil {
		release()
		return nil, err
	}
	if !startBy.IsZero() && time.Now().After(startBy) {
		release()
		return nil, errLate
	}
	return l.exchange(ctx, p, release)
}

// exchange writes p and waits for its response; release gives back the
// slots the request holds, once it is no longer outstanding: when its
// response arrives, its response timeout passes or the link closes. A
// caller that stops waiting sooner gets its error at once, but the PDU is
// on the wire and keeps its slots until then: freed as callers gave up (a
// push waits a dialogue step's 2 s), they let a peer that had stopped
// answering (a frozen SMSC) be sent a window more every time, all of which
// it may act on when it wakes, where PRODUCT.md §8 allows one window per
// link in doubt. A request that times out with nothing heard from the peer
// meanwhile has the peer probed, whether or not its caller still waits.
func (l *link) exchange(ctx context.Context, p pdu.Body, release func()) (pdu.Body, error) {
	seq := l.nextSeq()
	p.Header().Seq = seq
	ch := make(chan pdu.Body, 1)
	l.mu.Lock()
	l.pending[seq] = ch
	l.mu.Unlock()
	settle := func() {
		l.mu.Lock()
		delete(l.pending, seq)
		l.mu.Unlock()
		release()
	}
	if err := l.write(p); err != nil {
		settle()
		return nil, err
	}
	timer := time.NewTimer(l.respTimeout)
	timedOut := func() error {
		err := fmt.Errorf("%s seq %d: no response within %s", p.Header().ID, seq, l.respTimeout)
		if time.Since(time.Unix(0, l.lastHeard.Load())) >= l.respTimeout {
			l.probe(err)
		}
		return err
	}
	select {
	case r := <-ch:
		timer.Stop()
		settle()
		return r, nil
	case <-timer.C:
		settle()
		return nil, timedOut()
	case <-l.done:
		timer.Stop()
		settle()
		return nil, ErrLinkClosed
	case <-ctx.Done():
		go func() {
			select {
			case <-ch:
				timer.Stop()
			case <-timer.C:
				timedOut()
			case <-l.done:
				timer.Stop()
			}
			settle()
		}()
		return nil, ctx.Err()
	}
}

// probe asks a peer that has said nothing for a whole response timeout
// whether it is there (enquire_link, outside the window: the window may be
// full of the very requests it is sitting on). No answer within another
// response timeout, and still nothing heard, means a frozen SMSC or a
// half-open connection: the link is closed so that nothing more goes on
// that wire and the bind connects again. A peer that is merely slow says
// something meanwhile and keeps its link.
func (l *link) probe(cause error) {
	if !l.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer l.probing.Store(false)
		heard := l.lastHeard.Load()
		ctx, cancel := context.WithTimeout(context.Background(), 2*l.respTimeout)
		defer cancel()
		if _, err := l.exchange(ctx, pdu.NewEnquireLink(), func() {}); err == nil || l.lastHeard.Load() != heard {
			return
		}
		silent := time.Since(time.Unix(0, l.lastHeard.Load()))
		l.close(fmt.Errorf("peer silent for %s: %w", silent.Round(time.Millisecond), cause))
	}()
}

// readLoop is the link's only reader. Responses are handed to their waiters;
// requests the link can answer itself are answered here; everything else goes
// to the handler, which must not block.
func (l *link) readLoop() {
	r := bufio.NewReaderSize(l.conn, 16384)
	hdr := make([]byte, pdu.HeaderLen)
	for {
		if !wholePDUBuffered(r) {
			l.reading.Store(false)
			if err := l.flush(); err != nil {
				return
			}
		}
		if _, err := io.ReadFull(r, hdr); err != nil {
			l.close(fmt.Errorf("read: %w", err))
			return
		}
		l.lastHeard.Store(time.Now().UnixNano())
		n := binary.BigEndian.Uint32(hdr[0:4])
		id := pdu.ID(binary.BigEndian.Uint32(hdr[4:8]))
		seq := binary.BigEndian.Uint32(hdr[12:16])
		if n < pdu.HeaderLen || n > maxPDULen {
			// The stream can no longer be framed: say so and start afresh.
			l.log.Warn("smpp: invalid command_length; dropping link", "length", n, "command_id", fmt.Sprintf("%#x", uint32(id)))
			l.reading.Store(false) // the nack goes out before the link closes
			l.nack(seq, StatusInvCmdLen)
			l.close(fmt.Errorf("invalid command_length %d", n))
			return
		}
		buf := make([]byte, n)
		copy(buf, hdr)
		if _, err := io.ReadFull(r, buf[pdu.HeaderLen:]); err != nil {
			l.close(fmt.Errorf("read: %w", err))
			return
		}
		l.reading.Store(wholePDUBuffered(r))
		if uint32(id)&respBit != 0 {
			l.deliverResponse(id, seq, buf)
			continue
		}
		l.dispatchRequest(id, seq, buf)
	}
}

func (l *link) deliverResponse(id pdu.ID, seq uint32, buf []byte) {
	l.mu.Lock()
	ch := l.pending[seq]
	delete(l.pending, seq)
	l.mu.Unlock()
	if ch == nil {
		l.log.Warn("smpp: response to no pending request", "command_id", fmt.Sprintf("%#x", uint32(id)), "seq", seq)
		return
	}
	p, err := pdu.Decode(bytes.NewReader(buf))
	if err != nil {
		// An undecodable response still answers its request: keep the
		// header so the waiter sees the status.
		p = pdu.NewGenericNACK()
		*p.Header() = *headerOf(buf)
	}
	ch <- p
}

func (l *link) dispatchRequest(id pdu.ID, seq uint32, buf []byte) {
	switch id {
	case pdu.EnquireLinkID:
		l.respond(seq, pdu.NewEnquireLinkResp(), StatusOK)
		return
	case pdu.UnbindID:
		l.reading.Store(false) // the answer goes out before the link closes
		l.respond(seq, pdu.NewUnbindResp(), StatusOK)
		l.close(errors.New("unbound by SMSC"))
		return
	case pdu.DeliverSMID:
		// handled below
	default:
		// Outbind, data_sm, alert_notification and anything unknown: SMPP
		// says generic_nack with "invalid command id"; the link stays up.
		l.log.Warn("smpp: unsupported request", "command_id", fmt.Sprintf("%#x", uint32(id)), "seq", seq)
		l.nack(seq, StatusInvCmdID)
		return
	}
	p, err := pdu.Decode(bytes.NewReader(buf))
	if err == nil {
		if _, ok := p.Fields()[pdufield.ShortMessage]; !ok {
			// go-smpp stops quietly at the end of a short body; a
			// deliver_sm that ends before its short_message is truncated.
			err = errors.New("truncated before short_message")
		}
	}
	if err != nil {
		l.log.Warn("smpp: undecodable deliver_sm", "seq", seq, "err", err)
		l.respond(seq, pdu.NewDeliverSMResp(), StatusInvMsgLen)
		return
	}
	if l.handle == nil {
		l.respond(seq, pdu.NewDeliverSMResp(), StatusTempAppErr)
		return
	}
	l.handle(l, p)
}

// headerOf decodes the 16-byte header at the start of buf.
func headerOf(buf []byte) *pdu.Header {
	return &pdu.Header{
		Len:    binary.BigEndian.Uint32(buf[0:4]),
		ID:     pdu.ID(binary.BigEndian.Uint32(buf[4:8])),
		Status: pdu.Status(binary.BigEndian.Uint32(buf[8:12])),
		Seq:    binary.BigEndian.Uint32(buf[12:16]),
	}
}

// hold keeps what is written on the link in its buffer until release, so
// that a batch of PDUs written one by one (the answers to a stored batch
// of receipts) goes out in one system call. Other writers meanwhile add to
// the same buffer; the buffer still flushes itself when it fills.
func (l *link) hold() { l.writers.Add(1) }

// release ends a hold and writes out what it kept.
func (l *link) release() error {
	l.writers.Add(-1)
	return l.flush()
}
