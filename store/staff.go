package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.StaffService = (*DB)(nil)

const staffColumns = `id, name, role, coalesce(partner, ''), created_at, created_by, disabled_at`

// CreateStaff stores a new account. A name already taken is ECONFLICT: the
// audit log names actors, so two accounts must not share a name.
func (db *DB) CreateStaff(ctx context.Context, n care360.NewStaff, secretHash [32]byte, by care360.Actor) (s *care360.Staff, err error) {
	defer wrap(&err, "create staff account")
	if err := n.Validate(); err != nil {
		return nil, err
	}
	row := db.pool.QueryRow(ctx, `
		INSERT INTO staff (name, role, partner, secret_hash, created_at, created_by)
		VALUES ($1, $2, nullif($3, ''), $4, $5, $6) RETURNING `+staffColumns,
		n.Name, n.Role, n.Partner, secretHash[:], db.now(), by.Name)
	s, err = scanStaff(row)
	if care360.ErrorCode(interpretError(err)) == care360.ECONFLICT {
		return nil, care360.Errorf(care360.ECONFLICT, "a staff account named %q exists already", n.Name)
	}
	return s, err
}

// StaffToken returns the account and the hash of its token's secret.
func (db *DB) StaffToken(ctx context.Context, id int64) (s *care360.Staff, hash [32]byte, err error) {
	var raw []byte
	row := db.pool.QueryRow(ctx, `SELECT `+staffColumns+`, secret_hash FROM staff WHERE id = $1`, id)
	s, err = scanStaff(row, &raw)
	if err != nil {
		return nil, hash, notFound(err, "no staff account %d", id)
	}
	copy(hash[:], raw)
	return s, hash, nil
}

// ListStaff returns a page of accounts, newest first.
func (db *DB) ListStaff(ctx context.Context, p care360.Page) (out []care360.Staff, err error) {
	defer wrap(&err, "list staff")
	rows, err := db.pool.Query(ctx, `
		SELECT `+staffColumns+` FROM staff
		WHERE $1 = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.Staff, error) {
		s, err := scanStaff(r)
		if err != nil {
			return care360.Staff{}, err
		}
		return *s, nil
	})
}

// DisableStaff stops an account's token from working. The first disabling
// time is kept, so that a repeat changes nothing.
func (db *DB) DisableStaff(ctx context.Context, id int64) (s *care360.Staff, err error) {
	row := db.pool.QueryRow(ctx, `
		UPDATE staff SET disabled_at = coalesce(disabled_at, $2) WHERE id = $1
		RETURNING `+staffColumns, id, db.now())
	if s, err = scanStaff(row); err != nil {
		return nil, notFound(err, "no staff account %d", id)
	}
	return s, nil
}

func scanStaff(row pgx.Row, extra ...any) (*care360.Staff, error) {
	var s care360.Staff
	var disabled *time.Time
	dest := append([]any{&s.ID, &s.Name, &s.Role, &s.Partner, &s.CreatedAt, &s.CreatedBy, &disabled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	s.DisabledAt = disabled
	return &s, nil
}
