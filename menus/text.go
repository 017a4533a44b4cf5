package menus

import "github.com/care360/care360"

// screenLength counts what a screen costs on the air: UTF-16 units for UCS-2
// screens, characters for GSM-7 ones (extension characters such as € or {
// take two septets).
func screenLength(s string, ucs2 bool) int {
	n := 0
	for _, r := range s {
		switch {
		case ucs2 && r > 0xFFFF:
			n += 2
		case !ucs2 && care360.GSM7Septets(r) == 2:
			n += 2
		default:
			n++
		}
	}
	return n
}
