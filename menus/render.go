package menus

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/care360/care360"
)

// lines renders a screen's content without navigation.
func (e *Engine) lines(c *call, sc *Screen) []string {
	if c.st.Lead != "" {
		lead := c.st.Lead
		c.st.Lead = ""
		defer func() { c.st.Lead = lead }()
		return append([]string{lead}, e.lines(c, sc)...)
	}
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
//
// Each page is measured in the coding it goes out in (PRODUCT.md §3.2):
// GSM-7 when every character fits, counting escape characters twice,
// against the GSM-7 limit; else UCS-2, in UTF-16 units, against the UCS-2
// limit. In plain Vietnamese and English, text staff typed has its
// characters outside GSM-7 replaced by equivalents first (care360.ToGSM7),
// so only what has none (CJK, emoji…) makes a page UCS-2; vi-unicode pages
// are held to the UCS-2 limit always.
func (e *Engine) paginate(c *call, sc *Screen) []string {
	lang := c.lang()
	lim := c.limits()
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
	if !lim.alwaysUCS2 {
		for i, ln := range body {
			body[i] = care360.ToGSM7(ln)
		}
	}
	fits := func(ls []string) bool { return lim.fits(strings.Join(ls, "\n")) }

	if all := concat(head, body, nav); fits(all) {
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
	// What else a page carries besides one body line: as before, the
	// notice, both navigation lines and three line breaks.
	frame := strings.Join(head, "") + more + "\n" + back + "\n\n\n"
	for _, ln := range lim.wrap(body, frame) {
		try := concat(head, append(cur, ln), pageNav(len(pages) == 0, false))
		if len(cur) > 0 && !fits(try) {
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

// limits are the screen limits of this step's transport and language.
func (c *call) limits() pageLimits {
	lim := pageLimits{gsm: c.req.LimitGSM, ucs2: c.req.LimitUCS2, alwaysUCS2: c.lang() == care360.LangViUnicode}
	if lim.gsm <= 0 {
		lim.gsm = 182
	}
	if lim.ucs2 <= 0 {
		lim.ucs2 = 80
	}
	return lim
}

// fit makes a final screen (an action's outcome, which ends the dialogue
// and so cannot be paged) fit the limit of the coding it goes out in,
// after the same replacements as pages. What does not fit is left out:
// whole sentences from the end first (the SMS that follows carries the
// details), else the text is cut and marked "...".
func (c *call) fit(s string) string {
	lim := c.limits()
	if !lim.alwaysUCS2 {
		s = care360.ToGSM7(s)
	}
	if lim.fits(s) {
		return s
	}
	for i := strings.LastIndex(s, ". "); i > 0; i = strings.LastIndex(s[:i], ". ") {
		if lim.fits(s[:i+1]) {
			return s[:i+1]
		}
	}
	rs := []rune(s)
	lo, hi := 0, len(rs) // the longest prefix that fits with "..." is rs[:lo]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if lim.fits(string(rs[:mid]) + "...") {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(rs[:lo]) + "..."
}

// pageLimits are a transport's screen limits, in GSM-7 septets and UCS-2
// units.
type pageLimits struct {
	gsm, ucs2  int
	alwaysUCS2 bool // vi-unicode: the UCS-2 limit applies whatever the text
}

// ucs2For reports whether s is measured as UCS-2: it goes out so, or the
// language holds every page to the UCS-2 limit.
func (l pageLimits) ucs2For(s string) bool { return l.alwaysUCS2 || !care360.FitsGSM7(s) }

// fits reports whether s is within the limit of the coding it goes out in
// (and, for vi-unicode, within the UCS-2 limit too).
func (l pageLimits) fits(s string) bool {
	if care360.FitsGSM7(s) && screenLength(s, false) > l.gsm {
		return false
	}
	return !l.ucs2For(s) || screenLength(s, true) <= l.ucs2
}

// wrap breaks the lines so that each, inside frame (the other lines a page
// may carry), fits a page by itself.
func (l pageLimits) wrap(lines []string, frame string) []string {
	var out []string
	for _, ln := range lines {
		out = append(out, l.wrapLine(ln, frame)...)
	}
	return out
}

// wrapLine cuts a line at the width of the coding it goes out in; a piece
// of a UCS-2 line that turns out to fit GSM-7 is measured again as GSM-7
// (its escape characters cost two septets).
func (l pageLimits) wrapLine(ln, frame string) []string {
	width := func(s string) (int, bool) {
		u := l.ucs2For(s)
		lim := l.gsm
		if u {
			lim = l.ucs2
		}
		return max(lim-screenLength(frame, u), 10), u
	}
	w, u := width(ln)
	pieces := wrapLines([]string{ln}, w, u)
	if len(pieces) == 1 {
		return pieces
	}
	var out []string
	for _, p := range pieces {
		if pw, pu := width(p); pu != u && screenLength(p, pu) > pw {
			out = append(out, l.wrapLine(p, frame)...)
			continue
		}
		out = append(out, p)
	}
	return out
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
			cut, hard := 0, 0
			n := 0
			for i, r := range ln {
				n += screenLength(string(r), ucs2)
				if n > width {
					break
				}
				hard = i + len(string(r))
				if r == ' ' {
					cut = i
				}
			}
			if cut == 0 {
				if hard == 0 { // one character wider than the width
					_, size := utf8.DecodeRuneInString(ln)
					hard = size
				}
				out = append(out, ln[:hard])
				ln = ln[hard:]
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
