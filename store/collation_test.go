package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// TestOpenWarnsOfACollationThatIsNotC opens a database whose text compares
// through the C library and one whose text compares as bytes: the operator
// is told of the first, which costs every key comparison a strcoll call.
func TestOpenWarnsOfACollationThatIsNotC(t *testing.T) {
	t.Parallel()
	admin := pgtest.EmptyDB(t)
	conn := connect(t, admin)
	var libc string
	err := conn.QueryRow(t.Context(), `
		SELECT collcollate FROM pg_collation
		WHERE collprovider = 'c' AND collcollate NOT IN ('C', 'POSIX')
			AND collencoding IN (-1, pg_char_to_encoding('UTF8'))
		ORDER BY collcollate = 'C.UTF-8' DESC, collcollate = 'C.utf8' DESC LIMIT 1`).Scan(&libc)
	if err == pgx.ErrNoRows {
		t.Skip("this system has no locale but C")
	} else if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		collation string
		warned    bool
	}{{libc, true}, {"C", false}} {
		u := databaseLike(t, conn, admin, c.collation)
		var logs bytes.Buffer
		db, err := store.Open(t.Context(), u, store.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if got := strings.Contains(logs.String(), "collation"); got != c.warned {
			t.Errorf("collation %s: warned %v, want %v; logs:\n%s", c.collation, got, c.warned, logs.String())
		}
	}
}

// databaseLike creates a database collated as collation beside the one at
// admin, dropped when the test ends, and returns its URL.
func databaseLike(t *testing.T, conn *pgx.Conn, admin, collation string) string {
	t.Helper()
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/") + "_" + strings.ToLower(strings.NewReplacer(".", "", "-", "", "_", "").Replace(collation))
	if _, err := conn.Exec(t.Context(), `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+
		` TEMPLATE template0 LC_COLLATE `+quoteLiteral(collation)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Error(err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
