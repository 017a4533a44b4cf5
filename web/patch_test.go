package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// PATCH /api/v1/draws/{id}: only what is sent changes, checked as on
// create; unknown fields and bad values are 400; after the close, 409.
func TestDrawPatchAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t))
	var d drawOut
	b.do(t, http.MethodPost, "/api/v1/draws", drawBody("")).json(t, &d)
	path := fmt.Sprint("/api/v1/draws/", d.ID)

	var got struct {
		drawOut
		Name      string `json:"name"`
		NameEn    string `json:"name_en"`
		EntryCost int64  `json:"entry_cost"`
		Active    bool   `json:"active"`
	}
	res := b.do(t, http.MethodPatch, path, `{"name":"Bốc thăm Xuân","entry_cost":100,"prizes":[{"name":"Ô tô","quantity":1}]}`)
	res.json(t, &got)
	if res.status != http.StatusOK || got.Name != "Bốc thăm Xuân" || got.NameEn != "Tet draw" || got.EntryCost != 100 ||
		len(got.Prizes) != 1 || got.Commitment != d.Commitment || !got.Active {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	for name, bad := range map[string]string{
		"unknown field": `{"colour":"red"}`,
		"code":          `{"code":"NEW1"}`,
		"window":        `{"closes_at":"2000-01-01T00:00:00Z"}`,
		"cost":          `{"entry_cost":-5}`,
		"tier":          `{"tickets":{"gold":1}}`,
		"no prizes":     `{"prizes":[]}`,
		"type":          `{"active":"no"}`,
		"array":         `[]`,
	} {
		if res := b.do(t, http.MethodPatch, path, bad); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, res.status, res.body)
		}
	}
	res = b.do(t, http.MethodPatch, path, `{"active":false}`)
	if res.json(t, &got); res.status != http.StatusOK || got.Active || got.Name != "Bốc thăm Xuân" {
		t.Fatalf("deactivate: %d %s", res.status, res.body)
	}
	b.do(t, http.MethodPatch, "/api/v1/draws/99999999", `{"active":false}`).errorOf(t, http.StatusNotFound, "not_found")

	// The change is in the audit log, with what was sent.
	if es := b.auditOf(t, path); len(es) != 2 || es[0].Action != "PATCH /api/v1/draws/{id}" || !strings.Contains(string(es[0].After), `"active"`) {
		t.Errorf("audit: %+v", es)
	}

	b.do(t, http.MethodPost, path+":close", "")
	e := b.do(t, http.MethodPatch, path, `{"name":"Muộn"}`).errorOf(t, http.StatusConflict, "conflict")
	if !strings.Contains(e.Error.Message, "only before it closes") {
		t.Errorf("conflict message %q", e.Error.Message)
	}
}

