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
	"github.com/care360/care360/web"
)

// movableClock is a store clock a test sets.
type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movableClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// codesBundle is a server whose catalogue runs on a clock the test moves,
// with what members take on the phone done through the catalogue itself.
type codesBundle struct {
	*bundle
	cat   *store.Catalog
	store *store.DB // the catalogue's, on the test's clock
	clock *movableClock
	seq   string // makes this test's partner names and codes its own
}

func setupCodes(t *testing.T) *codesBundle {
	t.Helper()
	clock := &movableClock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))}
	db, err := store.Open(t.Context(), pgtest.DB(t), store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	cat := store.NewCatalog(db, store.NewSMS(db, care360.SMSRules{}), store.CatalogOptions{})
	b := setup(t, func(c *web.Config) { c.Loyalty = &web.LoyaltyConfig{Gifts: cat, Offers: cat, Codes: cat} })
	return &codesBundle{bundle: b, cat: cat, store: db, clock: clock, seq: fmt.Sprint(staffSeq.Add(1))}
}

// partner is a partner's name in this test.
func (b *codesBundle) partner(name string) string { return name + " " + b.seq }

// partnerToken creates a partner account through the API.
func (b *codesBundle) partnerToken(t *testing.T, partner string) string {
	t.Helper()
	body := mustJSON(t, map[string]string{"name": fmt.Sprintf("Quầy %s %d", partner, staffSeq.Add(1)), "role": "partner", "partner": partner})
	res := b.do(t, http.MethodPost, "/api/v1/staff", body)
	var out struct{ Token, Partner string }
	res.json(t, &out)
	if res.status != http.StatusCreated || out.Partner != partner || out.Token == "" {
		t.Fatalf("create partner account: %d %s", res.status, res.body)
	}
	return "Bearer " + out.Token
}

