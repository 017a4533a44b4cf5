package store_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

func TestPutSubscriber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := newMSISDN()
	s := &care360.Subscriber{MSISDN: m, Name: "Nguyen Van A", Gender: care360.GenderMale, Birthday: day("1990-02-03")}
	created, err := b.db.PutSubscriber(b.ctx, s)
	if err != nil || !created {
		t.Fatalf("create: %v, %v", created, err)
	}
	// Defaults filled in and written back.
	if s.Language != care360.LangVi || s.Status != care360.StatusActive || s.Tier != care360.TierDong ||
		s.MemberSince.String() != "2026-11-25" || s.Birthday.String() != "1990-02-03" || s.CreatedAt.IsZero() {
		t.Errorf("after create: %+v", s)
	}

	b.clock.Add(1e9)
	upd := &care360.Subscriber{MSISDN: m, Name: "Nguyen Thi B", Gender: care360.GenderFemale, Language: care360.LangEn}
	if created, err := b.db.PutSubscriber(b.ctx, upd); err != nil || created {
		t.Fatalf("update: %v, %v", created, err)
	}
	got, err := b.db.Subscriber(b.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	// Replaced: name, gender, birthday (now unknown), language. Kept: the rest.
	if got.Name != "Nguyen Thi B" || got.Gender != care360.GenderFemale || !got.Birthday.IsZero() ||
		got.Language != care360.LangEn || got.Status != care360.StatusActive || got.MemberSince.String() != "2026-11-25" {
		t.Errorf("after update: %+v", got)
	}
	if !got.UpdatedAt.After(got.CreatedAt) {
		t.Errorf("updated_at %v not after created_at %v", got.UpdatedAt, got.CreatedAt)
	}
}

func TestSubscriberNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := newMSISDN()
	_, err := b.db.Subscriber(b.ctx, m)
	wantCode(t, err, care360.ENOTFOUND)
	wantCode(t, b.db.SetLanguage(b.ctx, m, care360.LangEn), care360.ENOTFOUND)
	_, err = b.db.Balance(b.ctx, m)
	wantCode(t, err, care360.ENOTFOUND)
	_, err = b.db.Ledger(b.ctx, m, 10)
	wantCode(t, err, care360.ENOTFOUND)
	_, _, err = b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: 5, Reason: "gift", IdempotencyKey: "k"})
	wantCode(t, err, care360.ENOTFOUND)
}

func TestSubscriberInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Caught by the database's CHECK: Validate does not look at MSISDNs.
	_, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: "84-not-a-number"})
	wantCode(t, err, care360.EINVALID)
	_, err = b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: newMSISDN(), Gender: "x"})
	wantCode(t, err, care360.EINVALID)
	wantCode(t, b.db.SetLanguage(b.ctx, b.subscriber(t), "fr"), care360.EINVALID)

	// The schema refuses what Go might get wrong.
	for _, sql := range []string{
		`INSERT INTO subscribers (msisdn, member_since, tier) VALUES ('84399999999', '2020-01-01', 'gold')`,
		`INSERT INTO subscribers (msisdn, member_since, language) VALUES ('84399999999', '2020-01-01', 'fr')`,
		`INSERT INTO subscribers (msisdn, member_since, status) VALUES ('84399999999', '2020-01-01', 'gone')`,
	} {
		_, err := b.db.Pool().Exec(b.ctx, sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23514" {
			t.Errorf("%s: %v, want a check violation", sql, err)
		}
	}
}

func TestRegisterAndSetLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := newMSISDN()
	s, created, err := b.db.Register(b.ctx, m, care360.LangEn, care360.ChannelUSSD)
	if err != nil || !created || s.Language != care360.LangEn || s.MSISDN != m {
		t.Fatalf("Register = %+v, %v, %v", s, created, err)
	}
	s, created, err = b.db.Register(b.ctx, m, care360.LangVi, care360.ChannelUSSD)
	if err != nil || created || s.Language != care360.LangEn {
		t.Fatalf("second Register = %+v, %v, %v (want the existing member unchanged)", s, created, err)
	}
	if err := b.db.SetLanguage(b.ctx, m, care360.LangViUnicode); err != nil {
		t.Fatal(err)
	}
	if s, err = b.db.Subscriber(b.ctx, m); err != nil || s.Language != care360.LangViUnicode {
		t.Fatalf("after SetLanguage: %+v, %v", s, err)
	}
}

// Ten years of membership give at least Titan, from local midnight of the
// anniversary; an earned tier above the floor stays.
func TestLoyaltyFloor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := newMSISDN()
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: m, MemberSince: day("2016-11-25")}); err != nil {
		t.Fatal(err)
	}
	tier := func() care360.Tier {
		s, err := b.db.Subscriber(b.ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return s.Tier
	}
	b.clock.Set(at("2026-11-24 23:59"))
	if got := tier(); got != care360.TierDong {
		t.Errorf("the day before: %s", got)
	}
	b.clock.Set(at("2026-11-25 00:01")) // still 24 Nov in UTC
	if got := tier(); got != care360.TierTitan {
		t.Errorf("on the anniversary: %s", got)
	}
	credit(t, b, m, care360.PointsQualifying, 10000, "vang")
	if got := tier(); got != care360.TierVang {
		t.Errorf("earned above the floor: %s", got)
	}
}
