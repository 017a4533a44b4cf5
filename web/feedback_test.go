package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

type feedbackOut struct {
	ID         int64      `json:"id"`
	MSISDN     string     `json:"msisdn"`
	Text       string     `json:"text"`
	ReceivedAt time.Time  `json:"received_at"`
	Status     string     `json:"status"`
	Reply      *string    `json:"reply"`
	RepliedAt  *time.Time `json:"replied_at"`
	RepliedBy  *string    `json:"replied_by"`
}

type feedbackPage struct {
	Feedback []feedbackOut `json:"feedback"`
	Next     *string       `json:"next"`
}

// feedbackBundle is a server with the inbox on a database of its own, and
// the store that GY writes to.
func feedbackBundle(t *testing.T) (*bundle, *store.SMS) {
	t.Helper()
	url := pgtest.FreshDB(t)
	b := setupOn(t, url, withSMSOn(t, url))
	db, err := store.Open(t.Context(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return b, store.NewSMS(db, care360.SMSRules{})
}

func gy(t *testing.T, sms *store.SMS, text string) (care360.MSISDN, int64) {
	t.Helper()
	m := care360.MSISDN(canonical(newMSISDN()))
	f, err := sms.RecordFeedback(t.Context(), m, text, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m, f.ID
}

// Support lists the inbox a page at a time, newest first, by status, and
// answers an item once; the marketer sees none of it; reads and answers
// are audited; the answer is a transactional SMS to the sender.
func TestFeedbackAPI(t *testing.T) {
	t.Parallel()
	b, sms := feedbackBundle(t)
	first, firstID := gy(t, sms, "Quà chưa tới")
	_, secondID := gy(t, sms, "Sao điểm bị trừ?")
	_, thirdID := gy(t, sms, "Cảm ơn!")
	support, marketer := "Bearer "+b.staffToken(t, "support"), "Bearer "+b.staffToken(t, "marketer")
	list := func(query string) feedbackPage {
		t.Helper()
		res := b.send(t, http.MethodGet, "/api/v1/feedback"+query, "", support)
		if res.status != http.StatusOK {
			t.Fatalf("GET feedback%s: %d %s", query, res.status, res.body)
		}
		var p feedbackPage
		res.json(t, &p)
		return p
	}
	p := list("?limit=2")
	if len(p.Feedback) != 2 || p.Feedback[0].ID != thirdID || p.Feedback[1].ID != secondID || p.Next == nil {
		t.Fatalf("first page: %+v", p)
	}
	if f := p.Feedback[0]; f.Text != "Cảm ơn!" || f.Status != "open" || f.Reply != nil || f.RepliedAt != nil || f.RepliedBy != nil ||
		!strings.HasPrefix(f.MSISDN, "84") || f.ReceivedAt.IsZero() {
		t.Errorf("an open item: %+v", f)
	}
	if p := list("?limit=2&before=" + *p.Next); len(p.Feedback) != 1 || p.Feedback[0].ID != firstID || p.Feedback[0].MSISDN != string(first) || p.Next != nil {
		t.Fatalf("second page: %+v", p)
	}
	b.send(t, http.MethodGet, "/api/v1/feedback?status=closed", "", support).errorOf(t, http.StatusBadRequest, "invalid")
	b.send(t, http.MethodGet, "/api/v1/feedback", "", marketer).errorOf(t, http.StatusForbidden, "forbidden")
	b.send(t, http.MethodPost, fmt.Sprintf("/api/v1/feedback/%d:reply", firstID), `{"text":"x"}`, marketer).errorOf(t, http.StatusForbidden, "forbidden")

	path := fmt.Sprintf("/api/v1/feedback/%d:reply", firstID)
	b.send(t, http.MethodPost, path, `{"text":"  "}`, support).errorOf(t, http.StatusBadRequest, "invalid")
	res := b.send(t, http.MethodPost, path, `{"text":"Quà sẽ đến trong 24 giờ."}`, support)
	var got feedbackOut
	res.json(t, &got)
	if res.status != http.StatusOK || got.Status != "answered" || got.Reply == nil || *got.Reply != "Quà sẽ đến trong 24 giờ." ||
		got.RepliedAt == nil || got.RepliedBy == nil || !strings.HasPrefix(*got.RepliedBy, "support ") {
		t.Fatalf("reply: %d %s", res.status, res.body)
	}
	b.send(t, http.MethodPost, path, `{"text":"again"}`, support).errorOf(t, http.StatusConflict, "conflict")
	b.send(t, http.MethodPost, "/api/v1/feedback/999999:reply", `{"text":"x"}`, support).errorOf(t, http.StatusNotFound, "not_found")
	if p := list("?status=open"); len(p.Feedback) != 2 || p.Feedback[0].ID != thirdID {
		t.Errorf("open: %+v", p)
	}
	if p := list("?status=answered"); len(p.Feedback) != 1 || p.Feedback[0].ID != firstID || *p.Feedback[0].Reply != "Quà sẽ đến trong 24 giờ." {
		t.Errorf("answered: %+v", p)
	}

	var ms messagesBody
	b.do(t, http.MethodGet, "/api/v1/messages?msisdn="+string(first), "").json(t, &ms)
	if len(ms.Messages) != 1 || ms.Messages[0].Text != "Quà sẽ đến trong 24 giờ." || ms.Messages[0].Kind != "transactional" {
		t.Errorf("messages to the sender: %+v", ms)
	}

	reads := b.auditOf(t, "feedback")
	if len(reads) == 0 || reads[0].Action != "feedback.read" || reads[0].Actor.Role != "support" || !strings.Contains(string(reads[0].After), `"items":1`) {
		t.Errorf("reads audited: %+v", reads)
	}
	var replies []auditOut
	for _, e := range b.auditOf(t, string(first)) {
		if e.Action == "feedback.reply" {
			replies = append(replies, e)
		}
	}
	if len(replies) != 1 || replies[0].Actor.Role != "support" || strings.Contains(string(replies[0].After), "24") {
		t.Errorf("the answer audited once, without its words: %+v", replies)
	}
}

// Eight answers at once to one item: one is sent, seven are conflicts.
func TestFeedbackReplyOnce(t *testing.T) {
	t.Parallel()
	b, sms := feedbackBundle(t)
	m, id := gy(t, sms, "Tôi muốn đổi quà")
	support := "Bearer " + b.staffToken(t, "support")
	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = b.send(t, http.MethodPost, fmt.Sprintf("/api/v1/feedback/%d:reply", id),
				fmt.Sprintf(`{"text":"Answer %d"}`, i), support).status
		})
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflicts++
		}
	}
	if ok != 1 || conflicts != 7 {
		t.Errorf("statuses %v: want one 200 and seven 409", statuses)
	}
	var ms messagesBody
	b.do(t, http.MethodGet, "/api/v1/messages?msisdn="+string(m), "").json(t, &ms)
	if len(ms.Messages) != 1 {
		t.Errorf("%d SMS to the sender, want 1: %+v", len(ms.Messages), ms)
	}
}
