package partner

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
)

func TestCallApp(t *testing.T) {
	t.Parallel()
	var got http.Header
	var form map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/con":
			r.ParseForm()
			got, form = r.Header.Clone(), map[string]string{}
			for k := range r.PostForm {
				form[k] = r.PostForm.Get(k)
			}
			fmt.Fprint(w, "CON Question 1\n1. Yes\n2. No")
		case "/end":
			fmt.Fprint(w, "END Thank you\n")
		case "/500":
			http.Error(w, "CON boom", 500)
		case "/garbage":
			fmt.Fprint(w, "<html>hello</html>")
		case "/redirect":
			http.Redirect(w, r, "/con", http.StatusFound)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
			fmt.Fprint(w, "END late")
		}
	}))
	defer srv.Close()
	eps := care360.Endpoints{}
	for _, p := range []string{"con", "end", "500", "garbage", "redirect", "slow"} {
		eps[p] = care360.Endpoint{Name: p, URL: srv.URL + "/" + p, Timeout: 100 * time.Millisecond, Headers: map[string]string{"X-Key": "k"}}
	}
	eps["con"] = care360.Endpoint{Name: "con", URL: srv.URL + "/con", Timeout: time.Second, Headers: map[string]string{"X-Key": "k"}}
	eps["end"] = care360.Endpoint{Name: "end", URL: srv.URL + "/end", Timeout: time.Second}
	reg := prometheus.NewRegistry()
	c := New(Config{Endpoints: eps, Registry: reg})
	req := care360.AppRequest{SessionID: "s1", ServiceCode: "*5050#", PhoneNumber: "+84903111001", Text: "1*2"}
	r, err := c.CallApp(context.Background(), "con", req)
	if err != nil || r.End || r.Text != "Question 1\n1. Yes\n2. No" {
		t.Fatalf("con: %+v, %v", r, err)
	}
	if got.Get("X-Key") != "k" || form["sessionId"] != "s1" || form["serviceCode"] != "*5050#" || form["phoneNumber"] != "+84903111001" || form["text"] != "1*2" {
		t.Fatalf("request: %v %v", got, form)
	}
	if _, sent := form["networkCode"]; sent {
		t.Fatalf("networkCode sent though unknown: %v", form)
	}
	if r, err := c.CallApp(context.Background(), "end", req); err != nil || !r.End || r.Text != "Thank you" {
		t.Fatalf("end: %+v, %v", r, err)
	}
	for app, reason := range map[string]string{"500": ReasonStatus, "garbage": ReasonUnparseable, "redirect": ReasonStatus, "slow": ReasonTimeout, "nosuch": ReasonUnknown} {
		if _, err := c.CallApp(context.Background(), app, req); err == nil {
			t.Errorf("%s: no error", app)
		}
		if n := counter(t, reg, app, reason); n != 1 {
			t.Errorf("%s: %s counted %v times", app, reason, n)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"CON a": "con a", "END b\r\n": "end b", "CON x\ny": "con x\ny", "CON ": "", "con a": "", "": "", "OK": "", "END \xff": ""} {
		r, ok := Parse([]byte(in))
		s := ""
		if ok {
			s = map[bool]string{false: "con ", true: "end "}[r.End] + r.Text
		}
		if s != want {
			t.Errorf("Parse(%q) = %q; want %q", in, s, want)
		}
	}
}

// counter reads care360_ussd_app_errors_total{app,reason}.
func counter(t *testing.T, reg *prometheus.Registry, app, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); mf.GetName() == "care360_ussd_app_errors_total" && len(l) == 2 && l[0].GetValue() == app && l[1].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
