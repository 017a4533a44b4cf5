// Package draw is the deterministic, verifiable part of a lucky draw
// (PRODUCT.md §4.4), with no database and no clock: the commitment to a
// secret seed, the canonical digest of the frozen entries, the weighted
// choice of winners, and the audit file that lets anyone recompute the
// result (docs/draws.md is the specification a third party implements).
//
// It imports nothing of the gateway, so `care360 draw verify` and an
// independent re-implementation rely on exactly the same few rules.
package draw

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Version names the algorithm (commitment, digest, key, ranking). Audit
// files carry it; a change to any rule is a new version, never an edit.
const Version = "care360-draw-v1"

// SeedSize is the length of the secret seed in bytes.
const SeedSize = 32

// NewSeed returns a fresh secret seed from crypto/rand.
func NewSeed() ([]byte, error) {
	seed := make([]byte, SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("draw seed: %w", err)
	}
	return seed, nil
}

// Commitment is what is published when a draw opens: hex(SHA-256(seed)).
// It binds the operator to the seed without revealing it.
func Commitment(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:])
}

// Key is the draw key from which every entry's random number derives:
//
//	SHA-256("care360-draw-v1" ‖ 0x00 ‖ seed ‖ entries digest ‖ witness)
//
// The seed was fixed (and committed) before anyone entered, the digest
// fixes the entries, and the witness value is only known at the public
// ceremony, after both: no one could know or steer the key in advance.
// Seed and digest have fixed lengths, so the concatenation is unambiguous.
func Key(seed []byte, digest [32]byte, witness string) [32]byte {
	h := sha256.New()
	h.Write([]byte(Version))
	h.Write([]byte{0})
	h.Write(seed)
	h.Write(digest[:])
	h.Write([]byte(witness))
	var k [32]byte
	h.Sum(k[:0])
	return k
}
