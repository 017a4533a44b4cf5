package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// exportSections are what the gateway holds about a member (PRODUCT.md §7
// access), in the order the export gives them: each a query of the rows of
// one table that belong to $1, oldest first, as JSON objects with every
// column. Messages carry their texts (redacted ones say so). The profile
// leaves out the usage journal's salt (migration 00052): it is a key, not
// data about the member, and an export that outlived an erasure would
// otherwise tie the journal back to the number.
var exportSections = []struct{ name, sql string }{
	{"profile", `SELECT to_jsonb(s) - 'usage_salt' FROM subscribers s WHERE msisdn = $1`},
	{"consents", `SELECT to_jsonb(c) FROM consents c WHERE msisdn = $1 ORDER BY id`},
	{"marketing_opt_out", `SELECT to_jsonb(o) FROM sms_optouts o WHERE msisdn = $1`},
	{"lifecycle_events", `SELECT to_jsonb(e) FROM lifecycle_events e WHERE msisdn = $1 ORDER BY at, id`},
	{"ledger", `SELECT to_jsonb(l) FROM points_ledger l WHERE msisdn = $1 ORDER BY id`},
	{"transfers", `SELECT to_jsonb(t) FROM points_transfers t WHERE sender = $1 OR recipient = $1 ORDER BY id`},
	{"claims", `SELECT to_jsonb(c) || jsonb_build_object('gift', g.name) FROM gift_claims c JOIN gifts g ON g.id = c.gift_id WHERE c.msisdn = $1 ORDER BY c.id`},
	{"offer_bookings", `SELECT to_jsonb(b) FROM offer_bookings b WHERE msisdn = $1 ORDER BY id`},
	{"privileges", `SELECT to_jsonb(p) FROM privilege_uses p WHERE msisdn = $1 ORDER BY id`},
	// Entries keep the number they were taken with: those of every number
	// the member held, while it held it.
	{"draw_entries", `SELECT to_jsonb(e) || jsonb_build_object('draw', d.code) FROM draw_entries e JOIN draws d ON d.id = e.draw_id
		WHERE e.msisdn IN (SELECT $1 UNION SELECT n.msisdn FROM member_numbers n JOIN subscribers s USING (member_id) WHERE s.msisdn = $1)
		  AND member_key_at(e.msisdn, e.created_at) = $1 ORDER BY e.id`},
	{"spin_grants", `SELECT to_jsonb(g) FROM spin_grants g WHERE msisdn = $1 ORDER BY id`},
	{"spins", `SELECT to_jsonb(s) FROM spins s WHERE msisdn = $1 ORDER BY id`},
	{"messages", `SELECT to_jsonb(m) FROM sms_messages m WHERE msisdn = $1 ORDER BY id`},
	{"inbound_sms", `SELECT to_jsonb(i) FROM sms_inbound i WHERE msisdn = $1 ORDER BY id`},
	{"feedback", `SELECT to_jsonb(f) FROM feedback f WHERE msisdn = $1 ORDER BY id`},
	{"dialogue_records", `SELECT to_jsonb(r) FROM dialogue_records r WHERE msisdn = $1 ORDER BY ended_at, id`},
}

// ExportSections names the sections of an export, in order.
func ExportSections() []string {
	out := make([]string, len(exportSections))
	for i, s := range exportSections {
		out[i] = s.name
	}
	return out
}

// Export reads everything held about msisdn's member, section by section,
// calling row with each row as a JSON object as it is read (any number, in
// bounded memory). All sections come from one snapshot, so the document
// is consistent however long it takes; nothing is retried (a retry would
// repeat what was already written). A number that is no member is
// ENOTFOUND before anything is written.
func (db *DB) Export(ctx context.Context, msisdn care360.MSISDN, section func(name string) error, row func(obj []byte) error) (err error) {
	defer wrap(&err, "export %s", msisdn.Masked())
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return interpretError(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var member bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = $1)`, msisdn).Scan(&member); err != nil {
		return interpretError(err)
	}
	if !member {
		return care360.Errorf(care360.ENOTFOUND, "no subscriber %s", msisdn.Masked())
	}
	for _, s := range exportSections {
		if err := section(s.name); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, s.sql, msisdn)
		if err != nil {
			return interpretError(err)
		}
		for rows.Next() {
			var obj []byte
			if err := rows.Scan(&obj); err != nil {
				rows.Close()
				return err
			}
			if err := row(obj); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return interpretError(err)
		}
	}
	return nil
}
