package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// withLoyalty serves the catalogue from the test's store.
func withLoyalty(c *web.Config) {
	db := c.Subscribers.(*store.DB)
	cat := store.NewCatalog(db, store.NewSMS(db, care360.SMSRules{}), store.CatalogOptions{})
	c.Loyalty = &web.LoyaltyConfig{Gifts: cat, Offers: cat, Claims: cat, ProvisionEndpoints: []string{"airtime", "data"}}
}

type gift struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Occasion string   `json:"occasion"`
	Cost     int64    `json:"cost"`
	Tiers    []string `json:"tiers"`
	Stock    int64    `json:"stock"`
	Limit    int      `json:"limit"`
	Active   bool     `json:"active"`
	Segment  struct {
		Gender string `json:"gender"`
	} `json:"segment"`
}

const voucherJSON = `{"name":"Voucher Global Link 500.000đ","kind":"voucher","cost":2000,"tiers":["vang","kim_cuong"],
	"valid_from":"2026-11-01T00:00:00+07:00","valid_until":"2027-01-01T00:00:00+07:00","idempotency_key":"%s"}`

func TestGiftsAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withLoyalty)
	key := fmt.Sprint("gift-", newMSISDN())
	res := b.do(t, http.MethodPost, "/api/v1/gifts", fmt.Sprintf(voucherJSON, key))
	var g gift
	res.json(t, &g)
	if res.status != http.StatusCreated || g.ID == 0 || g.Limit != 1 || !g.Active || g.Stock != 0 || len(g.Tiers) != 2 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	if res := b.do(t, http.MethodPost, "/api/v1/gifts", fmt.Sprintf(voucherJSON, key)); res.status != http.StatusOK {
		t.Fatalf("replay: %d %s", res.status, res.body)
	}
	path := fmt.Sprint("/api/v1/gifts/", g.ID)
	res = b.do(t, http.MethodPatch, path, `{"cost":1500,"active":false}`)
	res.json(t, &g)
	if res.status != http.StatusOK || g.Cost != 1500 || g.Active || g.Name != "Voucher Global Link 500.000đ" {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	if res := b.do(t, http.MethodGet, path, ""); res.status != http.StatusOK || !strings.Contains(string(res.body), `"cost":1500`) {
		t.Fatalf("get: %d %s", res.status, res.body)
	}
	res = b.do(t, http.MethodGet, "/api/v1/gifts?campaign=false&active=false", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), fmt.Sprintf(`"id":%d,`, g.ID)) {
		t.Fatalf("list: %d %s", res.status, res.body)
	}

	// A women's-day gift is free and for women, whatever the request says.
	res = b.do(t, http.MethodPost, "/api/v1/gifts", `{"name":"Hoa 8/3","kind":"physical","occasion":"womens_day","stock":100,
		"valid_from":"2027-03-08T00:00:00+07:00","valid_until":"2027-03-09T00:00:00+07:00"}`)
	res.json(t, &g)
	if res.status != http.StatusCreated || g.Segment.Gender != "f" || g.Cost != 0 {
		t.Fatalf("women's day: %d %s", res.status, res.body)
	}
}

