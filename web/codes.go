package web

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// codeRoutes mount the partners' two routes (PRODUCT.md §6): check a code
// a member shows, and redeem it once. Their roles are in roles.go; what a
// caller sees is narrowed to its partner by care360.Actor.CodeScope.
func (s *Server) codeRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/codes:check", s.checkCode).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/codes:redeem", s.redeemCode).Methods(http.MethodPost)
}

// codeJSON is a partner code in API form. The member's number is masked:
// a partner needs to know the code is someone's, not whose.
type codeJSON struct {
	Code       string     `json:"code"`
	Kind       string     `json:"kind"`
	Valid      bool       `json:"valid"`
	RedeemedAt *time.Time `json:"redeemed_at"`
	MSISDN     string     `json:"msisdn"`
	ExpiresAt  time.Time  `json:"expires_at"`
}

func codeOut(c *care360.PartnerCode) codeJSON {
	return codeJSON{Code: c.Code, Kind: string(c.Kind), Valid: c.Valid, RedeemedAt: c.RedeemedAt,
		MSISDN: c.MSISDN.Masked(), ExpiresAt: c.ExpiresAt}
}

// codeRequest reads {"code"} and the partner the caller is held to. A
// partner account without its partner (which the database does not allow)
// is refused rather than shown every partner's codes.
func (s *Server) codeRequest(w http.ResponseWriter, r *http.Request) (code, partner string, ok bool) {
	if s.loyalty == nil || s.loyalty.Codes == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "partner codes are not configured on this server"))
		return "", "", false
	}
	actor, _ := actorOf(r)
	if actor.Role == care360.RolePartner && actor.Partner == "" {
		s.writeError(w, r, errForbidden)
		return "", "", false
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return "", "", false
	}
	return req.Code, actor.CodeScope(), true
}

// checkCode is POST /api/v1/codes:check {"code"}: 200 with the code, or
// 404, also for another partner's code.
func (s *Server) checkCode(w http.ResponseWriter, r *http.Request) {
	code, partner, ok := s.codeRequest(w, r)
	if !ok {
		return
	}
	c, err := s.loyalty.Codes.CheckCode(r.Context(), code, partner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.noChange(r)
	writeJSON(w, http.StatusOK, codeOut(c))
}

// redeemCode is POST /api/v1/codes:redeem {"code"}: 200 the first time,
// 409 conflict after that, 422 expired for a code whose offer or voucher
// is over, 404 as for check. The audit entry says who redeemed which code.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request) {
	code, partner, ok := s.codeRequest(w, r)
	if !ok {
		return
	}
	actor, _ := actorOf(r)
	c, err := s.loyalty.Codes.RedeemCode(r.Context(), code, partner, actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := codeOut(c)
	before := out
	before.Valid, before.RedeemedAt = true, nil
	s.audit(r, "code.redeem", "code/"+c.Code, before, out)
	writeJSON(w, http.StatusOK, out)
}
