package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/care360/care360"
)

const subscriberColumns = `msisdn, name, gender, birthday, language, member_since, status, tier, created_at, updated_at, sim_swap_until, marketing_consent, leave_requested_at`

// Subscriber returns the subscriber with its tier as held today: the stored
// (earned) tier or the floor that long membership gives, whichever is higher.
// The read shares its round trip with concurrent dialogue steps
// (shared_trips.go): menus and pushes read members on their hot paths.
func (db *DB) Subscriber(ctx context.Context, msisdn care360.MSISDN) (s *care360.Subscriber, err error) {
	err = db.trips.do(ctx, func(b *pgx.Batch) {
		b.Queue(`SELECT `+subscriberColumns+` FROM subscribers WHERE msisdn = $1`, msisdn)
	}, func(br pgx.BatchResults) (err error) {
		// No member is an answer, not a failure of the trip.
		if s, err = db.scanSubscriber(br.QueryRow()); errors.Is(err, pgx.ErrNoRows) {
			s, err = nil, nil
		}
		return err
	})
	if err == nil && s == nil {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return nil, fmt.Errorf("load subscriber %s: %w", msisdn.Masked(), notFound(err, "no subscriber %s", msisdn.Masked()))
	}
	return s, nil
}

// PutSubscriber creates or updates s's profile (never its tier or points) and
// fills s with what is stored. Name, gender and birthday are replaced as
// given; an empty language or status and a zero member-since mean "keep"
// on update and "default" (vi, active, today) on create.
func (db *DB) PutSubscriber(ctx context.Context, s *care360.Subscriber) (created bool, err error) {
	defer wrap(&err, "put subscriber %s", s.MSISDN.Masked())
	check := *s
	if check.Language == "" {
		check.Language = care360.LangVi
	}
	if check.Status == "" {
		check.Status = care360.StatusActive
	}
	if err := check.Validate(); err != nil {
		return false, err
	}
	now := db.now()
	var lang, status *string
	if s.Language != "" {
		lang = (*string)(&s.Language)
	}
	if s.Status != "" {
		status = (*string)(&s.Status)
	}
	// A new member joins with the programme consent, through the API;
	// marketing is recorded whenever it is given or withdrawn (PRODUCT.md
	// §7). old is read in the same snapshot as the upsert.
	row := db.pool.QueryRow(ctx, `
		WITH old AS (
			SELECT marketing_consent FROM subscribers WHERE msisdn = $1
		), s AS (
			INSERT INTO subscribers AS s (msisdn, name, gender, birthday, language, member_since, status, tier_since, created_at, updated_at, marketing_consent)
			VALUES ($1, $2, $3, $4, coalesce($5, 'vi'), coalesce($6, $8::date), coalesce($7, 'active'), $9, $9, $9, coalesce($10::boolean, false))
			ON CONFLICT (msisdn) DO UPDATE SET
				name = excluded.name, gender = excluded.gender, birthday = excluded.birthday,
				language = coalesce($5, s.language), member_since = coalesce($6, s.member_since),
				status = coalesce($7, s.status), marketing_consent = coalesce($10::boolean, s.marketing_consent), updated_at = $9
			RETURNING `+subscriberColumns+`, xmax = 0 AS created -- xmax = 0: no earlier row version, so inserted
		), c AS (
			INSERT INTO consents (msisdn, purpose, granted, channel, text_version, at)
			SELECT msisdn, 'programme', true, 'api', $11, $9 FROM s WHERE created
			UNION ALL
			SELECT msisdn, 'marketing', marketing_consent, 'api', $11, $9 FROM s
			WHERE (created AND marketing_consent) OR (NOT created AND marketing_consent IS DISTINCT FROM (SELECT marketing_consent FROM old))
		)
		SELECT * FROM s`,
		s.MSISDN, s.Name, s.Gender, pgDate(s.Birthday), lang, pgDate(s.MemberSince), status, db.today(now), now, s.SetMarketing, care360.ConsentTextVersion)
	got, err := db.scanSubscriber(row, &created)
	if err != nil {
		return false, err
	}
	*s = *got
	return created, nil
}

