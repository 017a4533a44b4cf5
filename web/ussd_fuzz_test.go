package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/menus"
	"github.com/care360/care360/store"
	"github.com/care360/care360/web"
)

// FuzzAfricasTalking posts arbitrary form bodies to the HTTP USSD adapter,
// on the real engine and store, two requests per session: nothing may
// panic or fail inside (5xx); a 200 is "CON " or "END " and a screen that
// fits the limit of the coding it would go out in; anything else is a 4xx
// JSON error.
func FuzzAfricasTalking(f *testing.F) {
	ctx := context.Background()
	db, err := store.Open(ctx, pgtest.DB(f), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(db.Close)
	cat := store.NewCatalog(db, store.NewSMS(db, care360.SMSRules{}), store.CatalogOptions{})
	e, err := menus.New(menus.Config{Subscribers: db, Points: db, Dialogues: db, DialRate: 1e6, DialBurst: 1e6,
		Gifts: cat, Offers: cat, Privileges: cat, Transfers: store.NewTransfers(db, care360.TransferRules{}),
		Draws: store.NewDraws(db), Spins: store.NewSpins(db)})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := db.PutSubscriber(ctx, &care360.Subscriber{MSISDN: "84903777099", Name: "F"}); err != nil {
		f.Fatal(err)
	}
	srv := web.NewServer(web.Config{AdminToken: testToken, Subscribers: db, Points: db, Logger: slog.New(slog.DiscardHandler),
		USSD: &web.USSDConfig{Service: e, Dialogues: db, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, LimitGSM: 182, LimitUCS2: 80}})
	ts := httptest.NewServer(srv.Handler())
	f.Cleanup(ts.Close)

	f.Add("sessionId=s1&serviceCode=*090%23&phoneNumber=%2B84903777099&text=", "sessionId=s1&serviceCode=*090%23&phoneNumber=%2B84903777099&text=8")
	f.Add("sessionId=s2&serviceCode=*090%23&phoneNumber=0903777099&text=2*1", "sessionId=s2&serviceCode=*090%23&phoneNumber=0903777099&text=2*1*1")
	f.Add("sessionId=s3&serviceCode=%2A090%2A3%23&phoneNumber=84903777099&text=%FF%FE", "sessionId=s3&text=%00&text=1&phoneNumber=x&serviceCode=y")
	f.Add("sessionId=&serviceCode=&phoneNumber=", "a=%zz&&=;")
	f.Fuzz(func(t *testing.T, first, second string) {
		for _, body := range []string{first, second} {
			post(t, ts.URL, body)
		}
	})
}

func post(t *testing.T, url, body string) {
	resp, err := http.Post(url+"/ussd/africastalking", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := string(b)
	switch {
	case resp.StatusCode >= 500:
		t.Fatalf("%q: %d %s", body, resp.StatusCode, got)
	case resp.StatusCode != http.StatusOK:
		if !strings.HasPrefix(got, `{"error":`) {
			t.Fatalf("%q: %d without a JSON error: %q", body, resp.StatusCode, got)
		}
	case !strings.HasPrefix(got, "CON ") && !strings.HasPrefix(got, "END "):
		t.Fatalf("%q: 200 %q", body, got)
	case !utf8.ValidString(got):
		t.Fatalf("%q: a screen that is not UTF-8: %q", body, got)
	case !care360.FitsGSM7(got[4:]) && len(utf16.Encode([]rune(got[4:]))) > 80,
		care360.FitsGSM7(got[4:]) && len(got[4:]) > 182*3: // bytes: a loose bound, septets are checked in menus
		t.Fatalf("%q: a screen over the limit: %q", body, got)
	}
}
