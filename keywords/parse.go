package keywords

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/care360/care360"
)

// kind is what a keyword SMS asks for.
type kind int

const (
	kindHelp     kind = iota // HD, and anything not understood
	kindPoints               // DIEM
	kindJoin                 // DK
	kindOptIn                // DK QC
	kindGive                 // CD <msisdn> <points>
	kindConfirm              // Y
	kindGifts                // QUA
	kindOptOut               // TC
	kindFeedback             // GY <text>
	kindLeave                // HUY (then Y)
)

// command is a parsed keyword SMS.
type command struct {
	kind kind
	args []string // what follows the keyword (CD's number and points)
	// rest is what follows GY as the subscriber wrote it: feedback keeps
	// its case, diacritics and punctuation.
	rest string
	// known is false for text that is no keyword at all (help is the
	// answer, but it also cancels a pending gift of points).
	known bool
}

// keywords maps each keyword, folded and upper-cased, to its kind.
var keywords = map[string]kind{
	"DIEM": kindPoints, "DK": kindJoin, "DKQC": kindOptIn, "CD": kindGive,
	"Y": kindConfirm, "QUA": kindGifts, "TC": kindOptOut, "HD": kindHelp,
	"GY": kindFeedback, "HUY": kindLeave,
}

// parse reads a keyword SMS whatever its case, diacritics (Điểm is DIEM)
// and spacing, and ignoring punctuation around the words ("diem." is DIEM).
func parse(text string) command {
	words := strings.Fields(strings.ToUpper(care360.Fold(text)))
	for i, w := range words {
		words[i] = bare(w)
	}
	words = slices.DeleteFunc(words, func(w string) bool { return w == "" })
	if len(words) == 0 {
		return command{kind: kindHelp}
	}
	k, ok := keywords[words[0]]
	if !ok {
		return command{kind: kindHelp}
	}
	c := command{kind: k, args: words[1:], known: true}
	if k == kindJoin && len(c.args) > 0 && c.args[0] == "QC" {
		c.kind, c.args = kindOptIn, c.args[1:]
	}
	if k == kindFeedback {
		c.args, c.rest = nil, afterKeyword(text)
	}
	return c
}

// bare trims the punctuation around a word.
func bare(w string) string {
	return strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '+' })
}

// afterKeyword is text after its first word that is not punctuation alone,
// as written.
func afterKeyword(text string) string {
	s := text
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return ""
		}
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			end = len(s)
		}
		word := s[:end]
		if s = s[end:]; bare(care360.Fold(word)) != "" {
			return strings.TrimSpace(s)
		}
	}
}

// parsePoints reads a number of points, allowing thousands separators as
// subscribers write them (1.000, 1,000).
func parsePoints(s string) (int64, bool) {
	s = strings.NewReplacer(".", "", ",", "").Replace(s)
	if s == "" || strings.TrimLeft(s, "0123456789") != "" || len(s) > 12 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
