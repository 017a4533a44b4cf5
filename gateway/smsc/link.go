package smsc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
)

// SMPP command_status values the simulator sends.
const (
	statusOK          = 0x00
	statusInvCmdLen   = 0x02 // ESME_RINVCMDLEN
	statusInvCmdID    = 0x03 // ESME_RINVCMDID
	statusInvBndSts   = 0x04 // ESME_RINVBNDSTS
	statusAlyBnd      = 0x05 // ESME_RALYBND
	statusInvPaswd    = 0x0E // ESME_RINVPASWD
	statusInvSysID    = 0x0F // ESME_RINVSYSID
	statusInvSerTyp   = 0x15 // ESME_RINVSERTYP
	respBit           = 0x80000000
	maxSeq            = 0x7FFFFFFF
	discardUpTo       = 1 << 16 // oversized PDUs up to this are skipped, larger ones end the link
	simulatorSystemID = "care360-smsc"
)

// link is one ESME connection. Its read loop only decodes, answers at once
// and hands work on without waiting, so a slow phone or test never stalls
// the PDUs behind it.
type link struct {
	s    *Server
	conn net.Conn
	id   uint64

	// bind is the bind command the ESME used (0 while unbound) and systemID
	// the system_id it presented; both are guarded by s.mu.
	bind     pdu.ID
	systemID string
	carries  string // what its account carries (Account.Carries)

	wmu     sync.Mutex    // one writer at a time so PDUs never interleave
	bw      *bufio.Writer // under wmu
	writers atomic.Int32  // writers in or waiting for wmu; the last one flushes
	// reading is set while the read loop has more input in hand: it then
	// flushes what was written before it waits for more (see write).
	reading atomic.Bool

	mu      sync.Mutex
	seq     uint32
	pending map[uint32]waiter // our requests awaiting a response, by sequence number
	closed  bool
	done    chan struct{}
}

// result is a response to one of our requests.
type result struct {
	p   pdu.Body
	err error
}

// waiter is who takes the response to one of our requests: a goroutine
// waiting on ch (request, await), or, for a request nobody waits on (a
// delivery receipt), done, called with the response's command_status or
// the error that ended the request. done runs on the read loop or at the
// link's close, holding nothing but perhaps l.mu, and must not block.
type waiter struct {
	ch   chan result
	done func(status uint32, err error)
}

// deliver hands w the outcome of its request.
func (w waiter) deliver(buf []byte, err error) {
	if w.done != nil {
		var status uint32
		if err == nil {
			status = binary.BigEndian.Uint32(buf[8:12])
		}
		w.done(status, err)
		return
	}
	var p pdu.Body
	if err == nil {
		if p, err = pdu.Decode(bytes.NewReader(buf)); err != nil {
			err = fmt.Errorf("smsc: decode response %#08x seq %d: %w",
				binary.BigEndian.Uint32(buf[4:8]), binary.BigEndian.Uint32(buf[12:16]), err)
		}
	}
	w.ch <- result{p: p, err: err} // buffered, never blocks
}

func newLink(s *Server, conn net.Conn, id uint64) *link {
	return &link{s: s, conn: conn, id: id, bw: bufio.NewWriterSize(conn, 16384),
		pending: make(map[uint32]waiter), done: make(chan struct{})}
}

func (l *link) canDeliver() bool {
	return l.bind == pdu.BindReceiverID || l.bind == pdu.BindTransceiverID
}

// carry reports whether the link's account carries kind ("" is any); s.mu
// is held or the link is bound.
func (l *link) carry(kind string) bool {
	return kind == "" || l.carries == "" || l.carries == kind
}

func (l *link) serve() {
	log := l.s.log.With("link", l.id, "remote", l.conn.RemoteAddr().String())
	log.Info("ESME connected")
	defer l.s.wg.Done()
	defer func() {
		l.hangUp()
		l.mu.Lock()
		l.closed = true
		for seq, w := range l.pending {
			w.deliver(nil, errLinkClosed)
			delete(l.pending, seq)
		}
		l.mu.Unlock()
		close(l.done)
		l.s.removeLink(l)
		log.Info("ESME disconnected")
	}()
	if iv := l.s.cfg.EnquireLink; iv > 0 {
		l.s.goBackground(func() { l.enquireLoop(iv) })
	}
	r := bufio.NewReader(l.conn)
	for {
		if r.Buffered() == 0 {
			l.reading.Store(false)
			if err := l.flush(); err != nil {
				log.Warn("write failed", "err", err)
				return
			}
		}
		buf, err := l.readPDU(r)
		l.reading.Store(r.Buffered() > 0)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Warn("read failed", "err", err)
			}
			return
		}
		if buf == nil {
			continue // oversized PDU skipped and nacked
		}
		if err := l.handle(buf); err != nil {
			if !errors.Is(err, errUnbound) {
				log.Warn("link closed", "err", err)
			}
			return
		}
	}
}

