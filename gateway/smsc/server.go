// Package smsc is an SMSC and USSD-centre simulator: an SMPP 3.4 server that
// the gateway (an ESME) binds to in dev mode, end-to-end tests and benchmarks.
//
// A phone is simulated with [Server.Dial], [Call.Reply] and [Call.Abort];
// it receives the application's pushes with [Server.WaitPush], answering or
// not as [Server.SetPhone] says; a handset sending and receiving SMS with
// [Server.SendMO] and [Server.Messages]; [Server.ControlHandler] offers the
// same over HTTP to a phone in another process.
//
// The package deliberately shares no session code with the gateway or with
// go-smpp's client: it uses go-smpp's PDU codec only and does its own framing,
// sequence numbering and response matching, so that a mistake in one cannot
// hide the same mistake in the other.
package smsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"

	"github.com/care360/care360/internal/linger"
)

// Config configures a Server. The zero value of every field but Addr is usable.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:0" (port 0 picks a free one).
	Addr string
	// SystemID and Password are the credentials a bind must present. A wrong
	// system_id is answered with ESME_RINVSYSID (0x0F), a wrong password with
	// ESME_RINVPASWD (0x0E). An empty value accepts anything.
	SystemID, Password string
	// Accounts, when set, replace SystemID and Password: an operator gives
	// separate accounts for its USSD centre and its SMSC, and each carries
	// only its own traffic. USSD calls are delivered only to links of
	// accounts that carry USSD, MO SMS and receipts only to those that
	// carry SMS, and a submit_sm of the other kind is refused with
	// ESME_RINVSERTYP (0x15).
	Accounts []Account
	// ResponseTimeout is how long the USSD centre waits for the application's
	// answer to each step (default 10s). On timeout it abandons the dialogue:
	// the ESME gets a deliver_sm abort (ussd_service_op 32) and the phone's
	// waiting call returns ErrTimeout. It also bounds the wait for responses
	// to the simulator's own requests.
	ResponseTimeout time.Duration
	// ReceiptDelay is how long after a submit_sm its delivery receipt is sent
	// (default 0: at once).
	ReceiptDelay time.Duration
	// EnquireLink, when positive, makes the simulator send enquire_link on
	// every bound link at this interval, as real SMSCs do (default 0: never).
	EnquireLink time.Duration
	// Logger receives the simulator's logs; nil discards them.
	Logger *slog.Logger
}

// Account is one set of bind credentials and what it carries.
type Account struct {
	SystemID, Password string
	// Carries is "ussd", "sms", or "" for both.
	Carries string
}

// Traffic kinds an account may carry.
const (
	CarriesUSSD = "ussd"
	CarriesSMS  = "sms"
)

// Errors returned by the simulator.
var (
	// ErrTimeout means the application did not answer a USSD step within
	// Config.ResponseTimeout (the dialogue was aborted), or that the ESME did
	// not respond to a PDU in time.
	ErrTimeout = errors.New("smsc: timed out waiting for the ESME")
	// ErrEnded means the call has already ended (final screen, abort or timeout).
	ErrEnded = errors.New("smsc: call has ended")
	// ErrNoLink means no ESME is bound as receiver or transceiver.
	ErrNoLink = errors.New("smsc: no ESME bound to deliver to")
	// ErrRejected means the ESME answered a deliver_sm with a non-zero
	// command_status; the call has ended (see Call.DeliverStatus).
	ErrRejected = errors.New("smsc: ESME rejected the deliver_sm")
	// ErrClosed means the server is closed or was never started.
	ErrClosed = errors.New("smsc: server closed")
)

// writeTimeout bounds every write so a peer that stops reading cannot hang us.
const writeTimeout = 5 * time.Second

// Server is the simulator. Create it with New, then Start it.
type Server struct {
	cfg Config
	log *slog.Logger

	done       chan struct{} // closed by Close; every goroutine watches it
	wg         sync.WaitGroup
	background *linger.Group // goBackground's goroutines
	msgIDs     atomic.Uint64
	idBase     uint64

	mu       sync.Mutex
	started  bool
	closed   bool
	ln       net.Listener
	links    []*link // in accept order, so round robin is stable
	rr       int
	boundCh  chan struct{}      // closed and replaced whenever a link binds or goes
	calls    map[string][]*Call // open calls by MSISDN
	nextSess byte
	nextUMR  uint16
	inbox    map[string][]Message
	ctlCalls map[string]*Call // open calls started over the control API
	nextCall uint64
	nextLink uint64
	phones   map[string]PhoneBehaviour // how phones treat pushes; absent means PhoneAnswers
	pushes   map[string][]Push         // pushes received, by MSISDN
	pushQ    map[string][]*Call        // pushes not yet taken by WaitPush, by MSISDN
	pushedCh chan struct{}             // closed and replaced whenever a push is queued

	faults   faults   // fault injection for ordinary submit_sm (faults.go)
	receipts receipts // delivery receipts owed (receipts.go)
}

