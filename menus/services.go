package menus

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/care360/care360"
)

// Service routes one service code (PRODUCT.md §3.7): to a screen of the
// menu tree (Menu), below which shortcuts work as below the main menu,
// or to an external application (App, an endpoint's name) that then holds
// the dialogue.
type Service struct {
	Code string `json:"code"`
	Menu string `json:"menu,omitempty"`
	App  string `json:"app,omitempty"`
}

// base is the code without its final '#': "*1090".
func (s Service) base() string { return strings.TrimSuffix(s.Code, "#") }

// CheckServices checks a list of service codes against the product's menu
// tree: each code looks like *090#, appears once, and names exactly one of
// a known screen or an application for which isApp is true. An error names
// the entry.
func CheckServices(services []Service, isApp func(name string) bool) error {
	return checkServices(services, Tree(), isApp)
}

func checkServices(services []Service, tree map[string]*Screen, isApp func(string) bool) error {
	seen := map[string]bool{}
	for i, s := range services {
		switch {
		case !validCode(s.Code):
			return fmt.Errorf("services[%d]: code %q must look like *090# or *1090*5#", i, s.Code)
		case seen[s.Code]:
			return fmt.Errorf("services[%d]: code %s is listed twice", i, s.Code)
		case s.Menu != "" && s.App != "":
			return fmt.Errorf("services[%d] (%s): menu and app: give one", i, s.Code)
		case s.Menu == "" && s.App == "":
			return fmt.Errorf("services[%d] (%s): menu or app is required", i, s.Code)
		case s.Menu != "" && !landing(tree, s.Menu):
			return fmt.Errorf("services[%d] (%s): unknown menu %q (one of %s)", i, s.Code, s.Menu, strings.Join(Menus(tree), ", "))
		case s.App != "" && (isApp == nil || !isApp(s.App)):
			return fmt.Errorf("services[%d] (%s): app %q is not one of the configured endpoints", i, s.Code, s.App)
		}
		seen[s.Code] = true
	}
	return nil
}

// validCode is "*" then digits, groups separated by '*', then "#".
func validCode(code string) bool {
	body, ok := strings.CutPrefix(code, "*")
	if !ok || !strings.HasSuffix(body, "#") {
		return false
	}
	for _, part := range strings.Split(strings.TrimSuffix(body, "#"), "*") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

// landing reports whether a dial may open screen id: a screen that needs
// nothing chosen before it. Registration and resuming come by themselves;
// a confirmation, or a screen reached by a pick or a typed answer (a
// gift's, a flight's), needs what was chosen.
func landing(tree map[string]*Screen, id string) bool {
	sc, ok := tree[id]
	if !ok || id == "register" || id == "resume" || sc.Confirm != nil {
		return false
	}
	for _, other := range tree {
		if other.Next == id {
			return false
		}
	}
	return true
}

// Menus are the screens a service code may open, in order.
func Menus(tree map[string]*Screen) []string {
	var ids []string
	for id := range tree {
		if landing(tree, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// route finds the service a dialled string belongs to, longest code
// first, and the shortcut's choices after its code ("*1090*1#": ["1"]).
func (e *Engine) route(dialled string) (svc *Service, path []string, ok bool) {
	s := strings.TrimSpace(dialled)
	for i := range e.services {
		sv := &e.services[i]
		if s == sv.Code {
			return sv, nil, true
		}
		rest, found := strings.CutPrefix(s, sv.base()+"*")
		if !found || !strings.HasSuffix(rest, "#") {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(rest, "#"), "*")
		if slices.Contains(parts, "") {
			return nil, nil, false
		}
		return sv, parts, true
	}
	return nil, nil, false
}

// sortServices orders codes longest first, so that *1090# is tried before
// a *10# that would otherwise take it as a shortcut.
func sortServices(services []Service) []Service {
	out := slices.Clone(services)
	slices.SortStableFunc(out, func(a, b Service) int { return cmp.Compare(len(b.Code), len(a.Code)) })
	return out
}

// appScreen and appEnd hold a partner application's screens while they
// are shown: a screen that continues, and the END one when it needs more
// than one page. Their lines are the application's text.
var (
	appScreen = &Screen{ID: "app", Options: func(*call) ([]Option, error) { return nil, nil }}
	appEnd    = &Screen{ID: "app.end", Info: func(c *call) ([]string, error) { return c.st.Lines, nil }}
)

// beginApp opens a dialogue held by a partner application.
func (e *Engine) beginApp(c *call, svc *Service, path []string) (care360.USSDReply, error) {
	c.st.App, c.st.Code, c.st.Network = svc.App, svc.Code, c.req.NetworkCode
	c.st.AppText = strings.Join(path, "*")
	return e.callApp(c)
}

// answerApp goes on with a partner application's dialogue: "99" and "0"
// page through a screen that needed several pages, as on our own screens;
// anything else is the application's.
func (e *Engine) answerApp(c *call, in string, ok bool) (care360.USSDReply, error) {
	sc := e.screen[c.st.Screen]
	pages := e.paginate(c, sc)
	switch {
	case in == "99" && c.st.Page < len(pages)-1:
		c.st.Page++
		return e.show(c)
	case in == "0" && c.st.Page > 0:
		c.st.Page--
		return e.show(c)
	case !ok || sc == appEnd:
		return e.show(c)
	}
	if c.st.AppText == "" {
		c.st.AppText = in
	} else {
		c.st.AppText += "*" + in
	}
	return e.callApp(c)
}

// callApp sends the dialogue so far to its application and shows the
// answer, paginated to the transport's limit.
func (e *Engine) callApp(c *call) (care360.USSDReply, error) {
	phone := string(c.req.MSISDN)
	if phone != "" {
		phone = "+" + phone
	}
	reply, err := e.cfg.Apps.CallApp(c.ctx, c.st.App, care360.AppRequest{
		SessionID: c.st.ID, ServiceCode: c.st.Code, PhoneNumber: phone,
		NetworkCode: c.st.Network, Text: c.st.AppText,
	})
	c.st.Screen = "app"
	if err != nil {
		e.metrics.dialogues.WithLabelValues("app_failed", c.st.Code).Inc()
		c.outcome = care360.OutcomeError
		return e.end(c, text(c.lang(), "unavailable"))
	}
	c.st.Page, c.st.Lines = 0, strings.Split(reply.Text, "\n")
	if reply.End {
		c.st.Screen = "app.end"
	}
	// The record's path shows one step per screen of the application.
	if len(c.st.Path) < maxPath {
		c.st.Path = append(c.st.Path, "app:"+c.st.App)
	}
	return e.show(c)
}