// Register makes msisdn a member speaking lang (vi if empty); an existing
// member is returned unchanged with created false.
func (db *DB) Register(ctx context.Context, msisdn care360.MSISDN, lang care360.Language, channel care360.ConsentChannel) (s *care360.Subscriber, created bool, err error) {
	defer wrap(&err, "register %s", msisdn.Masked())
	if lang == "" {
		lang = care360.LangVi
	}
	if !lang.Valid() {
		return nil, false, care360.Errorf(care360.EINVALID, "language must be \"vi\", \"vi-unicode\" or \"en\"")
	}
	now := db.now()
	// Joining records the programme consent, in the same statement.
	row := db.pool.QueryRow(ctx, `
		WITH s AS (
			INSERT INTO subscribers (msisdn, language, member_since, tier_since, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4, $4)
			ON CONFLICT (msisdn) DO NOTHING
			RETURNING `+subscriberColumns+`
		), c AS (
			INSERT INTO consents (msisdn, purpose, granted, channel, text_version, at)
			SELECT msisdn, 'programme', true, $5, $6, $4 FROM s
		)
		SELECT * FROM s`, msisdn, lang, db.today(now), now, channel, care360.ConsentTextVersion)
	if s, err = db.scanSubscriber(row); err == nil {
		return s, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, err
	}
	s, err = db.Subscriber(ctx, msisdn)
	return s, false, err
}

// SetLanguage changes the language screens and SMS use for msisdn.
func (db *DB) SetLanguage(ctx context.Context, msisdn care360.MSISDN, lang care360.Language) (err error) {
	defer wrap(&err, "set language of %s", msisdn.Masked())
	if !lang.Valid() {
		return care360.Errorf(care360.EINVALID, "language must be \"vi\", \"vi-unicode\" or \"en\"")
	}
	tag, err := db.pool.Exec(ctx, `UPDATE subscribers SET language = $2, updated_at = $3 WHERE msisdn = $1`, msisdn, lang, db.now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return care360.Errorf(care360.ENOTFOUND, "no subscriber %s", msisdn.Masked())
	}
	return nil
}

// scanSubscriber reads subscriberColumns (and any extra destinations) and
// applies the membership floor to the tier.
func (db *DB) scanSubscriber(row pgx.Row, extra ...any) (*care360.Subscriber, error) {
	var s care360.Subscriber
	var birthday, since pgtype.Date
	var hold, leave pgtype.Timestamptz
	dest := append([]any{&s.MSISDN, &s.Name, &s.Gender, &birthday, &s.Language, &since, &s.Status, &s.Tier, &s.CreatedAt, &s.UpdatedAt, &hold, &s.MarketingConsent, &leave}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if birthday.Valid {
		s.Birthday = care360.Date{Time: birthday.Time}
	}
	s.MemberSince = care360.Date{Time: since.Time}
	if hold.Valid && hold.Time.After(db.now()) {
		s.HoldUntil = hold.Time
	}
	if leave.Valid {
		s.LeaveRequested = leave.Time
	}
	// The anniversary starts at local midnight, not UTC midnight.
	localSince := time.Date(since.Time.Year(), since.Time.Month(), since.Time.Day(), 0, 0, 0, 0, db.loc)
	s.Tier = care360.MaxTier(s.Tier, db.rules.Floor(localSince, db.now()))
	return &s, nil
}

// today is now's calendar date in the configured location.
func (db *DB) today(now time.Time) pgtype.Date {
	return pgtype.Date{Time: db.date(now).Time, Valid: true}
}

// pgDate stores d's calendar date as written, whatever its time zone; the
// zero date is NULL.
func pgDate(d care360.Date) pgtype.Date {
	if d.IsZero() {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}

// notFound turns pgx.ErrNoRows into an ENOTFOUND error that says what was
// missing; other errors go through interpretError.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		e := care360.Errorf(care360.ENOTFOUND, format, args...)
		e.Err = err
		return e
	}
	return interpretError(err)
}

// wrap prefixes a failed operation's error with what was being done and
// turns driver errors into domain errors, in the manner of pkgsite's
// derrors.Wrap: `defer wrap(&err, "load subscriber %s", m.Masked())`.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), interpretError(*errp))
	}
}
