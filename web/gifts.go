package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// LoyaltyConfig is what the catalogue routes need (gifts.go, offers.go).
type LoyaltyConfig struct {
	Gifts  care360.GiftService
	Offers care360.OfferService
	Claims care360.ClaimReporter // GET /api/v1/reports/claims; nil: 503
	Codes  care360.CodeService   // partners' codes:check and codes:redeem (codes.go); nil: 503
	// ProvisionEndpoints are the names of the configured endpoints an
	// airtime or data gift may name (CARE360_CONFIG "endpoints").
	ProvisionEndpoints []string
}

func (s *Server) loyaltyRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/gifts", s.getGifts).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/gifts", s.postGift).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/gifts/{id:[0-9]+}", s.getGift).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/gifts/{id:[0-9]+}", s.patchGift).Methods(http.MethodPatch)
	r.HandleFunc("/api/v1/gifts/{id:[0-9]+}/codes", s.postCodes).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/offers", s.getOffers).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/offers", s.postOffer).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/offers/{id:[0-9]+}", s.patchOffer).Methods(http.MethodPatch)
	r.HandleFunc("/api/v1/reports/claims", s.claimsReport).Methods(http.MethodGet)
}

// loyaltyReady answers 503 and reports false when the catalogue is absent.
func (s *Server) loyaltyReady(w http.ResponseWriter, r *http.Request) bool {
	if s.loyalty == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "the catalogue is not configured on this server"))
		return false
	}
	return true
}

