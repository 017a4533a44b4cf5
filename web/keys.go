package web

import "github.com/care360/care360"

// callerKey checks the idempotency key an API caller sent with req (the
// whole decoded request body) and returns it in the callers' namespace
// (care360.CallerKey), with the request's fingerprint for telling a retry
// from a different request under the same key (PRODUCT.md §6). No key
// gives "" and nil.
func callerKey(key string, req any) (stored string, fingerprint []byte, err error) {
	if err := care360.ValidateCallerKey(key); err != nil {
		return "", nil, err
	}
	if key == "" {
		return "", nil, nil
	}
	return care360.CallerKey(key), care360.Fingerprint(req), nil
}
