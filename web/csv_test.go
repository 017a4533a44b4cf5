package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/care360/care360/web"
)

// uploadReport is the answer of the do-not-call and code-pool uploads.
type uploadReport struct {
	Accepted, Duplicate, Rejected int
	Rows                          []struct {
		Row    int
		MSISDN string
		Code   string
		Result string
		Reason string
	}
}

// A line over 64 KiB is one rejected row, reported with its line number;
// the rows around it are taken (PRODUCT.md §9).
func TestCSVLongLineIsARejectedRow(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t), withLoyalty)
	long := strings.Repeat("9", 100<<10)
	a, c := newMSISDN(), newMSISDN()
	res := b.do(t, http.MethodPost, "/api/v1/dnc:import", "msisdn\n"+a+"\n"+long+"\n"+c+"\n")
	var rep uploadReport
	res.json(t, &rep)
	if res.status != http.StatusOK || rep.Accepted+rep.Duplicate != 2 || rep.Rejected != 1 || len(rep.Rows) != 3 ||
		rep.Rows[1].Row != 3 || rep.Rows[1].Result != "rejected" || !strings.Contains(rep.Rows[1].Reason, "64 KiB") || rep.Rows[2].Row != 4 {
		t.Fatalf("dnc: %d %.600s", res.status, res.body)
	}

	var g gift
	b.do(t, http.MethodPost, "/api/v1/gifts", fmt.Sprintf(voucherJSON, "")).json(t, &g)
	pre := fmt.Sprint(g.ID, "-")
	res = b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/gifts/%d/codes", g.ID), "code\n"+pre+"AAAA\n\""+long+"\"\n"+pre+"BBBB\n")
	rep = uploadReport{}
	res.json(t, &rep)
	if res.status != http.StatusOK || rep.Accepted != 2 || rep.Rejected != 1 || rep.Rows[1].Row != 3 || !strings.Contains(rep.Rows[1].Reason, "64 KiB") {
		t.Fatalf("codes: %d %.600s", res.status, res.body)
	}
}

// Rows that cannot be read (bad quoting, not UTF-8, no msisdn field) are
// rejected rows too: the rest of the file is taken.
func TestCSVBadRowsAreRejectedRows(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t))
	a := newMSISDN()
	res := b.do(t, http.MethodPost, "/api/v1/dnc:import", "name,msisdn\nAn,\"0903123456\nBinh,\xff\xfe\nCuong\n\nDung,"+a+"\n")
	var rep uploadReport
	res.json(t, &rep)
	if res.status != http.StatusOK || rep.Rejected != 3 || len(rep.Rows) != 4 || rep.Rows[3].Row != 6 || rep.Rows[3].Result == "rejected" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	for i, want := range []string{"malformed CSV at line 2", "not UTF-8", "no msisdn"} {
		if r := rep.Rows[i]; r.Row != i+2 || !strings.Contains(r.Reason, want) {
			t.Errorf("row %+v, want line %d saying %q", r, i+2, want)
		}
	}
}

// The subscriber import rejects such rows the same way and goes on.
func TestImportBadRowsAreRejectedRows(t *testing.T) {
	t.Parallel()
	b := setup(t, withLedger)
	m := newMSISDN()
	res := b.do(t, http.MethodPost, "/api/v1/subscribers:import",
		"msisdn,name\n"+newMSISDN()+",\"An\"x\n"+newMSISDN()+",\xff\xfe\n"+strings.Repeat("9", 70<<10)+",Binh\n"+m+",Cuong\n")
	var rep struct {
		Rows, Taken, Rejected int
		Rejections            []struct {
			Row    int
			Reason string
		}
	}
	res.json(t, &rep)
	if res.status != http.StatusOK || rep.Rows != 4 || rep.Taken != 1 || rep.Rejected != 3 || len(rep.Rejections) != 3 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	for i, want := range []string{"malformed CSV at line 2", "not UTF-8", "longer than 64 KiB"} {
		if r := rep.Rejections[i]; r.Row != i+2 || !strings.Contains(r.Reason, want) {
			t.Errorf("rejection %+v, want line %d saying %q", r, i+2, want)
		}
	}
	if res := b.do(t, http.MethodGet, "/api/v1/subscribers/"+m, ""); res.status != http.StatusOK {
		t.Fatalf("the row after the bad ones: %d %s", res.status, res.body)
	}
}

// Rows past the upload's row limit are not read: one rejected row says so.
func TestCSVRowLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, withSMS(t), func(c *web.Config) { c.MaxCSVRows = 2 })
	res := b.do(t, http.MethodPost, "/api/v1/dnc:import", "msisdn\n"+newMSISDN()+"\n"+newMSISDN()+"\n"+newMSISDN()+"\n"+newMSISDN()+"\n")
	var rep uploadReport
	res.json(t, &rep)
	if res.status != http.StatusOK || rep.Accepted+rep.Duplicate != 2 || rep.Rejected != 1 || len(rep.Rows) != 3 ||
		rep.Rows[2].Row != 4 || !strings.Contains(rep.Rows[2].Reason, "at most 2 rows") {
		t.Fatalf("%d %s", res.status, res.body)
	}
}
