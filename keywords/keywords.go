// Package keywords answers SMS keywords sent to the short code (PRODUCT.md
// §5): DIEM, DK, DK QC, CD, Y, QUA, TC, GY and help. It turns one MO into domain
// calls and one reply in the subscriber's language, beside the menus and on
// the same services; it knows nothing of SMPP.
package keywords

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/care360/care360"
)

// Config wires the handler to the domain.
type Config struct {
	Subscribers care360.SubscriberService
	Points      care360.PointsService
	Transfers   care360.TransferService
	Prefs       care360.MarketingPrefs
	Outbox      care360.Outbox
	Inbox       care360.InboundLog
	Numbering   care360.Numbering
	TierRules   care360.TierRules
	// TransferRules are those Transfers applies, for what replies say.
	TransferRules care360.TransferRules
	ShortCode     string // "9237"
	USSDCode      string // "*090#", where replies send people for more
	// Gifts lists what QUA answers (gifts.go); nil: there are none.
	Gifts care360.GiftLister
	// Feedback records what GY sends customer care; nil: GY gets help.
	Feedback care360.FeedbackInbox
	// Leave lets a member leave with HUY and Y; nil: HUY gets help.
	Leave care360.Leaver
	// Location is where times in replies are told (a SIM-swap hold's end);
	// nil means Asia/Ho_Chi_Minh.
	Location *time.Location
	Logger   *slog.Logger
}

// Handler answers keyword SMS. It is safe for concurrent use; the gateway
// runs one subscriber's messages in order.
type Handler struct {
	cfg Config
	log *slog.Logger
}

var _ care360.MOService = (*Handler)(nil)

// New fills in defaults.
func New(cfg Config) *Handler {
	if cfg.Numbering.CountryCode == "" {
		cfg.Numbering = care360.VietnamMobile
	}
	if cfg.TierRules.Thresholds == [5]int64{} {
		cfg.TierRules = care360.DefaultTierRules
	}
	cfg.TransferRules = cfg.TransferRules.WithDefaults()
	if cfg.ShortCode == "" {
		cfg.ShortCode = care360.DefaultSMSRules.ShortCode
	}
	if cfg.USSDCode == "" {
		cfg.USSDCode = "*090#"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, log: cfg.Logger}
}

// Receive stores the MO, does what it asks and queues the reply, keyed by
// the MO's id so that handling it again never sends a second reply. An
// error means the SMSC should deliver it again: refusals are replies, not
// errors, so only a failing dependency gets here.
func (h *Handler) Receive(ctx context.Context, m care360.InboundSMS) error {
	id, err := h.cfg.Inbox.RecordMO(ctx, m)
	if err != nil {
		return err
	}
	reply, err := h.answer(ctx, m, id, parse(m.Text))
	if err != nil {
		return fmt.Errorf("keyword SMS %d: %w", id, err)
	}
	if reply == "" {
		return nil // the reply went out with what the keyword did
	}
	_, _, err = h.cfg.Outbox.Send(ctx, care360.OutgoingSMS{
		MSISDN: m.MSISDN, Text: reply, Kind: care360.KindTransactional, IdempotencyKey: fmt.Sprintf("mo:%d", id),
	})
	return err
}

// caller is the sender of one MO, loaded once.
type caller struct {
	msisdn care360.MSISDN
	sub    *care360.Subscriber // nil: not a member
	at     time.Time           // when the MO arrived; zero: the store's now
}

func (c *caller) lang() care360.Language {
	if c.sub != nil && c.sub.Language.Valid() {
		return c.sub.Language
	}
	return care360.LangVi
}

