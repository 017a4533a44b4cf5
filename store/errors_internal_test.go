package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

func TestInterpretError(t *testing.T) {
	t.Parallel()
	domain := care360.Refused(care360.ReasonInsufficientPoints, "no")
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{pgx.ErrNoRows, care360.ENOTFOUND},
		{fmt.Errorf("scan: %w", pgx.ErrNoRows), care360.ENOTFOUND},
		{&pgconn.PgError{Code: "23505"}, care360.ECONFLICT},
		{&pgconn.PgError{Code: "23503"}, care360.ENOTFOUND},
		{&pgconn.PgError{Code: "23514"}, care360.EINVALID},
		{&pgconn.PgError{Code: "22P02"}, care360.EINVALID},
		{&pgconn.PgError{Code: "22003"}, care360.EINVALID},
		{&pgconn.PgError{Code: "57P01"}, care360.EUNAVAILABLE},
		{&pgconn.PgError{Code: "08006"}, care360.EUNAVAILABLE},
		{&pgconn.PgError{Code: "53300"}, care360.EUNAVAILABLE},
		{&pgconn.PgError{Code: "40001"}, care360.EUNAVAILABLE},
		{&pgconn.PgError{Code: "42P01"}, care360.EINTERNAL},
		{context.DeadlineExceeded, care360.EUNAVAILABLE},
		{errors.New("boom"), care360.EINTERNAL},
		{domain, care360.EREFUSED},
	}
	for _, c := range cases {
		got := interpretError(c.err)
		if code := care360.ErrorCode(got); code != c.want {
			t.Errorf("interpretError(%v) code %q, want %q", c.err, code, c.want)
		}
		if c.err != nil && !errors.Is(got, c.err) {
			t.Errorf("interpretError(%v) lost its cause", c.err)
		}
	}
}

// A database that is not there is EUNAVAILABLE, so /readyz and the menus can
// say "try later" rather than "internal error".
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), "postgres://care360@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", Options{})
	if code := care360.ErrorCode(err); code != care360.EUNAVAILABLE {
		t.Fatalf("Open on a closed port: %v (code %q)", err, code)
	}
}
