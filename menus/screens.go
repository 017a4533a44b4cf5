package menus

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/care360/care360"
)

// screen is one node of the menu tree: either a choice list (items) or an
// info screen whose content is computed once when entered and which ends the
// dialogue on its last page.
type screen struct {
	id    string
	title msg // first line of a choice list ("" for none)
	items []item
	// info computes an info screen's lines from the domain.
	info func(c *call) ([]string, error)
}

// item is one numbered choice. Numbers are fixed: an item that is not built
// yet is absent, and the numbers of the others do not move.
type item struct {
	num   int
	label msg
	to    string                        // next screen, or
	do    func(c *call) (string, error) // an action that ends the dialogue with its text
	// confirms marks choices a shortcut must stop before (PRODUCT.md §3.3).
	confirms bool
}

// item returns the choice numbered in, or nil.
func (sc *screen) item(c *call, in string) *item {
	n, err := strconv.Atoi(in)
	if err != nil || in != strconv.Itoa(n) {
		return nil
	}
	for i := range sc.items {
		if sc.items[i].num == n {
			return &sc.items[i]
		}
	}
	return nil
}

// tree is the Care360 menu (PRODUCT.md §3.3). Items 2–7 arrive with their
// issues; their numbers are reserved.
func tree() map[string]*screen {
	screens := []*screen{
		{id: "main", title: "title", items: []item{
			{num: 1, label: "item.points", to: "points"},
			{num: 8, label: "item.language", to: "language"},
		}},
		{id: "register", title: "register.offer", items: []item{
			{num: 1, label: "register.item", do: register, confirms: true},
		}},
		{id: "points", info: pointsScreen},
		{id: "language", title: "item.language", items: []item{
			{num: 1, label: "lang.vi", do: setLanguage(care360.LangVi)},
			{num: 2, label: "lang.viu", do: setLanguage(care360.LangViUnicode)},
			{num: 3, label: "lang.en", do: setLanguage(care360.LangEn)},
		}},
	}
	m := make(map[string]*screen, len(screens))
	for _, s := range screens {
		m[s.id] = s
	}
	return m
}

// checkTree refuses a tree with dead ends or unreachable screens, so that a
// typo in a new menu fails at start-up, not in a subscriber's hand.
func checkTree(m map[string]*screen) error {
	seen := map[string]bool{}
	var walk func(id string) error
	walk = func(id string) error {
		if seen[id] {
			return nil
		}
		sc, ok := m[id]
		if !ok {
			return fmt.Errorf("menus: screen %q is referenced but not defined", id)
		}
		seen[id] = true
		if sc.info == nil && len(sc.items) == 0 {
			return fmt.Errorf("menus: screen %q is a dead end (no items, no content)", id)
		}
		nums := map[int]bool{}
		for _, it := range sc.items {
			if nums[it.num] {
				return fmt.Errorf("menus: screen %q has item %d twice", id, it.num)
			}
			nums[it.num] = true
			if it.num <= 0 || it.num == 99 {
				return fmt.Errorf("menus: screen %q item %d clashes with navigation", id, it.num)
			}
			if (it.to == "") == (it.do == nil) {
				return fmt.Errorf("menus: screen %q item %d must either go somewhere or do something", id, it.num)
			}
			if _, ok := catalog[it.label]; !ok {
				return fmt.Errorf("menus: screen %q item %d has no text %q", id, it.num, it.label)
			}
			if it.to != "" {
				if err := walk(it.to); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, root := range []string{"main", "register"} {
		if err := walk(root); err != nil {
			return err
		}
	}
	for id := range m {
		if !seen[id] {
			return fmt.Errorf("menus: screen %q is unreachable", id)
		}
	}
	return nil
}

// lines renders a screen's content without navigation.
func (e *Engine) lines(c *call, sc *screen) []string {
	if sc.info != nil {
		return c.st.Lines
	}
	var out []string
	if sc.title != "" {
		out = append(out, text(c.lang(), sc.title))
	}
	for _, it := range sc.items {
		out = append(out, fmt.Sprintf("%d. %s", it.num, text(c.lang(), it.label)))
	}
	return out
}

// paginate cuts the current screen into pages that fit the transport's limit
// with their navigation lines: "99. Xem them" on every page but the last,
// "0. Quay lai" below the top. An invalid-choice notice, when due, is part of
// every page's budget so that it never pushes a page over the limit.
func (e *Engine) paginate(c *call, sc *screen) []string {
	lang := c.lang()
	ucs2 := lang == care360.LangViUnicode
	limit := c.req.LimitGSM
	if ucs2 {
		limit = c.req.LimitUCS2
	}
	if limit <= 0 {
		limit = 182
		if ucs2 {
			limit = 80
		}
	}
	var head []string
	if c.st.Invalid > 0 {
		head = append(head, text(lang, "invalid"))
	}
	var nav []string
	below := c.st.Screen != c.home()
	if below && sc.info == nil {
		nav = append(nav, "0. "+text(lang, "nav.back"))
	}
	more := "99. " + text(lang, "nav.more")
	back := "0. " + text(lang, "nav.back")
	body := e.lines(c, sc)
	size := func(ls []string) int { return screenLength(strings.Join(ls, "\n"), ucs2) }

	if all := concat(head, body, nav); size(all) <= limit {
		return []string{strings.Join(all, "\n")}
	}
	// Several pages: each but the last ends with "99"; pages after the first
	// (and every page below the top) also offer "0".
	var pages []string
	var cur []string
	pageNav := func(first, last bool) []string {
		var n []string
		if !last {
			n = append(n, more)
		}
		if !first || below {
			n = append(n, back)
		}
		return n
	}
	for _, ln := range wrapLines(body, limit-size(head)-size([]string{more, back})-3, ucs2) {
		try := concat(head, append(cur, ln), pageNav(len(pages) == 0, false))
		if len(cur) > 0 && size(try) > limit {
			pages = append(pages, strings.Join(concat(head, cur, pageNav(len(pages) == 0, false)), "\n"))
			cur = nil
		}
		cur = append(cur, ln)
	}
	last := pageNav(len(pages) == 0, true)
	if sc.info != nil {
		last = nil // the last page of an info screen ends the dialogue
	}
	pages = append(pages, strings.Join(concat(head, cur, last), "\n"))
	return pages
}

// wrapLines breaks lines longer than width at spaces (never inside a word
// unless a single word is longer than the width).
func wrapLines(lines []string, width int, ucs2 bool) []string {
	if width < 10 {
		width = 10
	}
	var out []string
	for _, ln := range lines {
		for screenLength(ln, ucs2) > width {
			cut := 0
			n := 0
			for i, r := range ln {
				n += screenLength(string(r), ucs2)
				if n > width {
					break
				}
				if r == ' ' {
					cut = i
				}
			}
			if cut == 0 {
				rs := []rune(ln)
				cut = len(string(rs[:width]))
				out = append(out, ln[:cut])
				ln = ln[cut:]
				continue
			}
			out = append(out, ln[:cut])
			ln = ln[cut+1:]
		}
		out = append(out, ln)
	}
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
