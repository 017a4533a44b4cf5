package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type importAnswer struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Rows       int64  `json:"rows"`
	Taken      int64  `json:"taken"`
	Created    int64  `json:"created"`
	Updated    int64  `json:"updated"`
	Unchanged  int64  `json:"unchanged"`
	Rejected   int64  `json:"rejected"`
	Rejections []struct {
		Row    int    `json:"row"`
		MSISDN string `json:"msisdn"`
		Reason string `json:"reason"`
	} `json:"rejections"`
	Progress string `json:"progress"`
}

// The colon route really matches (gorilla/mux would send a near miss to
// {msisdn} or a 404), imports with a report per row, and is idempotent by id.
func TestImportAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	m1, m2, m3 := newMSISDN(), newMSISDN(), newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+m2, `{"name":"Before","language":"en"}`)
	csv := "\ufeffMSISDN,name,gender,birthday,language,member_since\n" +
		m1 + ",Nguyễn Văn An,m,1985-04-30,vi-unicode,2010-01-01\n" +
		m2 + ",\"Trần, Thị Bình\",f,,,\n" +
		"12345,Bad,,,,\n" +
		m3 + ",Short row\n" +
		m1 + ",Again,,,,\n" +
		m3 + ",Bad date,,31/12/1990,,\n"
	id := "web-" + m1
	res := b.do(t, http.MethodPost, "/api/v1/subscribers:import?id="+id, csv)
	var a importAnswer
	res.json(t, &a)
	if res.status != http.StatusOK || a.Status != "done" || a.ID != id || a.Progress != "/api/v1/imports/"+id {
		t.Fatalf("import: %d %s", res.status, res.body)
	}
	if a.Rows != 6 || a.Taken != 2 || a.Created != 1 || a.Updated != 1 || a.Unchanged != 0 || a.Rejected != 4 {
		t.Errorf("report: %s", res.body)
	}
	var rows []string
	for _, r := range a.Rejections {
		rows = append(rows, fmt.Sprintf("%d %s", r.Row, r.Reason))
	}
	want := []string{
		`4 invalid MSISDN "12345": use 0XXXXXXXXX, 84XXXXXXXXX or +84XXXXXXXXX`,
		"5 2 fields, the header has 6",
		"6 the same number as row 2",
		`7 birthday: invalid date "31/12/1990": use YYYY-MM-DD`,
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rejections (-want +got):\n%s", diff)
	}
	var sub struct {
		Name, Language, Tier string
		MemberSince          string `json:"member_since"`
	}
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+m1, "").json(t, &sub)
	if sub.Name != "Nguyễn Văn An" || sub.Language != "vi-unicode" || sub.Tier != "titan" {
		t.Errorf("imported: %+v", sub)
	}
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+m2, "").json(t, &sub)
	if sub.Name != "Trần, Thị Bình" || sub.Language != "en" {
		t.Errorf("updated (keeping its language): %+v", sub)
	}

	// Progress and report by id; the same id again replays the report.
	var got importAnswer
	b.do(t, http.MethodGet, "/api/v1/imports/"+id, "").json(t, &got)
	if got.Status != "done" || got.Created != 1 || len(got.Rejections) != 4 {
		t.Errorf("GET import: %+v", got)
	}
	res = b.do(t, http.MethodPost, "/api/v1/subscribers:import?id="+id, "msisdn\n"+newMSISDN()+"\n")
	res.json(t, &got)
	if res.status != http.StatusOK || got.Created != 1 || got.Rows != 6 {
		t.Errorf("replay: %d %s", res.status, res.body)
	}
	b.do(t, http.MethodGet, "/api/v1/imports/no-such-import", "").errorOf(t, http.StatusNotFound, "not_found")

	// Without an id the server names the import.
	res = b.do(t, http.MethodPost, "/api/v1/subscribers:import", "msisdn,name\n"+newMSISDN()+",X\n")
	res.json(t, &got)
	if res.status != http.StatusOK || !strings.HasPrefix(got.ID, "import-") || got.Created != 1 {
		t.Errorf("unnamed import: %d %s", res.status, res.body)
	}
}

func TestImportAPIMultipart(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("note", "ignored")
	fw, _ := mw.CreateFormFile("file", "members.csv")
	m := newMSISDN()
	fmt.Fprintf(fw, "msisdn,name\n%s,From A Form\n", m)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.url+"/api/v1/subscribers:import", &body)
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("multipart import: %d", res.StatusCode)
	}
	var sub struct{ Name string }
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+m, "").json(t, &sub)
	if sub.Name != "From A Form" {
		t.Errorf("imported %+v", sub)
	}
}

func TestImportAPIBadFiles(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	m := newMSISDN()
	for name, tc := range map[string]struct{ path, body, msg string }{
		"empty":          {"", "", "the CSV is empty"},
		"unknown column": {"", "msisdn,nickname\n", `unknown column "nickname"`},
		"no msisdn":      {"", "name\nAn\n", "no msisdn column"},
		"twice":          {"", "msisdn,MSISDN\n", "appears twice"},
		"bad id":         {"?id=no%20spaces", "msisdn\n" + m + "\n", "import id"},
	} {
		res := b.do(t, http.MethodPost, "/api/v1/subscribers:import"+tc.path, tc.body)
		e := res.errorOf(t, http.StatusBadRequest, "invalid")
		if !strings.Contains(e.Error.Message, tc.msg) {
			t.Errorf("%s: %q, want %q", name, e.Error.Message, tc.msg)
		}
	}
	// Nothing from the broken files was written.
	b.do(t, http.MethodGet, "/api/v1/subscribers/"+m, "").errorOf(t, http.StatusNotFound, "not_found")
}

// The optional marketing column records the marketing consent through the
// import (PRODUCT.md §7): yes gives it to a new member, no withdraws an
// existing member's, empty leaves the programme's consent only, anything
// else is a rejected row.
func TestImportMarketingColumn(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	yes, empty, bad, existing := newMSISDN(), newMSISDN(), newMSISDN(), newMSISDN()
	b.do(t, http.MethodPut, "/api/v1/subscribers/"+existing, `{"name":"Had it","marketing_consent":true}`)
	csv := "msisdn,name,marketing\n" +
		yes + ",Yes,yes\n" +
		empty + ",Empty,\n" +
		bad + ",Bad,maybe\n" +
		existing + ",Had it,no\n"
	res := b.do(t, http.MethodPost, "/api/v1/subscribers:import?id=mkt-"+yes, csv)
	var a importAnswer
	res.json(t, &a)
	if res.status != http.StatusOK || a.Created != 2 || a.Updated != 1 || a.Rejected != 1 ||
		len(a.Rejections) != 1 || !strings.Contains(a.Rejections[0].Reason, "marketing: want yes or no") {
		t.Fatalf("import: %d %s", res.status, res.body)
	}
	for m, want := range map[string]bool{yes: true, empty: false, existing: false} {
		var s struct {
			MarketingConsent bool `json:"marketing_consent"`
		}
		b.do(t, http.MethodGet, "/api/v1/subscribers/"+m, "").json(t, &s)
		if s.MarketingConsent != want {
			t.Errorf("%s: marketing consent %v, want %v", m, s.MarketingConsent, want)
		}
	}
}