// giftJSON is a gift in API form.
type giftJSON struct {
	ID         int64       `json:"id"`
	Name       string      `json:"name"`
	NameEn     string      `json:"name_en"`
	Kind       string      `json:"kind"`
	Occasion   string      `json:"occasion"`
	Cost       int64       `json:"cost"`
	Tiers      []string    `json:"tiers"`
	Segment    segmentJSON `json:"segment"`
	Stock      int64       `json:"stock"`
	Limit      int         `json:"limit"`
	ValidFrom  time.Time   `json:"valid_from"`
	ValidUntil time.Time   `json:"valid_until"`
	Active     bool        `json:"active"`
	Value      int64       `json:"value,omitempty"`
	Endpoint   string      `json:"provision_endpoint,omitempty"`
	Partner    string      `json:"partner,omitempty"`
	Claimed    int64       `json:"claimed"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

func giftOut(g *care360.Gift) giftJSON {
	return giftJSON{
		ID: g.ID, Name: g.Name, NameEn: g.NameEn, Kind: string(g.Kind), Occasion: string(g.Occasion), Cost: g.Cost,
		Tiers: tierStrings(g.Tiers), Segment: segmentOut(g.Segment), Stock: g.Stock, Limit: g.Limit,
		ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil, Active: g.Active, Value: g.Value, Endpoint: g.ProvisionEndpoint,
		Partner: g.Partner, Claimed: g.Claimed, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
}

// giftRequest is the body of POST /api/v1/gifts. Times are RFC 3339;
// active defaults to true, limit to 1.
type giftRequest struct {
	Name           string      `json:"name"`
	NameEn         string      `json:"name_en"`
	Kind           string      `json:"kind"`
	Occasion       string      `json:"occasion"`
	Cost           int64       `json:"cost"`
	Tiers          []string    `json:"tiers"`
	Segment        segmentJSON `json:"segment"`
	Stock          int64       `json:"stock"`
	Limit          int         `json:"limit"`
	ValidFrom      string      `json:"valid_from"`
	ValidUntil     string      `json:"valid_until"`
	Active         *bool       `json:"active"`
	Value          int64       `json:"value"`
	Endpoint       string      `json:"provision_endpoint"`
	URL            *string     `json:"provision_url"` // refused: see checkEndpoint
	Partner        string      `json:"partner"`       // a voucher's: whose staff check its codes
	IdempotencyKey string      `json:"idempotency_key"`
}

// postGift creates a gift: 201, or 200 with the first gift when the
// idempotency key was seen before.
func (s *Server) postGift(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	var req giftRequest
	err := decodeJSON(w, r, &req)
	if err == nil {
		err = s.checkEndpoint(req.URL, &req.Endpoint)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g := &care360.Gift{Name: req.Name, NameEn: req.NameEn, Kind: care360.GiftKind(req.Kind), Occasion: care360.Occasion(req.Occasion),
		Cost: req.Cost, Tiers: tiers(req.Tiers), Stock: req.Stock, Limit: req.Limit, Active: req.Active == nil || *req.Active,
		Value: req.Value, ProvisionEndpoint: req.Endpoint, Partner: req.Partner}
	if g.Segment, err = s.segmentIn(req.Segment); err == nil {
		g.ValidFrom, g.ValidUntil, err = window(req.ValidFrom, req.ValidUntil)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key, fp, err := callerKey(req.IdempotencyKey, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g.RequestHash = fp
	out, replay, err := s.loyalty.Gifts.CreateGift(r.Context(), g, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCreated(w, replay, giftOut(out))
}

// checkEndpoint refuses a provisioning URL (staff never choose where the
// gateway sends a subscriber's MSISDN, PRODUCT.md §9) and an endpoint name
// that is not configured.
func (s *Server) checkEndpoint(url, name *string) error {
	names := s.loyalty.ProvisionEndpoints
	if url != nil {
		return care360.Errorf(care360.EINVALID, "provision_url is not accepted: name a configured endpoint with provision_endpoint (configured: %s)", endpointList(names))
	}
	if name != nil && *name != "" && !slices.Contains(names, *name) {
		return care360.Errorf(care360.EINVALID, "unknown endpoint %q: provision_endpoint must be one of the endpoints in CARE360_CONFIG (configured: %s)", *name, endpointList(names))
	}
	return nil
}

func endpointList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// writeCreated answers 201 with v, or 200 when the request repeated an
// idempotency key and v is what the first one created (PRODUCT.md §6).
func writeCreated(w http.ResponseWriter, replay bool, v any) {
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
	}
	writeJSON(w, status, v)
}

// getGifts lists gifts, newest first; ?campaign=true|false and
// ?active=true|false narrow the list.
func (s *Server) getGifts(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	var f care360.GiftFilter
	var err error
	if f.Campaign, err = boolParam(r, "campaign"); err == nil {
		f.Active, err = boolParam(r, "active")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	gs, err := s.loyalty.Gifts.Gifts(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Gifts []giftJSON `json:"gifts"`
	}{Gifts: make([]giftJSON, 0, len(gs))}
	for i := range gs {
		out.Gifts = append(out.Gifts, giftOut(&gs[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getGift(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	g, err := s.loyalty.Gifts.Gift(r.Context(), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, giftOut(g))
}

// giftPatch is the body of PATCH /api/v1/gifts/{id}: only the fields
// present change. A gift's kind and occasion are what it is, so they stay.
type giftPatch struct {
	Name       *string   `json:"name"`
	NameEn     *string   `json:"name_en"`
	Cost       *int64    `json:"cost"`
	Tiers      *[]string `json:"tiers"`
	Stock      *int64    `json:"stock"`
	Limit      *int      `json:"limit"`
	ValidFrom  *string   `json:"valid_from"`
	ValidUntil *string   `json:"valid_until"`
	Active     *bool     `json:"active"`
	Value      *int64    `json:"value"`
	Endpoint   *string   `json:"provision_endpoint"`
	URL        *string   `json:"provision_url"` // refused: see checkEndpoint
	Partner    *string   `json:"partner"`
}

func (s *Server) patchGift(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	var p giftPatch
	err := decodeJSON(w, r, &p)
	if err == nil {
		err = s.checkEndpoint(p.URL, p.Endpoint)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := care360.GiftUpdate{Name: p.Name, NameEn: p.NameEn, Cost: p.Cost, Stock: p.Stock, Limit: p.Limit,
		Active: p.Active, Value: p.Value, ProvisionEndpoint: p.Endpoint, Partner: p.Partner}
	if p.Tiers != nil {
		ts := tiers(*p.Tiers)
		u.Tiers = &ts
	}
	if u.ValidFrom, u.ValidUntil, err = patchWindow(p.ValidFrom, p.ValidUntil); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.loyalty.Gifts.UpdateGift(r.Context(), pathID(r), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, giftOut(g))
}

// codeRow is one row's fate in a code upload; row is the line number
// (the header is line 1).
type codeRow struct {
	Row    int    `json:"row"`
	Code   string `json:"code"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

func (c codeRow) result() string { return c.Result }

// postCodes is POST /api/v1/gifts/{id}/codes: a UTF-8 CSV with a header row
// that has a code column, as the body or a multipart file. It reads the
// file a line at a time and adds the codes in chunks (bounded memory
// whatever the size), and answers 200 with a result per row; codes already
// in the pool, or repeated in the file, are duplicates; a line that cannot
// be read or is over 64 KiB is rejected. The accepted codes are added to
// the stock.
func (s *Server) postCodes(w http.ResponseWriter, r *http.Request) {
	if !s.loyaltyReady(w, r) {
		return
	}
	src, err := csvUpload(w, r, maxCSVBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cr := newCSVReader(src, s.maxCSVRows)
	col, err := cr.header("code", "a header row with a code column and one code per row")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var rows []codeRow
	var codes []string
	var at []int // index into rows of each code sent to the store
	answerUpload(s, w, r, cr, col, "code", func(cells []csvCell) ([]codeRow, error) {
		rows, codes, at = rows[:0], codes[:0], at[:0]
		for _, c := range cells {
			if c.Problem == "" {
				codes, at = append(codes, c.Value), append(at, len(rows))
			}
			rows = append(rows, codeRow{Row: c.Line, Code: c.Value, Result: care360.CodeRejected, Reason: c.Problem})
		}
		// Also with no rows at all: an unknown gift is a 404.
		results, err := s.loyalty.Gifts.AddCodes(r.Context(), pathID(r), codes)
		for i, res := range results {
			rows[at[i]].Result, rows[at[i]].Reason = res.Result, res.Reason
		}
		return rows, err
	})
}

// pathID is the {id} of the route, which the route's pattern keeps to
// digits; one too large to be an id is no gift.
func pathID(r *http.Request) int64 {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// segmentIn reads a segment, parsing its numbers.
func (s *Server) segmentIn(j segmentJSON) (care360.Segment, error) {
	seg := care360.Segment{Tiers: tiers(j.Tiers), Gender: care360.Gender(j.Gender), BirthdayMonth: j.BirthdayMonth}
	for i, m := range j.MSISDNs {
		msisdn, err := s.numbering.Parse(m)
		if err != nil {
			return seg, care360.Errorf(care360.EINVALID, "segment.msisdns[%d]: %s", i, care360.ErrorMessage(err))
		}
		seg.MSISDNs = append(seg.MSISDNs, msisdn)
	}
	return seg, nil
}

func segmentOut(s care360.Segment) segmentJSON {
	j := segmentJSON{Tiers: tierStrings(s.Tiers), Gender: string(s.Gender), BirthdayMonth: s.BirthdayMonth}
	for _, m := range s.MSISDNs {
		j.MSISDNs = append(j.MSISDNs, string(m))
	}
	return j
}

func tiers(ss []string) []care360.Tier {
	var out []care360.Tier
	for _, s := range ss {
		out = append(out, care360.Tier(s))
	}
	return out
}

func tierStrings(ts []care360.Tier) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, string(t))
	}
	return out
}

// window parses valid_from and valid_until; both may be empty (an offer
// then gets its defaults), never only one.
func window(from, until string) (f, u time.Time, err error) {
	if from == "" && until == "" {
		return f, u, nil
	}
	if f, err = parseTime(from, "valid_from"); err == nil {
		u, err = parseTime(until, "valid_until")
	}
	return f, u, err
}

// patchWindow parses the valid_from and valid_until of a PATCH, each
// optional: nil leaves it as it is.
func patchWindow(from, until *string) (f, u *time.Time, err error) {
	parse := func(in *string, field string) (*time.Time, error) {
		if in == nil {
			return nil, nil
		}
		t, err := parseTime(*in, field)
		return &t, err
	}
	if f, err = parse(from, "valid_from"); err == nil {
		u, err = parse(until, "valid_until")
	}
	return f, u, err
}

func parseTime(s, field string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, care360.Errorf(care360.EINVALID, "%s must be an RFC 3339 time such as 2026-12-01T00:00:00+07:00", field)
	}
	return t, nil
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, care360.Errorf(care360.EINVALID, "%s must be true or false", name)
	}
	return &b, nil
}
