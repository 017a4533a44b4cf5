package web

import (
	"net/http"
	"time"

	"github.com/care360/care360"
)

// offerJSON is an mConnect or resort offer in API form.
type offerJSON struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Category   string    `json:"category,omitempty"`
	Partner    string    `json:"partner"`
	Title      string    `json:"title"`
	TitleEn    string    `json:"title_en"`
	Tiers      []string  `json:"tiers"`
	Code       string    `json:"code,omitempty"`
	Price      int64     `json:"price,omitempty"`
	CardPrice  int64     `json:"card_price,omitempty"`
	CardName   string    `json:"card_name,omitempty"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
}

func offerOut(o *care360.Offer) offerJSON {
	return offerJSON{
		ID: o.ID, Kind: string(o.Kind), Category: string(o.Category), Partner: o.Partner, Title: o.Title, TitleEn: o.TitleEn,
		Tiers: tierStrings(o.Tiers), Code: o.Code, Price: o.Price, CardPrice: o.CardPrice, CardName: o.CardName,
		ValidFrom: o.ValidFrom, ValidUntil: o.ValidUntil, Active: o.Active, CreatedAt: o.CreatedAt,
	}
}

// offerRequest is the body of POST /api/v1/offers. A resort offer without
// valid_from and valid_until is valid in the season (June–August *default*).
type offerRequest struct {
	Kind           string   `json:"kind"`
	Category       string   `json:"category"`
	Partner        string   `json:"partner"`
	Title          string   `json:"title"`
	TitleEn        string   `json:"title_en"`
	Tiers          []string `json:"tiers"`
	Code           string   `json:"code"`
	Price          int64    `json:"price"`
	CardPrice      int64    `json:"card_price"`
	CardName       string   `json:"card_name"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until"`
	Active         *bool    `json:"active"`
	IdempotencyKey string   `json:"idempotency_key"`
}

func (s *Server) postOffer(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	var req offerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	o := &care360.Offer{Kind: care360.OfferKind(req.Kind), Category: care360.Category(req.Category), Partner: req.Partner,
		Title: req.Title, TitleEn: req.TitleEn, Tiers: tiers(req.Tiers), Code: req.Code, Price: req.Price,
		CardPrice: req.CardPrice, CardName: req.CardName, Active: req.Active == nil || *req.Active}
	var err error
	if o.ValidFrom, o.ValidUntil, err = window(req.ValidFrom, req.ValidUntil); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, fp, err := callerKey(req.IdempotencyKey, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o.RequestHash = fp
	out, replay, err := s.loyalty.Offers.CreateOffer(r.Context(), o, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCreated(w, replay, offerOut(out))
}

// getOffers lists offers; ?kind=mconnect|resort and ?category= narrow it.
func (s *Server) getOffers(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	q := r.URL.Query()
	f := care360.OfferFilter{Kind: care360.OfferKind(q.Get("kind")), Category: care360.Category(q.Get("category"))}
	if f.Kind != "" && f.Kind != care360.OfferMConnect && f.Kind != care360.OfferResort {
		s.writeError(w, r, care360.Errorf(care360.EINVALID, "kind must be mconnect or resort"))
		return
	}
	os, err := s.loyalty.Offers.Offers(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Offers []offerJSON `json:"offers"`
	}{Offers: make([]offerJSON, 0, len(os))}
	for i := range os {
		out.Offers = append(out.Offers, offerOut(&os[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// offerPatch is the body of PATCH /api/v1/offers/{id}: only the fields
// present change (active:false takes the offer off the menus). The kind
// stays: it is the menu the offer belongs to.
type offerPatch struct {
	Category   *string   `json:"category"`
	Partner    *string   `json:"partner"`
	Title      *string   `json:"title"`
	TitleEn    *string   `json:"title_en"`
	Tiers      *[]string `json:"tiers"`
	Code       *string   `json:"code"`
	Price      *int64    `json:"price"`
	CardPrice  *int64    `json:"card_price"`
	CardName   *string   `json:"card_name"`
	ValidFrom  *string   `json:"valid_from"`
	ValidUntil *string   `json:"valid_until"`
	Active     *bool     `json:"active"`
}

func (s *Server) patchOffer(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	var p offerPatch
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := care360.OfferUpdate{Partner: p.Partner, Title: p.Title, TitleEn: p.TitleEn, Code: p.Code, Price: p.Price,
		CardPrice: p.CardPrice, CardName: p.CardName, Active: p.Active}
	if p.Category != nil {
		c := care360.Category(*p.Category)
		u.Category = &c
	}
	if p.Tiers != nil {
		ts := tiers(*p.Tiers)
		u.Tiers = &ts
	}
	var err error
	if u.ValidFrom, u.ValidUntil, err = patchWindow(p.ValidFrom, p.ValidUntil); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.loyalty.Offers.UpdateOffer(r.Context(), pathID(r), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, offerOut(o))
}
