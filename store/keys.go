package store

import (
	"bytes"

	"github.com/care360/care360"
)

// sameRequest checks that a row found by its idempotency key was made by
// the request asking again: stored and asked are request fingerprints
// (care360.Fingerprint). A side without one (rows from before fingerprints
// were kept, the system's own rows) is not compared. Callers read stored
// in the transaction whose insert found the key taken, so the unique index
// decides which request won and the loser is compared with the winner.
func sameRequest(key string, stored, asked []byte) error {
	if stored != nil && asked != nil && !bytes.Equal(stored, asked) {
		return care360.KeyReused(key)
	}
	return nil
}
