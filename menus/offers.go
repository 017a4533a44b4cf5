package menus

import (
	"strconv"
	"strings"

	"github.com/care360/care360"
)

// offerScreens are menus 4 (mConnect partner offers by category) and 6
// (summer resort). A code offer is confirmed and its code sent; a hotel or
// a resort asks for the nights, then confirms the booking. The screens
// after the pick are shared: they find the offer on the screen it was
// picked from, the last one of these on the way back.
func offerScreens() []*Screen {
	items := make([]Item, len(care360.Categories))
	screens := []*Screen{
		{ID: "mconnect", Title: "item.mconnect", Items: items},
		{ID: "resort", Title: "item.resort", Options: offerOptions(care360.OfferResort, ""), Next: "offer.nights"},
		{ID: "offer.code", Confirm: &Confirm{Prompt: codePrompt, Do: takeCode}},
		{ID: "offer.nights", Input: &Input{Prompt: "nights.prompt", Parse: parseNights}, Next: "offer.book"},
		{ID: "offer.book", Confirm: &Confirm{Prompt: bookPrompt, Do: book}},
	}
	for i, cat := range care360.Categories {
		id, next := "mc."+string(cat), "offer.code"
		if cat.Nightly() {
			next = "offer.nights"
		}
		items[i] = Item{Num: i + 1, Label: msg("cat." + cat), To: id}
		screens = append(screens, &Screen{ID: id, Title: msg("cat." + cat), Options: offerOptions(care360.OfferMConnect, cat), Next: next})
	}
	return screens
}

// offerPicker reports whether an offer is picked on screen id.
func offerPicker(id string) bool { return id == "resort" || strings.HasPrefix(id, "mc.") }

func offerOptions(kind care360.OfferKind, cat care360.Category) func(c *call) ([]Option, error) {
	return func(c *call) ([]Option, error) {
		os, err := c.e.cfg.Offers.AvailableOffers(c.ctx, c.req.MSISDN, care360.OfferFilter{Kind: kind, Category: cat})
		if err != nil {
			return nil, err
		}
		lang := c.lang()
		opts := make([]Option, len(os))
		for i, o := range os {
			label := o.Name(lang)
			if o.Nightly() {
				label = text(lang, "offer.price", label, care360.Number(o.Price, lang))
			}
			opts[i] = Option{Label: label, Value: strconv.FormatInt(o.ID, 10)}
		}
		return opts, nil
	}
}

// pickedOffer is the offer chosen on the latest picker screen.
func pickedOffer(c *call) (*care360.Offer, error) {
	for i := len(c.st.Back) - 1; i >= 0; i-- {
		if p := c.st.Back[i]; offerPicker(p) {
			id, err := strconv.ParseInt(c.value(p), 10, 64)
			if err != nil {
				return nil, err
			}
			return c.e.cfg.Offers.Offer(c.ctx, id)
		}
	}
	return nil, care360.Errorf(care360.EINTERNAL, "menus: no offer was picked")
}

func codePrompt(c *call) ([]string, error) {
	o, err := pickedOffer(c)
	if err != nil {
		return nil, err
	}
	return []string{text(c.lang(), "offer.ask.code", o.Name(c.lang()))}, nil
}

func takeCode(c *call) (string, error) {
	o, err := pickedOffer(c)
	if err != nil {
		return "", err
	}
	b, _, err := c.e.cfg.Offers.Book(c.ctx, care360.BookRequest{MSISDN: c.req.MSISDN, OfferID: o.ID, IdempotencyKey: c.actionKey()})
	if err != nil {
		return "", err
	}
	return text(c.lang(), "offer.done.code", o.Name(c.lang()), b.Code), nil
}

// parseNights accepts 1 to 31 nights; the monthly cap is the booking's to
// judge, so that it is refused with its reason.
func parseNights(c *call, answer string) (string, error) {
	n, err := strconv.Atoi(answer)
	if err != nil || n < 1 || n > 31 || answer != strconv.Itoa(n) {
		return "", errInvalid
	}
	return answer, nil
}

func bookPrompt(c *call) ([]string, error) {
	o, err := pickedOffer(c)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	lines := []string{text(lang, "book.ask", c.value("offer.nights"), o.Name(lang)), text(lang, "book.price", care360.Number(o.Price, lang))}
	if o.CardPrice > 0 {
		lines = append(lines, text(lang, "offer.card", care360.Number(o.CardPrice, lang), o.CardName))
	}
	return lines, nil
}

func book(c *call) (string, error) {
	o, err := pickedOffer(c)
	if err != nil {
		return "", err
	}
	nights, _ := strconv.Atoi(c.value("offer.nights"))
	b, _, err := c.e.cfg.Offers.Book(c.ctx, care360.BookRequest{MSISDN: c.req.MSISDN, OfferID: o.ID, Nights: nights, IdempotencyKey: c.actionKey()})
	if err != nil {
		return "", err
	}
	return text(c.lang(), "book.done", strconv.Itoa(b.Nights), o.Name(c.lang())), nil
}
