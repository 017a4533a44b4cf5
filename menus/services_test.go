package menus

import (
	"strings"
	"testing"
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
