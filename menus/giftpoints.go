package menus

import (
	"strconv"
	"strings"

	"github.com/care360/care360"
)

// giftPointsScreens are menu 7 (PRODUCT.md §3.3 item 7): the recipient,
// the points, a confirmation, on the rules of CD. Entering the
// confirmation asks for the transfer, so that every rule (tier, amount,
// points, monthly cap, recipient a member) is judged before the subscriber
// agrees; agreeing confirms it, and both sides get an SMS committed with
// the points.
func giftPointsScreens() []*Screen {
	return []*Screen{
		{ID: "giftpoints", Input: &Input{Prompt: "gp.to", Parse: parseRecipient}, Next: "gp.points"},
		{ID: "gp.points", Input: &Input{Prompt: "gp.points", Parse: parseGiftPoints}, Next: "gp.confirm"},
		{ID: "gp.confirm", Confirm: &Confirm{Prompt: giftPointsPrompt, Do: giftPoints}},
	}
}

// parseRecipient takes a number in any form; giving to oneself is refused
// at once rather than asked again.
func parseRecipient(c *call, answer string) (string, error) {
	m, err := parseMSISDN(c, answer)
	if err != nil {
		return "", err
	}
	if care360.MSISDN(m) == c.req.MSISDN {
		return "", care360.Refused(care360.ReasonSelf, "points cannot be given to oneself")
	}
	return m, nil
}

// parseGiftPoints takes a positive number; an amount the rules do not
// permit is refused with its reason.
func parseGiftPoints(c *call, answer string) (string, error) {
	v, err := parsePositive(c, answer)
	if err != nil {
		return "", err
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	if err := c.e.cfg.TransferRules.Check(c.req.MSISDN, care360.MSISDN(c.value("giftpoints")), n); err != nil {
		return "", err
	}
	return v, nil
}

func giftPointsPrompt(c *call) ([]string, error) {
	to := care360.MSISDN(c.value("giftpoints"))
	n, _ := strconv.ParseInt(c.value("gp.points"), 10, 64)
	_, err := c.e.cfg.Transfers.RequestTransfer(c.ctx, c.req.MSISDN, to, n)
	if care360.ErrorCode(err) == care360.ENOTFOUND {
		return nil, care360.Refused(care360.ReasonNotMember, "%s is not a member", to.Masked())
	}
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	return []string{text(lang, "gp.ask", care360.Number(n, lang), national(to))}, nil
}

func giftPoints(c *call) (string, error) {
	t, err := c.e.cfg.Transfers.ConfirmTransfer(c.ctx, c.req.MSISDN, c.actionKey(), c.e.cfg.TransferNotifier)
	if err != nil {
		return "", err
	}
	lang := c.lang()
	return text(lang, "gp.done", care360.Number(t.Points, lang), national(t.To), care360.Number(t.FromSpendable, lang)), nil
}

// national writes a canonical number as subscribers know it: 0903123456.
func national(m care360.MSISDN) string {
	if nsn, ok := strings.CutPrefix(string(m), care360.VietnamMobile.CountryCode); ok && nsn != "" {
		return "0" + nsn
	}
	return string(m)
}
