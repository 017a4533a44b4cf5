package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/care360/care360/menus"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// withUSSD mounts the Africa's Talking adapter on the real dialogue engine.
func withUSSD(allow ...string) func(*web.Config) { return withUSSDTuned(nil, allow...) }

// withUSSDTuned is withUSSD with the adapter's configuration changed by tune.
func withUSSDTuned(tune func(*web.USSDConfig), allow ...string) func(*web.Config) {
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
		if tune != nil {
			tune(cfg.USSD)
		}
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

func prefixes(cidrs ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, c := range cidrs {
		ps = append(ps, netip.MustParsePrefix(c))
	}
	return ps
}

// atWith posts a first request of a new session with extra headers and a
// query string.
func atWith(t *testing.T, b *bundle, query string, header http.Header) (int, string) {
	t.Helper()
	session := fmt.Sprintf("ATUid_h%d", sessionSeq.Add(1))
	form := url.Values{"sessionId": {session}, "serviceCode": {"*090#"}, "phoneNumber": {"+84903777010"}, "text": {""}}
	req, _ := http.NewRequest("POST", b.url+"/ussd/africastalking"+query, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var sessionSeq atomic.Int64

// TestAfricasTalkingClientAddress: behind a trusted reverse proxy the
// client is judged by the address the proxy saw, and an X-Forwarded-For
// the client wrote itself is believed from no one (PRODUCT.md §9). The
// test's peer is loopback: as a proxy on the same host, or a sidecar.
func TestAfricasTalkingClientAddress(t *testing.T) {
	t.Parallel()
	loopback := []string{"127.0.0.0/8", "::1/128"}
	for _, tc := range []struct {
		name           string
		trusted, allow []string
		xff            []string
		want           int
	}{
		// The peer is no proxy of ours: its X-Forwarded-For is a forgery.
		{"forged from an untrusted peer", []string{"10.0.0.0/8"}, []string{"203.0.113.0/24"}, []string{"203.0.113.7"}, 403},
		// The hole: a proxy on loopback forwards anyone from the internet,
		// and the default allow list is loopback.
		{"internet client behind a local proxy", loopback, loopback, []string{"198.51.100.9"}, 403},
		{"aggregator behind a trusted proxy", loopback, []string{"203.0.113.0/24"}, []string{"203.0.113.7"}, 200},
		{"client-written entries left of the real one", loopback, []string{"203.0.113.0/24"}, []string{"198.51.100.9, 203.0.113.7"}, 200},
		{"forged allowed address left of the real one", loopback, []string{"203.0.113.0/24"}, []string{"203.0.113.7, 198.51.100.9"}, 403},
		{"two trusted proxies, several headers", append([]string{"10.0.0.0/8"}, loopback...), []string{"203.0.113.0/24"}, []string{"198.51.100.9, 203.0.113.7", "10.1.2.3"}, 200},
		{"a trusted proxy passing on garbage", loopback, loopback, []string{"198.51.100.9, nonsense"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, withUSSDTuned(func(u *web.USSDConfig) { u.TrustedProxies = prefixes(tc.trusted...) }, tc.allow...))
			b.do(t, "PUT", "/api/v1/subscribers/0903777010", `{"name":"P"}`)
			st, body := atWith(t, b, "", http.Header{"X-Forwarded-For": tc.xff})
			if st != tc.want {
				t.Fatalf("X-Forwarded-For %q: %d %q; want %d", tc.xff, st, body, tc.want)
			}
			if st == 403 && !strings.Contains(body, "may not call the USSD adapter") {
				t.Errorf("refusal does not say why: %q", body)
			}
		})
	}
}

// TestAfricasTalkingToken: with a token set, a caller from an allowed
// address must also present it, as a bearer token or ?token=.
func TestAfricasTalkingToken(t *testing.T) {
	t.Parallel()
	const token = "at-token-0123456789abcdef"
	b := setup(t, withUSSDTuned(func(u *web.USSDConfig) { u.Token = token }, "127.0.0.0/8", "::1/128"))
	b.do(t, "PUT", "/api/v1/subscribers/0903777010", `{"name":"P"}`)
	for _, tc := range []struct {
		name   string
		query  string
		header http.Header
		want   int
	}{
		{"no token", "", nil, 401},
		{"wrong bearer", "", http.Header{"Authorization": {"Bearer at-token-0123456789abcdeX"}}, 401},
		{"wrong query", "?token=" + token[:10], nil, 401},
		{"empty bearer", "", http.Header{"Authorization": {"Bearer "}}, 401},
		{"bearer", "", http.Header{"Authorization": {"Bearer " + token}}, 200},
		{"query", "?token=" + token, nil, 200},
	} {
		st, body := atWith(t, b, tc.query, tc.header)
		if st != tc.want {
			t.Errorf("%s: %d %q; want %d", tc.name, st, body, tc.want)
		}
		if st == 200 && !strings.HasPrefix(body, "CON MobiFone Care360") {
			t.Errorf("%s: %q", tc.name, body)
		}
	}
}

// TestAfricasTalkingOff: with no allow list the adapters are off, and say
// so.
func TestAfricasTalkingOff(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD())
	st, body := atWith(t, b, "", nil)
	if st != 403 || !strings.Contains(body, "CARE360_USSD_HTTP_ALLOW") {
		t.Fatalf("adapter without an allow list: %d %q", st, body)
	}
}

// TestAfricasTalkingSessionBelongsToItsPhone: a session opened by one
// phoneNumber cannot be continued as another.
func TestAfricasTalkingSessionBelongsToItsPhone(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8", "::1/128"))
	b.do(t, "PUT", "/api/v1/subscribers/0903777011", `{"name":"A"}`)
	b.do(t, "PUT", "/api/v1/subscribers/0903777012", `{"name":"B"}`)
	form := func(phone, text string) url.Values {
		return url.Values{"sessionId": {"ATUid_hijack"}, "serviceCode": {"*090#"}, "phoneNumber": {phone}, "text": {text}}
	}
	if st, body := at(t, b, form("+84903777011", "")); st != 200 || !strings.HasPrefix(body, "CON ") {
		t.Fatalf("first request: %d %q", st, body)
	}
	if st, body := at(t, b, form("+84903777012", "1")); st != 403 || !strings.Contains(body, "another phoneNumber") {
		t.Fatalf("another phone continuing the session: %d %q", st, body)
	}
	// The same number written another way is the same phone.
	if st, body := at(t, b, form("0903777011", "1")); st != 200 || !strings.HasPrefix(body, "END Hang: Dong") {
		t.Fatalf("the phone that opened it: %d %q", st, body)
	}
}

// TestAfricasTalkingRetrySameScreen: a request sent again (an aggregator's
// retry) gets the screen the first got, and does not count as an answer.
func TestAfricasTalkingRetrySameScreen(t *testing.T) {
	t.Parallel()
	b := setup(t, withUSSD("127.0.0.0/8", "::1/128"))
	b.do(t, "PUT", "/api/v1/subscribers/0903777013", `{"name":"A"}`)
	form := func(text string) url.Values {
		return url.Values{"sessionId": {"ATUid_retry"}, "serviceCode": {"*090#"}, "phoneNumber": {"+84903777013"}, "text": {text}}
	}
	for _, step := range []struct{ text, want string }{
		{"", "CON MobiFone Care360\n"}, {"", "CON MobiFone Care360\n"},
		{"8", "CON Ngon ngu/Language\n"}, {"8", "CON Ngon ngu/Language\n"},
		{"8*3", "END Language set: English."}, {"8*3", "END Language set: English."},
	} {
		if st, body := at(t, b, form(step.text)); st != 200 || !strings.HasPrefix(body, step.want) {
			t.Fatalf("text %q: %d %q; want %q…", step.text, st, body, step.want)
		}
	}
}