// offerCode creates a code offer of partner through the API, valid for a
// month around the clock, and has a new member take it; it returns the
// member's national number and its code.
func (b *codesBundle) offerCode(t *testing.T, partner string) (string, string) {
	t.Helper()
	res := b.do(t, http.MethodPost, "/api/v1/offers", mustJSON(t, map[string]any{"kind": "mconnect", "category": "am_thuc",
		"partner": partner, "title": "Giảm 20% " + partner, "code": "MC4P20", "valid_from": "2026-11-01T00:00:00+07:00",
		"valid_until": "2026-12-01T00:00:00+07:00"}))
	var o struct{ ID int64 }
	res.json(t, &o)
	if res.status != http.StatusCreated {
		t.Fatalf("offer: %d %s", res.status, res.body)
	}
	m := b.members(t, 1)[0]
	bk, _, err := b.cat.Book(t.Context(), care360.BookRequest{MSISDN: care360.MSISDN(canonical(m)), OfferID: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	return m, bk.Code
}

type codeOut struct {
	Code       string     `json:"code"`
	Kind       string     `json:"kind"`
	Valid      bool       `json:"valid"`
	RedeemedAt *time.Time `json:"redeemed_at"`
	MSISDN     string     `json:"msisdn"`
	ExpiresAt  time.Time  `json:"expires_at"`
}

func (b *codesBundle) code(t *testing.T, action, code, auth string) response {
	t.Helper()
	return b.send(t, http.MethodPost, "/api/v1/codes:"+action, mustJSON(t, map[string]string{"code": code}), auth)
}

// A partner checks a member's code (the number masked, as everywhere in
// the API), redeems it once, and the audit log says who did, when.
func TestPartnerCodesCheckAndRedeem(t *testing.T) {
	t.Parallel()
	b := setupCodes(t)
	pizza := b.partner("Pizza 4P's")
	m, code := b.offerCode(t, pizza)
	auth := b.partnerToken(t, pizza)

	res := b.code(t, "check", code, auth)
	var c codeOut
	res.json(t, &c)
	masked := care360.MaskMSISDN(canonical(m))
	if res.status != http.StatusOK || c.Code != code || c.Kind != "offer" || !c.Valid || c.RedeemedAt != nil ||
		c.MSISDN != masked || !c.ExpiresAt.Equal(time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("check: %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), canonical(m)[2:]) || !strings.HasSuffix(masked, canonical(m)[len(canonical(m))-3:]) {
		t.Fatalf("the number is not masked: %s", res.body)
	}
	if !strings.Contains(string(res.body), `"redeemed_at":null`) {
		t.Errorf("redeemed_at is not null: %s", res.body)
	}

	res = b.code(t, "redeem", code, auth)
	res.json(t, &c)
	if res.status != http.StatusOK || c.Valid || c.RedeemedAt == nil || !c.RedeemedAt.Equal(b.clock.Now()) || c.MSISDN != masked {
		t.Fatalf("redeem: %d %s", res.status, res.body)
	}
	e := b.code(t, "redeem", code, auth).errorOf(t, http.StatusConflict, "conflict")
	if !strings.Contains(e.Error.Message, "redeemed already") {
		t.Errorf("second redeem: %q", e.Error.Message)
	}
	res = b.code(t, "check", code, auth)
	res.json(t, &c)
	if res.status != http.StatusOK || c.Valid || c.RedeemedAt == nil {
		t.Fatalf("check after: %d %s", res.status, res.body)
	}

	entries := b.auditOf(t, "code/"+code)
	if len(entries) != 1 || entries[0].Action != "code.redeem" || entries[0].Actor.Role != "partner" ||
		!strings.HasPrefix(entries[0].Actor.Name, "Quầy "+pizza) || !strings.Contains(string(entries[0].After), masked) ||
		strings.Contains(string(entries[0].After), canonical(m)[2:]) {
		t.Fatalf("audit: %+v", entries)
	}

	// An admin sees every partner's codes, and bad bodies are 400.
	if res := b.code(t, "check", code, "Bearer "+b.token); res.status != http.StatusOK {
		t.Fatalf("admin check: %d %s", res.status, res.body)
	}
	b.send(t, http.MethodPost, "/api/v1/codes:check", `{"code":""}`, auth).errorOf(t, http.StatusBadRequest, "invalid")
	b.send(t, http.MethodPost, "/api/v1/codes:check", `{"code":"X","partner":"all"}`, auth).errorOf(t, http.StatusBadRequest, "invalid")
}

// A partner never learns that another partner's code exists: checking or
// redeeming it answers exactly as for a code that does not exist.
func TestPartnerCodesOfAnotherPartner(t *testing.T) {
	t.Parallel()
	b := setupCodes(t)
	_, code := b.offerCode(t, b.partner("Pizza 4P's"))
	spa := b.partnerToken(t, b.partner("Spa Sen"))
	for _, action := range []string{"check", "redeem"} {
		theirs := b.code(t, action, code, spa)
		theirs.errorOf(t, http.StatusNotFound, "not_found")
		none := b.code(t, action, "MC4P20-NOSUCHCODE", spa)
		none.errorOf(t, http.StatusNotFound, "not_found")
		if strings.ReplaceAll(string(theirs.body), code, "X") != strings.ReplaceAll(string(none.body), "MC4P20-NOSUCHCODE", "X") {
			t.Errorf("%s: %s differs from %s", action, theirs.body, none.body)
		}
	}
	// The failed redemption changed nothing.
	var c codeOut
	b.code(t, "check", code, "Bearer "+b.token).json(t, &c)
	if !c.Valid || c.RedeemedAt != nil {
		t.Fatalf("the code was touched: %+v", c)
	}
}

// Sixteen redemptions of one code at once: one 200, fifteen 409.
func TestPartnerCodesRedeemedOnceConcurrently(t *testing.T) {
	t.Parallel()
	b := setupCodes(t)
	pizza := b.partner("Pizza 4P's")
	_, code := b.offerCode(t, pizza)
	auth := b.partnerToken(t, pizza)
	const n = 16
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = b.code(t, "redeem", code, auth).status })
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusOK] != 1 || count[http.StatusConflict] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d 409", count, n-1)
	}
	if entries := b.auditOf(t, "code/"+code); len(entries) != 1 {
		t.Fatalf("%d audit entries, want 1", len(entries))
	}
}

// Once the offer is over, check says the code is not valid and when it
// expired, and redeem refuses with the reason.
func TestPartnerCodesExpired(t *testing.T) {
	t.Parallel()
	b := setupCodes(t)
	pizza := b.partner("Pizza 4P's")
	_, code := b.offerCode(t, pizza)
	auth := b.partnerToken(t, pizza)
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	b.clock.Set(end)
	res := b.code(t, "check", code, auth)
	var c codeOut
	res.json(t, &c)
	if res.status != http.StatusOK || c.Valid || c.RedeemedAt != nil || !c.ExpiresAt.Equal(end) {
		t.Fatalf("check: %d %s", res.status, res.body)
	}
	e := b.code(t, "redeem", code, auth).errorOf(t, http.StatusUnprocessableEntity, "refused")
	if e.Error.Reason != "expired" || !strings.Contains(e.Error.Message, "expired") {
		t.Fatalf("redeem: %+v", e.Error)
	}
	if entries := b.auditOf(t, "code/"+code); len(entries) != 0 {
		t.Fatalf("a refused redemption is audited as done: %+v", entries)
	}
}

