package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

// interpretError turns a driver error into a domain error (care360.Error)
// whose code the adapters understand, keeping the driver error as its cause
// for logs. Errors that are already domain errors, and those it does not
// recognise (EINTERNAL), pass through unchanged.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	var de *care360.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &care360.Error{Code: care360.ENOTFOUND, Message: "not found", Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if code, msg := pgCode(pe); code != "" {
			return &care360.Error{Code: code, Message: msg, Err: err}
		}
		return err
	}
	if unavailable(err) {
		return &care360.Error{Code: care360.EUNAVAILABLE, Message: "the database is unavailable", Err: err}
	}
	return err
}

// pgCode maps a SQLSTATE to a domain code and an operator-safe message.
func pgCode(pe *pgconn.PgError) (code, msg string) {
	c := pe.Code
	switch {
	case c == "23505": // unique_violation
		return care360.ECONFLICT, "already exists" + constraint(pe)
	case c == "23503": // foreign_key_violation
		return care360.ENOTFOUND, "refers to something that does not exist" + constraint(pe)
	case c == "23514", c == "23502": // check_violation, not_null_violation
		return care360.EINVALID, "rejected by the database" + constraint(pe)
	case strings.HasPrefix(c, "22"): // data exception: bad text, out of range
		return care360.EINVALID, "invalid value: " + pe.Message
	case c == "40001", c == "40P01": // still failing after Transact's retries
		return care360.EUNAVAILABLE, "the database is busy; try again"
	case strings.HasPrefix(c, "08"), strings.HasPrefix(c, "53"), // connection, resources
		c == "57P01", c == "57P02", c == "57P03": // admin/crash shutdown, cannot connect now
		return care360.EUNAVAILABLE, "the database is unavailable"
	}
	return "", ""
}

func constraint(pe *pgconn.PgError) string {
	if pe.ConstraintName == "" {
		return ""
	}
	return " (" + pe.ConstraintName + ")"
}

// unavailable recognises a database that cannot be reached or went away.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return pgconn.SafeToRetry(err)
}

// retryable reports whether a transaction failed only because it raced
// another one, so that running it again may well succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// isUniqueViolation reports whether err is Postgres refusing a duplicate
// key.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
