package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/care360/care360/internal/pgtest"
)

// A number that is not a member texts GY over SMPP and is told it arrived;
// support finds it in the inbox and answers through the API; the phone
// receives the answer, once, however often the answer is posted.
func TestFeedbackEndToEnd(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pgtest.FreshDB(t)})
	const phone = "84905550001"
	if st, err := h.sim.SendMO(ctxT(t), phone, "9237", "GY Cửa hàng ở Hà Đông đóng cửa sớm", 0x08); err != nil || st != 0 {
		t.Fatalf("MO: %#x, %v", st, err)
	}
	if ack := waitSMS(t, h, phone, 1); ack[0].Text != "Care360 da nhan gop y cua quy khach va se tra loi qua SMS som nhat. Xin cam on!" || ack[0].From != "9237" {
		t.Fatalf("acknowledgement %+v", ack[0])
	}
	var inbox struct {
		Feedback []struct {
			ID     int64  `json:"id"`
			MSISDN string `json:"msisdn"`
			Text   string `json:"text"`
			Status string `json:"status"`
		} `json:"feedback"`
	}
	if st := h.api(t, "GET", "/api/v1/feedback?status=open", nil, &inbox); st != 200 || len(inbox.Feedback) != 1 ||
		inbox.Feedback[0].MSISDN != phone || inbox.Feedback[0].Text != "Cửa hàng ở Hà Đông đóng cửa sớm" {
		t.Fatalf("inbox: %d %+v", st, inbox)
	}
	path := fmt.Sprintf("/api/v1/feedback/%d:reply", inbox.Feedback[0].ID)
	answer := "Cam on quy khach, cua hang Ha Dong mo cua den 21h tu tuan sau."
	if st := h.api(t, "POST", path, map[string]string{"text": answer}, nil); st != 200 {
		t.Fatalf("reply: %d", st)
	}
	if st := h.api(t, "POST", path, map[string]string{"text": answer}, nil); st != 409 {
		t.Fatalf("second reply: %d", st)
	}
	if got := waitSMS(t, h, phone, 2); got[1].Text != answer || got[1].From != "9237" {
		t.Fatalf("answer on the phone %+v", got[1])
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(h.sim.Messages(phone)); n != 2 {
		t.Errorf("the phone got %d SMS, want the acknowledgement and one answer", n)
	}
	if st := h.api(t, "GET", "/api/v1/feedback?status=open", nil, &inbox); st != 200 || len(inbox.Feedback) != 0 {
		t.Errorf("open after the answer: %+v", inbox)
	}
}
