package menus

// screenLength counts what a screen costs on the air: UTF-16 units for UCS-2
// screens, characters for GSM-7 ones (extension characters such as € or {
// take two septets).
func screenLength(s string, ucs2 bool) int {
	n := 0
	for _, r := range s {
		switch {
		case ucs2 && r > 0xFFFF:
			n += 2
		case !ucs2 && gsm7Escaped(r):
			n += 2
		default:
			n++
		}
	}
	return n
}

// gsm7Escaped reports whether r is one of GSM-7's extension characters,
// sent behind an escape. A switch, not a search of a string: every page of
// every screen is measured rune by rune, more than once.
func gsm7Escaped(r rune) bool {
	switch r {
	case '^', '{', '}', '\\', '[', '~', ']', '|', '€', '\f':
		return true
	}
	return false
}
