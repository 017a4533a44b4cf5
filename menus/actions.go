package menus

import "github.com/care360/care360"

// pointsScreen is menu 1: tier, spendable and qualifying points, the next
// expiry and what the next tier needs (PRODUCT.md §3.3).
func pointsScreen(c *call) ([]string, error) {
	sub, bal, err := c.account()
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	n := func(v int64) string { return care360.Number(v, lang) }
	lines := []string{
		text(lang, "points.tier", tierName(lang, sub.Tier)),
		text(lang, "points.spendable", n(bal.Spendable)),
		text(lang, "points.qual", n(bal.Qualifying)),
	}
	if bal.NextExpiry != nil {
		lines = append(lines, text(lang, "points.expiry", n(bal.NextExpiry.Points), bal.NextExpiry.Date.Format("02/01/2006")))
	} else {
		lines = append(lines, text(lang, "points.noexpiry"))
	}
	// The next tier is measured from qualifying points, whatever floor the
	// subscriber holds now.
	if next, need, ok := c.e.cfg.TierRules.Next(sub.Tier); ok {
		lines = append(lines, text(lang, "points.next", n(max(need-bal.Qualifying, 0)), tierName(lang, next)))
	} else {
		lines = append(lines, text(lang, "points.top"))
	}
	return lines, nil
}

// register makes an unknown caller a member (the USSD face of DK).
func register(c *call) (string, error) {
	sub, _, err := c.e.cfg.Subscribers.Register(c.ctx, c.req.MSISDN, c.lang(), care360.ChannelUSSD)
	if err != nil {
		return "", err
	}
	c.sub, c.st.Member = sub, true
	return text(c.lang(), "register.done", c.e.cfg.ServiceCode), nil
}

// languageLabels name each language in itself.
var languageLabels = map[care360.Language]msg{
	care360.LangVi: "lang.vi", care360.LangViUnicode: "lang.viu", care360.LangEn: "lang.en",
}

// setLanguage remembers the choice and answers in the new language.
func setLanguage(l care360.Language) func(c *call) (string, error) {
	return func(c *call) (string, error) {
		if err := c.e.cfg.Subscribers.SetLanguage(c.ctx, c.req.MSISDN, l); err != nil {
			return "", err
		}
		c.st.Lang = l
		return text(l, "lang.done", text(l, languageLabels[l])), nil
	}
}
