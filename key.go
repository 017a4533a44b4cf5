package care360

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
)

// callerKeyPrefix is the namespace of idempotency keys chosen by API
// callers. The system keys its own work too ("draw:7" for an entry's debit,
// "transfer:3", "spin:9", "usage:…", "gift-announce:…"), often in the same
// column; a caller's key is stored under this prefix, so that no caller can
// pick a key the system will use and make it find "its" row already there.
const callerKeyPrefix = "api:"

// MaxCallerKey is the longest idempotency key a caller may choose: stored
// with its namespace it still fits the 200 bytes the database allows.
const MaxCallerKey = 200 - len(callerKeyPrefix)

// CallerKey is the stored form of an idempotency key an API caller chose;
// "" (no key) stays "".
func CallerKey(key string) string {
	if key == "" {
		return ""
	}
	return callerKeyPrefix + key
}

// ShownKey is a stored caller key as its caller sent it; the system's own
// keys are returned unchanged.
func ShownKey(stored string) string { return strings.TrimPrefix(stored, callerKeyPrefix) }

// ValidateCallerKey checks a key an API caller chose.
func ValidateCallerKey(key string) error {
	if len(key) > MaxCallerKey {
		return Errorf(EINVALID, "idempotency_key is longer than %d bytes", MaxCallerKey)
	}
	return nil
}

// Fingerprint identifies a request by the SHA-256 of its JSON form: what a
// key remembers besides its outcome, so that the same key sent with a
// different request is told apart from a retry. Hash the request as the
// caller sent it (decoded, so that spacing and field order do not count),
// not the object built from it, which may hold defaults taken from the
// clock.
func Fingerprint(request any) []byte {
	b, err := json.Marshal(request)
	if err != nil {
		return nil // nothing to compare: treated as any request
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// KeyReused is the ECONFLICT error for a stored key seen again with a
// different request (PRODUCT.md §6).
func KeyReused(storedKey string) error {
	return Errorf(ECONFLICT, "idempotency_key %q was used before for a different request", ShownKey(storedKey))
}
