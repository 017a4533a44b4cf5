package menus

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/care360/care360"
)

func TestRoute(t *testing.T) {
	t.Parallel()
	e := &Engine{services: sortServices([]Service{
		{Code: "*10#", Menu: "main"}, {Code: "*090#", Menu: "main"},
		{Code: "*1090#", Menu: "draws"}, {Code: "*5050#", App: "quiz"},
	})}
	cases := map[string]string{
		"*090#": "*090# ", "*090*1#": "*090# 1", "*090*3*2#": "*090# 3,2", " *090# ": "*090# ",
		"*1090#": "*1090# ", "*1090*1#": "*1090# 1", "*10#": "*10# ", "*10*9#": "*10# 9",
		"*5050#": "*5050# ", "*5050*2#": "*5050# 2",
	}
	for in, want := range cases {
		svc, path, ok := e.route(in)
		if !ok || svc.Code+" "+strings.Join(path, ",") != want {
			t.Errorf("route(%q) = %v, %v, %v; want %s", in, svc, path, ok, want)
		}
	}
	for _, in := range []string{"*0901#", "*123#", "*090**1#", "*090*1", "090#", "", "*109#"} {
		if svc, _, ok := e.route(in); ok {
			t.Errorf("route(%q) accepted as %v", in, svc)
		}
	}
}

func TestCheckServices(t *testing.T) {
	t.Parallel()
	isApp := func(n string) bool { return n == "quiz" }
	if err := CheckServices([]Service{{Code: "*090#", Menu: "main"}, {Code: "*1090#", Menu: "draws"}, {Code: "*5050#", App: "quiz"}}, isApp); err != nil {
		t.Fatal(err)
	}
	for want, svcs := range map[string][]Service{
		`unknown menu "lottery"`:      {{Code: "*090#", Menu: "lottery"}},
		`app "other" is not one`:      {{Code: "*090#", App: "other"}},
		"menu and app: give one":      {{Code: "*090#", Menu: "main", App: "quiz"}},
		"menu or app is required":     {{Code: "*090#"}},
		"*090# is listed twice":       {{Code: "*090#", Menu: "main"}, {Code: "*090#", Menu: "draws"}},
		`code "090#" must look like`:  {{Code: "090#", Menu: "main"}},
		`code "*09a#" must look like`: {{Code: "*09a#", Menu: "main"}},
		`unknown menu "register"`:     {{Code: "*090#", Menu: "register"}},
	} {
		err := CheckServices(svcs, isApp)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v; want one saying %q", svcs, err, want)
		}
	}
}

func TestMenus(t *testing.T) {
	t.Parallel()
	got := strings.Join(Menus(Tree()), ",")
	for _, want := range []string{"main", "draws", "gifts", "points", "vip"} {
		if !strings.Contains(","+got+",", ","+want+",") {
			t.Errorf("menus %s lack %s", got, want)
		}
	}
	for _, not := range []string{"register", "resume", "gift.confirm"} {
		if strings.Contains(","+got+",", ","+not+",") {
			t.Errorf("menus %s offer %s", got, not)
		}
	}
}

// fakeApps answers every call with the next of its replies, or err.
type fakeApps struct {
	replies []care360.USSDReply
	got     []care360.AppRequest
	err     error
}

func (f *fakeApps) CallApp(_ context.Context, app string, req care360.AppRequest) (care360.USSDReply, error) {
	f.got = append(f.got, req)
	if f.err != nil {
		return care360.USSDReply{}, f.err
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	return r, nil
}

// TestAppPages: a partner's final screen longer than a page is paged, and
// its last page ends the dialogue; an app's failure is "unavailable".
func TestAppPages(t *testing.T) {
	t.Parallel()
	long := strings.TrimSpace(strings.Repeat("Ket qua cua ban rat dai. ", 12))
	apps := &fakeApps{replies: []care360.USSDReply{{Text: "Chon\n1. A"}, {Text: long, End: true}}}
	b := setup(t, nil, func(c *Config) {
		c.Apps = apps
		c.Services = []Service{{Code: "*090#", Menu: "main"}, {Code: "*5050#", App: "quiz"}}
	})
	p := b.member(t, "0903990001")
	p.expect(care360.USSDBegin, "*5050#", "Chon\n1. A", false)
	r := p.send(care360.USSDAnswer, "1")
	if r.End || !strings.HasSuffix(r.Text, "\n99. Xem them") || len(r.Text) > 182 {
		t.Fatalf("page 1: %+v", r)
	}
	r = p.send(care360.USSDAnswer, "99")
	if !r.End || !strings.HasSuffix(r.Text, "rat dai.") {
		t.Fatalf("last page: %+v", r)
	}
	if len(apps.got) != 2 || apps.got[1].Text != "1" || apps.got[0].ServiceCode != "*5050#" || apps.got[0].PhoneNumber != "+84903990001" || apps.got[0].SessionID != apps.got[1].SessionID {
		t.Fatalf("calls: %+v", apps.got)
	}
	apps.err = errors.New("boom")
	p.expect(care360.USSDBegin, "*5050*1#", text(care360.LangVi, "unavailable"), true)
	if apps.got[2].Text != "1" {
		t.Fatalf("shortcut call: %+v", apps.got[2])
	}
}
