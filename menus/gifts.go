package menus

import (
	"strconv"

	"github.com/care360/care360"
)

// giftScreens are menu 2 (PRODUCT.md §3.3 item 2): the campaign gifts the
// subscriber may claim now, then the catalogue for their tier; a pick is
// confirmed, then claimed, and the code goes out by SMS.
func giftScreens() []*Screen {
	return []*Screen{
		{ID: "gifts", Title: "item.gifts", Options: giftOptions, Next: "gift.confirm"},
		{ID: "gift.confirm", Confirm: &Confirm{Prompt: giftPrompt, Do: claimGift}},
	}
}

func giftOptions(c *call) ([]Option, error) {
	gs, err := c.e.cfg.Gifts.ClaimableGifts(c.ctx, c.req.MSISDN)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	opts := make([]Option, len(gs))
	for i, g := range gs {
		label := text(lang, "gift.free", g.Title(lang))
		if !g.Campaign() {
			label = text(lang, "gift.cost", g.Title(lang), care360.Number(g.Cost, lang))
		}
		opts[i] = Option{Label: label, Value: strconv.FormatInt(g.ID, 10)}
	}
	return opts, nil
}

// pickedGift is the gift chosen on the list.
func pickedGift(c *call) (*care360.Gift, error) {
	id, err := strconv.ParseInt(c.value("gifts"), 10, 64)
	if err != nil {
		return nil, err
	}
	return c.e.cfg.Gifts.Gift(c.ctx, id)
}

func giftPrompt(c *call) ([]string, error) {
	g, err := pickedGift(c)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	if g.Campaign() {
		return []string{text(lang, "gift.ask.free", g.Title(lang))}, nil
	}
	return []string{text(lang, "gift.ask.cost", care360.Number(g.Cost, lang), g.Title(lang))}, nil
}

func claimGift(c *call) (string, error) {
	g, err := pickedGift(c)
	if err != nil {
		return "", err
	}
	cl, _, err := c.e.cfg.Gifts.ClaimGift(c.ctx, care360.ClaimRequest{MSISDN: c.req.MSISDN, GiftID: g.ID, IdempotencyKey: c.actionKey()})
	if err != nil {
		return "", err
	}
	lang := c.lang()
	if cl.Status == care360.ClaimPending {
		return text(lang, "gift.pending", g.Title(lang)), nil
	}
	return text(lang, "gift.done", g.Title(lang)), nil
}
