package keywords

import (
	"context"
	"strings"

	"github.com/care360/care360"
)

// maxGiftsListed keeps the QUA reply to about one SMS: menu 2 has them all.
const maxGiftsListed = 4

// gifts is QUA: the free gifts the member may claim now, then the
// catalogue for their tier, as menu 2 lists them.
func (h *Handler) gifts(ctx context.Context, c *caller) (string, error) {
	lang := c.lang()
	var gs []care360.Gift
	if h.cfg.Gifts != nil {
		var err error
		if gs, err = h.cfg.Gifts.ClaimableGifts(ctx, c.msisdn); err != nil {
			return "", err
		}
	}
	if len(gs) == 0 {
		return text(lang, "qua.none", h.cfg.USSDCode), nil
	}
	names := make([]string, 0, maxGiftsListed)
	for _, g := range gs[:min(len(gs), maxGiftsListed)] {
		if g.Campaign() {
			names = append(names, text(lang, "qua.free", g.Title(lang)))
		} else {
			names = append(names, text(lang, "qua.cost", g.Title(lang), number(g.Cost, lang)))
		}
	}
	return text(lang, "qua.list", strings.Join(names, "; "), h.cfg.USSDCode), nil
}

// Notify writes the two SMS of a confirmed gift of points, for the USSD
// menu 7 to send the same texts as CD and Y do (care360.TransferNotifier).
func (h *Handler) Notify(t *care360.Transfer) []care360.OutgoingSMS { return h.notify(t) }
