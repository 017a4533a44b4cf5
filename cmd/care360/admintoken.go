package main

import (
	"errors"
	"fmt"
	"strings"
)

// Validate refuses what `serve` must not run with: an admin token an
// attacker would try first (PRODUCT.md §9). `care360 dev` is allowed its
// development token.
func (c Config) Validate() error {
	if c.Dev {
		return nil
	}
	return checkAdminToken(c.AdminToken)
}

// devTokens are the values an attacker tries first; a token equal to one,
// or built from one of the longer ones, is refused however long.
var devTokens = []string{"dev-token", "devtoken", "changeme", "change-me", "secret", "password",
	"admin", "test-token", "token", "care360", "letmein", "123456", "default", "example"}

// minAdminToken is the shortest admin token serve accepts: 32 random
// characters are beyond guessing even at the failed-authentication limit.
const minAdminToken = 32

func checkAdminToken(tok string) error {
	const hint = " (generate one with: openssl rand -base64 32)"
	if tok == "" {
		return errors.New("CARE360_ADMIN_TOKEN is required" + hint)
	}
	low := strings.ToLower(tok)
	for _, d := range devTokens {
		if low == d {
			return fmt.Errorf("CARE360_ADMIN_TOKEN is a known development value (%q); set a random one%s", d, hint)
		}
	}
	if len(tok) < minAdminToken {
		return fmt.Errorf("CARE360_ADMIN_TOKEN is %d characters long; it must have at least %d%s", len(tok), minAdminToken, hint)
	}
	distinct := map[rune]bool{}
	for _, r := range tok {
		distinct[r] = true
	}
	placeholder := len(distinct) < 8
	for _, d := range devTokens {
		// "token" and "123456" are too short to tell a random token
		// that happens to hold them from a placeholder.
		placeholder = placeholder || len(d) > 6 && strings.Contains(low, d)
	}
	if placeholder {
		return errors.New("CARE360_ADMIN_TOKEN looks like a placeholder (few distinct characters, or a development value padded out); set a random one" + hint)
	}
	return nil
}