var (
	errLinkClosed = errors.New("smsc: link closed")
	errUnbound    = errors.New("smsc: ESME unbound")
)

// readPDU reads one whole PDU (header included). A command_length the codec
// cannot take is answered with generic_nack: a moderately oversized PDU is
// skipped (nil, nil) so the link stays up; an impossible length ends the
// link because the stream cannot be resynchronised.
func (l *link) readPDU(r *bufio.Reader) ([]byte, error) {
	var hdr [pdu.HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < pdu.HeaderLen || n > discardUpTo {
		l.writeResp(pdu.NewGenericNACK(), 0, statusInvCmdLen)
		return nil, fmt.Errorf("impossible command_length %d", n)
	}
	if _, err := io.ReadFull(r, hdr[4:]); err != nil {
		return nil, err
	}
	if n > pdu.MaxSize {
		if _, err := io.CopyN(io.Discard, r, int64(n-pdu.HeaderLen)); err != nil {
			return nil, err
		}
		l.writeResp(pdu.NewGenericNACK(), binary.BigEndian.Uint32(hdr[12:]), statusInvCmdLen)
		return nil, nil
	}
	buf := make([]byte, n)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(r, buf[pdu.HeaderLen:]); err != nil {
		return nil, err
	}
	return buf, nil
}

// handle dispatches one PDU. A non-nil error ends the link.
func (l *link) handle(buf []byte) error {
	id := pdu.ID(binary.BigEndian.Uint32(buf[4:]))
	seq := binary.BigEndian.Uint32(buf[12:])
	// Only the response bit says "this answers one of yours": the ESME numbers
	// its requests independently, so a submit_sm may carry the very sequence
	// number of a deliver_sm we are waiting on.
	if id&respBit != 0 {
		l.handleResp(id, seq, buf)
		return nil
	}
	switch id {
	case pdu.BindReceiverID, pdu.BindTransmitterID, pdu.BindTransceiverID,
		pdu.EnquireLinkID, pdu.UnbindID, pdu.SubmitSMID:
	default:
		l.s.log.Warn("unsupported command", "link", l.id, "command_id", fmt.Sprintf("%#08x", uint32(id)))
		return l.writeResp(pdu.NewGenericNACK(), seq, statusInvCmdID)
	}
	p, err := pdu.Decode(bytes.NewReader(buf))
	if err != nil {
		l.s.log.Warn("undecodable PDU", "link", l.id, "command_id", id.String(), "err", err)
		return l.writeResp(pdu.NewGenericNACK(), seq, statusInvCmdLen)
	}
	l.s.mu.Lock()
	bind := l.bind
	l.s.mu.Unlock()
	switch id {
	case pdu.BindReceiverID, pdu.BindTransmitterID, pdu.BindTransceiverID:
		return l.handleBind(p, bind)
	case pdu.EnquireLinkID:
		return l.writeResp(pdu.NewEnquireLinkResp(), seq, statusOK)
	case pdu.UnbindID:
		l.s.faults.unbinds.Add(1)
		l.writeResp(pdu.NewUnbindResp(), seq, statusOK)
		return errUnbound
	default: // submit_sm
		if bind != pdu.BindTransmitterID && bind != pdu.BindTransceiverID {
			return l.writeSubmitResp(seq, statusInvBndSts, "")
		}
		return l.s.handleSubmit(l, p)
	}
}

func (l *link) handleBind(p pdu.Body, bound pdu.ID) error {
	f := p.Fields()
	sys, pass := fieldString(f, pdufield.SystemID), fieldString(f, pdufield.Password)
	var resp pdu.Body
	switch p.Header().ID {
	case pdu.BindReceiverID:
		resp = pdu.NewBindReceiverResp()
	case pdu.BindTransmitterID:
		resp = pdu.NewBindTransmitterResp()
	default:
		resp = pdu.NewBindTransceiverResp()
	}
	resp.Fields().Set(pdufield.SystemID, simulatorSystemID)
	acct, status := l.s.account(sys, pass)
	if bound != 0 {
		status = statusAlyBnd
	}
	if status != statusOK {
		l.s.log.Warn("bind refused", "link", l.id, "system_id", sys, "status", fmt.Sprintf("%#x", uint32(status)))
		return l.writeResp(resp, p.Header().Seq, status)
	}
	b, err := encode(resp, p.Header().Seq, status)
	if err != nil {
		return err
	}
	// Mark the link bound while holding the write lock: whoever sees the
	// bind_resp must find the link bound, and nothing we send on it may
	// overtake the bind_resp.
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.s.setBound(l, p.Header().ID, sys, acct.Carries)
	l.s.log.Info("ESME bound", "link", l.id, "system_id", sys, "bind", p.Header().ID.String())
	return l.writeLocked(b, true)
}

// handleResp hands a response to whoever waits for that sequence number.
func (l *link) handleResp(id pdu.ID, seq uint32, buf []byte) {
	l.mu.Lock()
	w, ok := l.pending[seq]
	delete(l.pending, seq)
	l.mu.Unlock()
	if !ok {
		l.s.log.Warn("response to nothing pending", "link", l.id, "command_id", fmt.Sprintf("%#08x", uint32(id)), "seq", seq)
		return
	}
	w.deliver(buf, nil)
}

// writeResp answers a request with the request's sequence number.
func (l *link) writeResp(p pdu.Body, seq uint32, status pdu.Status) error {
	b, err := encode(p, seq, status)
	if err != nil {
		return err
	}
	return l.write(b)
}

// writeSubmitResp answers a submit_sm under seq: message_id id (none
// with a refusal).
func (l *link) writeSubmitResp(seq uint32, status pdu.Status, id string) error {
	return l.write(appendSubmitSMResp(nil, seq, status, id))
}

// encode serialises p with the given header values. Seq is always set here:
// go-smpp's constructors fill in a process-wide counter otherwise.
func encode(p pdu.Body, seq uint32, status pdu.Status) ([]byte, error) {
	p.Header().Seq = seq
	p.Header().Status = status
	var b bytes.Buffer
	if err := p.SerializeTo(&b); err != nil {
		return nil, fmt.Errorf("smsc: encode %s: %w", p.Header().ID, err)
	}
	return b.Bytes(), nil
}

// write writes b whole. Under load PDUs share system calls: a writer with
// others waiting behind it leaves the flush to the last of them, and while
// the read loop has more requests in hand, their answers (and whatever else
// is written meanwhile) wait for it to flush before it next waits for input.
// Alone, a PDU is flushed at once.
func (l *link) write(b []byte) error {
	l.writers.Add(1)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	last := l.writers.Add(-1) == 0
	return l.writeLocked(b, last && !l.reading.Load())
}

func (l *link) writeLocked(b []byte, flush bool) error {
	l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := l.bw.Write(b); err != nil {
		// A partial write leaves the stream unusable: drop the link.
		l.conn.Close()
		return fmt.Errorf("write: %w", err)
	}
	if flush {
		return l.flushLocked()
	}
	return nil
}

// flush writes out what is buffered.
func (l *link) flush() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.flushLocked()
}

