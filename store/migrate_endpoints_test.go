package store_test

import (
	"database/sql"
	"fmt"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/care360/care360/internal/pgtest"
)

// Gifts made when staff typed provisioning URLs come out of the endpoints
// migration unable to call them: deactivated, with no endpoint, the URL
// kept only for the record; other gifts are untouched.
func TestMigrateRetiresProvisionURLs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sqlDB, err := sql.Open("pgx", pgtest.EmptyDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 11); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, `
		INSERT INTO gifts (name, kind, cost, claim_limit, valid_from, valid_until, value, provision_url, created_at, updated_at) VALUES
		('typed', 'airtime', 10, 1, now(), now() + interval '1 day', 10000, 'https://collector.example/x', now(), now()),
		('voucher', 'voucher', 10, 1, now(), now() + interval '1 day', 0, '', now(), now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := sqlDB.QueryContext(ctx, `SELECT name, active, provision_endpoint, retired_provision_url FROM gifts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, endpoint, url string
		var active bool
		if err := rows.Scan(&name, &active, &endpoint, &url); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %t %q %q", name, active, endpoint, url))
	}
	if len(got) != 2 || got[0] != `typed false "" "https://collector.example/x"` || got[1] != `voucher true "" ""` {
		t.Fatalf("after the migration: %q", got)
	}
}
