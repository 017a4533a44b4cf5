package menus

import (
	"strconv"
	"time"

	"github.com/care360/care360"
)

// drawScreens are menu 3 (PRODUCT.md §3.3 item 3, §4.4–4.5): enter an open
// draw, spin a wheel, see one's results. Entering and spinning are
// confirmed first (a shortcut stops there); both end on their outcome,
// which also goes out by SMS.
func drawScreens() []*Screen {
	return []*Screen{
		{ID: "draws", Title: "item.draws", Items: []Item{
			{Num: 1, Label: "draws.enter", To: "draws.list"},
			{Num: 2, Label: "draws.spin", To: "spins.list"},
			{Num: 3, Label: "draws.results", To: "draws.results"},
		}},
		{ID: "draws.list", Title: "draws.open", Options: drawOptions, Next: "draws.confirm"},
		{ID: "draws.confirm", Confirm: &Confirm{Prompt: drawPrompt, Do: enterDraw}, ReadsAccount: true},
		{ID: "spins.list", Title: "spins.open", Options: spinOptions, Next: "spins.confirm"},
		{ID: "spins.confirm", Confirm: &Confirm{Prompt: spinPrompt, Do: spin}},
		{ID: "draws.results", Info: drawResults},
	}
}

// drawOptions lists the draws open now, closing soonest first.
func drawOptions(c *call) ([]Option, error) {
	offers, err := c.e.cfg.Draws.OpenDraws(c.ctx, c.req.MSISDN)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	opts := make([]Option, len(offers))
	for i, o := range offers {
		label := o.Draw.Title(lang)
		if o.Entry != nil {
			label = text(lang, "draws.entered", label)
		}
		opts[i] = Option{Label: label, Value: strconv.FormatInt(o.Draw.ID, 10)}
	}
	return opts, nil
}

// picked reads the id chosen on a list screen.
func picked(c *call, screen string) (int64, error) {
	return strconv.ParseInt(c.value(screen), 10, 64)
}

// pickedDraw finds the draw chosen on the list among those open now (the
// list's own query: it carries the subscriber's entry and no entry count);
// one that closed since the list was shown is refused (window), one that
// was cancelled says so.
func pickedDraw(c *call) (*care360.DrawOffer, error) {
	id, err := picked(c, "draws.list")
	if err != nil {
		return nil, err
	}
	offers, err := c.e.cfg.Draws.OpenDraws(c.ctx, c.req.MSISDN)
	if err != nil {
		return nil, err
	}
	for i := range offers {
		if offers[i].Draw.ID == id {
			return &offers[i], nil
		}
	}
	if d, err := c.e.cfg.Draws.Draw(c.ctx, id); err == nil && d.Status == care360.DrawCancelled {
		return nil, care360.Refused(care360.ReasonCancelled, "draw %d was cancelled", id)
	}
	return nil, care360.Refused(care360.ReasonWindow, "draw %d is not open", id)
}

// drawPrompt says what entering costs and weighs for this subscriber. What
// would be refused is refused here already (closed since the list, entered
// already, tier, points), so that the subscriber is not asked to agree to
// it; the entry itself checks everything again.
func drawPrompt(c *call) ([]string, error) {
	o, err := pickedDraw(c)
	if err != nil {
		return nil, err
	}
	d := &o.Draw
	sub, bal, err := c.account()
	if err != nil {
		return nil, err
	}
	tickets := d.TicketsFor(sub.Tier)
	switch {
	case o.Entry != nil:
		return nil, care360.Refused(care360.ReasonLimitReached, "draw %s entered already", d.Code)
	case tickets == 0:
		return nil, care360.Refused(care360.ReasonTier, "draw %s is not open to %s", d.Code, sub.Tier)
	case bal.Spendable < d.EntryCost:
		return nil, care360.Refused(care360.ReasonInsufficientPoints, "draw %s costs %d", d.Code, d.EntryCost)
	}
	// Two short lines, so that "1. Dong y" fits on the first screen even
	// in UCS-2 (80 characters); the receipt says when the draw closes.
	lang := c.lang()
	terms := text(lang, "draws.ask.free", tickets)
	if d.EntryCost > 0 {
		terms = text(lang, "draws.ask.cost", care360.Number(d.EntryCost, lang), tickets)
	}
	return []string{text(lang, "draws.ask", d.Title(lang)), terms}, nil
}

