package store

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.Eraser = (*DB)(nil)

// erasedText replaces a redacted text.
const erasedText = "[erased]"

// heldNumber is one number a member held, and when: (from, until].
type heldNumber struct {
	msisdn      string
	from, until time.Time
}

// Erase closes the membership of msisdn as "erased" (every effect of a
// churn), clears the profile, redacts the member's texts, and replaces
// its numbers wherever they are kept, in one transaction. Rows are found
// through the member's key and, for the tables that keep a number
// (lifecycle events, provisioning calls, pushes, draw entries, the audit
// log, dead letters), through each number the member held, in the period
// it held it: a number recycled to someone else afterwards is not theirs
// to lose. The usage journal keeps no number, only digests keyed by the
// member's salt, which erasure replaces.
func (db *DB) Erase(ctx context.Context, msisdn care360.MSISDN, forms []string, reason string, actor care360.Actor) (out *care360.Erasure, err error) {
	defer wrap(&err, "erase %s", msisdn.Masked())
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > care360.MaxErasureReason {
		return nil, care360.Errorf(care360.EINVALID, "reason is required (at most %d bytes)", care360.MaxErasureReason)
	}
	now := db.now()
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		out = &care360.Erasure{}
		var memberID int64
		var name string
		var joined time.Time
		err := tx.QueryRow(ctx, `SELECT member_id, name, created_at FROM subscribers WHERE msisdn = $1 FOR UPDATE`, msisdn).Scan(&memberID, &name, &joined)
		if errors.Is(err, pgx.ErrNoRows) {
			return care360.Errorf(care360.ENOTFOUND, "no member has the number %s (an erased member cannot be found by number)", msisdn.Masked())
		}
		if err != nil {
			return err
		}
		held, err := numbersHeld(ctx, tx, memberID, string(msisdn), joined)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL care360.erasing = 'on'`); err != nil {
			return err
		}
		if err := closeMembership(ctx, tx, memberID, care360.LifecycleEvent{MSISDN: msisdn, Event: "erased", At: now}, now); err != nil {
			return err
		}
		key := retiredKey(memberID)
		out.Key = key
		pattern := numberPattern(forms, held)
		count := func(n *int64, sql string, args ...any) error {
			tag, err := tx.Exec(ctx, sql, args...)
			*n += tag.RowsAffected()
			return err
		}
		// The profile, and the member's texts: what it wrote, what was
		// written to it, and the screens it last saw.
		steps := []struct {
			n    *int64
			sql  string
			args []any
		}{
			// A new salt: the usage journal's digests of the member's
			// numbers can no longer be tied to them (migration 00052).
			{&out.Rows, `UPDATE subscribers SET name = '', gender = '', birthday = NULL, usage_salt = gen_random_uuid()
				WHERE member_id = $1`, []any{memberID}},
			{&out.Redacted, `UPDATE sms_messages SET text = $2, idempotency_key = regexp_replace(idempotency_key, $3, $1, 'g')
				WHERE msisdn = $1`, []any{key, erasedText, pattern}},
			{&out.Redacted, `UPDATE sms_inbound SET text = $2, from_addr = $1 WHERE msisdn = $1`, []any{key, erasedText}},
			{&out.Redacted, `UPDATE feedback SET text = $2 || ' ' || id, reply = CASE WHEN reply IS NULL THEN NULL ELSE $2 END
				WHERE msisdn = $1`, []any{key, erasedText}},
			{&out.Redacted, `UPDATE dialogue_records SET last_screen = '' WHERE msisdn = $1 AND last_screen <> ''`, []any{key}},
			// Keys and reasons that spell the number.
			{&out.Rows, `UPDATE points_ledger SET idempotency_key = regexp_replace(idempotency_key, $2, $1, 'g'),
				reason = regexp_replace(reason, $2, $1, 'g')
				WHERE msisdn = $1 AND (idempotency_key ~ $2 OR reason ~ $2)`, []any{key, pattern}},
			// The other side of its transfers: the friend's entry and
			// notifications name the member's number.
			{&out.Rows, `UPDATE points_ledger l SET idempotency_key = regexp_replace(l.idempotency_key, $2, $1, 'g'),
				reason = regexp_replace(l.reason, $2, $1, 'g')
				FROM points_transfers t
				WHERE (t.sender = $1 OR t.recipient = $1) AND l.msisdn IN (t.sender, t.recipient) AND l.msisdn <> $1
				  AND starts_with(l.idempotency_key, 'transfer:' || t.id) AND (l.reason ~ $2 OR l.idempotency_key ~ $2)`, []any{key, pattern}},
			{&out.Rows, `UPDATE sms_messages m SET text = regexp_replace(m.text, $2, $1, 'g')
				WHERE m.msisdn IN (SELECT CASE WHEN t.sender = $1 THEN t.recipient ELSE t.sender END FROM points_transfers t
				                   WHERE t.sender = $1 OR t.recipient = $1) AND m.text ~ $2`, []any{key, pattern}},
			{&out.Rows, `UPDATE points_transfers SET confirm_key = regexp_replace(confirm_key, $2, $1, 'g')
				WHERE sender = $1 AND confirm_key ~ $2`, []any{key, pattern}},
			{&out.Rows, `UPDATE gift_claims SET idempotency_key = regexp_replace(idempotency_key, $2, $1, 'g')
				WHERE msisdn = $1 AND idempotency_key ~ $2`, []any{key, pattern}},
			{&out.Rows, `UPDATE spins SET idempotency_key = regexp_replace(idempotency_key, $2, $1, 'g')
				WHERE msisdn = $1 AND idempotency_key ~ $2`, []any{key, pattern}},
			{&out.Rows, `DELETE FROM sms_optouts WHERE msisdn = $1`, []any{string(msisdn)}},
			{&out.Rows, `DELETE FROM member_numbers WHERE member_id = $1`, []any{memberID}},
		}
		for _, s := range steps {
			if err := count(s.n, s.sql, s.args...); err != nil {
				return err
			}
		}
		// What keeps a number, for each number while the member held it.
		for _, h := range held {
			for _, sql := range []string{
				`UPDATE lifecycle_events SET msisdn = $1 WHERE msisdn = $2 AND at > $3 AND at <= $4`,
				`UPDATE lifecycle_events SET new_msisdn = $1 WHERE new_msisdn = $2 AND at > $3 AND at <= $4`,
				`UPDATE provision_calls SET msisdn = $1 WHERE msisdn = $2 AND created_at > $3 AND created_at <= $4`,
				`UPDATE ussd_pushes SET msisdn = $1 WHERE msisdn = $2 AND created_at > $3 AND created_at <= $4`,
			} {
				if err := count(&out.Rows, sql, key, h.msisdn, h.from, h.until); err != nil {
					return err
				}
			}
			if err := count(&out.Entries, `
				UPDATE draw_entries SET msisdn = 'e' || substr(md5(gen_random_uuid()::text), 1, length(msisdn) - 4) || right(msisdn, 3),
					idempotency_key = regexp_replace(idempotency_key, $4, $5, 'g')
				WHERE msisdn = $1 AND created_at > $2 AND created_at <= $3`, h.msisdn, h.from, h.until, pattern, key); err != nil {
				return err
			}
		}
		// The audit log and dead letters, where the number (and the
		// name, next to it) may be anywhere in a document.
		from := held[0].from
		quotedName, _ := json.Marshal(name)
		for _, sql := range []string{
			`UPDATE audit_log SET target = regexp_replace(target, $2, $1, 'g'),
				before = CASE WHEN before IS NULL THEN NULL ELSE replace(regexp_replace(before::text, $2, $1, 'g'), $4, '""')::jsonb END,
				after = CASE WHEN after IS NULL THEN NULL ELSE replace(regexp_replace(after::text, $2, $1, 'g'), $4, '""')::jsonb END
				WHERE at > $3 AND (target ~ $2 OR before::text ~ $2 OR after::text ~ $2)`,
			`UPDATE dead_letters SET ref = regexp_replace(ref, $2, $1, 'g'),
				payload = replace(regexp_replace(payload::text, $2, $1, 'g'), $4, '""')::jsonb
				WHERE set_aside_at > $3 AND (ref ~ $2 OR payload::text ~ $2)`,
		} {
			if err := count(&out.Rows, sql, key, pattern, from, string(quotedName)); err != nil {
				return err
			}
		}
		// The erasure itself is audited, without the number.
		after, _ := json.Marshal(map[string]any{"reason": reason, "rows": out.Rows, "entries": out.Entries, "redacted": out.Redacted})
		_, err = tx.Exec(ctx, `INSERT INTO audit_log (at, actor_id, actor_name, actor_role, action, target, after)
			VALUES ($1, NULLIF($2, 0), $3, $4, 'subscriber.erase', $5, $6)`, now, actor.StaffID, actor.Name, actor.Role, key, after)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.log.Info("member erased", "key", out.Key, "rows", out.Rows, "entries", out.Entries, "redacted", out.Redacted)
	return out, nil
}

// numbersHeld lists the numbers memberID held and when, oldest first: those
// it left (member_numbers), then current, held from the last change (or
// from joining) until now and beyond.
func numbersHeld(ctx context.Context, tx pgx.Tx, memberID int64, current string, joined time.Time) ([]heldNumber, error) {
	rows, err := tx.Query(ctx, `SELECT msisdn, until FROM member_numbers WHERE member_id = $1 ORDER BY until`, memberID)
	if err != nil {
		return nil, err
	}
	from := joined.Add(-time.Microsecond) // (from, until]: the joining instant is the member's
	var held []heldNumber
	for rows.Next() {
		var h heldNumber
		if err := rows.Scan(&h.msisdn, &h.until); err != nil {
			return nil, err
		}
		h.from, from = from, h.until
		held = append(held, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return append(held, heldNumber{msisdn: current, from: from, until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}), nil
}

// numberPattern is a regular expression matching any of forms and of the
// numbers held, as whole numbers (not inside a longer run of digits).
func numberPattern(forms []string, held []heldNumber) string {
	alts := map[string]bool{}
	for _, f := range forms {
		if f = strings.TrimSpace(f); f != "" {
			alts[regexp.QuoteMeta(f)] = true
		}
	}
	for _, h := range held {
		alts[h.msisdn] = true
	}
	list := make([]string, 0, len(alts))
	for a := range alts {
		list = append(list, a)
	}
	return `(?<![0-9])(` + strings.Join(list, "|") + `)(?![0-9])`
}
