package store

import (
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// smscText is an SMSC's message id as the database keeps it. SMSCs make
// their ids as they like, some binary; Postgres text takes neither a NUL
// nor bytes that are not UTF-8, and one such id would fail every batch it
// is in. Such an id is kept as "hex:" and its bytes in hex: the same bytes
// always give the same text, so the receipt, which carries them again,
// still finds its part.
func smscText(id string) string {
	if utf8.ValidString(id) && !strings.ContainsRune(id, 0) {
		return id
	}
	return "hex:" + hex.EncodeToString([]byte(id))
}

// plainText is free text from outside (an SMSC's error, a database
// message) made storable: NULs dropped, invalid bytes replaced.
func plainText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// clipText is s cut to at most n bytes, on a character boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
