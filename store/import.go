package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.SubscriberImports = (*DB)(nil)

const (
	// importChunk rows are written per transaction: progress shows between
	// chunks, and each holds the row locks of at most this many subscribers.
	importChunk = 50_000
	// importProgressEvery rows read, the progress row is updated.
	importProgressEvery = 50_000
	// importStale is how long an import may go without progress before its
	// id may be taken again (its process died).
	importStale = 5 * time.Minute
)

var importIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// ImportSubscribers loads rows in bulk: COPY into an unlogged staging table
// of its own (rows were checked one by one while the upload streamed),
// set-based checks across rows (a number twice in the file: the later rows
// are rejected), then INSERT … SELECT of the new subscribers and UPDATE …
// FROM of the changed ones, in chunks. Creating or updating is idempotent,
// so an import that failed half-way can simply be run again. Progress is
// kept in subscriber_imports from outside the import's transactions.
func (db *DB) ImportSubscribers(ctx context.Context, id string, rows iter.Seq2[care360.ImportRow, error]) (imp *care360.SubscriberImport, replay bool, err error) {
	defer wrap(&err, "import subscribers %q", id)
	if !importIDPattern.MatchString(id) {
		return nil, false, care360.Errorf(care360.EINVALID, "import id must be 1 to 100 letters, digits, dots, dashes or underscores")
	}
	now := db.now()
	tag, err := db.pool.Exec(ctx, `
		INSERT INTO subscriber_imports AS i (id, status, started_at, updated_at) VALUES ($1, 'reading', $2, $2)
		ON CONFLICT (id) DO UPDATE SET status = 'reading', rows_read = 0, rows_written = 0, rejected = 0,
			report = NULL, error = NULL, started_at = $2, updated_at = $2, finished_at = NULL
		WHERE i.status = 'failed' OR (i.status <> 'done' AND i.updated_at < $3)`, id, now, now.Add(-importStale))
	if err != nil {
		return nil, false, err
	}
	if tag.RowsAffected() == 0 {
		was, err := db.SubscriberImport(ctx, id)
		if err != nil {
			return nil, false, err
		}
		if was.Status == care360.ImportDone {
			return was, true, nil
		}
		return nil, false, care360.Errorf(care360.ECONFLICT, "import %s is still running", id)
	}
	imp, err = db.runImport(ctx, id, rows, now)
	if err != nil {
		// The import's own context may be what failed; the mark must land.
		msg := care360.ErrorMessage(err)
		if _, ferr := db.pool.Exec(context.WithoutCancel(ctx), `
			UPDATE subscriber_imports SET status = 'failed', error = $2, updated_at = $3, finished_at = $3 WHERE id = $1`,
			id, msg, db.now()); ferr != nil {
			err = errors.Join(err, ferr)
		}
		db.log.Warn("import failed", "id", id, "err", err)
		return nil, false, err
	}
	return imp, false, nil
}

