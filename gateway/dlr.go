package gateway

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/care360/care360"
)

// receiptStates maps SMPP 3.4 message_state values (§5.2.28) to the outbox's.
var receiptStates = map[byte]care360.ReceiptState{
	1: care360.ReceiptEnroute,       // ENROUTE
	2: care360.ReceiptDelivered,     // DELIVERED
	3: care360.ReceiptExpired,       // EXPIRED
	4: care360.ReceiptUndeliverable, // DELETED
	5: care360.ReceiptUndeliverable, // UNDELIVERABLE
	6: care360.ReceiptEnroute,       // ACCEPTED: taken on the handset's behalf, not yet delivered
	7: care360.ReceiptUnknown,       // UNKNOWN
	8: care360.ReceiptUndeliverable, // REJECTED
}

// receiptStats maps the customary stat: words of a receipt's text.
var receiptStats = map[string]care360.ReceiptState{
	"ENROUTE": care360.ReceiptEnroute, "DELIVRD": care360.ReceiptDelivered, "EXPIRED": care360.ReceiptExpired,
	"DELETED": care360.ReceiptUndeliverable, "UNDELIV": care360.ReceiptUndeliverable, "ACCEPTD": care360.ReceiptEnroute,
	"UNKNOWN": care360.ReceiptUnknown, "REJECTD": care360.ReceiptUndeliverable,
}

// parseReceipt reads a delivery receipt: the message id from the
// receipted_message_id TLV or else the text's id: field, the state from the
// message_state TLV or else stat:, and err:. ok is false without an id.
func parseReceipt(p pdu.Body, at time.Time) (r care360.Receipt, ok bool) {
	r = care360.Receipt{State: care360.ReceiptUnknown, At: at}
	text := ""
	if sm, found := p.Fields()[pdufield.ShortMessage]; found {
		text = string(sm.Bytes())
	}
	if text == "" {
		if v, found := p.TLVFields()[pdutlv.TagMessagePayload]; found {
			text = string(v.Bytes())
		}
	}
	fields := map[string]string{}
	for _, w := range strings.Fields(text) {
		k, v, ok := strings.Cut(w, ":")
		if k = strings.ToLower(k); ok && (k == "id" || k == "stat" || k == "err") && fields[k] == "" {
			fields[k] = v
		}
	}
	r.SMSCID, r.Error = fields["id"], fields["err"]
	if v, found := p.TLVFields()[pdutlv.TagReceiptedMessageID]; found {
		if id := strings.TrimRight(string(v.Bytes()), "\x00"); id != "" {
			r.SMSCID = id
		}
	}
	if st, found := receiptStats[strings.ToUpper(fields["stat"])]; found {
		r.State = st
	}
	if v, found := p.TLVFields()[pdutlv.TagMessageStateOption]; found && len(v.Bytes()) == 1 {
		if st, known := receiptStates[v.Bytes()[0]]; known {
			r.State = st
		}
	}
	return r, r.SMSCID != ""
}

// dlrItem is a receipt waiting to be written, with how to answer it.
type dlrItem struct {
	l       *link
	seq     uint32
	receipt care360.Receipt
}

// dlrWriter records receipts in batches and only then answers their
// deliver_sm: a receipt acknowledged is a receipt stored. Under load a batch
// is whatever arrived while the previous one was written; while screens are
// answered it also waits a moment for more (yielder.linger).
type dlrWriter struct {
	g    *Gateway
	in   chan dlrItem
	done chan struct{}

	startOnce, stopOnce sync.Once
}

func newDLRWriter(g *Gateway) *dlrWriter {
	return &dlrWriter{g: g, in: make(chan dlrItem, 4096), done: make(chan struct{})}
}

func (w *dlrWriter) start() { w.startOnce.Do(func() { go w.run() }) }

// stop writes what was accepted and ends. The gateway is draining by then,
// so nothing more is added. Safe to call twice, and without start.
func (w *dlrWriter) stop() {
	w.stopOnce.Do(func() {
		close(w.in)
		w.startOnce.Do(func() { close(w.done) })
		<-w.done
	})
}

func (w *dlrWriter) run() {
	defer close(w.done)
	for it := range w.in {
		batch := gather(w.in, []dlrItem{it}, 1000, w.g.yield.linger())
		w.write(batch)
	}
}

// write stores a batch and answers each receipt: 0 once stored, or
// ESME_RX_T_APPN so that the SMSC offers it again later.
func (w *dlrWriter) write(batch []dlrItem) {
	rs := make([]care360.Receipt, len(batch))
	for i, it := range batch {
		rs[i] = it.receipt
	}
	w.g.metrics.writes.WithLabelValues("receipts").Observe(float64(len(rs)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	matches, err := w.g.cfg.Outbox.Receipts(ctx, rs)
	cancel()
	status := StatusOK
	if err != nil {
		status = StatusTempAppErr
		w.g.metrics.receipts.WithLabelValues("failed").Add(float64(len(batch)))
		w.g.log.Warn("delivery receipts not stored; the SMSC will resend them", "receipts", len(batch), "err", err)
	} else {
		w.g.metrics.receipts.WithLabelValues("matched").Add(float64(len(matches)))
		w.g.metrics.receipts.WithLabelValues("unmatched").Add(float64(len(batch) - len(matches)))
		now := time.Now()
		for _, m := range matches {
			w.g.metrics.dlrLatency.Observe(now.Sub(m.SubmittedAt).Seconds())
		}
	}
	// The answers go out together, one write for each link, not one each.
	held := make(map[*link]bool, 1)
	for _, it := range batch {
		if !held[it.l] {
			held[it.l] = true
			it.l.hold()
		}
		it.l.respond(it.seq, pdu.NewDeliverSMResp(), status)
	}
	for l := range held {
		l.release()
	}
}

// handleReceipt takes a delivery receipt (deliver_sm, esm_class 0x04) off
// the read loop: parsed here, stored and answered by the writer. Without an
// outbox there is nothing to update, and a receipt without an id matches
// nothing: both are acknowledged so the SMSC does not resend them forever.
func (g *Gateway) handleReceipt(_ *bind, l *link, p pdu.Body) {
	seq := p.Header().Seq
	r, ok := parseReceipt(p, time.Now())
	if !ok || g.dlr == nil {
		if !ok {
			g.metrics.receipts.WithLabelValues("unparsable").Inc()
			g.log.Warn("delivery receipt without a message id", "from", care360.MaskMSISDN(fieldString(p.Fields(), pdufield.SourceAddr)))
		}
		l.respond(seq, pdu.NewDeliverSMResp(), StatusOK)
		return
	}
	g.admit.RLock()
	defer g.admit.RUnlock()
	if g.draining {
		l.respond(seq, pdu.NewDeliverSMResp(), StatusTempAppErr)
		return
	}
	// When the writer falls behind, the read loop waits here and TCP pushes
	// back on the SMSC; receipts never wait on submit responses, so this
	// cannot deadlock the link.
	g.dlr.in <- dlrItem{l: l, seq: seq, receipt: r}
}