// POST /api/v1/draws/{id}:cancel refunds every entry once, answers the same
// outcome again, and leaves nothing more to do with the draw.
func TestDrawCancelAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t))
	var d drawOut
	b.do(t, http.MethodPost, "/api/v1/draws", drawBody("")).json(t, &d)
	path := fmt.Sprint("/api/v1/draws/", d.ID)
	b.do(t, http.MethodPatch, path, `{"entry_cost":100}`)
	ds := store.NewDraws(b.db)
	var ms []string
	for i := range 3 {
		m := newMSISDN()
		b.do(t, http.MethodPut, "/api/v1/subscribers/"+m, `{"name":"A"}`)
		b.do(t, http.MethodPost, "/api/v1/subscribers/"+m+"/points", `{"kind":"bonus","points":300,"reason":"seed","idempotency_key":"seed"}`)
		if i < 2 {
			if _, err := ds.EnterDraw(context.Background(), d.ID, care360.MSISDN(canonical(m)), ""); err != nil {
				t.Fatal(err)
			}
		}
		ms = append(ms, m)
	}

	type outcome struct {
		Draw struct {
			drawOut
			CancelledAt *time.Time `json:"cancelled_at"`
		} `json:"draw"`
		Entries         int64 `json:"entries"`
		RefundedEntries int64 `json:"refunded_entries"`
		RefundedPoints  int64 `json:"refunded_points"`
	}
	// Two cancels at once, as two staff (or a retry after a lost answer):
	// both answer 200 with one outcome.
	outs := make([]outcome, 2)
	status := make([]int, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			res := b.do(t, http.MethodPost, path+":cancel", "")
			status[i] = res.status
			res.json(t, &outs[i])
		})
	}
	wg.Wait()
	for i, o := range outs {
		if status[i] != http.StatusOK || o.Draw.Status != "cancelled" || o.Draw.CancelledAt == nil || o.Entries != 2 ||
			o.RefundedEntries != 2 || o.RefundedPoints != 200 || !o.Draw.CancelledAt.Equal(*outs[0].Draw.CancelledAt) {
			t.Fatalf("cancel %d: %d %+v", i, status[i], o)
		}
	}
	for _, m := range ms {
		var sub struct {
			Points struct {
				Spendable int64 `json:"spendable"`
			} `json:"points"`
		}
		if b.do(t, http.MethodGet, "/api/v1/subscribers/"+m, "").json(t, &sub); sub.Points.Spendable != 300 {
			t.Errorf("%s has %d points after the cancel, want 300", m, sub.Points.Spendable)
		}
	}
	// One audit entry for the one cancel that did the work.
	var cancels int
	for _, e := range b.auditOf(t, path) {
		if e.Action == "draw.cancel" {
			cancels++
			if !strings.Contains(string(e.After), `"refunded_points":200`) || !strings.Contains(string(e.Before), `"open"`) {
				t.Errorf("audit entry %s → %s", e.Before, e.After)
			}
		}
	}
	if cancels != 1 {
		t.Errorf("%d audit entries for the cancel", cancels)
	}

	_, err := ds.EnterDraw(context.Background(), d.ID, care360.MSISDN(canonical(ms[2])), "")
	if care360.ErrorReason(err) != care360.ReasonCancelled {
		t.Errorf("entry after the cancel: %v", err)
	}
	b.do(t, http.MethodPost, path+":close", "").errorOf(t, http.StatusConflict, "conflict")
	b.do(t, http.MethodPost, path+":run", `{"witness":"1 2"}`).errorOf(t, http.StatusConflict, "conflict")
	b.do(t, http.MethodPatch, path, `{"active":true}`).errorOf(t, http.StatusConflict, "conflict")
	var list struct {
		Draws []drawOut `json:"draws"`
	}
	b.do(t, http.MethodGet, "/api/v1/draws?status=cancelled", "").json(t, &list)
	if !slicesHas(list.Draws, d.ID) {
		t.Errorf("cancelled list lacks draw %d", d.ID)
	}

	// A drawn draw stands.
	var run drawOut
	b.do(t, http.MethodPost, "/api/v1/draws", drawBody("")).json(t, &run)
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:close", run.ID), "")
	b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:run", run.ID), `{"witness":"6"}`)
	e := b.do(t, http.MethodPost, fmt.Sprintf("/api/v1/draws/%d:cancel", run.ID), "").errorOf(t, http.StatusConflict, "conflict")
	if !strings.Contains(e.Error.Message, "cannot be cancelled") {
		t.Errorf("conflict message %q", e.Error.Message)
	}
	b.do(t, http.MethodPost, "/api/v1/draws/99999999:cancel", "").errorOf(t, http.StatusNotFound, "not_found")
	b.do(t, http.MethodGet, path+":cancel", "").errorOf(t, http.StatusMethodNotAllowed, "method_not_allowed")
}

