package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// campaignRequest is the body of POST /api/v1/campaigns.
type campaignRequest struct {
	Name           string      `json:"name"`
	Text           string      `json:"text"`
	TextEn         string      `json:"text_en"`
	Segment        segmentJSON `json:"segment"`
	SendAt         string      `json:"send_at"` // RFC 3339; empty: now
	IdempotencyKey string      `json:"idempotency_key"`
}

// segmentJSON chooses recipients: every field given must hold.
type segmentJSON struct {
	Tiers         []string `json:"tiers,omitempty"`
	Gender        string   `json:"gender,omitempty"`
	BirthdayMonth int      `json:"birthday_month,omitempty"`
	MSISDNs       []string `json:"msisdns,omitempty"`
}

// campaignJSON is a campaign with its progress.
type campaignJSON struct {
	ID         int64        `json:"id"`
	Name       string       `json:"name"`
	Text       string       `json:"text"`
	TextEn     string       `json:"text_en,omitempty"`
	Segment    segmentJSON  `json:"segment"`
	Status     string       `json:"status"`
	SendAt     time.Time    `json:"send_at"`
	CreatedAt  time.Time    `json:"created_at"`
	Recipients int64        `json:"recipients"`
	Progress   progressJSON `json:"progress"`
}

type progressJSON struct {
	Queued    int64 `json:"queued"`
	Held      int64 `json:"held"`
	Sent      int64 `json:"sent"`
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
}

// postCampaign creates a campaign and fans it out: 201 with the campaign,
// or 200 with the first one when the idempotency key was seen before.
func (s *Server) postCampaign(w http.ResponseWriter, r *http.Request) {
	if !s.smsReady(w, r) {
		return
	}
	var req campaignRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	seg, err := s.segmentIn(req.Segment)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key, fp, err := callerKey(req.IdempotencyKey, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	nc := care360.NewCampaign{Name: req.Name, Text: req.Text, TextEn: req.TextEn, IdempotencyKey: key, RequestHash: fp, Segment: seg}
	if req.SendAt != "" {
		at, err := time.Parse(time.RFC3339, req.SendAt)
		if err != nil {
			s.writeError(w, r, care360.Errorf(care360.EINVALID, "send_at must be an RFC 3339 time such as 2026-12-01T09:00:00+07:00"))
			return
		}
		nc.SendAt = at
	}
	c, replay, err := s.sms.Campaigns.CreateCampaign(r.Context(), nc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
	}
	writeJSON(w, status, campaignOut(c))
}

// Campaign list pages are smaller than other lists: each campaign's
// progress is counted over its messages when the page is read.
const (
	defaultCampaignsLimit = 20
	maxCampaignsLimit     = 100
)

// listCampaigns is GET /api/v1/campaigns[?limit=&before=]: campaigns newest
// first, each with its progress as GET /api/v1/campaigns/{id} shows it.
func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) {
	if !s.smsReady(w, r) {
		return
	}
	p, err := pageWithin(r, defaultCampaignsLimit, maxCampaignsLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.sms.Campaigns.Campaigns(r.Context(), p.ask())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next := cutPage(p, list, func(c care360.Campaign) int64 { return c.ID })
	out := make([]campaignJSON, len(list))
	for i := range list {
		out[i] = campaignOut(&list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": out, "next": next})
}

// getCampaign shows a campaign and its progress counted now.
func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) {
	s.controlCampaign(care360.CampaignService.Campaign)(w, r)
}

// controlCampaign serves GET and the :pause, :resume and :cancel actions,
// which all take an id and answer the campaign as it is afterwards.
func (s *Server) controlCampaign(do func(care360.CampaignService, context.Context, int64) (*care360.Campaign, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.smsReady(w, r) {
			return
		}
		id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
		if err != nil {
			s.writeError(w, r, care360.Errorf(care360.ENOTFOUND, "no such campaign"))
			return
		}
		c, err := do(s.sms.Campaigns, r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, campaignOut(c))
	}
}

func campaignOut(c *care360.Campaign) campaignJSON {
	seg := segmentOut(c.Segment)
	p := c.Progress
	return campaignJSON{
		ID: c.ID, Name: c.Name, Text: c.Text, TextEn: c.TextEn, Segment: seg, Status: string(c.Status),
		SendAt: c.SendAt, CreatedAt: c.CreatedAt, Recipients: c.Recipients,
		Progress: progressJSON{Queued: p.Queued, Held: p.Held, Sent: p.Sent, Delivered: p.Delivered, Failed: p.Failed},
	}
}
