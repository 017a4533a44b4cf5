package keywords_test

import (
	"strings"
	"testing"

	"github.com/care360/care360"
)

// GY records the text as written and acknowledges it in the sender's
// language, member or not; the same MO delivered twice is one item and one
// acknowledgement; GY alone says how to use it.
func TestFeedbackKeyword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	en := b.member(t, care360.LangEn, 0, 0)
	if got := b.text(t, en, "gy The app is slow"); got != "Care360 has your message and will answer by SMS soon. Thank you!" {
		t.Fatalf("GY from an English member: %q", got)
	}
	stranger := b.stranger()
	before := len(b.sim.Messages(stranger))
	b.mo(t, stranger, "GY  Quà chưa tới, sao vậy? ")
	b.mo(t, stranger, "GY  Quà chưa tới, sao vậy? ") // the same MO again: a lost deliver_sm_resp
	if got := b.next(t, stranger, before); got != "Care360 da nhan gop y cua quy khach va se tra loi qua SMS som nhat. Xin cam on!" {
		t.Fatalf("GY from a stranger: %q", got)
	}
	b.settled(t)
	b.quiet(t, stranger, before+1)
	rows, err := b.db.Pool().Query(b.ctx, `SELECT msisdn, text, status FROM feedback ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var m, text, status string
		if err := rows.Scan(&m, &text, &status); err != nil {
			t.Fatal(err)
		}
		got = append(got, m+"|"+text+"|"+status)
	}
	want := []string{en + "|The app is slow|open", stranger + "|Quà chưa tới, sao vậy?|open"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("feedback rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := b.text(t, stranger, "GY"); !strings.Contains(got, "Soan GY <noi dung> gui 9237") {
		t.Errorf("GY alone: %q", got)
	}
	if got := b.text(t, en, " gy . "); !strings.Contains(got, "Text GY <your message> to 9237") {
		t.Errorf("GY with punctuation alone: %q", got)
	}
}