// New returns a Server for cfg; it does not listen until Start.
func New(cfg Config) *Server {
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:        cfg,
		log:        log.With("component", "smsc"),
		done:       make(chan struct{}),
		background: linger.New(2 * time.Second),
		// Message ids start from the clock so that ids stay unique across
		// simulator restarts in dev mode, where the gateway keeps them.
		idBase:   uint64(time.Now().Unix()) << 16,
		boundCh:  make(chan struct{}),
		calls:    make(map[string][]*Call),
		inbox:    make(map[string][]Message),
		ctlCalls: make(map[string]*Call),
		phones:   make(map[string]PhoneBehaviour),
		pushes:   make(map[string][]Push),
		pushQ:    make(map[string][]*Call),
		pushedCh: make(chan struct{}),
		receipts: receipts{wake: make(chan struct{}, 1)},
	}
}

// Start listens on Config.Addr and accepts ESME connections in the
// background; it returns once the listener is open.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return errors.New("smsc: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smsc: listen %s: %w", s.cfg.Addr, err)
	}
	s.ln, s.started = ln, true
	s.wg.Add(2)
	go s.accept(ln)
	go s.receiptLoop()
	s.log.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the host:port the server listens on ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops listening, closes every link and waits for the server's
// goroutines to finish. Calls waiting for a screen return ErrClosed. It is
// safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	if s.ln != nil {
		s.ln.Close()
	}
	for _, l := range s.links {
		l.conn.Close()
	}
	s.mu.Unlock()
	s.background.Close()
	s.background.Wait()
	s.wg.Wait()
	return nil
}

// Bound returns the number of currently bound ESME links, of any bind type.
func (s *Server) Bound() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boundLocked()
}

func (s *Server) boundLocked() int {
	n := 0
	for _, l := range s.links {
		if l.bind != 0 {
			n++
		}
	}
	return n
}

// WaitBound waits until at least n links are bound, ctx is done or the
// server closes.
func (s *Server) WaitBound(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, changed := s.boundLocked(), s.boundCh
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("smsc: wait for %d bound links (have %d): %w", n, got, ctx.Err())
		case <-s.done:
			return ErrClosed
		}
	}
}

// DropLinks closes every ESME connection abruptly, without unbind, as a
// crashing SMSC or a broken network would; tests use it to check rebinding.
func (s *Server) DropLinks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.links {
		l.conn.Close()
	}
	s.log.Info("dropped all links", "count", len(s.links))
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error("accept failed; no longer listening", "err", err)
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.nextLink++
		l := newLink(s, conn, s.nextLink)
		s.links = append(s.links, l)
		s.wg.Add(1)
		s.mu.Unlock()
		go l.serve()
	}
}

// setBound records a successful bind and wakes WaitBound.
func (s *Server) setBound(l *link, bind pdu.ID, systemID, carries string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l.bind, l.systemID, l.carries = bind, systemID, carries
	s.boundChangedLocked()
}

// account checks a bind's credentials: the account and 0, or the status
// that refuses it.
func (s *Server) account(systemID, password string) (Account, pdu.Status) {
	if len(s.cfg.Accounts) == 0 {
		switch {
		case s.cfg.SystemID != "" && systemID != s.cfg.SystemID:
			return Account{}, statusInvSysID
		case s.cfg.Password != "" && password != s.cfg.Password:
			return Account{}, statusInvPaswd
		}
		return Account{SystemID: systemID}, statusOK
	}
	for _, a := range s.cfg.Accounts {
		if a.SystemID == systemID {
			if a.Password != "" && password != a.Password {
				return Account{}, statusInvPaswd
			}
			return a, statusOK
		}
	}
	return Account{}, statusInvSysID
}

func (s *Server) removeLink(l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.links {
		if x == l {
			s.links = append(s.links[:i], s.links[i+1:]...)
			break
		}
	}
	if l.bind != 0 {
		s.boundChangedLocked()
	}
}

func (s *Server) boundChangedLocked() {
	close(s.boundCh)
	s.boundCh = make(chan struct{})
}

// pickLink returns the next bound link that may receive deliver_sm
// (receiver or transceiver) of kind (CarriesUSSD, CarriesSMS, or "" for
// any), round robin, preferring prefer if it still is.
func (s *Server) pickLink(prefer *link, kind string) (*link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if prefer != nil && prefer.canDeliver() && prefer.carry(kind) && s.hasLinkLocked(prefer) {
		return prefer, nil
	}
	for range s.links {
		s.rr = (s.rr + 1) % len(s.links)
		if l := s.links[s.rr]; l.canDeliver() && l.carry(kind) {
			return l, nil
		}
	}
	return nil, ErrNoLink
}

func (s *Server) hasLinkLocked(l *link) bool {
	for _, x := range s.links {
		if x == l {
			return true
		}
	}
	return false
}

// goBackground runs f in a goroutine the server owns (Close waits for it),
// unless the server is already closed. Phones acknowledge pushes and
// answer calls in goroutines of their own, one per PDU; those linger for
// the next (internal/linger), so that each does not grow a new stack
// through the PDU codec (a tenth of the simulator's CPU during the push
// figure).
func (s *Server) goBackground(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.background.Go(f)
}

// newMessageID returns a message_id unique to this server (and, practically,
// across its restarts).
func (s *Server) newMessageID() string {
	return fmt.Sprintf("%X", s.idBase+s.msgIDs.Add(1))
}

// mask hides all but the last 3 characters of an MSISDN: subscriber numbers
// are personal data and must not appear in logs in full.
func mask(msisdn string) string {
	if len(msisdn) <= 3 {
		return msisdn
	}
	b := []byte(msisdn)
	for i := range len(b) - 3 {
		b[i] = '*'
	}
	return string(b)
}
