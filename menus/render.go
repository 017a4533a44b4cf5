package menus

import (
	"fmt"
	"strings"

	"github.com/care360/care360"
)

// lines renders a screen's content without navigation.
func (e *Engine) lines(c *call, sc *Screen) []string {
	lang := c.lang()
	switch {
	case sc.Info != nil || sc.Options != nil || sc.Confirm != nil:
		out := c.st.Lines // computed when the screen was entered
		if sc.Confirm != nil {
			out = append(append([]string(nil), out...), "1. "+text(lang, "confirm.yes"))
		}
		return out
	case sc.Input != nil:
		return []string{text(lang, sc.Input.Prompt)}
	}
	var out []string
	if sc.Title != "" {
		out = append(out, text(lang, sc.Title))
	}
	for _, it := range sc.Items {
		out = append(out, fmt.Sprintf("%d. %s", it.Num, text(lang, it.Label)))
	}
	return out
}

// paginate cuts the current screen into pages that fit the transport's limit
// with their navigation lines: "99. Xem them" on every page but the last,
// "0. Quay lai" below the top. An invalid-choice notice, when due, is part of
// every page's budget so that it never pushes a page over the limit.
func (e *Engine) paginate(c *call, sc *Screen) []string {
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
	below := len(c.st.Back) > 0
	if below && sc.Info == nil {
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
	if sc.Info != nil {
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