// Staff choose a configured endpoint by name and can never make the
// gateway call a URL of their choosing (PRODUCT.md §9).
func TestGiftProvisionEndpointOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, withLoyalty)
	const airtime = `{"name":"Nap 10k","kind":"airtime","cost":10,"stock":1,"value":10000,%s"valid_from":"2026-11-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}`
	for _, c := range []struct{ field, msg string }{
		{`"provision_url":"https://collector.example/x",`, "provision_endpoint"},
		{`"provision_url":"https://collector.example/x","provision_endpoint":"airtime",`, "provision_url"},
		{`"provision_endpoint":"collector",`, `unknown endpoint "collector"`},
	} {
		e := b.do(t, http.MethodPost, "/api/v1/gifts", fmt.Sprintf(airtime, c.field)).errorOf(t, http.StatusBadRequest, care360.EINVALID)
		if !strings.Contains(e.Error.Message, c.msg) {
			t.Errorf("%s: message %q, want %q", c.field, e.Error.Message, c.msg)
		}
	}
	res := b.do(t, http.MethodPost, "/api/v1/gifts", fmt.Sprintf(airtime, `"provision_endpoint":"airtime",`))
	var g struct {
		ID       int64  `json:"id"`
		Endpoint string `json:"provision_endpoint"`
	}
	res.json(t, &g)
	if res.status != http.StatusCreated || g.Endpoint != "airtime" || strings.Contains(string(res.body), "provision_url") {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	path := fmt.Sprintf("/api/v1/gifts/%d", g.ID)
	e := b.do(t, http.MethodPatch, path, `{"provision_url":"https://collector.example/x"}`).errorOf(t, http.StatusBadRequest, care360.EINVALID)
	if !strings.Contains(e.Error.Message, "provision_endpoint") {
		t.Errorf("patch with a URL: %q", e.Error.Message)
	}
	b.do(t, http.MethodPatch, path, `{"provision_endpoint":"collector"}`).errorOf(t, http.StatusBadRequest, care360.EINVALID)
	res = b.do(t, http.MethodPatch, path, `{"provision_endpoint":"data"}`)
	res.json(t, &g)
	if res.status != http.StatusOK || g.Endpoint != "data" {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
}

func TestGiftsAPIBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, withLoyalty)
	for _, c := range []struct{ body, msg string }{
		{`{"name":"x"`, "malformed JSON"},
		{`[]`, "must be a JSON object"},
		{`{"name":"x","colour":"red"}`, `unknown field "colour"`},
		{`{"name":"x","cost":"100"}`, `field "cost" must be an integer`},
		{`{"name":"x","kind":"voucher","cost":100,"valid_from":"tomorrow","valid_until":"2027-01-01T00:00:00Z"}`, "valid_from must be an RFC 3339 time"},
		{`{"name":"x","kind":"lottery","cost":100,"valid_from":"2026-11-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}`, "kind must be"},
		{`{"name":"x","kind":"partner","cost":0,"stock":1,"valid_from":"2026-11-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}`, "cost must be"},
		{`{"name":"x","kind":"partner","cost":10,"stock":1,"valid_from":"2027-01-01T00:00:00Z","valid_until":"2026-11-01T00:00:00Z"}`, "valid_until after valid_from"},
		{`{"name":"x","kind":"airtime","cost":10,"stock":1,"value":10000,"valid_from":"2026-11-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}`, "provision_endpoint"},
		{`{"name":"x","kind":"partner","occasion":"segment","stock":1,"segment":{"msisdns":["12"]},"valid_from":"2026-11-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}`, "segment.msisdns[0]"},
	} {
		e := b.do(t, http.MethodPost, "/api/v1/gifts", c.body).errorOf(t, http.StatusBadRequest, care360.EINVALID)
		if !strings.Contains(e.Error.Message, c.msg) {
			t.Errorf("%s: message %q, want %q", c.body, e.Error.Message, c.msg)
		}
	}
	b.do(t, http.MethodGet, "/api/v1/gifts/999999999", "").errorOf(t, http.StatusNotFound, care360.ENOTFOUND)
	b.do(t, http.MethodGet, "/api/v1/gifts/99999999999999999999", "").errorOf(t, http.StatusNotFound, care360.ENOTFOUND)
	b.do(t, http.MethodPatch, "/api/v1/gifts/999999999", `{"cost":5}`).errorOf(t, http.StatusNotFound, care360.ENOTFOUND)
	b.do(t, http.MethodPatch, "/api/v1/gifts/1", `{"kind":"data"}`).errorOf(t, http.StatusBadRequest, care360.EINVALID)
	b.do(t, http.MethodGet, "/api/v1/gifts?active=maybe", "").errorOf(t, http.StatusBadRequest, care360.EINVALID)
}

type codeReport struct {
	Accepted, Duplicate, Rejected int
	Rows                          []struct {
		Row    int
		Code   string
		Result string
		Reason string
	}
}

