package care360

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFeedbackText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ệ", MaxFeedbackText-1) + " x" + strings.Repeat("y", 10)
	for _, c := range []struct{ in, want string }{
		{"  Quà chưa tới  ", "Quà chưa tới"},
		{"a\x00b", "ab"},
		{"ok\xff", "ok\uFFFD"},
		{" \n ", ""},
		{long, strings.Repeat("ệ", MaxFeedbackText-1)}, // cut after the space, which is trimmed
	} {
		if got := FeedbackText(c.in); got != c.want {
			t.Errorf("FeedbackText(%.20q…) = %.20q… (%d characters)", c.in, got, utf8.RuneCountInString(got))
		}
	}
}
