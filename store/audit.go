package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.AuditService = (*DB)(nil)

// RecordAudit appends an entry and fills in its ID and time. Empty Before
// or After are stored as NULL (the object did not exist, or is gone).
func (db *DB) RecordAudit(ctx context.Context, e *care360.AuditEntry) (err error) {
	defer wrap(&err, "record audit %s", e.Action)
	var actorID *int64
	if e.Actor.StaffID != 0 {
		actorID = &e.Actor.StaffID
	}
	return db.pool.QueryRow(ctx, `
		INSERT INTO audit_log (at, actor_id, actor_name, actor_role, action, target, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, at`,
		db.now(), actorID, e.Actor.Name, e.Actor.Role, e.Action, e.Target, jsonOrNull(e.Before), jsonOrNull(e.After),
	).Scan(&e.ID, &e.At)
}

// AuditLog returns a page of entries, newest first. Only the filters given
// become conditions, so that each can use its index (a generic plan of
// "$n = ” OR col = $n" would use none).
func (db *DB) AuditLog(ctx context.Context, f care360.AuditFilter) (out []care360.AuditEntry, err error) {
	defer wrap(&err, "read audit log")
	where, args := []string{"true"}, []any{f.Limit}
	cond := func(sql string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(sql, len(args)))
	}
	if f.Before > 0 {
		cond("id < $%d", f.Before)
	}
	if f.Actor != "" {
		cond("actor_name = $%d", f.Actor)
	}
	if f.Action != "" {
		cond("starts_with(action, $%d)", f.Action)
	}
	if f.Target != "" {
		cond("target = $%d", f.Target)
	}
	rows, err := db.pool.Query(ctx, `
		SELECT id, at, coalesce(actor_id, 0), actor_name, actor_role, action, target, before, after
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (e care360.AuditEntry, err error) {
		var before, after []byte
		err = r.Scan(&e.ID, &e.At, &e.Actor.StaffID, &e.Actor.Name, &e.Actor.Role, &e.Action, &e.Target, &before, &after)
		e.Before, e.After = before, after
		return e, err
	})
}

// jsonOrNull passes a JSON document to a jsonb parameter as text, and an
// empty one as NULL.
func jsonOrNull(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}