// runImport does the work of ImportSubscribers once the id is claimed.
func (db *DB) runImport(ctx context.Context, id string, rows iter.Seq2[care360.ImportRow, error], start time.Time) (*care360.SubscriberImport, error) {
	sum := sha256.Sum256([]byte(id))
	name := "import_stage_" + hex.EncodeToString(sum[:8])
	stage := pgx.Identifier{name}.Sanitize()
	defer db.pool.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+stage)
	if _, err := db.pool.Exec(ctx, `DROP TABLE IF EXISTS `+stage+`;
		CREATE UNLOGGED TABLE `+stage+` (row int NOT NULL, msisdn text NOT NULL, name text NOT NULL, gender text NOT NULL,
			birthday date, language text, member_since date, marketing boolean)`); err != nil {
		return nil, err
	}
	rej := &rejections{}
	next, stop := iter.Pull2(rows)
	defer stop()
	t0 := time.Now() // start is the store's clock, which tests move; phases are timed for real
	src := &stageSource{next: next, rej: rej, progress: func(read int64) {
		db.progress(ctx, id, care360.ImportReading, read, 0, rej.n)
		db.log.Info("import progress", "id", id, "phase", "reading", "rows", read,
			"rows_per_s", int(float64(read)/time.Since(t0).Seconds()))
	}}
	if _, err := db.pool.CopyFrom(ctx, pgx.Identifier{name},
		[]string{"row", "msisdn", "name", "gender", "birthday", "language", "member_since", "marketing"}, src); err != nil {
		if src.err != nil {
			return nil, src.err // the upload was malformed: say so, not "copy failed"
		}
		return nil, err
	}
	imp := &care360.SubscriberImport{ID: id, Status: care360.ImportWriting, Rows: src.read, StartedAt: start}
	db.progress(ctx, id, care360.ImportWriting, imp.Rows, 0, rej.n)
	read := time.Since(t0)

	// Statistics first: without them the planner guesses the table's size
	// wildly and plans (and JIT-compiles) accordingly.
	if _, err := db.pool.Exec(ctx, `CREATE INDEX ON `+stage+` (row); ANALYZE `+stage); err != nil {
		return nil, err
	}
	if err := db.rejectRepeats(ctx, stage, rej); err != nil {
		return nil, err
	}
	checked := time.Since(t0)
	for lo := 0; lo <= src.last; lo += importChunk {
		n, created, updated, err := db.writeChunk(ctx, stage, lo, lo+importChunk, start)
		if err != nil {
			return nil, err
		}
		imp.Written, imp.Created, imp.Updated = imp.Written+n, imp.Created+created, imp.Updated+updated
		db.progress(ctx, id, care360.ImportWriting, imp.Rows, imp.Written, rej.n)
	}
	imp.Rejected = rej.n
	imp.Unchanged = imp.Written - imp.Created - imp.Updated
	imp.Rejections, imp.Truncated = rej.list(), rej.n > int64(care360.MaxImportRejections)
	imp.Status, imp.UpdatedAt = care360.ImportDone, db.now()
	imp.FinishedAt = &imp.UpdatedAt
	report := importReport{Created: imp.Created, Updated: imp.Updated, Unchanged: imp.Unchanged, Rejections: imp.Rejections, Truncated: imp.Truncated}
	if _, err := db.pool.Exec(ctx, `
		UPDATE subscriber_imports SET status = 'done', rows_read = $2, rows_written = $3, rejected = $4, report = $5,
			updated_at = $6, finished_at = $6 WHERE id = $1`,
		id, imp.Rows, imp.Written, imp.Rejected, report, imp.UpdatedAt); err != nil {
		return nil, err
	}
	db.log.Info("import done", "id", id, "rows", imp.Rows, "created", imp.Created, "updated", imp.Updated,
		"unchanged", imp.Unchanged, "rejected", imp.Rejected, "read", read.Round(time.Millisecond).String(),
		"checked", (checked - read).Round(time.Millisecond).String(), "written", (time.Since(t0) - checked).Round(time.Millisecond).String())
	return imp, nil
}

