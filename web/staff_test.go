package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

type staffOut struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Role       string  `json:"role"`
	CreatedBy  string  `json:"created_by"`
	DisabledAt *string `json:"disabled_at"`
	Token      string  `json:"token"`
}

func TestStaffAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	name := fmt.Sprintf("Tran Van Minh %d", staffSeq.Add(1))
	res := b.do(t, http.MethodPost, "/api/v1/staff", mustJSON(t, map[string]string{"name": name, "role": "marketer"}))
	var created staffOut
	res.json(t, &created)
	if res.status != http.StatusCreated || created.Name != name || created.Role != "marketer" || created.CreatedBy != "admin" || created.Token == "" {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	// The new account works, and knows who it is.
	res = b.send(t, http.MethodGet, "/api/v1/me", "", "Bearer "+created.Token)
	var me struct {
		StaffID int64  `json:"staff_id"`
		Name    string `json:"name"`
		Role    string `json:"role"`
	}
	res.json(t, &me)
	if me.StaffID != created.ID || me.Name != name || me.Role != "marketer" {
		t.Errorf("me: %s", res.body)
	}
	// The token is shown once: never in lists, the audit log or the logs.
	list := b.do(t, http.MethodGet, "/api/v1/staff?limit=500", "")
	audit := b.do(t, http.MethodGet, "/api/v1/audit?action=staff.", "")
	// The secret follows the id's underscore; it is base64url, so it may
	// hold underscores itself (cut at the last one, a few characters of
	// it were found everywhere: 5 runs in 200).
	_, secret, _ := strings.Cut(strings.TrimPrefix(created.Token, "c360s_"), "_")
	if len(secret) < 40 {
		t.Fatalf("token %q: secret %q, want the 43 characters of 32 random bytes", created.Token, secret)
	}
	for what, text := range map[string]string{"list": string(list.body), "audit": string(audit.body), "logs": b.logs.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("the token's secret is in the %s", what)
		}
	}
	if !strings.Contains(string(list.body), name) || !strings.Contains(string(audit.body), `"staff.create"`) {
		t.Errorf("list or audit lacks the account:\n%s\n%s", list.body, audit.body)
	}

	b.do(t, http.MethodPost, "/api/v1/staff", mustJSON(t, map[string]string{"name": name, "role": "support"})).errorOf(t, http.StatusConflict, "conflict")
	b.do(t, http.MethodPost, "/api/v1/staff", `{"name":"X","role":"owner"}`).errorOf(t, http.StatusBadRequest, "invalid")
	b.do(t, http.MethodPost, "/api/v1/staff", `{"name":"  ","role":"support"}`).errorOf(t, http.StatusBadRequest, "invalid")
	b.do(t, http.MethodPost, "/api/v1/staff", `{"name":"X","role":"support","token":"mine"}`).errorOf(t, http.StatusBadRequest, "invalid")

	id := fmt.Sprint(created.ID)
	res = b.do(t, http.MethodPost, "/api/v1/staff/"+id+":disable", "")
	var disabled staffOut
	res.json(t, &disabled)
	if res.status != http.StatusOK || disabled.DisabledAt == nil {
		t.Fatalf("disable: %d %s", res.status, res.body)
	}
	b.send(t, http.MethodGet, "/api/v1/me", "", "Bearer "+created.Token).errorOf(t, http.StatusUnauthorized, "unauthorized")
	b.do(t, http.MethodPost, "/api/v1/staff/"+id+":disable", "") // again: nothing changes, nothing audited
	res = b.do(t, http.MethodGet, "/api/v1/audit?target=staff/"+id, "")
	if n := strings.Count(string(res.body), `"staff.disable"`); n != 1 {
		t.Errorf("%d staff.disable entries, want 1: %s", n, res.body)
	}
	b.do(t, http.MethodPost, "/api/v1/staff/999999999:disable", "").errorOf(t, http.StatusNotFound, "not_found")
}

// TestListPages pages through the staff list and the audit log with the
// cursor each page gives, and checks the limits.
func TestListPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prefix := fmt.Sprintf("pager%d-", staffSeq.Add(1))
	for i := range 5 {
		b.do(t, http.MethodPost, "/api/v1/staff", mustJSON(t, map[string]string{"name": fmt.Sprint(prefix, i), "role": "support"}))
	}
	for _, list := range []struct{ path, field string }{
		{"/api/v1/staff?", "staff"},
		{"/api/v1/audit?action=staff.create&", "entries"},
	} {
		seen := map[int64]bool{}
		var last int64
		url := list.path + "limit=2"
		for pages := 0; ; pages++ {
			res := b.do(t, http.MethodGet, url, "")
			var page map[string]any
			res.json(t, &page)
			items, _ := page[list.field].([]any)
			if res.status != http.StatusOK || len(items) > 2 || pages > 1000 {
				t.Fatalf("%s: %d %s", url, res.status, res.body)
			}
			for _, it := range items {
				id := int64(it.(map[string]any)["id"].(float64))
				if seen[id] || (last != 0 && id >= last) {
					t.Fatalf("%s: id %d repeated or out of order", url, id)
				}
				seen[id], last = true, id
			}
			next, ok := page["next"].(string)
			if !ok {
				if page["next"] != nil {
					t.Fatalf("next is %v", page["next"])
				}
				break
			}
			if len(items) != 2 {
				t.Fatalf("a page before the last is short: %s", res.body)
			}
			url = list.path + "limit=2&before=" + next
		}
		if len(seen) < 5 {
			t.Errorf("%s: paged through %d items, want at least 5", list.path, len(seen))
		}
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "before=0", "before=abc"} {
		b.do(t, http.MethodGet, "/api/v1/staff?"+q, "").errorOf(t, http.StatusBadRequest, "invalid")
		b.do(t, http.MethodGet, "/api/v1/audit?"+q, "").errorOf(t, http.StatusBadRequest, "invalid")
	}
}
