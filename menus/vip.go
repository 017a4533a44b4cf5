package menus

import (
	"strings"

	"github.com/care360/care360"
)

// vipScreens are menu 5 (PRODUCT.md §3.3 item 5): the privileges the tier
// has with what is left of the year's quota (other tiers are refused at
// once), the flight as "ddmm VN123", a confirmation, and the e-code by SMS.
func vipScreens() []*Screen {
	return []*Screen{
		{ID: "vip", Title: "item.vip", Options: vipOptions, Next: "vip.flight"},
		{ID: "vip.flight", Input: &Input{Prompt: "vip.flight", Parse: parseFlight}, Next: "vip.confirm"},
		{ID: "vip.confirm", Confirm: &Confirm{Prompt: vipPrompt, Do: useVIP}},
	}
}

// vipNames are the privileges as the menu names them (short: the screen
// also says how many are left).
var vipNames = map[care360.Privilege]msg{
	care360.PrivilegePriority: "vip.priority", care360.PrivilegeLounge: "vip.lounge",
	care360.PrivilegeBooking: "vip.booking", care360.PrivilegeBaggage: "vip.baggage",
}

func vipOptions(c *call) ([]Option, error) {
	qs, err := c.e.cfg.Privileges.Quotas(c.ctx, c.req.MSISDN)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	opts := make([]Option, len(qs))
	for i, q := range qs {
		opts[i] = Option{Label: text(lang, "vip.left", text(lang, vipNames[q.Privilege]), q.Left, q.Quota), Value: string(q.Privilege)}
	}
	return opts, nil
}

// flight reads what parseFlight kept: "YYYY-MM-DD VN123".
func flight(c *call) (care360.Flight, error) {
	date, number, _ := strings.Cut(c.value("vip.flight"), " ")
	d, err := care360.ParseDate(date)
	return care360.Flight{Date: d, Number: number}, err
}

func vipPrompt(c *call) ([]string, error) {
	f, err := flight(c)
	if err != nil {
		return nil, err
	}
	lang := c.lang()
	p := care360.Privilege(c.value("vip"))
	return []string{text(lang, "vip.ask", text(lang, vipNames[p]), f.Number, f.Date.Format("02/01/2006"))}, nil
}

func useVIP(c *call) (string, error) {
	f, err := flight(c)
	if err != nil {
		return "", err
	}
	u, _, err := c.e.cfg.Privileges.UsePrivilege(c.ctx, care360.PrivilegeRequest{
		MSISDN: c.req.MSISDN, Privilege: care360.Privilege(c.value("vip")), Flight: f, IdempotencyKey: c.actionKey(),
	})
	if err != nil {
		return "", err
	}
	return text(c.lang(), "vip.done", u.Left), nil
}