// rejectRepeats removes from the staging table every row whose number an
// earlier row of the file already has, and records why. Only the first
// ones by row can be listed, so only they are read back.
func (db *DB) rejectRepeats(ctx context.Context, stage string, rej *rejections) error {
	var found []care360.ImportRejection
	var total int64
	err := db.Transact(ctx, func(tx pgx.Tx) error {
		found, total = nil, 0
		if err := bulk(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			WITH f AS (SELECT row, msisdn, min(row) OVER (PARTITION BY msisdn) AS first FROM `+stage+`),
			d AS (DELETE FROM `+stage+` s USING f WHERE s.row = f.row AND f.row <> f.first RETURNING s.row, s.msisdn, f.first)
			SELECT row, msisdn, first, count(*) OVER () FROM d ORDER BY row LIMIT $1`, care360.MaxImportRejections)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r care360.ImportRejection
			var first int
			if err := rows.Scan(&r.Row, &r.MSISDN, &first, &total); err != nil {
				return err
			}
			r.Reason = fmt.Sprintf("the same number as row %d", first)
			found = append(found, r)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, r := range found {
		rej.add(r.Row, r.MSISDN, r.Reason)
	}
	rej.n += total - int64(len(found))
	return nil
}

// writeChunk creates the new subscribers among the n staged rows lo < row
// <= hi and updates the existing ones whose profile differs; an existing
// subscriber whose row says nothing new is left alone (not even
// updated_at), so importing the same file twice changes nothing. A chunk
// of new members only (the usual first import) skips the update.
func (db *DB) writeChunk(ctx context.Context, stage string, lo, hi int, now time.Time) (n, created, updated int64, err error) {
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		if err := bulk(ctx, tx); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+stage+` WHERE row > $1 AND row <= $2`, lo, hi).Scan(&n); err != nil {
			return err
		}
		// A new member joins with the programme consent, through the
		// import (PRODUCT.md §7); marketing needs its own.
		if err := tx.QueryRow(ctx, `
			WITH s AS (
				INSERT INTO subscribers (msisdn, name, gender, birthday, language, member_since, tier_since, created_at, updated_at, marketing_consent)
				SELECT msisdn, name, gender, birthday, coalesce(language, 'vi'), coalesce(member_since, $3), $4, $4, $4, coalesce(marketing, false)
				FROM `+stage+` WHERE row > $1 AND row <= $2
				ON CONFLICT (msisdn) DO NOTHING
				RETURNING msisdn, marketing_consent
			),
			c AS (
				INSERT INTO consents (msisdn, purpose, granted, channel, text_version, at)
				SELECT msisdn, 'programme', true, 'import', $5, $4 FROM s
				UNION ALL
				SELECT msisdn, 'marketing', true, 'import', $5, $4 FROM s WHERE marketing_consent
			)
			SELECT count(*) FROM s`, lo, hi, db.today(now), now, care360.ConsentTextVersion).Scan(&created); err != nil {
			return err
		}
		if updated = 0; created == n {
			return nil
		}
		// A marketing column given for an existing member gives or
		// withdraws its consent, recorded when it changes.
		return tx.QueryRow(ctx, `
			WITH old AS (
				SELECT s.msisdn, s.marketing_consent FROM subscribers s JOIN `+stage+` i ON s.msisdn = i.msisdn
				WHERE i.row > $1 AND i.row <= $2
			), u AS (
				UPDATE subscribers s SET name = i.name, gender = i.gender, birthday = i.birthday,
					language = coalesce(i.language, s.language), member_since = coalesce(i.member_since, s.member_since),
					marketing_consent = coalesce(i.marketing, s.marketing_consent), updated_at = $3
				FROM `+stage+` i
				WHERE i.row > $1 AND i.row <= $2 AND s.msisdn = i.msisdn
				  AND (s.name, s.gender, s.birthday, s.language, s.member_since, s.marketing_consent) IS DISTINCT FROM
				      (i.name, i.gender, i.birthday, coalesce(i.language, s.language), coalesce(i.member_since, s.member_since),
				       coalesce(i.marketing, s.marketing_consent))
				RETURNING s.msisdn, s.marketing_consent
			), c AS (
				INSERT INTO consents (msisdn, purpose, granted, channel, text_version, at)
				SELECT u.msisdn, 'marketing', u.marketing_consent, 'import', $4, $3 FROM u JOIN old USING (msisdn)
				WHERE u.marketing_consent <> old.marketing_consent
			)
			SELECT count(*) FROM u`, lo, hi, now, care360.ConsentTextVersion).Scan(&updated)
	})
	return n, created, updated, err
}

// progress records how far an import got, from outside its transactions
// (so that GET sees it at once); a failure to record is only logged.
func (db *DB) progress(ctx context.Context, id string, status care360.ImportStatus, read, written, rejected int64) {
	if _, err := db.pool.Exec(ctx, `
		UPDATE subscriber_imports SET status = $2, rows_read = $3, rows_written = $4, rejected = $5, updated_at = $6 WHERE id = $1`,
		id, status, read, written, rejected, db.now()); err != nil {
		db.log.Warn("import progress not recorded", "id", id, "err", err)
	}
}

// SubscriberImport returns an import's progress, or its report once done.
func (db *DB) SubscriberImport(ctx context.Context, id string) (imp *care360.SubscriberImport, err error) {
	defer wrap(&err, "load import %q", id)
	imp = &care360.SubscriberImport{ID: id}
	var report *importReport
	var msg *string
	err = db.pool.QueryRow(ctx, `
		SELECT status, rows_read, rows_written, rejected, report, error, started_at, updated_at, finished_at
		FROM subscriber_imports WHERE id = $1`, id).
		Scan(&imp.Status, &imp.Rows, &imp.Written, &imp.Rejected, &report, &msg, &imp.StartedAt, &imp.UpdatedAt, &imp.FinishedAt)
	if err != nil {
		return nil, notFound(err, "no import %q", id)
	}
	if msg != nil {
		imp.Error = *msg
	}
	if report != nil {
		imp.Created, imp.Updated, imp.Unchanged = report.Created, report.Updated, report.Unchanged
		imp.Rejections, imp.Truncated = report.Rejections, report.Truncated
	}
	return imp, nil
}

// importReport is what subscriber_imports.report keeps beyond the counts.
type importReport struct {
	Created    int64                     `json:"created"`
	Updated    int64                     `json:"updated"`
	Unchanged  int64                     `json:"unchanged"`
	Rejections []care360.ImportRejection `json:"rejections"`
	Truncated  bool                      `json:"truncated"`
}

// rejections counts rejected rows and keeps the first ones by row number.
type rejections struct {
	n     int64
	items []care360.ImportRejection
}

func (r *rejections) add(row int, msisdn, reason string) {
	r.n++
	if len(r.items) < 2*care360.MaxImportRejections {
		// The number as written goes into the stored report: anything
		// the file held, made storable.
		r.items = append(r.items, care360.ImportRejection{Row: row, MSISDN: plainText(msisdn), Reason: reason})
	}
}

// list returns the first MaxImportRejections by row: rows rejected while
// reading arrive in order, repeats found later do not.
func (r *rejections) list() []care360.ImportRejection {
	slices.SortFunc(r.items, func(a, b care360.ImportRejection) int { return a.Row - b.Row })
	return r.items[:min(len(r.items), care360.MaxImportRejections)]
}

// stageSource feeds COPY from the upload's rows, keeping the rejected ones
// aside.
type stageSource struct {
	next     func() (care360.ImportRow, error, bool)
	rej      *rejections
	progress func(read int64)
	read     int64
	last     int // the highest row number read
	values   []any
	err      error
}

func (s *stageSource) Next() bool {
	for {
		row, err, ok := s.next()
		if !ok {
			return false
		}
		if err != nil {
			s.err = err
			return false
		}
		s.read++
		s.last = max(s.last, row.Row)
		if s.read%importProgressEvery == 0 {
			s.progress(s.read)
		}
		if row.Reject != "" {
			s.rej.add(row.Row, row.Raw, row.Reject)
			continue
		}
		sub := &row.Subscriber
		var lang *string
		if sub.Language != "" {
			l := string(sub.Language)
			lang = &l
		}
		s.values = []any{row.Row, string(sub.MSISDN), sub.Name, string(sub.Gender), pgDate(sub.Birthday), lang, pgDate(sub.MemberSince), sub.SetMarketing}
		return true
	}
}

func (s *stageSource) Values() ([]any, error) { return s.values, nil }
func (s *stageSource) Err() error             { return s.err }
