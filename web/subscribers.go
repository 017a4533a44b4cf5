package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// subscriberJSON is a subscriber as GET /api/v1/subscribers/{msisdn} shows it.
// Unknown dates are null rather than "" so that a client never parses "".
type subscriberJSON struct {
	MSISDN      string     `json:"msisdn"`
	Name        string     `json:"name"`
	Gender      string     `json:"gender"`
	Birthday    *string    `json:"birthday"`
	Language    string     `json:"language"`
	MemberSince *string    `json:"member_since"`
	Status      string     `json:"status"`
	Tier        string     `json:"tier"`
	Points      pointsJSON `json:"points"`
	// SIMSwapHoldUntil is when a SIM-swap hold lifts; null when none is in
	// force (PRODUCT.md §7).
	SIMSwapHoldUntil *time.Time `json:"sim_swap_hold_until"`
	// MarketingConsent says whether the member agrees to marketing now
	// (PRODUCT.md §7).
	MarketingConsent bool `json:"marketing_consent"`
}

// pointsJSON is a points balance in API form.
type pointsJSON struct {
	Spendable  int64       `json:"spendable"`
	Qualifying int64       `json:"qualifying"`
	Bonus      int64       `json:"bonus"`
	NextExpiry *expiryJSON `json:"next_expiry"`
}

type expiryJSON struct {
	Points int64  `json:"points"`
	Date   string `json:"date"`
}

// putSubscriberRequest is the body of PUT /api/v1/subscribers/{msisdn}.
type putSubscriberRequest struct {
	Name        string `json:"name"`
	Gender      string `json:"gender"`
	Birthday    string `json:"birthday"`
	Language    string `json:"language"`
	MemberSince string `json:"member_since"`
	Status      string `json:"status"`
	// MarketingConsent, when present, gives (true) or withdraws (false) the
	// member's marketing consent; absent keeps it (none for a new member).
	MarketingConsent *bool `json:"marketing_consent"`
}

// putSubscriber creates or replaces a subscriber's profile; tier and points
// are not the caller's to set. 201 when created, 200 when updated, with the
// subscriber as GET shows it.
func (s *Server) putSubscriber(w http.ResponseWriter, r *http.Request) {
	msisdn, err := s.msisdn(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req putSubscriberRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := req.subscriber(msisdn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The profile as it was, for the audit log; nil when it is new.
	before, err := s.subscriberView(r.Context(), msisdn)
	if err != nil && care360.ErrorCode(err) != care360.ENOTFOUND {
		s.writeError(w, r, err)
		return
	}
	created, err := s.subscribers.PutSubscriber(r.Context(), sub)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.subscriberView(r.Context(), msisdn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r, "subscriber.put", string(msisdn), before, out)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/subscribers/"+url.PathEscape(string(msisdn)))
	}
	writeJSON(w, status, out)
}

// subscriber validates the request into a domain subscriber. An empty
// language or status and a missing member_since stay empty: the service
// gives them their defaults (vi, active, today) on create and keeps what is
// stored on update, so that an operator fixing a name does not undo the
// language the subscriber chose in menu 8.
func (req putSubscriberRequest) subscriber(msisdn care360.MSISDN) (*care360.Subscriber, error) {
	sub := &care360.Subscriber{
		MSISDN:   msisdn,
		Name:     req.Name,
		Gender:   care360.Gender(req.Gender),
		Language: care360.Language(req.Language),
		Status:   care360.Status(req.Status),

		SetMarketing: req.MarketingConsent,
	}
	var err error
	if sub.Birthday, err = optionalDate("birthday", req.Birthday); err != nil {
		return nil, err
	}
	if sub.MemberSince, err = optionalDate("member_since", req.MemberSince); err != nil {
		return nil, err
	}
	check := *sub
	if check.Language == "" {
		check.Language = care360.LangVi
	}
	if check.Status == "" {
		check.Status = care360.StatusActive
	}
	if err := check.Validate(); err != nil {
		return nil, err
	}
	return sub, nil
}

// optionalDate parses a YYYY-MM-DD field; empty means unknown.
func optionalDate(field, v string) (care360.Date, error) {
	if v == "" {
		return care360.Date{}, nil
	}
	d, err := care360.ParseDate(v)
	if err != nil {
		return care360.Date{}, care360.Errorf(care360.EINVALID, "%s must be a date as YYYY-MM-DD, got %q", field, v)
	}
	return d, nil
}

func (s *Server) getSubscriber(w http.ResponseWriter, r *http.Request) {
	msisdn, err := s.msisdn(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.subscriberView(r.Context(), msisdn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditRead(r, "subscriber.read", msisdn, 1)
	writeJSON(w, http.StatusOK, out)
}

// subscriberView reads a subscriber and its balance into API form.
func (s *Server) subscriberView(ctx context.Context, msisdn care360.MSISDN) (*subscriberJSON, error) {
	// One read, so the tier and the points are of the same moment.
	sub, bal, err := s.points.Account(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	var hold *time.Time
	if !sub.HoldUntil.IsZero() {
		u := sub.HoldUntil.UTC()
		hold = &u
	}
	return &subscriberJSON{
		SIMSwapHoldUntil: hold,
		MarketingConsent: sub.MarketingConsent,
		MSISDN:           string(sub.MSISDN),
		Name:             sub.Name,
		Gender:           string(sub.Gender),
		Birthday:         dateJSON(sub.Birthday),
		Language:         string(sub.Language),
		MemberSince:      dateJSON(sub.MemberSince),
		Status:           string(sub.Status),
		Tier:             string(sub.Tier),
		Points:           balanceJSON(bal),
	}, nil
}

func balanceJSON(b care360.PointsBalance) pointsJSON {
	p := pointsJSON{Spendable: b.Spendable, Qualifying: b.Qualifying, Bonus: b.Bonus}
	if b.NextExpiry != nil {
		p.NextExpiry = &expiryJSON{Points: b.NextExpiry.Points, Date: b.NextExpiry.Date.String()}
	}
	return p
}

func dateJSON(d care360.Date) *string {
	if d.IsZero() {
		return nil
	}
	s := d.String()
	return &s
}

// msisdn parses the {msisdn} path variable with the configured numbering plan.
func (s *Server) msisdn(r *http.Request) (care360.MSISDN, error) {
	return s.numbering.Parse(mux.Vars(r)["msisdn"])
}