// PATCH /api/v1/spins/{id}: field by field, checked as on create; an
// inactive table is not listed as taking spins.
func TestSpinPatchAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withDraws(t))
	body := fmt.Sprintf(`{"code":"S%d","name":"Vòng quay","cost_points":10,"daily_cap":2,"no_prize_weight":3,"ends_at":%q,
		"prizes":[{"name":"A","weight":1,"inventory":5}]}`, codes.Add(1), time.Now().Add(time.Hour).Format(time.RFC3339))
	var tb struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		CostPoints int64  `json:"cost_points"`
		DailyCap   int    `json:"daily_cap"`
		Active     bool   `json:"active"`
		Prizes     []struct {
			Remaining int64 `json:"remaining"`
		} `json:"prizes"`
	}
	b.do(t, http.MethodPost, "/api/v1/spins", body).json(t, &tb)
	path := fmt.Sprint("/api/v1/spins/", tb.ID)
	res := b.do(t, http.MethodPatch, path, `{"daily_cap":5,"cost_points":0}`)
	if res.json(t, &tb); res.status != http.StatusOK || tb.DailyCap != 5 || tb.CostPoints != 0 || tb.Name != "Vòng quay" ||
		!tb.Active || len(tb.Prizes) != 1 || tb.Prizes[0].Remaining != 5 {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	for name, bad := range map[string]string{
		"unknown field": `{"colour":"red"}`,
		"prizes":        `{"prizes":[]}`,
		"cap":           `{"daily_cap":0}`,
		"window":        `{"ends_at":"2000-01-01T00:00:00Z"}`,
	} {
		if res := b.do(t, http.MethodPatch, path, bad); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, res.status, res.body)
		}
	}
	if res := b.do(t, http.MethodPatch, path, `{"active":false}`); res.status != http.StatusOK || !strings.Contains(string(res.body), `"active":false`) {
		t.Fatalf("deactivate: %d %s", res.status, res.body)
	}
	var list struct {
		Spins []struct {
			ID int64 `json:"id"`
		} `json:"spins"`
	}
	b.do(t, http.MethodGet, "/api/v1/spins?active=true", "").json(t, &list)
	for _, x := range list.Spins {
		if x.ID == tb.ID {
			t.Errorf("an inactive table is listed as taking spins")
		}
	}
	b.do(t, http.MethodPatch, "/api/v1/spins/99999999", `{"active":false}`).errorOf(t, http.StatusNotFound, "not_found")
}

// PATCH /api/v1/offers/{id}: field by field, checked as on create.
func TestOfferPatchAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withLoyalty)
	var o struct {
		ID       int64  `json:"id"`
		Kind     string `json:"kind"`
		Category string `json:"category"`
		Title    string `json:"title"`
		Code     string `json:"code"`
		Active   bool   `json:"active"`
	}
	b.do(t, http.MethodPost, "/api/v1/offers", `{"kind":"mconnect","category":"lam_dep","partner":"Spa Sen","title":"Giảm 30% Spa Sen",
		"code":"MCSEN30","valid_from":"2026-01-01T00:00:00+07:00","valid_until":"2099-01-01T00:00:00+07:00"}`).json(t, &o)
	path := fmt.Sprint("/api/v1/offers/", o.ID)
	res := b.do(t, http.MethodPatch, path, `{"code":"MCSEN40","category":"suc_khoe","active":false}`)
	if res.json(t, &o); res.status != http.StatusOK || o.Code != "MCSEN40" || o.Category != "suc_khoe" || o.Active || o.Title != "Giảm 30% Spa Sen" {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	for name, bad := range map[string]string{
		"unknown field": `{"colour":"red"}`,
		"kind":          `{"kind":"resort"}`,
		"code":          `{"code":"x"}`,
		"category":      `{"category":"spa"}`,
		"window":        `{"valid_until":"2000-01-01T00:00:00Z"}`,
		"time":          `{"valid_from":"tomorrow"}`,
	} {
		if res := b.do(t, http.MethodPatch, path, bad); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, res.status, res.body)
		}
	}
	b.do(t, http.MethodPatch, "/api/v1/offers/99999999", `{"active":false}`).errorOf(t, http.StatusNotFound, "not_found")
	if es := b.auditOf(t, path); len(es) != 1 || es[0].Action != "PATCH /api/v1/offers/{id}" {
		t.Errorf("audit: %+v", es)
	}
}