func (l *link) flushLocked() error {
	if l.bw.Buffered() == 0 {
		return nil
	}
	l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := l.bw.Flush(); err != nil {
		l.conn.Close()
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// hangUp closes the connection after writing out what is buffered, so that
// what was answered before reaches the ESME.
func (l *link) hangUp() {
	l.flush()
	l.conn.Close()
}

// send writes request p under the link's next sequence number and returns
// the channel its response will arrive on.
func (l *link) send(p pdu.Body) (uint32, <-chan result, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, nil, errLinkClosed
	}
	seq := l.nextSeqLocked()
	l.mu.Unlock()
	b, err := encode(p, seq, p.Header().Status)
	if err != nil {
		return 0, nil, err
	}
	ch, err := l.sendBytes(seq, b)
	return seq, ch, err
}

// nextSeqLocked takes the link's next sequence number; l.mu is held. SMPP
// sequence numbers run 1..0x7FFFFFFF; any still pending is skipped
// (SendRaw may have registered arbitrary ones).
func (l *link) nextSeqLocked() uint32 {
	for {
		l.seq = l.seq%maxSeq + 1
		if _, busy := l.pending[l.seq]; !busy {
			return l.seq
		}
	}
}

// posted is a request nobody waits on (see waiter.done); post fills in
// seq. encode appends the request, under seq, to b.
type posted struct {
	encode func(b []byte, seq uint32) []byte
	done   func(status uint32, err error)
	seq    uint32
}

// post writes reqs in one write, each under the link's next sequence
// number, their responses going to their done. When the write fails none
// of them is pending and none of their done is called: the caller has the
// error.
func (l *link) post(reqs []posted) error {
	var b []byte
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errLinkClosed
	}
	for i := range reqs {
		r := &reqs[i]
		r.seq = l.nextSeqLocked()
		b = r.encode(b, r.seq)
		// Registered before writing: a response may come before Write returns.
		l.pending[r.seq] = waiter{done: r.done}
	}
	l.mu.Unlock()
	if err := l.write(b); err != nil {
		l.mu.Lock()
		l.forgetLocked(reqs)
		l.mu.Unlock()
		return fmt.Errorf("smsc: %w", err)
	}
	return nil
}