// A voucher that names a partner: its codes, once members claim them, are
// the partner's to check and redeem, as kind "voucher".
func TestPartnerCodesOfVoucher(t *testing.T) {
	t.Parallel()
	b := setupCodes(t)
	gl := b.partner("Global Link")
	res := b.do(t, http.MethodPost, "/api/v1/gifts", mustJSON(t, map[string]any{"name": "Voucher Global Link 500.000đ", "kind": "voucher",
		"cost": 10, "partner": gl, "valid_from": "2026-11-01T00:00:00+07:00", "valid_until": "2027-01-01T00:00:00+07:00"}))
	var g struct {
		ID      int64
		Partner string
	}
	res.json(t, &g)
	if res.status != http.StatusCreated || g.Partner != gl {
		t.Fatalf("gift: %d %s", res.status, res.body)
	}
	code := "GL-" + b.seq
	if res := b.send(t, http.MethodPost, fmt.Sprintf("/api/v1/gifts/%d/codes", g.ID), "code\n"+code+"\n", "Bearer "+b.token); res.status != http.StatusOK {
		t.Fatalf("codes: %d %s", res.status, res.body)
	}
	m := b.members(t, 1)[0]
	if _, _, err := b.store.ChangePoints(t.Context(), care360.MSISDN(canonical(m)), care360.PointsChange{Kind: care360.PointsBonus, Points: 100,
		Reason: "test", IdempotencyKey: "codes-" + m}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.cat.ClaimGift(t.Context(), care360.ClaimRequest{MSISDN: care360.MSISDN(canonical(m)), GiftID: g.ID}); err != nil {
		t.Fatal(err)
	}
	auth := b.partnerToken(t, gl)
	res = b.code(t, "check", code, auth)
	var c codeOut
	res.json(t, &c)
	if res.status != http.StatusOK || c.Kind != "voucher" || !c.Valid || c.MSISDN != care360.MaskMSISDN(canonical(m)) {
		t.Fatalf("check: %d %s", res.status, res.body)
	}
	if res := b.code(t, "redeem", code, auth); res.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", res.status, res.body)
	}
	b.code(t, "redeem", code, auth).errorOf(t, http.StatusConflict, "conflict")
	b.code(t, "check", code, b.partnerToken(t, b.partner("Pizza 4P's"))).errorOf(t, http.StatusNotFound, "not_found")
}

// A partner account is created with its partner, says which in /me, and
// may call nothing but its two routes and /me.
func TestPartnerAccount(t *testing.T) {
	t.Parallel()
	b := setupCodes(t)
	for _, body := range []string{
		`{"name":"Quầy A","role":"partner"}`,
		`{"name":"Quầy A","role":"partner","partner":" Pizza "}`,
		`{"name":"Quầy A","role":"support","partner":"Pizza"}`,
	} {
		b.do(t, http.MethodPost, "/api/v1/staff", body).errorOf(t, http.StatusBadRequest, "invalid")
	}
	pizza := b.partner("Pizza 4P's")
	auth := b.partnerToken(t, pizza)
	res := b.send(t, http.MethodGet, "/api/v1/me", "", auth)
	var me struct{ Role, Partner string }
	res.json(t, &me)
	if res.status != http.StatusOK || me.Role != "partner" || me.Partner != pizza {
		t.Fatalf("me: %d %s", res.status, res.body)
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/offers"},
		{http.MethodGet, "/api/v1/gifts"},
		{http.MethodGet, "/api/v1/subscribers/0903123456"},
		{http.MethodGet, "/api/v1/openapi.json"},
		{http.MethodGet, "/api/v1/staff"},
		{http.MethodPost, "/api/v1/staff"},
		{http.MethodGet, "/api/v1/audit"},
	} {
		b.send(t, r.method, r.path, "", auth).errorOf(t, http.StatusForbidden, "forbidden")
	}
}
