package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// dropMarketing fails the queued marketing messages of the numbers in
// $1 (text[]) that no sender holds right now: someone who says TC, or who
// joins the do-not-call list, gets nothing more already planned.
const dropMarketing = `
	WITH gone AS (
		DELETE FROM sms_queue q USING sms_messages m
		WHERE m.msisdn = ANY($1::text[]) AND m.kind = 'marketing' AND q.message_id = m.id
		  AND (q.lease_until IS NULL OR q.lease_until <= $2)
		RETURNING q.message_id
	)
	UPDATE sms_messages SET status = 'failed', error = $3 WHERE id IN (SELECT message_id FROM gone)`

// OptOut records a TC: no more marketing SMS to msisdn, including what was
// already planned. changed is false if it had already opted out.
func (s *SMS) OptOut(ctx context.Context, msisdn care360.MSISDN) (changed bool, err error) {
	defer wrap(&err, "opt %s out of marketing", msisdn.Masked())
	now := s.db.now()
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO sms_optouts (msisdn, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, msisdn, now)
		if err != nil {
			return err
		}
		changed = tag.RowsAffected() == 1
		if _, err := tx.Exec(ctx, marketingConsentSQL, msisdn, false, now, care360.ConsentTextVersion); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, dropMarketing, []string{string(msisdn)}, now, "opted out (TC)")
		return err
	})
	return changed, err
}

// OptIn records a DK QC: marketing may come again (unless the number is on
// the do-not-call list). changed is false if it had not opted out.
func (s *SMS) OptIn(ctx context.Context, msisdn care360.MSISDN) (changed bool, err error) {
	defer wrap(&err, "opt %s in to marketing", msisdn.Masked())
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sms_optouts WHERE msisdn = $1`, msisdn)
		if err != nil {
			return err
		}
		given, err := tx.Exec(ctx, marketingConsentSQL, msisdn, true, s.db.now(), care360.ConsentTextVersion)
		changed = tag.RowsAffected() == 1 || given.RowsAffected() == 1
		return err
	})
	return changed, err
}

// marketingConsentSQL gives ($2 true) or withdraws a member's marketing
// consent by SMS (DK QC, TC) and records it, if that changes it; a number
// that is no member changes nothing.
const marketingConsentSQL = `
	WITH u AS (
		UPDATE subscribers SET marketing_consent = $2, updated_at = $3
		WHERE msisdn = $1 AND marketing_consent <> $2 AND status <> 'closed'
		RETURNING msisdn
	)
	INSERT INTO consents (msisdn, purpose, granted, channel, text_version, at)
	SELECT msisdn, 'marketing', $2, 'sms', $4, $3 FROM u`

// dncChunk bounds one statement of an import: the national list has
// millions of numbers, and one array parameter of them all would be huge.
const dncChunk = 10_000

// ImportDNC adds numbers to the do-not-call list, set-based, chunk by
// chunk, and drops their planned marketing. A number already listed, or
// listed earlier in the same import, is a duplicate.
func (s *SMS) ImportDNC(ctx context.Context, msisdns []care360.MSISDN) (res []care360.DNCResult, err error) {
	defer wrap(&err, "import %d do-not-call numbers", len(msisdns))
	res = make([]care360.DNCResult, 0, len(msisdns))
	for start := 0; start < len(msisdns); start += dncChunk {
		chunk := strs(msisdns[start:min(start+dncChunk, len(msisdns))])
		now := s.db.now()
		var added []string
		err := s.db.Transact(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				INSERT INTO sms_dnc (msisdn, imported_at) SELECT DISTINCT unnest($1::text[]), $2::timestamptz
				ON CONFLICT DO NOTHING RETURNING msisdn`, chunk, now)
			if err != nil {
				return err
			}
			if added, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, dropMarketing, added, now, "on the do-not-call list")
			return err
		})
		if err != nil {
			return nil, err
		}
		isNew := make(map[string]bool, len(added))
		for _, m := range added {
			isNew[m] = true
		}
		for _, m := range chunk {
			if isNew[m] {
				res = append(res, care360.DNCAccepted)
				delete(isNew, m) // a repeat later in the file is a duplicate
			} else {
				res = append(res, care360.DNCDuplicate)
			}
		}
	}
	s.db.log.Info("do-not-call list imported", "rows", len(msisdns))
	return res, nil
}
