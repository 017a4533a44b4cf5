package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// A GY text is recorded once however often it arrives while open; an answer
// flips it once and queues one SMS; the same text after the answer is new.
func TestFeedbackRecordAndReply(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	sms := store.NewSMS(b.db, care360.SMSRules{})
	m, other := newMSISDN(), newMSISDN()
	first, err := sms.RecordFeedback(b.ctx, m, "  Sao tôi chưa nhận được quà?  ", b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if first.Replay || first.Text != "Sao tôi chưa nhận được quà?" || first.Status != care360.FeedbackOpen {
		t.Fatalf("first %+v", first)
	}
	again, err := sms.RecordFeedback(b.ctx, m, "Sao tôi chưa nhận được quà?", b.clock.Now())
	if err != nil || !again.Replay || again.ID != first.ID {
		t.Fatalf("the same MO again: %+v, %v", again, err)
	}
	long, err := sms.RecordFeedback(b.ctx, other, strings.Repeat("ý", care360.MaxFeedbackText+50), b.clock.Now())
	if err != nil || utf8.RuneCountInString(long.Text) != care360.MaxFeedbackText {
		t.Fatalf("a long text: %d characters, %v", utf8.RuneCountInString(long.Text), err)
	}
	if _, err := sms.RecordFeedback(b.ctx, m, "   ", b.clock.Now()); care360.ErrorCode(err) != care360.EINVALID {
		t.Fatalf("empty text: %v", err)
	}

	staff := care360.Actor{StaffID: 7, Name: "Lan", Role: care360.RoleSupport}
	b.clock.Add(time.Hour)
	got, err := sms.ReplyFeedback(b.ctx, first.ID, "Quà sẽ đến trong 24 giờ.", staff)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != care360.FeedbackAnswered || got.Reply != "Quà sẽ đến trong 24 giờ." || got.RepliedBy != "Lan" ||
		got.RepliedAt == nil || !got.RepliedAt.Equal(b.clock.Now()) {
		t.Fatalf("answered %+v", got)
	}
	_, err = sms.ReplyFeedback(b.ctx, first.ID, "again", staff)
	wantCode(t, err, care360.ECONFLICT)
	_, err = sms.ReplyFeedback(b.ctx, 1<<40, "to nobody", staff)
	wantCode(t, err, care360.ENOTFOUND)
	_, err = sms.ReplyFeedback(b.ctx, long.ID, " ", staff)
	wantCode(t, err, care360.EINVALID)

	ms, err := sms.Messages(b.ctx, m, 10)
	if err != nil || len(ms) != 1 || ms[0].Text != "Quà sẽ đến trong 24 giờ." || ms[0].Kind != care360.KindTransactional {
		t.Fatalf("messages to the sender: %+v, %v", ms, err)
	}
	var key string
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT idempotency_key FROM sms_messages WHERE id = $1`, ms[0].ID).Scan(&key); err != nil || key != "feedback-reply:"+fmt.Sprint(first.ID) {
		t.Fatalf("key %q, %v", key, err)
	}

	// Answered, the same words are a new question.
	next, err := sms.RecordFeedback(b.ctx, m, "Sao tôi chưa nhận được quà?", b.clock.Now())
	if err != nil || next.Replay || next.ID == first.ID {
		t.Fatalf("after the answer: %+v, %v", next, err)
	}

	list := func(f care360.FeedbackFilter) []int64 {
		t.Helper()
		l, err := sms.FeedbackList(b.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, len(l))
		for i, x := range l {
			ids[i] = x.ID
		}
		return ids
	}
	if got := list(care360.FeedbackFilter{}); len(got) != 3 || got[0] != next.ID || got[2] != first.ID {
		t.Errorf("all, newest first: %v", got)
	}
	if got := list(care360.FeedbackFilter{Status: care360.FeedbackOpen}); len(got) != 2 || got[0] != next.ID || got[1] != long.ID {
		t.Errorf("open: %v", got)
	}
	if got := list(care360.FeedbackFilter{Status: care360.FeedbackAnswered}); len(got) != 1 || got[0] != first.ID {
		t.Errorf("answered: %v", got)
	}
	if got := list(care360.FeedbackFilter{Page: care360.Page{Before: next.ID, Limit: 1}}); len(got) != 1 || got[0] != long.ID {
		t.Errorf("the page after the newest: %v", got)
	}
	if _, err := sms.FeedbackList(b.ctx, care360.FeedbackFilter{Status: "closed"}); care360.ErrorCode(err) != care360.EINVALID {
		t.Errorf("a bad status: %v", err)
	}
}

// Replies racing for one item: one wins, the rest conflict, one SMS.
func TestFeedbackReplyRace(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	sms := store.NewSMS(b.db, care360.SMSRules{})
	m := newMSISDN()
	f, err := sms.RecordFeedback(b.ctx, m, "GY test", b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make([]string, 8)
	for i := range codes {
		wg.Go(func() {
			_, err := sms.ReplyFeedback(b.ctx, f.ID, "Answer "+fmt.Sprint(i), care360.Actor{Name: "s" + fmt.Sprint(i), Role: care360.RoleSupport})
			codes[i] = care360.ErrorCode(err)
		})
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case "":
			won++
		case care360.ECONFLICT:
		default:
			t.Errorf("reply: %q", c)
		}
	}
	if won != 1 {
		t.Errorf("%d replies won: %v", won, codes)
	}
	if ms, err := sms.Messages(b.ctx, m, 10); err != nil || len(ms) != 1 {
		t.Errorf("%d SMS, %v", len(ms), err)
	}
}