func (l *link) forgetLocked(reqs []posted) {
	for _, r := range reqs {
		delete(l.pending, r.seq)
	}
}

// sendBytes registers a waiter for seq, then writes b.
func (l *link) sendBytes(seq uint32, b []byte) (<-chan result, error) {
	ch := make(chan result, 1)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errLinkClosed
	}
	if _, busy := l.pending[seq]; busy {
		l.mu.Unlock()
		return nil, fmt.Errorf("smsc: sequence number %d already awaits a response", seq)
	}
	// Register before writing: the response may arrive before Write returns.
	l.pending[seq] = waiter{ch: ch}
	l.mu.Unlock()
	if err := l.write(b); err != nil {
		l.forget(seq)
		return nil, fmt.Errorf("smsc: %w", err)
	}
	return ch, nil
}

// forget drops the waiter for seq, so a late response is logged, not
// delivered. It reports whether one was still waiting: false means its
// response (or the link's close) has already gone to it.
func (l *link) forget(seq uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.pending[seq]
	delete(l.pending, seq)
	return ok
}

// await waits for the response on ch for at most ResponseTimeout.
func (l *link) await(ctx context.Context, seq uint32, ch <-chan result) (pdu.Body, error) {
	t := time.NewTimer(l.s.cfg.ResponseTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.p, r.err
	case <-t.C:
		l.forget(seq)
		return nil, ErrTimeout
	case <-ctx.Done():
		l.forget(seq)
		return nil, ctx.Err()
	case <-l.s.done:
		return nil, ErrClosed
	}
}

// request sends p and waits for its response.
func (l *link) request(ctx context.Context, p pdu.Body) (pdu.Body, error) {
	seq, ch, err := l.send(p)
	if err != nil {
		return nil, err
	}
	return l.await(ctx, seq, ch)
}

// enquireLoop probes the ESME like a real SMSC; a link that stops answering
// is closed so the ESME has to rebind.
func (l *link) enquireLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.done:
			return
		case <-l.s.done:
			return
		}
		l.s.mu.Lock()
		bound := l.bind != 0
		l.s.mu.Unlock()
		if !bound {
			continue
		}
		if _, err := l.request(context.Background(), pdu.NewEnquireLink()); err != nil {
			l.s.log.Warn("enquire_link unanswered; closing link", "link", l.id, "err", err)
			l.conn.Close()
			return
		}
	}
}

// fieldString returns a mandatory field as a string without its NUL.
func fieldString(f pdufield.Map, name pdufield.Name) string {
	if v, ok := f[name]; ok && v != nil {
		return v.String()
	}
	return ""
}

// fieldByte returns a one-octet mandatory field.
func fieldByte(f pdufield.Map, name pdufield.Name) byte {
	if v, ok := f[name]; ok && v != nil {
		if b := v.Bytes(); len(b) > 0 {
			return b[0]
		}
	}
	return 0
}