// answer does what cmd asks and returns the reply; id is the MO's, which
// keys what it does once.
func (h *Handler) answer(ctx context.Context, m care360.InboundSMS, id int64, cmd command) (string, error) {
	msisdn := m.MSISDN
	c := &caller{msisdn: msisdn, at: m.ReceivedAt}
	sub, err := h.cfg.Subscribers.Subscriber(ctx, msisdn)
	switch {
	case err == nil:
		c.sub = sub
	case care360.ErrorCode(err) != care360.ENOTFOUND:
		return "", err
	}
	// Anything but Y cancels a request to leave waiting for it.
	if c.sub != nil && !c.sub.LeaveRequested.IsZero() && cmd.kind != kindConfirm && cmd.kind != kindLeave && h.cfg.Leave != nil {
		if _, err := h.cfg.Leave.CancelLeave(ctx, msisdn); err != nil {
			return "", err
		}
	}
	// Anything but Y (or a new CD, which replaces it) cancels a gift of
	// points waiting for confirmation (PRODUCT.md §5).
	if c.sub != nil && cmd.kind != kindConfirm && cmd.kind != kindGive {
		cancelled, err := h.cfg.Transfers.CancelTransfer(ctx, msisdn)
		if err != nil {
			return "", err
		}
		if cancelled && !cmd.known {
			return text(c.lang(), "cd.cancelled"), nil
		}
	}
	lang := c.lang()
	switch cmd.kind {
	case kindJoin:
		return h.join(ctx, c)
	case kindOptIn:
		if _, err := h.cfg.Prefs.OptIn(ctx, msisdn); err != nil {
			return "", err
		}
		return text(lang, "qc.on", h.cfg.ShortCode), nil
	case kindOptOut:
		if _, err := h.cfg.Prefs.OptOut(ctx, msisdn); err != nil {
			return "", err
		}
		return text(lang, "tc.done", h.cfg.ShortCode), nil
	case kindFeedback:
		// Anyone may ask customer care: members, suspended or not, and
		// numbers that never joined.
		return h.feedback(ctx, c, cmd.rest)
	case kindHelp:
		return text(lang, "help", h.cfg.ShortCode, h.cfg.USSDCode), nil
	case kindLeave:
		if h.cfg.Leave == nil {
			return text(lang, "help", h.cfg.ShortCode, h.cfg.USSDCode), nil
		}
	}
	switch {
	case c.sub == nil:
		return text(lang, "not.member", h.cfg.ShortCode), nil
	case c.sub.Status == care360.StatusSuspended:
		return text(lang, "suspended"), nil
	}
	switch cmd.kind {
	case kindPoints:
		return h.points(ctx, c)
	case kindGive:
		return h.give(ctx, c, cmd.args)
	case kindLeave:
		if err := h.cfg.Leave.RequestLeave(ctx, msisdn); err != nil {
			return "", err
		}
		return text(lang, "huy.ask", h.cfg.ShortCode, int(h.cfg.TransferRules.ConfirmWithin/time.Minute)), nil
	case kindConfirm:
		// Y confirms a request to leave first: HUY cancelled any gift of
		// points waiting, so both cannot be pending.
		if h.cfg.Leave != nil && !c.sub.LeaveRequested.IsZero() {
			left, err := h.cfg.Leave.ConfirmLeave(ctx, msisdn, fmt.Sprintf("mo:%d", id), h.cfg.TransferRules.ConfirmWithin)
			if err != nil {
				return "", err
			}
			if left {
				return text(lang, "huy.done", h.cfg.ShortCode), nil
			}
		}
		return h.confirm(ctx, c)
	}
	// QUA: the gifts claimable now.
	return h.gifts(ctx, c)
}

// join is DK: membership, or what the member already holds.
func (h *Handler) join(ctx context.Context, c *caller) (string, error) {
	sub, created, err := h.cfg.Subscribers.Register(ctx, c.msisdn, c.lang(), care360.ChannelSMS)
	if err != nil {
		return "", err
	}
	lang := sub.Language
	if created {
		return text(lang, "dk.done", sub.Tier.Name(lang), h.cfg.ShortCode, h.cfg.USSDCode), nil
	}
	return text(lang, "dk.already", sub.Tier.Name(lang), h.cfg.ShortCode), nil
}

// points is DIEM: what menu 1 shows, one line each.
func (h *Handler) points(ctx context.Context, c *caller) (string, error) {
	sub, bal, err := h.cfg.Points.Account(ctx, c.msisdn)
	if err != nil {
		return "", err
	}
	lang := c.lang()
	n := func(v int64) string { return number(v, lang) }
	out := text(lang, "points.tier", sub.Tier.Name(lang)) +
		"\n" + text(lang, "points.spend", n(bal.Spendable)) +
		"\n" + text(lang, "points.qual", n(bal.Qualifying))
	if bal.NextExpiry != nil {
		out += "\n" + text(lang, "points.expiry", n(bal.NextExpiry.Points), bal.NextExpiry.Date.Format("02/01/2006"))
	} else {
		out += "\n" + text(lang, "points.noexpiry")
	}
	if next, need, ok := h.cfg.TierRules.Next(sub.Tier); ok {
		out += "\n" + text(lang, "points.next", n(max(need-bal.Qualifying, 0)), next.Name(lang))
	} else {
		out += "\n" + text(lang, "points.top")
	}
	return out, nil
}
