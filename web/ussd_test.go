package web_test

import (
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/care360/care360/menus"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// withUSSD mounts the Africa's Talking adapter on the real dialogue engine.
func withUSSD(allow ...string) func(*web.Config) {
	return func(cfg *web.Config) {
		db := cfg.Subscribers.(*store.DB)
		e, err := menus.New(menus.Config{Subscribers: db, Points: db, Dialogues: db})
		if err != nil {
			panic(err)
		}
		var prefixes []netip.Prefix
		for _, a := range allow {
			prefixes = append(prefixes, netip.MustParsePrefix(a))
		}
		cfg.USSD = &web.USSDConfig{Service: e, Dialogues: db, Allow: prefixes, LimitGSM: 182, LimitUCS2: 80}
	}
}

func at(t *testing.T, b *bundle, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(b.url+"/ussd/africastalking", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAfricasTalkingDialogue(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8", "::1/128"))
	b.do(t, "PUT", "/api/v1/subscribers/0903777001", `{"name":"A"}`)
	form := func(text string) url.Values {
		return url.Values{"sessionId": {"ATUid_1"}, "serviceCode": {"*090#"}, "phoneNumber": {"+84903777001"}, "networkCode": {"45201"}, "text": {text}}
	}
	if st, body := at(t, b, form("")); st != 200 || body != "CON MobiFone Care360\n1. Diem & hang hoi vien\n2. Qua tang\n3. Boc tham & Quay so\n4. Uu dai mConnect\n5. Dac quyen VIP\n6. Nghi duong he\n7. Tang diem\n8. Ngon ngu/Language" {
		t.Fatalf("first request: %d %q", st, body)
	}
	if st, body := at(t, b, form("8")); st != 200 || !strings.HasPrefix(body, "CON Ngon ngu/Language\n1. Tieng Viet") {
		t.Fatalf("second request: %d %q", st, body)
	}
	if st, body := at(t, b, form("8*3")); st != 200 || body != "END Language set: English." {
		t.Fatalf("third request: %d %q", st, body)
	}
	// The session is over: a reused session id starts nothing new.
	if st, body := at(t, b, form("8*3*1")); st != 200 || body != "END Phien da ket thuc. Vui long bam lai *090#." {
		t.Fatalf("after END: %d %q", st, body)
	}
}

func TestAfricasTalkingRefusals(t *testing.T) {
	t.Parallel()
	closed := setup(t, withUSSD("10.0.0.0/8"))
	good := url.Values{"sessionId": {"ATUid_2"}, "serviceCode": {"*090#"}, "phoneNumber": {"+84903777002"}, "text": {""}}
	if st, body := at(t, closed, good); st != 403 || !strings.Contains(body, `"forbidden"`) {
		t.Fatalf("from an address outside the allow list: %d %q", st, body)
	}
	b := setup(t, withUSSD("127.0.0.0/8", "::1/128"))
	for name, f := range map[string]url.Values{
		"no session": {"serviceCode": {"*090#"}, "phoneNumber": {"+84903777002"}},
		"no phone":   {"sessionId": {"x"}, "serviceCode": {"*090#"}},
		"no code":    {"sessionId": {"x"}, "phoneNumber": {"+84903777002"}},
	} {
		if st, _ := at(t, b, f); st != 400 {
			t.Errorf("%s: status %d; want 400", name, st)
		}
	}
	// Text that does not continue the session's previous text.
	b.do(t, "PUT", "/api/v1/subscribers/0903777003", `{"name":"C"}`)
	f := url.Values{"sessionId": {"ATUid_3"}, "serviceCode": {"*090#"}, "phoneNumber": {"0903777003"}, "text": {""}}
	at(t, b, f)
	f.Set("text", "8")
	at(t, b, f)
	f.Set("text", "1*2")
	if st, _ := at(t, b, f); st != 400 {
		t.Errorf("text rewriting history: status %d; want 400", st)
	}
	// A number we do not serve is told so, not an error.
	f = url.Values{"sessionId": {"ATUid_4"}, "serviceCode": {"*090#"}, "phoneNumber": {"+14155550100"}, "text": {""}}
	if st, body := at(t, b, f); st != 200 || body != "END Dich vu chi danh cho thue bao MobiFone." {
		t.Errorf("foreign number: %d %q", st, body)
	}
}
