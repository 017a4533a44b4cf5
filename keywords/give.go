package keywords

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/care360/care360"
)

// give is CD <msisdn> <points>: every rule is checked now, and the gift
// waits for the sender's Y.
func (h *Handler) give(ctx context.Context, c *caller, args []string) (string, error) {
	lang := c.lang()
	if len(args) != 2 {
		return text(lang, "cd.usage", h.cfg.ShortCode), nil
	}
	to, err := h.cfg.Numbering.Parse(args[0])
	if err != nil {
		return text(lang, "cd.number", args[0]), nil
	}
	points, ok := parsePoints(args[1])
	if !ok {
		return text(lang, "cd.usage", h.cfg.ShortCode), nil
	}
	if _, err := h.cfg.Transfers.RequestTransfer(ctx, c.msisdn, to, points); err != nil {
		return h.refusal(ctx, c, to, err)
	}
	minutes := int(h.cfg.TransferRules.ConfirmWithin.Minutes())
	return text(lang, "cd.ask", number(points, lang), h.national(to), h.cfg.ShortCode, minutes), nil
}

// confirm is Y: the points move, and both sides hear of it in their own
// language, in the same transaction; the sender's SMS is the reply.
func (h *Handler) confirm(ctx context.Context, c *caller) (string, error) {
	_, err := h.cfg.Transfers.ConfirmTransfer(ctx, c.msisdn, "", h.notify)
	switch {
	case err == nil:
		return "", nil
	case care360.ErrorCode(err) == care360.ENOTFOUND:
		return text(c.lang(), "y.none"), nil
	case care360.ErrorReason(err) == care360.ReasonWindow:
		return text(c.lang(), "y.expired"), nil
	}
	return h.refusal(ctx, c, "", err)
}

// notify writes the two SMS of a confirmed gift (care360.TransferNotifier).
func (h *Handler) notify(t *care360.Transfer) []care360.OutgoingSMS {
	fl, tl := t.FromLang, t.ToLang
	return []care360.OutgoingSMS{{
		MSISDN: t.From, Kind: care360.KindTransactional, IdempotencyKey: fmt.Sprintf("transfer:%d:from", t.ID),
		Text: text(fl, "y.sender", number(t.Points, fl), h.national(t.To), number(t.FromSpendable, fl)),
	}, {
		MSISDN: t.To, Kind: care360.KindTransactional, IdempotencyKey: fmt.Sprintf("transfer:%d:to", t.ID),
		Text: text(tl, "y.recipient", number(t.Points, tl), h.national(t.From), number(t.ToSpendable, tl), h.cfg.ShortCode),
	}}
}

// refusal is the one place where a transfer's domain errors become replies;
// anything else (the database away) is returned, so the SMSC tries again.
func (h *Handler) refusal(ctx context.Context, c *caller, to care360.MSISDN, err error) (string, error) {
	lang, r := c.lang(), h.cfg.TransferRules
	switch care360.ErrorCode(err) {
	case care360.ENOTFOUND:
		return text(lang, "cd.recipient", h.national(to)), nil
	case care360.EREFUSED:
	default:
		return "", err
	}
	switch care360.ErrorReason(err) {
	case care360.ReasonTier:
		return text(lang, "cd.tier", r.MinTier.Name(lang)), nil
	case care360.ReasonAmount:
		return text(lang, "cd.amount", number(r.Step, lang), number(r.MinPoints, lang)), nil
	case care360.ReasonSelf:
		return text(lang, "cd.self"), nil
	case care360.ReasonSIMSwapHold:
		return text(lang, "cd.hold", h.localTime(care360.ErrorUntil(err))), nil
	case care360.ReasonLimitReached:
		return text(lang, "cd.cap", number(r.MonthlyCap, lang)), nil
	case care360.ReasonInsufficientPoints:
		bal, err := h.cfg.Points.Balance(ctx, c.msisdn)
		if err != nil {
			return "", err
		}
		return text(lang, "cd.points", number(bal.Spendable, lang)), nil
	}
	return "", err
}

// localTime writes t as subscribers read a time: 15:04 02/01/2006, local.
func (h *Handler) localTime(t time.Time) string {
	loc := h.cfg.Location
	if loc == nil {
		loc = defaultLocation()
	}
	return t.In(loc).Format("15:04 02/01/2006")
}

func defaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*3600)
}

// national writes a number as subscribers know it: 0903123456.
func (h *Handler) national(m care360.MSISDN) string {
	if nsn, ok := strings.CutPrefix(string(m), h.cfg.Numbering.CountryCode); ok && nsn != "" {
		return "0" + nsn
	}
	return string(m)
}
