package keywords

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/care360/care360"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want command
	}{
		{"DIEM", command{kind: kindPoints, known: true}},
		{"  điểm ", command{kind: kindPoints, known: true}},
		{"Diem.", command{kind: kindPoints, known: true}},
		{"dk", command{kind: kindJoin, known: true}},
		{"DK   qc", command{kind: kindOptIn, known: true}},
		{"dkqc", command{kind: kindOptIn, known: true}},
		{"cd 0903123456 500", command{kind: kindGive, args: []string{"0903123456", "500"}, known: true}},
		{"CD +84903123456  1.000", command{kind: kindGive, args: []string{"+84903123456", "1.000"}, known: true}},
		{"y", command{kind: kindConfirm, known: true}},
		{"Quà", command{kind: kindGifts, known: true}},
		{"tc", command{kind: kindOptOut, known: true}},
		{"HD", command{kind: kindHelp, known: true}},
		{"GY Quà chưa tới,  sao vậy?", command{kind: kindFeedback, rest: "Quà chưa tới,  sao vậy?", known: true}},
		{" - gy:  hello ", command{kind: kindFeedback, rest: "hello", known: true}},
		{"GY", command{kind: kindFeedback, known: true}},
		{"hello there", command{kind: kindHelp}},
		{"", command{kind: kindHelp}},
		{"?!", command{kind: kindHelp}},
	}
	for _, c := range cases {
		if got := parse(c.in); !cmp.Equal(got, c.want, cmp.AllowUnexported(command{}), cmpopts.EquateEmpty()) {
			t.Errorf("parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestParsePoints(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"500": 500, "1.000": 1000, "10,000": 10000} {
		if got, ok := parsePoints(in); !ok || got != want {
			t.Errorf("parsePoints(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"abc", "", "-100", "1e3", "9999999999999"} {
		if _, ok := parsePoints(in); ok {
			t.Errorf("parsePoints(%q) accepted", in)
		}
	}
}

// Every reply fits one SMS in plain vi and in English, with long values.
func TestRepliesFitOneSMS(t *testing.T) {
	t.Parallel()
	for key, e := range catalog {
		for _, lang := range []care360.Language{care360.LangVi, care360.LangEn} {
			s := care360.Localize(lang, e[0], e[1])
			s = strings.NewReplacer("%s", "0903123456", "%d", "5").Replace(s)
			if parts, _ := care360.SplitSMS(s); len(parts) > 1 {
				t.Errorf("%s in %s takes %d SMS: %q", key, lang, len(parts), s)
			}
		}
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n    int64
		lang care360.Language
		want string
	}{{0, care360.LangVi, "0"}, {999, care360.LangVi, "999"}, {12345, care360.LangVi, "12.345"}, {1234567, care360.LangEn, "1,234,567"}, {-1500, care360.LangVi, "-1.500"}} {
		if got := number(c.n, c.lang); got != c.want {
			t.Errorf("number(%d, %s) = %q, want %q", c.n, c.lang, got, c.want)
		}
	}
}