func TestGiftCodesUpload(t *testing.T) {
	t.Parallel()
	b := setup(t, withLoyalty)
	var g gift
	b.do(t, http.MethodPost, "/api/v1/gifts", fmt.Sprintf(voucherJSON, "")).json(t, &g)
	path := fmt.Sprintf("/api/v1/gifts/%d/codes", g.ID)
	pre := fmt.Sprint(g.ID, "-")
	csv := "batch,code\n1," + pre + "AAAA\n1," + pre + "BBBB\n2," + pre + "AAAA\n2,xy\n3,\"with space\"\n"
	res := b.send(t, http.MethodPost, path, csv, "Bearer "+b.token)
	var rep codeReport
	res.json(t, &rep)
	if res.status != http.StatusOK || rep.Accepted != 2 || rep.Duplicate != 1 || rep.Rejected != 2 || len(rep.Rows) != 5 ||
		rep.Rows[2].Row != 4 || rep.Rows[2].Result != "duplicate" || rep.Rows[3].Reason == "" {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	res = b.send(t, http.MethodPost, path, "code\n"+pre+"BBBB\n"+pre+"CCCC\n", "Bearer "+b.token)
	res.json(t, &rep)
	if rep.Accepted != 1 || rep.Duplicate != 1 {
		t.Fatalf("second upload: %s", res.body)
	}
	b.do(t, http.MethodGet, fmt.Sprint("/api/v1/gifts/", g.ID), "").json(t, &g)
	if g.Stock != 3 {
		t.Fatalf("stock %d after 3 codes", g.Stock)
	}
	for body, msg := range map[string]string{
		"voucher\nAAAA\n": "no code column",
		"":                "empty",
		"\xff\xfe\n":      "not UTF-8",
	} {
		e := b.send(t, http.MethodPost, path, body, "Bearer "+b.token).errorOf(t, http.StatusBadRequest, care360.EINVALID)
		if !strings.Contains(e.Error.Message, msg) {
			t.Errorf("%q: %q, want %q", body, e.Error.Message, msg)
		}
	}
	b.send(t, http.MethodPost, "/api/v1/gifts/999999999/codes", "code\nAAAA\n", "Bearer "+b.token).errorOf(t, http.StatusNotFound, care360.ENOTFOUND)
}

func TestOffersAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withLoyalty)
	key := fmt.Sprint("offer-", newMSISDN())
	body := `{"kind":"resort","partner":"Vinpearl","title":"Vinpearl Phú Quốc","price":1000000,"card_price":500000,
		"card_name":"TienPhong Bank Visa","idempotency_key":"` + key + `"}`
	res := b.do(t, http.MethodPost, "/api/v1/offers", body)
	var o struct {
		ID        int64  `json:"id"`
		ValidFrom string `json:"valid_from"`
	}
	res.json(t, &o)
	// The season starts on 1 June, Hanoi time.
	if res.status != http.StatusCreated || !strings.HasSuffix(o.ValidFrom, "-05-31T17:00:00Z") {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	if res := b.do(t, http.MethodPost, "/api/v1/offers", body); res.status != http.StatusOK {
		t.Fatalf("replay: %d %s", res.status, res.body)
	}
	res = b.do(t, http.MethodGet, "/api/v1/offers?kind=resort", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), fmt.Sprintf(`"id":%d,`, o.ID)) {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	for _, bad := range []string{
		`{"kind":"mconnect","category":"spa","title":"x","code":"ABCD"}`,
		`{"kind":"mconnect","category":"am_thuc","title":"x"}`,
		`{"kind":"resort","title":"x","price":100,"card_price":200}`,
		`{"kind":"resort","title":"x","price":100,"valid_from":"2027-06-01T00:00:00Z"}`,
	} {
		b.do(t, http.MethodPost, "/api/v1/offers", bad).errorOf(t, http.StatusBadRequest, care360.EINVALID)
	}
	b.do(t, http.MethodGet, "/api/v1/offers?kind=hotel", "").errorOf(t, http.StatusBadRequest, care360.EINVALID)
}