func enterDraw(c *call) (string, error) {
	o, err := pickedDraw(c)
	if err != nil {
		return "", err
	}
	e, err := c.e.cfg.Draws.EnterDraw(c.ctx, o.Draw.ID, c.req.MSISDN, c.actionKey())
	if err != nil {
		return "", err
	}
	// The receipt's short hash goes by SMS only: the screen stays short.
	lang := c.lang()
	return text(lang, "draws.done", o.Draw.Title(lang), e.ID, e.Tickets, c.e.date(o.Draw.ClosesAt)), nil
}

// spinOptions lists the wheels taking spins now.
func spinOptions(c *call) ([]Option, error) {
	ts, err := c.e.cfg.Spins.SpinTables(c.ctx, true)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	opts := make([]Option, len(ts))
	for i := range ts {
		opts[i] = Option{Label: ts[i].Title(lang), Value: strconv.FormatInt(ts[i].ID, 10)}
	}
	return opts, nil
}

// spinPrompt says what the next spin costs (or which free spin it uses)
// and how many are left today; a spin that would be refused is refused
// here already.
func spinPrompt(c *call) ([]string, error) {
	id, err := picked(c, "spins.list")
	if err != nil {
		return nil, err
	}
	o, err := c.e.cfg.Spins.SpinOffer(c.ctx, id, c.req.MSISDN)
	if err != nil {
		return nil, err
	}
	switch {
	case o.SpunToday >= o.Table.DailyCap:
		return nil, care360.Refused(care360.ReasonLimitReached, "%d spins today", o.SpunToday)
	case o.Spendable < o.CostPoints:
		return nil, care360.Refused(care360.ReasonInsufficientPoints, "a spin costs %d", o.CostPoints)
	}
	lang := c.lang()
	left := o.Table.DailyCap - o.SpunToday
	var terms string
	switch {
	case o.FreeSpins > 0:
		terms = text(lang, "spins.ask.free", o.FreeSpins, left)
	case o.CostPoints > 0:
		terms = text(lang, "spins.ask.cost", care360.Number(o.CostPoints, lang), left)
	default:
		terms = text(lang, "spins.ask.nocost", left)
	}
	return []string{o.Table.Title(lang), terms}, nil
}

// spin spins and shows the outcome at once; the SMS follows.
func spin(c *call) (string, error) {
	id, err := picked(c, "spins.list")
	if err != nil {
		return "", err
	}
	r, err := c.e.cfg.Spins.Spin(c.ctx, id, c.req.MSISDN, c.actionKey())
	if err != nil {
		return "", err
	}
	lang := c.lang()
	switch {
	case r.Prize != nil:
		return text(lang, "spins.won", r.Prize.Title(lang)), nil
	case r.OutOfStock:
		return text(lang, "spins.out"), nil
	}
	return text(lang, "spins.lost"), nil
}

// drawResults is menu 3 → 3: the subscriber's last entries (the prize, no
// prize, or when the result comes) and the prizes of their last spins.
func drawResults(c *call) ([]string, error) {
	rs, err := c.e.cfg.Draws.DrawResults(c.ctx, c.req.MSISDN, 5)
	if err != nil {
		return nil, err
	}
	spins, err := c.e.cfg.Spins.SpinResults(c.ctx, c.req.MSISDN, 5)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	var lines []string
	for _, r := range rs {
		switch {
		case r.Prize != nil:
			lines = append(lines, text(lang, "results.won", r.Draw.Code, r.Prize.Title(lang)))
		case r.Draw.Status == care360.DrawDrawn:
			lines = append(lines, text(lang, "results.lost", r.Draw.Code))
		case r.Draw.Status == care360.DrawCancelled:
			lines = append(lines, text(lang, "results.void", r.Draw.Code))
		default:
			lines = append(lines, text(lang, "results.wait", r.Draw.Code, r.Entry.ID, c.e.date(r.Draw.ClosesAt)))
		}
	}
	for _, s := range spins {
		if s.Prize != nil {
			lines = append(lines, text(lang, "results.spin", s.Table.Code, s.Prize.Title(lang)))
		}
	}
	if len(lines) == 0 {
		lines = []string{text(lang, "results.none")}
	}
	return lines, nil
}

// date writes t as the subscriber reads dates: dd/mm/yyyy, local time.
func (e *Engine) date(t time.Time) string { return t.In(e.cfg.Location).Format("02/01/2006") }
