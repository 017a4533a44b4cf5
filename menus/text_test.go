package menus

import (
	"strings"
	"testing"

	"github.com/care360/care360"
)

func TestFoldVietnamese(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"Điểm & hạng hội viên":       "Diem & hang hoi vien",
		"Đồng, Bạc, Vàng, Kim cương": "Dong, Bac, Vang, Kim cuong",
		"Quà tặng sinh nhật":         "Qua tang sinh nhat",
		"Nghỉ dưỡng hè đặc quyền":    "Nghi duong he dac quyen",
		"Tiếng Việt có dấu":          "Tieng Viet co dau",
		"ĐÃ ĐĂNG KÝ":                 "DA DANG KY",
		"plain ASCII 123":            "plain ASCII 123",
	}
	for in, want := range cases {
		if got := care360.Fold(in); got != want {
			t.Errorf("fold(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	cases := []struct {
		n    int64
		lang care360.Language
		want string
	}{
		{0, care360.LangVi, "0"}, {999, care360.LangVi, "999"}, {1000, care360.LangVi, "1.000"},
		{12345, care360.LangVi, "12.345"}, {1234567, care360.LangViUnicode, "1.234.567"},
		{12345, care360.LangEn, "12,345"}, {-2500, care360.LangEn, "-2,500"},
	}
	for _, c := range cases {
		if got := care360.Number(c.n, c.lang); got != c.want {
			t.Errorf("care360.Number(%d, %s) = %q; want %q", c.n, c.lang, got, c.want)
		}
	}
}

func TestScreenLength(t *testing.T) {
	t.Parallel()
	if n := screenLength("a{b}€", false); n != 8 {
		t.Errorf("GSM-7 length with extension characters = %d; want 8", n)
	}
	if n := screenLength("Điểm", true); n != 4 {
		t.Errorf("UCS-2 length = %d; want 4", n)
	}
	// GSM 03.38's extension table, reached through the escape.
	for _, r := range "\f^{}\\[~]|€" {
		if n := screenLength(string(r), false); n != 2 {
			t.Errorf("GSM-7 length of %q = %d; want 2", r, n)
		}
	}
}

func TestWrapLinesKeepsWords(t *testing.T) {
	t.Parallel()
	got := wrapLines([]string{"mot hai ba bon nam sau bay tam chin muoi"}, 12, false)
	for _, ln := range got {
		if len(ln) > 12 {
			t.Errorf("line %q longer than 12", ln)
		}
		if strings.HasPrefix(ln, " ") || strings.HasSuffix(ln, " ") {
			t.Errorf("line %q keeps a space at an edge", ln)
		}
	}
	if strings.Join(got, " ") != "mot hai ba bon nam sau bay tam chin muoi" {
		t.Errorf("words lost: %q", got)
	}
}

func TestCatalogComplete(t *testing.T) {
	t.Parallel()
	for key, e := range catalog {
		for i, s := range e {
			if s == "" {
				t.Errorf("message %q has no text for language %d", key, i)
			}
		}
		if !fitsGSM(care360.Fold(e[0])) {
			t.Errorf("message %q does not fold to GSM-7: %q", key, care360.Fold(e[0]))
		}
	}
}

func TestCheckTreeRefusesBadTrees(t *testing.T) {
	t.Parallel()
	if err := CheckTree(Tree()); err != nil {
		t.Fatalf("the real tree: %v", err)
	}
	reg := &Screen{ID: "register", Info: pointsScreen}
	bad := map[string]map[string]*Screen{
		"dangling":      index(&Screen{ID: "main", Items: []Item{{Num: 1, Label: "item.points", To: "nowhere"}}}, reg),
		"dead end":      index(&Screen{ID: "main"}, reg),
		"99 is nav":     index(&Screen{ID: "main", Items: []Item{{Num: 99, Label: "item.points", To: "register"}}}, reg),
		"unreachable":   index(&Screen{ID: "main", Info: pointsScreen}, reg, &Screen{ID: "lost", Info: pointsScreen}),
		"two kinds":     index(&Screen{ID: "main", Info: pointsScreen, Items: []Item{{Num: 1, Label: "item.points", To: "register"}}}, reg),
		"input no next": index(&Screen{ID: "main", Input: &Input{Prompt: "title", Parse: func(*call, string) (string, error) { return "", nil }}}, reg),
		"no text":       index(&Screen{ID: "main", Items: []Item{{Num: 1, Label: "no.such.text", To: "register"}}}, reg),
	}
	for name, m := range bad {
		if err := CheckTree(m); err == nil {
			t.Errorf("%s: bad tree accepted", name)
		}
	}
}

// gsmBasic is the GSM 03.38 default alphabet and extension table, for checking
// that every catalog text can go as GSM-7 once folded.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f"

// fitsGSM reports whether s can be sent in GSM-7.
func fitsGSM(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsmBasic, r) {
			return false
		}
	}
	return true
}
